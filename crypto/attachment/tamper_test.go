package attachment_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"testing"

	"github.com/mutualcoop/mutual/crypto/attachment"
)

// TestDecryptTampered: every change to a blob, or to what its pointer
// says, fails with ErrTampered, and the reader gives none of the bytes of
// the chunk where the damage is found (the final chunk's only once the
// whole blob is checked).
func TestDecryptTampered(t *testing.T) {
	s := newSample(t, 3*attachment.ChunkSize+1000)
	size := int64(len(s.plain))
	n := (attachment.PaddedSize(size) + attachment.ChunkSize - 1) / attachment.ChunkSize
	if n != 4 {
		t.Fatalf("the sample has %d chunks, want 4", n)
	}
	start := func(i int64) int64 { return attachment.NonceSize + i*sealedChunk }
	edit := func(f func(b []byte) []byte) []byte {
		return f(bytes.Clone(s.blob))
	}
	flip := func(at int64) []byte {
		return edit(func(b []byte) []byte { b[at] ^= 0x10; return b })
	}
	end := int64(len(s.blob))

	type tc struct {
		name   string
		blob   []byte
		size   int64  // 0: the sample's
		digest []byte // nil: the blob's own SHA-256 when blob differs, else the sample's
		good   int64  // the chunks the reader may give before failing
	}
	cases := []tc{
		{name: "nonce", blob: flip(3), good: 0},
		{name: "swapped chunks 0 and 1", blob: edit(func(b []byte) []byte {
			c0 := bytes.Clone(b[start(0):start(1)])
			copy(b[start(0):], b[start(1):start(2)])
			copy(b[start(1):], c0)
			return b
		}), good: 0},
		{name: "swapped chunks 1 and 2", blob: edit(func(b []byte) []byte {
			c1 := bytes.Clone(b[start(1):start(2)])
			copy(b[start(1):], b[start(2):start(3)])
			copy(b[start(2):], c1)
			return b
		}), good: 1},
		{name: "chunk 1 twice", blob: edit(func(b []byte) []byte {
			copy(b[start(2):], b[start(1):start(2)])
			return b
		}), good: 2},
		{name: "empty", blob: []byte{}, good: 0},
		{name: "nonce only", blob: s.blob[:attachment.NonceSize], good: 0},
		{name: "cut in the nonce", blob: s.blob[:5], good: 0},
		{name: "one byte short", blob: s.blob[:end-1], good: n - 1},
		{name: "a tag short", blob: s.blob[:end-attachment.TagSize], good: n - 1},
		{name: "a byte more", blob: append(bytes.Clone(s.blob), 0), good: n - 1},
		{name: "a chunk more", blob: append(bytes.Clone(s.blob), s.blob[start(0):start(1)]...), good: n - 1},
		{name: "wrong digest", blob: s.blob, digest: make([]byte, 32), good: n - 1},
		{name: "a byte less in the size, same bucket", blob: s.blob, size: size - 1, good: n - 1},
		{name: "size of a larger bucket", blob: s.blob, size: attachment.PaddedSize(size) + 1, good: n - 1},
		{name: "size of the bucket below (its third chunk is shorter)", blob: s.blob, size: size - 10_000, good: 2},
		{name: "size of three chunks", blob: s.blob, size: 2 * attachment.ChunkSize, good: 2},
	}
	for i := range n {
		cases = append(cases,
			tc{name: "cut at the start of a chunk", blob: s.blob[:start(i)], good: i},
			tc{name: "cut inside a chunk", blob: s.blob[:start(i)+100], good: i},
			tc{name: "first byte of a chunk", blob: flip(start(i)), good: i},
			tc{name: "middle of a chunk", blob: flip((start(i) + min(start(i+1), end)) / 2), good: i},
			tc{name: "tag of a chunk", blob: flip(min(start(i+1), end) - 1), good: i},
		)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			claimed := size
			if c.size != 0 {
				claimed = c.size
			}
			digest := c.digest
			if digest == nil {
				sum := sha256.Sum256(c.blob)
				digest = sum[:]
			}
			r, err := attachment.Decrypt(s.key, claimed, digest, bytes.NewReader(c.blob))
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			if !errors.Is(err, attachment.ErrTampered) {
				t.Fatalf("got %v, want ErrTampered", err)
			}
			if want := s.plain[:min(c.good*attachment.ChunkSize, claimed)]; !bytes.Equal(got, want) {
				t.Fatalf("gave %d bytes before failing, want the %d of the chunks before the damage", len(got), len(want))
			}
			if n, err := r.Read(make([]byte, 10)); n != 0 || !errors.Is(err, attachment.ErrTampered) {
				t.Fatalf("a read after the failure: %d, %v", n, err)
			}
		})
	}
}

// TestDecryptWrongKey: another key opens nothing.
func TestDecryptWrongKey(t *testing.T) {
	s := newSample(t, 1000)
	r, err := attachment.Decrypt(attachment.NewKey(), 1000, s.digest, bytes.NewReader(s.blob))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(r); len(got) != 0 || !errors.Is(err, attachment.ErrTampered) {
		t.Fatalf("got %d bytes, %v", len(got), err)
	}
}

// TestDecryptNonZeroPadding: a blob whose padding is not zero bytes (a
// sender that does not follow the format) is refused.
func TestDecryptNonZeroPadding(t *testing.T) {
	s := newSample(t, 1000)
	// The same blob claims one byte fewer: the plaintext's last byte,
	// not zero, is now padding.
	if s.plain[999] == 0 {
		t.Fatal("the sample's last byte is zero")
	}
	s.plain = s.plain[:999]
	if _, err := s.decrypt(s.blob); !errors.Is(err, attachment.ErrTampered) {
		t.Fatalf("got %v, want ErrTampered", err)
	}
}
