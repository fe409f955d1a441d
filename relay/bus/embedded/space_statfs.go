//go:build linux || darwin

package embedded

import "syscall"

// diskSpace returns the bytes available to an unprivileged user and the
// size of the filesystem holding dir.
func diskSpace(dir string) (free, total uint64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, 0, err
	}
	bs := uint64(st.Bsize)
	return st.Bavail * bs, st.Blocks * bs, nil
}
