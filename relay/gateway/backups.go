package gateway

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Backups. An account keeps one encrypted backup on the relay: a blob it
// uploaded as any attachment's (so its bytes count against the account's
// uploads of the day) and the sealed key material that opens it with the
// person's recovery key or passphrase, which the relay cannot read.
// Backup set makes a finished upload of the account's the backup; while
// it is, the blob never expires (directory.NeverExpires), and the blob it
// replaces is deleted at once (the sweeper deletes it otherwise: it
// expired when it was replaced). Backup frames are counted in the
// account's bucket (Rates.Backup), which holds across connections.

// BlobStore is what the gateway needs of the blob store: to delete the
// blob of a backup that was replaced or deleted.
type BlobStore interface {
	Delete(ctx context.Context, id wire.BlobID) error
}

// handleBackup answers a Backup frame.
func (c *conn) handleBackup(ctx context.Context, id uint64, b *wire.Backup) {
	if !c.limit(ctx, id, c.perUser("backup", c.g.cfg.Rates.Backup)) {
		return
	}
	now := c.g.cfg.Now()
	switch b.Op {
	case wire.BackupGet:
		bk, err := c.g.dir.Backup(ctx, c.key.user)
		if errors.Is(err, directory.ErrNotFound) {
			c.reply(id, &wire.Error{Code: wire.CodeNotFound, Message: "this account has no backup"})
			return
		}
		c.replyErr(id, err, &wire.BackupInfo{Blob: bk.Blob, Sealed: bk.Sealed, CreatedMS: bk.Created.UnixMilli(), Size: uint64(bk.Size)})
	case wire.BackupSet:
		if b.Blob.IsZero() || len(b.Sealed) == 0 {
			c.reply(id, &wire.Error{Code: wire.CodeBadRequest, Message: "a backup needs its blob and its sealed key"})
			return
		}
		previous, err := c.g.dir.SetBackup(ctx, directory.Backup{User: c.key.user, Blob: b.Blob, Sealed: b.Sealed, Created: now})
		if errors.Is(err, directory.ErrNotFound) {
			c.reply(id, &wire.Error{Code: wire.CodeNotFound, Message: "no finished upload of this account has that ID"})
			return
		}
		if err == nil {
			c.g.dropBlob(ctx, previous, now)
		}
		c.replyErr(id, err, &wire.OK{})
	case wire.BackupDelete:
		previous, err := c.g.dir.DeleteBackup(ctx, c.key.user, now)
		if err == nil {
			c.g.dropBlob(ctx, previous, now)
		}
		c.replyErr(id, err, &wire.OK{})
	}
}

// dropBlob deletes the bytes of a blob that stopped being a backup, and
// records it. A failure is logged (without the blob's ID) and left to the
// sweeper: the blob has expired.
func (g *Gateway) dropBlob(ctx context.Context, id wire.BlobID, now time.Time) {
	if id.IsZero() || g.cfg.Blobs == nil {
		return
	}
	err := g.cfg.Blobs.Delete(ctx, id)
	if err == nil {
		err = g.dir.DeleteBlob(ctx, id, now)
	}
	if err != nil {
		g.cfg.Logger.Warn("gateway: deleting a replaced backup failed; the sweeper will", "err", strings.ReplaceAll(err.Error(), id.String(), "<blob>"))
	}
}
