//go:build !linux && !darwin

package embedded

import (
	"errors"
	"fmt"
)

// diskSpace is not implemented here: the floor is not enforced and the
// relay does not watch its disk.
func diskSpace(string) (free, total uint64, err error) {
	return 0, 0, fmt.Errorf("free disk space: %w", errors.ErrUnsupported)
}
