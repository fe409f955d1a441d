package dirtest

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/wire"
)

// finishedBlob is a complete blob of size bytes granted to owner at
// created.
func finishedBlob(t *testing.T, d directory.Directory, owner wire.UserID, size int64, created time.Time) wire.BlobID {
	t.Helper()
	ctx := context.Background()
	b := newBlob(owner, size, created)
	if err := d.CreateBlob(ctx, b, directory.BlobLimits{}); err != nil {
		t.Fatal(err)
	}
	if err := d.CompleteBlob(ctx, b.ID, created); err != nil {
		t.Fatal(err)
	}
	return b.ID
}

// blobExpires is the stored expiry of a blob.
func blobExpires(t *testing.T, d directory.Directory, id wire.BlobID) time.Time {
	t.Helper()
	b, err := d.Blob(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return b.Expires
}

// testBackups walks an account's backup through its life: refused for
// blobs that are not its finished uploads, set, replaced (the old blob
// expires, the new one never does while it is the backup), set again
// with the same blob, deleted.
func testBackups(t *testing.T, d directory.Directory) {
	ctx := context.Background()
	owner, other := newUser(t, d), newUser(t, d)
	now := blobEpoch.Add(time.Hour)
	if _, err := d.Backup(ctx, owner); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("Backup(none) = %v, want ErrNotFound", err)
	}

	first := finishedBlob(t, d, owner, 1000, blobEpoch)
	unfinished := newBlob(owner, 10, blobEpoch)
	if err := d.CreateBlob(ctx, unfinished, directory.BlobLimits{}); err != nil {
		t.Fatal(err)
	}
	deleted := finishedBlob(t, d, owner, 10, blobEpoch)
	if err := d.DeleteBlob(ctx, deleted, blobEpoch); err != nil {
		t.Fatal(err)
	}
	expired := finishedBlob(t, d, owner, 10, now.Add(-31*24*time.Hour))
	others := finishedBlob(t, d, other, 10, blobEpoch)
	for name, id := range map[string]wire.BlobID{
		"unknown": wire.NewBlobID(), "unfinished": unfinished.ID, "deleted": deleted,
		"expired": expired, "another account's": others,
	} {
		_, err := d.SetBackup(ctx, directory.Backup{User: owner, Blob: id, Sealed: []byte("sealed"), Created: now})
		if !errors.Is(err, directory.ErrNotFound) {
			t.Errorf("SetBackup(%s blob) = %v, want ErrNotFound", name, err)
		}
	}
	for name, b := range map[string]directory.Backup{
		"no sealed":        {User: owner, Blob: first, Created: now},
		"sealed too large": {User: owner, Blob: first, Sealed: make([]byte, wire.MaxBackupSealed+1), Created: now},
		"no user":          {Blob: first, Sealed: []byte("x"), Created: now},
		"no time":          {User: owner, Blob: first, Sealed: []byte("x")},
	} {
		if _, err := d.SetBackup(ctx, b); !errors.Is(err, directory.ErrInvalid) {
			t.Errorf("SetBackup(%s) = %v, want ErrInvalid", name, err)
		}
	}
	if _, err := d.Backup(ctx, owner); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("Backup after refusals = %v, want ErrNotFound", err)
	}

	prev, err := d.SetBackup(ctx, directory.Backup{User: owner, Blob: first, Sealed: []byte("one"), Created: now})
	if err != nil || !prev.IsZero() {
		t.Fatalf("SetBackup(first) = %v, %v", prev, err)
	}
	got, err := d.Backup(ctx, owner)
	if err != nil || got.User != owner || got.Blob != first || string(got.Sealed) != "one" || !got.Created.Equal(now) || got.Size != 1000 {
		t.Fatalf("Backup = %+v, %v", got, err)
	}
	if e := blobExpires(t, d, first); !e.Equal(directory.NeverExpires) {
		t.Fatalf("the backup's blob expires %v", e)
	}
	far := now.Add(100 * 365 * 24 * time.Hour)
	if ids, err := d.ExpiredBlobs(ctx, far, blobEpoch, 100); err != nil || slices.Contains(ids, first) {
		t.Fatalf("ExpiredBlobs lists the backup's blob: %x, %v", ids, err)
	}

	later := now.Add(time.Minute)
	second := finishedBlob(t, d, owner, 2000, now)
	prev, err = d.SetBackup(ctx, directory.Backup{User: owner, Blob: second, Sealed: []byte("two"), Created: later})
	if err != nil || prev != first {
		t.Fatalf("SetBackup(second) = %v, %v; want the first blob back", prev, err)
	}
	if e := blobExpires(t, d, first); !e.Equal(later) {
		t.Fatalf("the replaced blob expires %v, want %v", e, later)
	}
	if ids, err := d.ExpiredBlobs(ctx, later, blobEpoch, 100); err != nil || !slices.Contains(ids, first) || slices.Contains(ids, second) {
		t.Fatalf("ExpiredBlobs after the replacement = %x, %v", ids, err)
	}
	// The replaced blob cannot come back as the backup.
	if _, err := d.SetBackup(ctx, directory.Backup{User: owner, Blob: first, Sealed: []byte("x"), Created: later.Add(time.Second)}); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("SetBackup(replaced blob) = %v, want ErrNotFound", err)
	}
	// The same blob again: new sealed bytes, nothing to delete.
	prev, err = d.SetBackup(ctx, directory.Backup{User: owner, Blob: second, Sealed: []byte("two'"), Created: later})
	if err != nil || !prev.IsZero() {
		t.Fatalf("SetBackup(same blob) = %v, %v", prev, err)
	}
	if got, err := d.Backup(ctx, owner); err != nil || got.Blob != second || string(got.Sealed) != "two'" || got.Size != 2000 {
		t.Fatalf("Backup = %+v, %v", got, err)
	}
	if _, err := d.Backup(ctx, other); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("Backup(other) = %v, want ErrNotFound", err)
	}

	end := later.Add(time.Hour)
	if _, err := d.DeleteBackup(ctx, owner, time.Time{}); !errors.Is(err, directory.ErrInvalid) {
		t.Fatalf("DeleteBackup(no time) = %v, want ErrInvalid", err)
	}
	if id, err := d.DeleteBackup(ctx, owner, end); err != nil || id != second {
		t.Fatalf("DeleteBackup = %v, %v; want the second blob", id, err)
	}
	if e := blobExpires(t, d, second); !e.Equal(end) {
		t.Fatalf("the deleted backup's blob expires %v, want %v", e, end)
	}
	if _, err := d.Backup(ctx, owner); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("Backup after DeleteBackup = %v, want ErrNotFound", err)
	}
	if id, err := d.DeleteBackup(ctx, owner, end); err != nil || !id.IsZero() {
		t.Fatalf("DeleteBackup(none) = %v, %v", id, err)
	}
}

