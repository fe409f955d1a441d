package embedded

import (
	"os"
	"syscall"
)

// reserveSpace allocates n bytes of f from off without changing its size
// (fallocate with FALLOC_FL_KEEP_SIZE), so that writing them later cannot
// fail for lack of space. A filesystem that cannot do this reserves
// nothing and returns nil; only a full disk is an error.
func reserveSpace(f *os.File, off, n int64) error {
	const keepSize = 0x1 // FALLOC_FL_KEEP_SIZE
	for {
		err := syscall.Fallocate(int(f.Fd()), keepSize, off, n)
		switch {
		case err == syscall.EINTR:
			continue
		case isNoSpace(err):
			return err
		}
		return nil
	}
}
