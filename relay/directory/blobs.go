package directory

import (
	"errors"
	"fmt"
	"time"

	"github.com/mutualcoop/mutual/relay/wire"
)

// ErrQuota is returned by CreateBlob when the owner's bytes granted
// since BlobLimits.Since, with the new blob's, would pass
// BlobLimits.Bytes. Nothing is written.
var ErrQuota = errors.New("directory: quota exceeded")

// Blob is the directory's record of an attachment's blob: who uploads
// it, how large it is, the hash of the token that authorises its upload,
// and where it stands. The blob's bytes are in the blob store; the
// directory never holds them, nor the token.
type Blob struct {
	ID           wire.BlobID
	Owner        wire.UserID // the account that asked for the upload
	Size         int64       // bytes, as granted (1 to wire.MaxBlobSize)
	TokenHash    []byte      // SHA-256 of the upload token (32 bytes)
	TokenExpires time.Time   // the token authorises nothing after this
	Created      time.Time   // when the upload was granted
	Completed    time.Time   // when its last byte arrived; zero while unfinished
	Expires      time.Time   // when the blob is to be deleted (Created + retention)
	Deleted      time.Time   // when its bytes were deleted from the store; zero until then
}

// Unfinished reports whether b's upload is still going: not complete and
// not deleted.
func (b Blob) Unfinished() bool { return b.Completed.IsZero() && b.Deleted.IsZero() }

// BlobLimits bound what CreateBlob grants one owner. A zero field is no
// limit.
type BlobLimits struct {
	Unfinished int       // uploads neither complete nor deleted, at once
	Bytes      int64     // bytes granted since Since, the new blob's included
	Since      time.Time // start of the window Bytes counts
}

// BlobUsage is what an owner has been granted (BlobUsage in Directory).
type BlobUsage struct {
	Bytes      int64     // bytes of the blobs granted since the time asked for, deleted ones included
	Oldest     time.Time // when the oldest of those was granted; zero when there is none
	Unfinished int       // uploads neither complete nor deleted, whenever granted
}

// Check reports whether b can be stored as a new blob: an ID, a size
// within wire.MaxBlobSize, a 32-byte token hash and the times. The
// error wraps ErrInvalid.
func (b Blob) Check() error {
	switch {
	case b.ID.IsZero():
		return fmt.Errorf("%w: blob without an ID", ErrInvalid)
	case b.Size < 1 || b.Size > wire.MaxBlobSize:
		return fmt.Errorf("%w: blob of %d bytes", ErrInvalid, b.Size)
	case b.Created.IsZero() || b.Expires.IsZero() || b.TokenExpires.IsZero():
		return fmt.Errorf("%w: blob without its times", ErrInvalid)
	case !b.Completed.IsZero() || !b.Deleted.IsZero():
		return fmt.Errorf("%w: a new blob is neither complete nor deleted", ErrInvalid)
	case len(b.TokenHash) != 32:
		return fmt.Errorf("%w: token hash of %d bytes", ErrInvalid, len(b.TokenHash))
	}
	return nil
}

// Validate reports whether l is usable: no negative field. The error
// wraps ErrInvalid.
func (l BlobLimits) Validate() error {
	if l.Unfinished < 0 || l.Bytes < 0 {
		return fmt.Errorf("%w: negative blob limit", ErrInvalid)
	}
	return nil
}
