//go:build !linux && !darwin && !freebsd && !windows

package embedded

import (
	"errors"
	"fmt"
	"runtime"
)

// diskSpace reports that this system's free space cannot be read: Open
// says so in the log, the bus keeps no floor, and the gateway does not
// watch the disk. Linux, macOS, FreeBSD and Windows read it.
func diskSpace(string) (free, total uint64, err error) {
	return 0, 0, fmt.Errorf("free disk space on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}
