package attachment_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"slices"
	"testing"

	"github.com/mutualcoop/mutual/crypto/attachment"
)

// fuzzKey and fuzzNonce make the fuzz targets' blobs.
var (
	fuzzKey   = bytes.Repeat([]byte{0x4b}, attachment.KeySize)
	fuzzNonce = bytes.Repeat([]byte{0x6e}, attachment.NonceSize)
)

// fuzzPointer is a plaintext, its blob and the blob's digest.
type fuzzPointer struct {
	plain, blob, digest []byte
}

func newFuzzPointer(f *testing.F, size int64) fuzzPointer {
	f.Helper()
	plain := plaintext(size)
	r, err := attachment.Encrypt(fuzzKey, fuzzNonce, size, bytes.NewReader(plain), 0)
	if err != nil {
		f.Fatal(err)
	}
	blob, err := io.ReadAll(r)
	if err != nil {
		f.Fatal(err)
	}
	sum := sha256.Sum256(blob)
	return fuzzPointer{plain, blob, sum[:]}
}

// check decrypts b as p's blob, with p's digest and with b's own (so that
// the chunks themselves are what must refuse it): it either gives exactly
// p's plaintext, or fails with ErrTampered after giving a prefix of it.
func (p fuzzPointer) check(t *testing.T, b []byte) {
	own := sha256.Sum256(b)
	for _, digest := range [][]byte{p.digest, own[:]} {
		r, err := attachment.Decrypt(fuzzKey, int64(len(p.plain)), digest, bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		if !bytes.HasPrefix(p.plain, got) {
			t.Fatalf("gave %d bytes that are not the plaintext's", len(got))
		}
		if err == nil && len(got) != len(p.plain) {
			t.Fatalf("ended after %d of %d bytes without an error", len(got), len(p.plain))
		}
		if err != nil && !errors.Is(err, attachment.ErrTampered) {
			t.Fatalf("error %v is not ErrTampered", err)
		}
	}
}

// FuzzDecrypt: any bytes, taken as the blob of a small plaintext (one
// chunk), decrypt to exactly that plaintext or fail; nothing panics.
func FuzzDecrypt(f *testing.F) {
	p := newFuzzPointer(f, 100)
	f.Add(p.blob)
	f.Add(p.blob[:len(p.blob)-1])
	f.Add(append(bytes.Clone(p.blob), 0))
	f.Add([]byte{})
	f.Fuzz(p.check)
}

// FuzzDecryptChunks: the blob of a plaintext of two chunks, overwritten
// with any bytes at any place and cut anywhere, decrypts to exactly that
// plaintext or fails; nothing panics. (Raw blobs of this size would be
// too large for the fuzzer to mutate well.)
func FuzzDecryptChunks(f *testing.F) {
	p := newFuzzPointer(f, attachment.ChunkSize+100)
	end := uint32(len(p.blob))
	f.Add(uint32(0), []byte{}, uint32(0))
	f.Add(uint32(attachment.NonceSize+sealedChunk-1), []byte{0}, uint32(0))
	f.Add(uint32(0), []byte{}, uint32(attachment.NonceSize+sealedChunk))
	f.Add(end, []byte{1, 2, 3}, uint32(0))
	f.Fuzz(func(t *testing.T, at uint32, patch []byte, cut uint32) {
		at %= end + 1
		b := slices.Concat(p.blob[:at], patch, p.blob[min(int(at)+len(patch), len(p.blob)):])
		if cut != 0 {
			b = b[:int(cut)%(len(b)+1)]
		}
		p.check(t, b)
	})
}
