package embedded

import "syscall"

// diskSpace returns the bytes available to an unprivileged user and the
// size of the filesystem holding dir.
func diskSpace(dir string) (free, total uint64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, 0, err
	}
	// Bavail goes below zero once the space kept for root is in use.
	return uint64(max(st.Bavail, 0)) * st.Bsize, st.Blocks * st.Bsize, nil
}
