// Package blob keeps attachments' encrypted blobs for the relay: written
// once by a resumable upload, read by ID with byte ranges, deleted when
// they expire. The relay never sees what a blob holds; it stores bytes.
//
// Store is the one interface; its backends are fsblob (files under the
// relay's data directory, the embedded default) and s3blob (an
// S3-compatible object store, at scale). blobtest is the conformance
// suite both pass.
package blob

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/mutualcoop/mutual/relay/wire"
)

// Errors a Store returns (wrapped or as is; test with errors.Is).
var (
	// ErrNotFound: no upload or blob with that ID.
	ErrNotFound = errors.New("blob: not found")
	// ErrExists: Create for an ID that already has an upload or blob.
	ErrExists = errors.New("blob: already exists")
	// ErrOffset: Append at an offset other than the upload's.
	ErrOffset = errors.New("blob: offset does not match the upload")
	// ErrTooLarge: Append past the upload's size.
	ErrTooLarge = errors.New("blob: more bytes than the upload's size")
	// ErrIncomplete: Open of an upload that has not received all its
	// bytes (Stat describes it, with Complete false).
	ErrIncomplete = errors.New("blob: upload not complete")
	// ErrRange: Open with a range that is empty or not inside the blob.
	ErrRange = errors.New("blob: range outside the blob")
)

// Info describes a stored upload or blob.
type Info struct {
	Size     int64     // the size given to Create
	Offset   int64     // bytes received so far; Size once complete
	Complete bool      // all Size bytes are in and the blob can be read
	Created  time.Time // when Create ran (the store's clock)
}

// Store keeps blobs. Every method is safe for concurrent use; two
// Appends to one upload at once are not (the relay serialises them per
// blob, and a second gets ErrOffset rather than corrupting the first).
// No method holds a whole blob in memory: memory per call is bounded by a
// constant of the backend (for s3blob, one part).
type Store interface {
	// Create starts an upload of exactly size bytes (1 to
	// wire.MaxBlobSize).
	Create(ctx context.Context, id wire.BlobID, size int64) error
	// Append writes r's bytes at offset, which must be the upload's
	// current offset, and returns the new offset. It keeps every byte
	// it read before an error of r (a cut connection), so that the
	// upload resumes where it stopped. Reading past the upload's size is
	// ErrTooLarge (the bytes up to the size are kept). When the offset
	// reaches the size, the blob is complete.
	//
	// The offset is returned with errors too: with ErrOffset, the
	// upload's; with an error of r or of ctx, the bytes kept. A complete
	// blob is an upload at its size that takes no more bytes. With an
	// error of the store itself, the offset may be behind: Stat tells.
	Append(ctx context.Context, id wire.BlobID, offset int64, r io.Reader) (int64, error)
	// Stat describes an upload or blob.
	Stat(ctx context.Context, id wire.BlobID) (Info, error)
	// Open reads length bytes (at least one) from offset of a complete
	// blob.
	Open(ctx context.Context, id wire.BlobID, offset, length int64) (io.ReadCloser, error)
	// Delete removes an upload or blob; deleting a missing one is not an
	// error.
	Delete(ctx context.Context, id wire.BlobID) error
	// Close releases the store's resources.
	Close() error
}
