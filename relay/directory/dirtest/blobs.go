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

// blobEpoch is the time the blob tests start at: a fixed instant, so that
// every time they compare is exact.
var blobEpoch = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

// newBlob is a blob of size bytes granted to owner at created, kept for
// 30 days, with a fresh token hash good for an hour.
func newBlob(owner wire.UserID, size int64, created time.Time) directory.Blob {
	return directory.Blob{
		ID: wire.NewBlobID(), Owner: owner, Size: size, TokenHash: randomBytes(32),
		TokenExpires: created.Add(time.Hour), Created: created, Expires: created.Add(30 * 24 * time.Hour),
	}
}

func sameBlob(a, b directory.Blob) bool {
	return a.ID == b.ID && a.Owner == b.Owner && a.Size == b.Size && bytes.Equal(a.TokenHash, b.TokenHash) &&
		a.TokenExpires.Equal(b.TokenExpires) && a.Created.Equal(b.Created) && a.Completed.Equal(b.Completed) &&
		a.Expires.Equal(b.Expires) && a.Deleted.Equal(b.Deleted)
}

// testBlobs walks one blob through its life: granted, its token renewed,
// completed (once), deleted, purged; and what is refused on the way.
func testBlobs(t *testing.T, d directory.Directory) {
	ctx := context.Background()
	owner, other := newUser(t, d), newUser(t, d)
	b := newBlob(owner, 1234, blobEpoch)
	if err := d.CreateBlob(ctx, b, directory.BlobLimits{}); err != nil {
		t.Fatalf("CreateBlob: %v", err)
	}
	got, err := d.Blob(ctx, b.ID)
	if err != nil || !sameBlob(got, b) || !got.Unfinished() {
		t.Fatalf("Blob = %+v, %v; want %+v", got, err, b)
	}
	if err := d.CreateBlob(ctx, b, directory.BlobLimits{}); !errors.Is(err, directory.ErrExists) {
		t.Fatalf("CreateBlob(same ID) = %v, want ErrExists", err)
	}
	if _, err := d.Blob(ctx, wire.NewBlobID()); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("Blob(unknown) = %v, want ErrNotFound", err)
	}

	// Invalid records are refused.
	for name, bad := range map[string]func(*directory.Blob){
		"no ID":         func(b *directory.Blob) { b.ID = wire.BlobID{} },
		"empty":         func(b *directory.Blob) { b.Size = 0 },
		"too large":     func(b *directory.Blob) { b.Size = wire.MaxBlobSize + 1 },
		"short hash":    func(b *directory.Blob) { b.TokenHash = b.TokenHash[:16] },
		"no expiry":     func(b *directory.Blob) { b.Expires = time.Time{} },
		"complete":      func(b *directory.Blob) { b.Completed = blobEpoch },
		"deleted":       func(b *directory.Blob) { b.Deleted = blobEpoch },
		"no token time": func(b *directory.Blob) { b.TokenExpires = time.Time{} },
	} {
		x := newBlob(owner, 10, blobEpoch)
		bad(&x)
		if err := d.CreateBlob(ctx, x, directory.BlobLimits{}); !errors.Is(err, directory.ErrInvalid) {
			t.Errorf("CreateBlob(%s) = %v, want ErrInvalid", name, err)
		}
	}
	if err := d.CreateBlob(ctx, newBlob(owner, 10, blobEpoch), directory.BlobLimits{Unfinished: -1}); !errors.Is(err, directory.ErrInvalid) {
		t.Errorf("CreateBlob(negative limit) = %v, want ErrInvalid", err)
	}

	// The token is renewed only for its owner, while the upload is
	// unfinished.
	hash := randomBytes(32)
	exp := blobEpoch.Add(2 * time.Hour)
	if _, err := d.RenewBlobToken(ctx, b.ID, other, hash, exp); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("RenewBlobToken(another owner) = %v, want ErrNotFound", err)
	}
	if _, err := d.RenewBlobToken(ctx, wire.NewBlobID(), owner, hash, exp); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("RenewBlobToken(unknown) = %v, want ErrNotFound", err)
	}
	renewed, err := d.RenewBlobToken(ctx, b.ID, owner, hash, exp)
	b.TokenHash, b.TokenExpires = hash, exp
	if err != nil || !sameBlob(renewed, b) {
		t.Fatalf("RenewBlobToken = %+v, %v; want %+v", renewed, err, b)
	}
	if got, _ := d.Blob(ctx, b.ID); !sameBlob(got, b) {
		t.Fatalf("after renewal Blob = %+v, want %+v", got, b)
	}

	// Completing is idempotent and keeps the first time.
	done := blobEpoch.Add(time.Minute)
	if err := d.CompleteBlob(ctx, b.ID, done); err != nil {
		t.Fatalf("CompleteBlob: %v", err)
	}
	if err := d.CompleteBlob(ctx, b.ID, done.Add(time.Minute)); err != nil {
		t.Fatalf("CompleteBlob again: %v", err)
	}
	b.Completed = done
	if got, _ := d.Blob(ctx, b.ID); !sameBlob(got, b) || got.Unfinished() {
		t.Fatalf("after completion Blob = %+v, want %+v", got, b)
	}
	if err := d.CompleteBlob(ctx, wire.NewBlobID(), done); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("CompleteBlob(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := d.RenewBlobToken(ctx, b.ID, owner, randomBytes(32), exp); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("RenewBlobToken(complete) = %v, want ErrNotFound", err)
	}

	// Deleting keeps the record, once; completing a deleted blob fails.
	gone := b.Expires
	if err := d.DeleteBlob(ctx, b.ID, gone); err != nil {
		t.Fatalf("DeleteBlob: %v", err)
	}
	if err := d.DeleteBlob(ctx, b.ID, gone.Add(time.Hour)); err != nil {
		t.Fatalf("DeleteBlob again: %v", err)
	}
	if err := d.DeleteBlob(ctx, wire.NewBlobID(), gone); err != nil {
		t.Fatalf("DeleteBlob(unknown): %v", err)
	}
	b.Deleted = gone
	if got, _ := d.Blob(ctx, b.ID); !sameBlob(got, b) {
		t.Fatalf("after deletion Blob = %+v, want %+v", got, b)
	}
	u := newBlob(owner, 10, blobEpoch)
	if err := d.CreateBlob(ctx, u, directory.BlobLimits{}); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteBlob(ctx, u.ID, blobEpoch.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := d.CompleteBlob(ctx, u.ID, blobEpoch.Add(time.Hour)); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("CompleteBlob(deleted) = %v, want ErrNotFound", err)
	}

	// Purging removes the records of deleted blobs expired before the
	// time given, and only those.
	if n, err := d.PurgeBlobs(ctx, b.Expires, 100); err != nil || n != 0 {
		t.Fatalf("PurgeBlobs(at expiry) = %d, %v; want 0", n, err)
	}
	if n, err := d.PurgeBlobs(ctx, b.Expires.Add(time.Nanosecond), 100); err != nil || n != 2 {
		t.Fatalf("PurgeBlobs = %d, %v; want 2", n, err)
	}
	if _, err := d.Blob(ctx, b.ID); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("Blob(purged) = %v, want ErrNotFound", err)
	}
}

