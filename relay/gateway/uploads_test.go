package gateway_test

import (
	"crypto/sha256"
	"crypto/subtle"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/gateway"
	"github.com/mutualcoop/mutual/relay/wire"
)

// grant asks for an upload and returns the grant, failing the test on any
// other answer.
func (d *device) grant(u *wire.Upload) *wire.UploadGrant {
	d.t.Helper()
	got := d.call(u)
	g, ok := got.(*wire.UploadGrant)
	if !ok {
		d.t.Fatalf("Upload %+v: %#v", u, got)
	}
	return g
}

// uploadError asks for an upload that must be refused and returns the
// error.
func (d *device) uploadError(u *wire.Upload) *wire.Error {
	d.t.Helper()
	got := d.call(u)
	e, ok := got.(*wire.Error)
	if !ok {
		d.t.Fatalf("Upload %+v: %#v, want an error", u, got)
	}
	return e
}

// TestUpload: a grant names a fresh blob with a token whose hash is what
// the directory keeps, for the size asked; asking again with the blob's ID
// gives a new token for the same upload, to its owner only.
func TestUpload(t *testing.T) {
	h, gc := frozenHarness(t)
	alice := h.register(t, "email:alice@example.org")
	bob := h.register(t, "email:bob@example.org")
	ctx := ctxT(t)

	g := alice.grant(&wire.Upload{Size: 5000})
	if g.Blob.IsZero() || len(g.Token) != wire.MaxBlobToken || g.Size != 5000 {
		t.Fatalf("grant %+v", g)
	}
	if want := gc.Now().Add(gateway.DefaultUploadToken).UnixMilli(); g.ExpiresMS != want {
		t.Fatalf("token expires at %d, want %d", g.ExpiresMS, want)
	}
	b, err := h.dir.Blob(ctx, g.Blob)
	if err != nil {
		t.Fatal(err)
	}
	hash := sha256.Sum256(g.Token)
	if b.Owner != alice.user || b.Size != 5000 || subtle.ConstantTimeCompare(b.TokenHash, hash[:]) != 1 ||
		!b.Expires.Equal(gc.Now().Add(gateway.DefaultBlobRetention)) || !b.Unfinished() {
		t.Fatalf("directory record %+v", b)
	}
	if other := alice.grant(&wire.Upload{Size: 5000}); other.Blob == g.Blob {
		t.Fatal("two grants name one blob")
	}

	// Resuming: a new token for the same blob; the old one is replaced.
	gc.advance(2 * time.Hour)
	r := alice.grant(&wire.Upload{Blob: g.Blob})
	if r.Blob != g.Blob || r.Size != 5000 || string(r.Token) == string(g.Token) || r.ExpiresMS != gc.Now().Add(time.Hour).UnixMilli() {
		t.Fatalf("renewal %+v of %+v", r, g)
	}
	b, _ = h.dir.Blob(ctx, g.Blob)
	if hash := sha256.Sum256(r.Token); subtle.ConstantTimeCompare(b.TokenHash, hash[:]) != 1 {
		t.Fatal("the directory keeps another token's hash")
	}
	// Not someone else's, nor a finished or unknown upload.
	if e := bob.uploadError(&wire.Upload{Blob: g.Blob}); e.Code != wire.CodeNotFound {
		t.Fatalf("another account resuming: %#v", e)
	}
	if err := h.dir.CompleteBlob(ctx, g.Blob, gc.Now()); err != nil {
		t.Fatal(err)
	}
	if e := alice.uploadError(&wire.Upload{Blob: g.Blob}); e.Code != wire.CodeNotFound {
		t.Fatalf("resuming a finished upload: %#v", e)
	}
	if e := alice.uploadError(&wire.Upload{Blob: wire.NewBlobID()}); e.Code != wire.CodeNotFound {
		t.Fatalf("resuming an unknown upload: %#v", e)
	}

	// Sizes: 1 byte to MaxBlobSize.
	for _, size := range []uint64{0, wire.MaxBlobSize + 1, 1 << 62} {
		if e := alice.uploadError(&wire.Upload{Size: size}); e.Code != wire.CodeTooLarge {
			t.Errorf("Upload of %d bytes: %#v", size, e)
		}
	}
	alice.grant(&wire.Upload{Size: 1})
	alice.grant(&wire.Upload{Size: wire.MaxBlobSize})
}

// TestUploadQuota: an account is granted at most Uploads.BytesPerDay in
// any 24 hours, however it signs in, and is told when the oldest grant
// leaves the window; its unfinished uploads are bounded too.
func TestUploadQuota(t *testing.T) {
	gc := &clock{now: time.Now()}
	h := newHarness(t, func(c *gateway.Config) {
		c.Now = gc.Now
		c.RefusalPause = time.Millisecond
		c.Uploads.BytesPerDay = 10 << 20
		c.Uploads.Unfinished = 3
	})
	alice := h.register(t, "email:alice@example.org")
	ctx := ctxT(t)

	first := alice.grant(&wire.Upload{Size: 4 << 20})
	gc.advance(time.Hour)
	second := alice.grant(&wire.Upload{Size: 4 << 20})
	h.reconnect(t, alice)
	e := alice.uploadError(&wire.Upload{Size: 3 << 20})
	if e.Code != wire.CodeQuotaExceeded {
		t.Fatalf("past the bytes a day: %#v", e)
	}
	if want := uint64(23*time.Hour/time.Millisecond) + 1; e.RetryAfterMS != want {
		t.Fatalf("retry after %d ms, want %d (when the first grant is a day old)", e.RetryAfterMS, want)
	}
	// Larger than a day's bytes: never, so too large.
	if e := alice.uploadError(&wire.Upload{Size: 10<<20 + 1}); e.Code != wire.CodeTooLarge {
		t.Fatalf("larger than the quota: %#v", e)
	}
	// Renewing a token is not a new grant.
	alice.grant(&wire.Upload{Blob: first.Blob})

	// The third unfinished upload fits; a fourth waits until one is done.
	alice.grant(&wire.Upload{Size: 1 << 20})
	if e := alice.uploadError(&wire.Upload{Size: 1}); e.Code != wire.CodeRateLimited || e.RetryAfterMS == 0 {
		t.Fatalf("a fourth unfinished upload: %#v", e)
	}
	if err := h.dir.CompleteBlob(ctx, second.Blob, gc.Now()); err != nil {
		t.Fatal(err)
	}
	alice.grant(&wire.Upload{Size: 1})

	// A day after the first grant its bytes are back.
	gc.advance(23*time.Hour + time.Millisecond)
	if err := h.dir.CompleteBlob(ctx, first.Blob, gc.Now()); err != nil {
		t.Fatal(err)
	}
	alice.grant(&wire.Upload{Size: 3 << 20})
}

// TestUploadBeforeAuth: an Upload frame before authentication closes
// the connection like any other request.
func TestUploadBeforeAuth(t *testing.T) {
	h := newHarness(t, nil)
	c := h.dial(t)
	c.send(&wire.Upload{Size: 100})
	if code := c.closeCode(); code != wire.CloseAuthRequired {
		t.Fatalf("close code %d, want %d", code, wire.CloseAuthRequired)
	}
}
