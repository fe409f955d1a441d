package attachment_test

import (
	"io"
	"runtime"
	"testing"

	"github.com/mutualcoop/mutual/crypto/attachment"
)

// pattern is a plaintext of any length that allocates nothing: byte i is
// i mod 251.
type pattern struct{ off, size int64 }

func (p *pattern) Read(b []byte) (int, error) {
	if p.off == p.size {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), p.size-p.off)]
	for i := range b {
		b[i] = byte((p.off + int64(i)) % 251)
	}
	p.off += int64(len(b))
	return len(b), nil
}

// check is a writer that checks it is written the pattern.
type check struct {
	tb  testing.TB
	off int64
}

func (c *check) Write(b []byte) (int, error) {
	for i, x := range b {
		if x != byte((c.off+int64(i))%251) {
			c.tb.Fatalf("byte %d of the plaintext is wrong", c.off+int64(i))
		}
	}
	c.off += int64(len(b))
	return len(b), nil
}

// streamDigest returns the digest of the blob of a pattern of size bytes.
func streamDigest(tb testing.TB, key, nonce []byte, size int64) []byte {
	tb.Helper()
	r, err := attachment.Encrypt(key, nonce, size, &pattern{size: size}, 0)
	if err != nil {
		tb.Fatal(err)
	}
	h := attachment.Digest()
	if _, err := io.Copy(h, r); err != nil {
		tb.Fatal(err)
	}
	return h.Sum(nil)
}

// TestStreamMemory: encrypting and decrypting a 100 MiB file, streamed,
// allocates a few chunks' worth, not the file's size.
func TestStreamMemory(t *testing.T) {
	const size = 100 << 20
	key, nonce := attachment.NewKey(), attachment.NewNonce()
	digest := streamDigest(t, key, nonce, size)
	buf := make([]byte, 32<<10)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	enc, err := attachment.Encrypt(key, nonce, size, &pattern{size: size}, 0)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := attachment.Decrypt(key, size, digest, enc)
	if err != nil {
		t.Fatal(err)
	}
	out := &check{tb: t}
	if _, err := io.CopyBuffer(struct{ io.Writer }{out}, dec, buf); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if out.off != size {
		t.Fatalf("decrypted %d bytes, want %d", out.off, size)
	}
	// Two sealed-chunk buffers and small change; 1 MiB leaves room for
	// the runtime's own allocations during the run.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Fatalf("streaming %d bytes allocated %d bytes", size, alloc)
	}
}
