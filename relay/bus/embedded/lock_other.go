//go:build !unix

package embedded

import "os"

// lockDir opens the lock file; this platform has no advisory locks, so
// running two processes on one directory is not prevented.
func lockDir(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, fileMode)
}