// testBlobLimits checks the unfinished uploads and bytes a day that
// CreateBlob enforces, and what BlobUsage reports.
func testBlobLimits(t *testing.T, d directory.Directory) {
	ctx := context.Background()
	owner, other := newUser(t, d), newUser(t, d)
	lim := directory.BlobLimits{Unfinished: 3, Bytes: 1000, Since: blobEpoch.Add(-24 * time.Hour)}

	// Before the window: counts against no bytes, but its upload is
	// unfinished.
	old := newBlob(owner, 900, blobEpoch.Add(-25*time.Hour))
	if err := d.CreateBlob(ctx, old, directory.BlobLimits{}); err != nil {
		t.Fatal(err)
	}
	var ids []wire.BlobID
	for i := range 2 {
		b := newBlob(owner, 300, blobEpoch.Add(time.Duration(i)*time.Minute))
		if err := d.CreateBlob(ctx, b, lim); err != nil {
			t.Fatalf("CreateBlob %d: %v", i, err)
		}
		ids = append(ids, b.ID)
	}
	if err := d.CreateBlob(ctx, newBlob(owner, 1, blobEpoch), lim); !errors.Is(err, directory.ErrFull) {
		t.Fatalf("CreateBlob(fourth unfinished) = %v, want ErrFull", err)
	}
	usage, err := d.BlobUsage(ctx, owner, lim.Since)
	if err != nil || usage != (directory.BlobUsage{Bytes: 600, Oldest: blobEpoch, Unfinished: 3}) {
		t.Fatalf("BlobUsage = %+v, %v", usage, err)
	}

	// A completed upload frees its place, not its bytes.
	if err := d.CompleteBlob(ctx, old.ID, blobEpoch); err != nil {
		t.Fatal(err)
	}
	if err := d.CreateBlob(ctx, newBlob(owner, 401, blobEpoch), lim); !errors.Is(err, directory.ErrQuota) {
		t.Fatalf("CreateBlob(past the bytes) = %v, want ErrQuota", err)
	}
	last := newBlob(owner, 400, blobEpoch.Add(time.Hour))
	if err := d.CreateBlob(ctx, last, lim); err != nil {
		t.Fatalf("CreateBlob(up to the bytes): %v", err)
	}
	// A deleted upload frees its place, not its bytes either.
	if err := d.DeleteBlob(ctx, ids[0], blobEpoch.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := d.CreateBlob(ctx, newBlob(owner, 1, blobEpoch.Add(time.Hour)), lim); !errors.Is(err, directory.ErrQuota) {
		t.Fatalf("CreateBlob(one byte past) = %v, want ErrQuota", err)
	}
	usage, err = d.BlobUsage(ctx, owner, lim.Since)
	if err != nil || usage != (directory.BlobUsage{Bytes: 1000, Oldest: blobEpoch, Unfinished: 2}) {
		t.Fatalf("BlobUsage = %+v, %v", usage, err)
	}
	// The next day the bytes are back.
	next := directory.BlobLimits{Unfinished: 3, Bytes: 1000, Since: blobEpoch.Add(time.Minute)}
	if err := d.CreateBlob(ctx, newBlob(owner, 600, blobEpoch.Add(25*time.Hour)), next); err != nil {
		t.Fatalf("CreateBlob(next day): %v", err)
	}
	// Another owner has limits of its own.
	if err := d.CreateBlob(ctx, newBlob(other, 1000, blobEpoch), lim); err != nil {
		t.Fatalf("CreateBlob(other owner): %v", err)
	}
	if usage, err := d.BlobUsage(ctx, wire.NewUserID(), lim.Since); err != nil || usage != (directory.BlobUsage{}) {
		t.Fatalf("BlobUsage(nobody) = %+v, %v", usage, err)
	}
}

// testConcurrentBlobs grants uploads to one owner from many goroutines at
// once: no more than the limits allow are granted.
func testConcurrentBlobs(t *testing.T, d directory.Directory) {
	ctx := context.Background()
	owner := newUser(t, d)
	lim := directory.BlobLimits{Unfinished: 5, Bytes: 1 << 30, Since: blobEpoch.Add(-24 * time.Hour)}
	var wg sync.WaitGroup
	var mu sync.Mutex
	granted := 0
	for range 20 {
		wg.Go(func() {
			err := d.CreateBlob(ctx, newBlob(owner, 100, blobEpoch), lim)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				granted++
			case !errors.Is(err, directory.ErrFull):
				t.Errorf("CreateBlob: %v", err)
			}
		})
	}
	wg.Wait()
	if granted != lim.Unfinished {
		t.Fatalf("%d concurrent uploads granted, want %d", granted, lim.Unfinished)
	}

	bytesOwner := newUser(t, d)
	lim = directory.BlobLimits{Bytes: 1000, Since: blobEpoch.Add(-24 * time.Hour)}
	granted = 0
	for range 20 {
		wg.Go(func() {
			err := d.CreateBlob(ctx, newBlob(bytesOwner, 300, blobEpoch), lim)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				granted++
			case !errors.Is(err, directory.ErrQuota):
				t.Errorf("CreateBlob: %v", err)
			}
		})
	}
	wg.Wait()
	if granted != 3 {
		t.Fatalf("%d concurrent uploads of 300 bytes granted within 1,000, want 3", granted)
	}
}

