package embedded

import (
	"os"
	"syscall"
)

// syncData makes the file's data durable, and as much metadata as needed to
// read it back (its size), without forcing other metadata out.
func syncData(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}
