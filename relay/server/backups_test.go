package server_test

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/internal/wait"
	"github.com/mutualcoop/mutual/relay/server"
	"github.com/mutualcoop/mutual/relay/wire"
)

// uploaded is a finished blob of c's of n bytes.
func (c *client) uploaded(n int) wire.BlobID {
	c.t.Helper()
	g := c.grant(&wire.Upload{Size: uint64(n)})
	wantStatus(c.t, c.r.patch(g, 0, bytes.NewReader(make([]byte, n))), http.StatusNoContent)
	return g.Blob
}

// setBackup makes blob c's account's backup.
func (c *client) setBackup(blob wire.BlobID) {
	c.t.Helper()
	if _, err := transport.Call[*wire.OK](ctxT(c.t), c.conn, &wire.Backup{Op: wire.BackupSet, Blob: blob, Sealed: []byte("sealed")}); err != nil {
		c.t.Fatalf("Backup set: %v", err)
	}
}

// TestBackupOutlivesRetention: the blob of an account's backup is
// neither deleted by the sweeper nor gone for downloads past the blobs'
// retention, while it is the backup; once replaced, its bytes are
// deleted at once and a download is told it is gone.
func TestBackupOutlivesRetention(t *testing.T) {
	clk := &testClock{now: time.Now()}
	r := startRelay(t, func(c *server.Config) {
		c.Gateway.Now = clk.Now
		c.Sweep.Interval = 10 * time.Millisecond
	})
	alice := r.register("email:alice@example.org")
	backup := alice.uploaded(100)
	attachment := alice.uploaded(10)
	alice.setBackup(backup)
	backupFile, attachmentFile := storedFile(t, r.Dir(), backup), storedFile(t, r.Dir(), attachment)

	clk.advance(400 * 24 * time.Hour)
	// The attachment's deletion shows that the sweeper ran past the
	// backup's grant plus the retention.
	wait.For(t, "the attachment's deletion", func() bool { return !exists(attachmentFile) })
	if !exists(backupFile) {
		t.Fatal("the sweeper deleted the backup's blob")
	}
	if got := r.download(backup, http.StatusOK); len(got) != 100 {
		t.Fatalf("downloaded %d bytes of the backup", len(got))
	}
	alice.reconnect()
	info, err := transport.Call[*wire.BackupInfo](ctxT(t), alice.conn, &wire.Backup{Op: wire.BackupGet})
	if err != nil || info.Blob != backup || info.Size != 100 {
		t.Fatalf("Backup get: %+v, %v", info, err)
	}

	next := alice.uploaded(50)
	alice.setBackup(next)
	if exists(backupFile) {
		t.Fatal("the replaced backup's blob is still stored")
	}
	r.download(backup, http.StatusGone)
	r.download(next, http.StatusOK)
}
