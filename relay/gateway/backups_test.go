package gateway_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/blob"
	"github.com/mutualcoop/mutual/relay/blob/fsblob"
	"github.com/mutualcoop/mutual/relay/gateway"
	"github.com/mutualcoop/mutual/relay/wire"
)

// backupHarness is a harness whose gateway deletes replaced backups'
// blobs from a real blob store, and runs on a clock of the test's; all
// three are returned.
func backupHarness(t *testing.T) (*harness, *fsblob.Store, *clock) {
	t.Helper()
	store, err := fsblob.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	gc := &clock{now: time.Now()}
	h := newHarness(t, func(c *gateway.Config) {
		c.Blobs, c.Now = store, gc.Now
		c.RefusalPause = time.Millisecond
	})
	return h, store, gc
}

// upload has d granted a blob of size bytes and finishes its upload, in
// the store and in the directory, as the blobs' HTTP handler would.
func (h *harness) upload(t *testing.T, d *device, store blob.Store, now time.Time, size int) wire.BlobID {
	t.Helper()
	ctx := context.Background()
	g := d.grant(&wire.Upload{Size: uint64(size)})
	if err := store.Create(ctx, g.Blob, int64(size)); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Append(ctx, g.Blob, 0, bytes.NewReader(make([]byte, size))); err != nil {
		t.Fatal(err)
	}
	if err := h.dir.CompleteBlob(ctx, g.Blob, now); err != nil {
		t.Fatal(err)
	}
	return g.Blob
}

func stored(t *testing.T, store blob.Store, id wire.BlobID) bool {
	t.Helper()
	_, err := store.Stat(context.Background(), id)
	if err != nil && !errors.Is(err, blob.ErrNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

// TestBackup: an account's backup is set from a finished upload of its
// own, read back, replaced (the old blob is deleted at once), and
// deleted; a blob that is not a finished upload of the account's is
// refused.
func TestBackup(t *testing.T) {
	h, store, gc := backupHarness(t)
	alice := h.register(t, "email:alice@example.org")
	bob := h.register(t, "email:bob@example.org")

	if e := errorCode(t, alice.call(&wire.Backup{Op: wire.BackupGet})); e != wire.CodeNotFound {
		t.Fatalf("get without a backup: %v", e)
	}
	first := h.upload(t, alice, store, gc.Now(), 100)
	unfinished := alice.grant(&wire.Upload{Size: 10}).Blob
	bobs := h.upload(t, bob, store, gc.Now(), 10)
	for name, id := range map[string]wire.BlobID{"unknown": wire.NewBlobID(), "unfinished": unfinished, "another account's": bobs} {
		if e := errorCode(t, alice.call(&wire.Backup{Op: wire.BackupSet, Blob: id, Sealed: []byte("s")})); e != wire.CodeNotFound {
			t.Errorf("set with %s blob: %v, want not_found", name, e)
		}
	}
	if e := errorCode(t, alice.call(&wire.Backup{Op: wire.BackupSet, Blob: first})); e != wire.CodeBadRequest {
		t.Fatalf("set without sealed bytes: %v", e)
	}

	if got := alice.call(&wire.Backup{Op: wire.BackupSet, Blob: first, Sealed: []byte("one")}); !isOK(got) {
		t.Fatalf("set: %#v", got)
	}
	info, ok := alice.call(&wire.Backup{Op: wire.BackupGet}).(*wire.BackupInfo)
	if !ok || info.Blob != first || string(info.Sealed) != "one" || info.Size != 100 || info.CreatedMS != gc.Now().UnixMilli() {
		t.Fatalf("get: %#v", info)
	}
	if e := errorCode(t, bob.call(&wire.Backup{Op: wire.BackupGet})); e != wire.CodeNotFound {
		t.Fatalf("Bob sees a backup: %v", e)
	}

	second := h.upload(t, alice, store, gc.Now(), 200)
	if got := alice.call(&wire.Backup{Op: wire.BackupSet, Blob: second, Sealed: []byte("two")}); !isOK(got) {
		t.Fatalf("set again: %#v", got)
	}
	if stored(t, store, first) {
		t.Fatal("the replaced backup's blob is still stored")
	}
	if b, err := h.dir.Blob(context.Background(), first); err != nil || b.Deleted.IsZero() {
		t.Fatalf("the replaced blob's record: %+v, %v", b, err)
	}
	if !stored(t, store, second) {
		t.Fatal("the backup's blob is gone")
	}
	if info, ok := alice.call(&wire.Backup{Op: wire.BackupGet}).(*wire.BackupInfo); !ok || info.Blob != second || info.Size != 200 {
		t.Fatalf("get after the replacement: %#v", info)
	}

	gc.advance(10 * time.Minute) // Backup frames are 10, then one a minute
	if got := alice.call(&wire.Backup{Op: wire.BackupDelete}); !isOK(got) {
		t.Fatalf("delete: %#v", got)
	}
	if stored(t, store, second) {
		t.Fatal("the deleted backup's blob is still stored")
	}
	if e := errorCode(t, alice.call(&wire.Backup{Op: wire.BackupGet})); e != wire.CodeNotFound {
		t.Fatalf("get after delete: %v", e)
	}
	if got := alice.call(&wire.Backup{Op: wire.BackupDelete}); !isOK(got) {
		t.Fatalf("delete without a backup: %#v", got)
	}
}

// TestHeldDeviceBackup: a device held by account protection reads the
// account's backup (to restore it while it waits) but may neither
// replace nor delete it.
func TestHeldDeviceBackup(t *testing.T) {
	store, err := fsblob.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	clk := &clock{now: time.Now()}
	h := newHarness(t, func(c *gateway.Config) {
		c.NoHold = false
		c.Blobs, c.Now = store, clk.Now
	})
	phone := h.register(t, "email:alice@example.org")
	blob := h.upload(t, phone, store, clk.Now(), 100)
	if got := phone.call(&wire.Backup{Op: wire.BackupSet, Blob: blob, Sealed: []byte("sealed")}); !isOK(got) {
		t.Fatalf("set: %#v", got)
	}
	laptop := registerHeld(t, h, clk, phone)
	info, ok := laptop.call(&wire.Backup{Op: wire.BackupGet}).(*wire.BackupInfo)
	if !ok || info.Blob != blob || string(info.Sealed) != "sealed" {
		t.Fatalf("a held device's get: %#v", info)
	}
	for _, b := range []*wire.Backup{
		{Op: wire.BackupSet, Blob: blob, Sealed: []byte("mine")},
		{Op: wire.BackupDelete},
	} {
		if e := errorCode(t, laptop.call(b)); e != wire.CodeDevicePending {
			t.Errorf("a held device's backup op %d: %v, want device_pending", b.Op, e)
		}
	}
	if info, ok := phone.call(&wire.Backup{Op: wire.BackupGet}).(*wire.BackupInfo); !ok || string(info.Sealed) != "sealed" {
		t.Fatalf("the backup after the held device's tries: %#v", info)
	}
}
