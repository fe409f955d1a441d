package gateway

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Attachments. An Upload frame grants the upload of one blob: the
// directory records it (owner, size, the SHA-256 of a fresh token) and
// the device then sends the bytes over HTTP (relay/blobhttp), presenting
// the token. The WebSocket carries no blob bytes. What an account may be
// granted is bounded by Uploads, counted in the directory so that it
// holds across connections and gateways, and the Upload frames
// themselves by Rates.Upload.

// Uploads bounds what each account may upload. Zero fields take the
// defaults; a negative BytesPerDay or Unfinished turns that limit off.
type Uploads struct {
	// BytesPerDay is the most bytes of blobs granted to one account in
	// any 24 hours (a resumed upload is not counted again); default 2
	// GiB.
	BytesPerDay int64
	// Unfinished is the most uploads one account has granted and not
	// finished at once; default 20. Unfinished uploads are deleted a day
	// after they were granted (by the relay's sweeper).
	Unfinished int
	// Retention is how long a blob is kept after its upload was granted;
	// default 30 days.
	Retention time.Duration
	// TokenLifetime is how long an upload token authorises requests;
	// default 1 hour. Upload with the blob's ID gives a fresh one.
	TokenLifetime time.Duration
}

// Default upload limits.
const (
	DefaultUploadBytesPerDay = 2 << 30
	DefaultUploadsUnfinished = 20
	DefaultBlobRetention     = 30 * 24 * time.Hour
	DefaultUploadToken       = time.Hour
)

// unfinishedRetry is the wait given to an account at its limit of
// unfinished uploads: about what finishing one takes.
const unfinishedRetry = 10 * time.Second

func (u *Uploads) setDefaults() {
	if u.BytesPerDay == 0 {
		u.BytesPerDay = DefaultUploadBytesPerDay
	}
	if u.Unfinished == 0 {
		u.Unfinished = DefaultUploadsUnfinished
	}
	if u.Retention == 0 {
		u.Retention = DefaultBlobRetention
	}
	if u.TokenLifetime == 0 {
		u.TokenLifetime = DefaultUploadToken
	}
}

func (u *Uploads) validate() error {
	if u.Retention < 0 || u.TokenLifetime < 0 {
		return errors.New("gateway: negative upload duration")
	}
	return nil
}

// limits are the directory's terms for the account's limits at now.
func (u *Uploads) limits(now time.Time) directory.BlobLimits {
	return directory.BlobLimits{Unfinished: max(u.Unfinished, 0), Bytes: max(u.BytesPerDay, 0), Since: now.Add(-24 * time.Hour)}
}

// handleUpload grants the upload of a new blob, or a fresh token for an
// unfinished one of the account's.
func (c *conn) handleUpload(ctx context.Context, id uint64, u *wire.Upload) {
	refuse := func(code wire.Code, msg string, retry time.Duration) {
		if m := c.g.cfg.Metrics.UploadRefused; m != nil {
			m(code)
		}
		e := &wire.Error{Code: code, Message: msg}
		if retry > 0 {
			e.RetryAfterMS = uint64(retry.Milliseconds()) + 1
		}
		c.reply(id, e)
	}
	ok, retry, err := c.take(ctx, c.perUser("upload", c.g.cfg.Rates.Upload))
	switch {
	case err != nil:
		c.reply(id, c.errorFrame(err))
		return
	case !ok:
		refuse(wire.CodeRateLimited, fmt.Sprintf("too many uploads; retry in %v", retry.Round(time.Second)), retry)
		return
	}
	token := make([]byte, wire.MaxBlobToken)
	rand.Read(token)
	hash := sha256.Sum256(token)
	now := c.g.cfg.Now()
	lim := c.g.cfg.Uploads
	expires := now.Add(lim.TokenLifetime)

	if !u.Blob.IsZero() {
		b, err := c.g.dir.RenewBlobToken(ctx, u.Blob, c.key.user, hash[:], expires)
		switch {
		case errors.Is(err, directory.ErrNotFound):
			refuse(wire.CodeNotFound, "no unfinished upload of this account has that ID", 0)
		case err != nil:
			c.reply(id, c.errorFrame(err))
		default:
			c.reply(id, &wire.UploadGrant{Blob: b.ID, Token: token, Size: uint64(b.Size), ExpiresMS: expires.UnixMilli()})
		}
		return
	}

	if u.Size == 0 || u.Size > wire.MaxBlobSize || (lim.BytesPerDay > 0 && int64(u.Size) > lim.BytesPerDay) {
		most := int64(wire.MaxBlobSize)
		if lim.BytesPerDay > 0 {
			most = min(most, lim.BytesPerDay)
		}
		refuse(wire.CodeTooLarge, fmt.Sprintf("a blob holds 1 to %d bytes", most), 0)
		return
	}
	b := directory.Blob{
		ID: wire.NewBlobID(), Owner: c.key.user, Size: int64(u.Size),
		TokenHash: hash[:], TokenExpires: expires, Created: now, Expires: now.Add(lim.Retention),
	}
	err = c.g.dir.CreateBlob(ctx, b, lim.limits(now))
	switch {
	case errors.Is(err, directory.ErrFull):
		refuse(wire.CodeRateLimited, fmt.Sprintf("at most %d unfinished uploads at once: finish one first", lim.Unfinished), unfinishedRetry)
		return
	case errors.Is(err, directory.ErrQuota):
		refuse(wire.CodeQuotaExceeded, "the account's uploads for the day are used up", c.quotaRetry(ctx, now))
		return
	case err != nil:
		c.reply(id, c.errorFrame(fmt.Errorf("grant upload: %w", err)))
		return
	}
	if m := c.g.cfg.Metrics.UploadGranted; m != nil {
		m(b.Size)
	}
	c.reply(id, &wire.UploadGrant{Blob: b.ID, Token: token, Size: u.Size, ExpiresMS: expires.UnixMilli()})
}

// quotaRetry is how long until the account's uploads of the last day may
// have room again: when the oldest of them leaves the 24-hour window. A client told to wait that long and still refused is
// told again.
func (c *conn) quotaRetry(ctx context.Context, now time.Time) time.Duration {
	since := now.Add(-24 * time.Hour)
	usage, err := c.g.dir.BlobUsage(ctx, c.key.user, since)
	if err != nil || usage.Oldest.IsZero() {
		return time.Minute
	}
	return max(usage.Oldest.Sub(since), time.Millisecond)
}