// testConcurrentBackups: of many backups set at once for one account,
// one is left; every other blob is handed back exactly once, to be
// deleted, and expires; only the one left never does.
func testConcurrentBackups(t *testing.T, d directory.Directory) {
	ctx := context.Background()
	owner := newUser(t, d)
	now := blobEpoch.Add(time.Hour)
	const n = 8
	ids := make([]wire.BlobID, n)
	for i := range ids {
		ids[i] = finishedBlob(t, d, owner, 10, blobEpoch)
	}
	var mu sync.Mutex
	var handed []wire.BlobID
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() {
			prev, err := d.SetBackup(ctx, directory.Backup{User: owner, Blob: id, Sealed: []byte{byte(i)}, Created: now})
			if err != nil {
				t.Errorf("SetBackup: %v", err)
				return
			}
			if !prev.IsZero() {
				mu.Lock()
				handed = append(handed, prev)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	got, err := d.Backup(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	handed = append(handed, got.Blob)
	sortIDs := func(s []wire.BlobID) {
		slices.SortFunc(s, func(a, b wire.BlobID) int { return bytes.Compare(a[:], b[:]) })
	}
	sortIDs(handed)
	sortIDs(ids)
	if !slices.Equal(handed, ids) {
		t.Fatalf("blobs handed back and kept = %x, want each of %x once", handed, ids)
	}
	for _, id := range ids {
		never := blobExpires(t, d, id).Equal(directory.NeverExpires)
		if never != (id == got.Blob) {
			t.Errorf("blob %x: never expires %v, the backup's is %x", id, never, got.Blob)
		}
	}
}
