package embedded

import (
	"errors"
	"fmt"
	"syscall"
)

// Running out of disk.
//
// The bus keeps Config.MinFreeBytes free on the filesystem of its
// directory: before each write cycle it reads the free space and refuses
// the cycle's appends when writing them (to the log and then to the
// segment files, so twice) would leave less. The refusal is not sticky:
// appends succeed again as soon as there is space. The floor leaves room
// for everything else that must still be written to drain a full relay:
// consumer group positions, the directory's database, new segment files.
//
// If the disk fills anyway (another program, or a floor of zero), a write
// to the log that fails with ENOSPC has stored nothing that counts: the
// file is cut back to its last synced size, the appends fail, and the bus
// goes on. Only a segment file that cannot be written after its records
// are in the log stops the bus until it is reopened (see doc.go): the
// floor is there so that this does not happen.

// errNoSpace is returned by Append while the free space is below the floor.
var errNoSpace = fmt.Errorf("bus: disk nearly full: %w", syscall.ENOSPC)

// DiskSpace returns the bytes free (to an unprivileged user) and the
// total size of the filesystem that holds the bus.
func (b *Bus) DiskSpace() (free, total uint64, err error) {
	return b.space()
}

// isNoSpace reports whether err says the disk is full.
func isNoSpace(err error) bool { return errors.Is(err, syscall.ENOSPC) }

// cycleSpace is the space a write cycle of reqs needs at most: every
// record framed in the log and again in a segment file, with the log's
// entry headers and a margin for new segment files.
func cycleSpace(reqs []*appendReq) uint64 {
	var n uint64
	for _, r := range reqs {
		n += uint64(r.size) + uint64(len(r.msgs))*frameOverhead + 1<<10
	}
	return 2*n + 64<<10
}

// roomFor reports whether a cycle of reqs leaves the floor free.
func (b *Bus) roomFor(reqs []*appendReq) bool {
	if b.cfg.MinFreeBytes < 0 {
		return true
	}
	free, _, err := b.space()
	if err != nil {
		// The write itself will tell.
		if !errors.Is(err, errors.ErrUnsupported) {
			b.cfg.Logger.Warn("bus: cannot read the free disk space", "err", err)
		}
		return true
	}
	return free >= uint64(b.cfg.MinFreeBytes)+cycleSpace(reqs)
}
