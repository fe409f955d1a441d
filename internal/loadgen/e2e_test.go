package loadgen_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/mutualcoop/mutual/internal/loadgen"
	"github.com/mutualcoop/mutual/relay/wire"
)

// bundleOf is the bundle a relay hands out for a device that published p,
// with its first one-time prekey.
func bundleOf(d wire.DeviceID, p *wire.PublishKeys) *wire.Bundle {
	b := &wire.Bundle{Device: d, Identity: p.Identity, Signed: *p.Signed, KEM: *p.KEMLastResort, KEMLastResort: true}
	if len(p.OneTime) > 0 {
		b.OneTime = &p.OneTime[0]
	}
	return b
}

// e2ePair returns two encoders with a session from a to b, answered.
func e2ePair(t testing.TB) (a, b *loadgen.E2E, pa, pb loadgen.Peer) {
	t.Helper()
	pa = loadgen.Peer{User: wire.UserID{1}, Device: 1}
	pb = loadgen.Peer{User: wire.UserID{2}, Device: 1}
	var err error
	if a, err = loadgen.NewE2E(nil); err != nil {
		t.Fatal(err)
	}
	if b, err = loadgen.NewE2E(nil); err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background(), pb, bundleOf(pb.Device, b.PublishKeys())); err != nil {
		t.Fatal(err)
	}
	first, err := a.Encode(pb, []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Decode(pa, first); err != nil {
		t.Fatal(err)
	}
	answer, err := b.Encode(pa, []byte("hi"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Decode(pb, answer); err != nil {
		t.Fatal(err)
	}
	return a, b, pa, pb
}

func TestE2ERoundTripAndTampering(t *testing.T) {
	a, b, pa, pb := e2ePair(t)
	msg := bytes.Repeat([]byte("bench"), 60)
	ct, err := a.Encode(pb, msg)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(ct, msg[:20]) {
		t.Fatal("the ciphertext holds the plaintext")
	}
	tests := []struct {
		name   string
		tamper func([]byte) []byte
	}{
		{"empty", func([]byte) []byte { return nil }},
		{"type byte", func(c []byte) []byte { c[0] ^= 1; return c }},
		{"body", func(c []byte) []byte { c[len(c)/2] ^= 0x40; return c }},
		{"mac", func(c []byte) []byte { c[len(c)-1] ^= 1; return c }},
		{"truncated", func(c []byte) []byte { return c[:len(c)-1] }},
		{"type byte only", func(c []byte) []byte { return c[:1] }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := tt.tamper(bytes.Clone(ct))
			if got, err := b.Decode(pa, bad); err == nil {
				t.Fatalf("tampered message decoded to %d bytes", len(got))
			}
		})
	}
	// A tampered copy leaves the session as it was: the original still
	// decrypts, once.
	got, err := b.Decode(pa, ct)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("decode: %q %v", got, err)
	}
	if _, err := b.Decode(pa, ct); err == nil {
		t.Fatal("replayed message decoded")
	}
	// From the wrong sender it does not decrypt either.
	ct2, err := a.Encode(pb, msg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Decode(loadgen.Peer{User: wire.UserID{3}, Device: 1}, ct2); err == nil {
		t.Fatal("decoded as coming from a device without a session")
	}
}

func TestE2EStartRefusesBadBundles(t *testing.T) {
	a, err := loadgen.NewE2E(nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := loadgen.NewE2E(nil)
	if err != nil {
		t.Fatal(err)
	}
	to := loadgen.Peer{User: wire.UserID{2}, Device: 3}
	tests := []struct {
		name   string
		mutate func(*wire.Bundle)
	}{
		{"other device", func(x *wire.Bundle) { x.Device = 4 }},
		{"signed prekey signature", func(x *wire.Bundle) {
			x.Signed.Signature = bytes.Clone(x.Signed.Signature)
			x.Signed.Signature[0] ^= 1
		}},
		{"kem prekey signature", func(x *wire.Bundle) {
			x.KEM.Signature = bytes.Clone(x.KEM.Signature)
			x.KEM.Signature[0] ^= 1
		}},
		{"no kem prekey", func(x *wire.Bundle) { x.KEM = wire.Prekey{} }},
		{"short identity", func(x *wire.Bundle) { x.Identity = x.Identity[:10] }},
		{"short signed prekey", func(x *wire.Bundle) { x.Signed.Public = x.Signed.Public[:32] }},
		{"short one-time prekey", func(x *wire.Bundle) {
			x.OneTime = &wire.Prekey{ID: x.OneTime.ID, Public: x.OneTime.Public[:32]}
		}},
		{"short kem prekey", func(x *wire.Bundle) { x.KEM.Public = x.KEM.Public[:100] }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := bundleOf(to.Device, b.PublishKeys())
			tt.mutate(x)
			if err := a.Start(context.Background(), to, x); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	t.Run("no one-time prekey", func(t *testing.T) {
		x := bundleOf(to.Device, b.PublishKeys())
		x.OneTime = nil
		if err := a.Start(context.Background(), to, x); err != nil {
			t.Fatalf("a bundle without a one-time prekey: %v", err)
		}
	})
}

func FuzzE2EDecode(f *testing.F) {
	a, b, pa, pb := e2ePair(f)
	for _, m := range [][]byte{nil, []byte("x"), bytes.Repeat([]byte{7}, 300)} {
		ct, err := a.Encode(pb, m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(ct)
	}
	f.Add([]byte{})
	f.Add([]byte{3, 0x44})
	f.Fuzz(func(t *testing.T, data []byte) {
		// Whatever it is given, Decode returns an error or a plaintext;
		// it never panics.
		_, _ = b.Decode(pa, data)
	})
}
