package directory

import (
	"fmt"
	"math"
	"time"

	"github.com/mutualcoop/mutual/relay/wire"
)

// Backup is an account's encrypted backup: one of its blobs, which holds
// the archive encrypted on a device, and the sealed key material that
// opens it with the account's recovery key or passphrase. The relay
// reads neither. An account has at most one; a new one replaces it.
type Backup struct {
	User    wire.UserID
	Blob    wire.BlobID // a finished upload of User's
	Sealed  []byte      // opaque, 1 to wire.MaxBackupSealed bytes
	Created time.Time   // when it was set
	Size    int64       // the blob's size; SetBackup fills it in
}

// NeverExpires is the expiry of a blob while it is an account's backup:
// the sweeper never deletes it, and it can always be downloaded. The
// blob expires when it stops being the backup (SetBackup, DeleteBackup).
var NeverExpires = time.Unix(0, math.MaxInt64).UTC()

// Check reports whether b can be stored: a user, a blob, sealed bytes
// within wire.MaxBackupSealed and a time. The error wraps ErrInvalid.
func (b Backup) Check() error {
	switch {
	case b.User.IsZero() || b.Blob.IsZero():
		return fmt.Errorf("%w: backup without its user or blob", ErrInvalid)
	case len(b.Sealed) == 0 || len(b.Sealed) > wire.MaxBackupSealed:
		return fmt.Errorf("%w: sealed backup key of %d bytes", ErrInvalid, len(b.Sealed))
	case b.Created.IsZero():
		return fmt.Errorf("%w: backup without its time", ErrInvalid)
	}
	return nil
}