// testExpiredBlobs checks what the sweeper is given: expired blobs and
// stale unfinished uploads, not deleted ones, within the limit.
func testExpiredBlobs(t *testing.T, d directory.Directory) {
	ctx := context.Background()
	owner := newUser(t, d)
	now := blobEpoch.Add(31 * 24 * time.Hour)
	stale := now.Add(-24 * time.Hour)
	mk := func(created time.Time, complete bool) wire.BlobID {
		t.Helper()
		b := newBlob(owner, 10, created)
		if err := d.CreateBlob(ctx, b, directory.BlobLimits{}); err != nil {
			t.Fatal(err)
		}
		if complete {
			if err := d.CompleteBlob(ctx, b.ID, created); err != nil {
				t.Fatal(err)
			}
		}
		return b.ID
	}
	expired := mk(blobEpoch, true)                    // expires a day before now
	expiredUnfinished := mk(blobEpoch, false)         // both
	atExpiry := mk(now.Add(-30*24*time.Hour), true)   // expires exactly now
	staleUpload := mk(stale.Add(-time.Second), false) // unfinished for over a day
	mk(stale.Add(time.Second), false)                 // unfinished, recent
	mk(now.Add(-29*24*time.Hour), true)               // complete, not expired
	deleted := mk(blobEpoch, true)                    // expired, already deleted
	if err := d.DeleteBlob(ctx, deleted, now); err != nil {
		t.Fatal(err)
	}
	want := []wire.BlobID{expired, expiredUnfinished, atExpiry, staleUpload}
	sortIDs := func(ids []wire.BlobID) {
		slices.SortFunc(ids, func(a, b wire.BlobID) int { return bytes.Compare(a[:], b[:]) })
	}
	sortIDs(want)
	got, err := d.ExpiredBlobs(ctx, now, stale, 100)
	sortIDs(got)
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("ExpiredBlobs = %x, %v; want %x", got, err, want)
	}
	if got, err := d.ExpiredBlobs(ctx, now, stale, 2); err != nil || len(got) != 2 {
		t.Fatalf("ExpiredBlobs(limit 2) = %d blobs, %v", len(got), err)
	}
	for _, id := range want {
		if err := d.DeleteBlob(ctx, id, now); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := d.ExpiredBlobs(ctx, now, stale, 100); err != nil || len(got) != 0 {
		t.Fatalf("ExpiredBlobs after deleting them = %x, %v", got, err)
	}
	if _, err := d.ExpiredBlobs(ctx, now, stale, -1); !errors.Is(err, directory.ErrInvalid) {
		t.Fatalf("ExpiredBlobs(limit -1) = %v, want ErrInvalid", err)
	}
	if n, err := d.PurgeBlobs(ctx, now.Add(90*24*time.Hour), 2); err != nil || n != 2 {
		t.Fatalf("PurgeBlobs(limit 2) = %d, %v", n, err)
	}
}
