package attachment

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"testing"
)

// TestLastFlag: a blob cut at a chunk boundary, presented as a whole blob
// of that length with that digest (so that only the chunks themselves can
// tell), fails: its new final chunk was sealed as not the last. A blob of
// the same shape whose final chunk was sealed as the last decrypts, so it
// is the flag that refuses the cut one.
func TestLastFlag(t *testing.T) {
	key, nonce := bytes.Repeat([]byte{7}, KeySize), bytes.Repeat([]byte{9}, NonceSize)
	plain := bytes.Repeat([]byte{0xA5}, 3*ChunkSize)
	// Two full chunks, as if 2 × ChunkSize were a bucket.
	short := geometry{size: 2 * ChunkSize, padded: 2 * ChunkSize, n: 2}

	seal := func(g geometry) []byte {
		t.Helper()
		e := &encrypter{g: g, aead: payloadAEAD(key, nonce), plain: bytes.NewReader(plain), out: nonce}
		b, err := io.ReadAll(e)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	open := func(blob []byte) ([]byte, error) {
		sum := sha256.Sum256(blob)
		return io.ReadAll(newDecrypter(key, sum[:], short, bytes.NewReader(blob)))
	}

	whole := seal(short)
	if got, err := open(whole); err != nil || !bytes.Equal(got, plain[:2*ChunkSize]) {
		t.Fatalf("a blob of two chunks: %v", err)
	}

	cut := seal(newGeometry(int64(len(plain))))[:NonceSize+2*sealedChunkSize]
	got, err := open(cut)
	if !errors.Is(err, ErrTampered) {
		t.Fatalf("a blob cut after two chunks: %v, want ErrTampered", err)
	}
	if !bytes.Equal(got, plain[:ChunkSize]) {
		t.Fatalf("got %d bytes, want the first chunk alone", len(got))
	}
}
