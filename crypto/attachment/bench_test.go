package attachment_test

import (
	"bytes"
	"crypto/sha256"
	"io"
	"testing"

	"github.com/mutualcoop/mutual/crypto/attachment"
)

// benchSize is the largest attachment.
const benchSize = 100 << 20

// BenchmarkEncrypt: encrypting a 100 MiB file, as an upload does.
func BenchmarkEncrypt(b *testing.B) {
	key, nonce := attachment.NewKey(), attachment.NewNonce()
	plain := plaintext(benchSize)
	buf := make([]byte, 256<<10)
	b.SetBytes(benchSize)
	for b.Loop() {
		r, err := attachment.Encrypt(key, nonce, benchSize, bytes.NewReader(plain), 0)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyBuffer(struct{ io.Writer }{io.Discard}, r, buf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecrypt: decrypting and checking a 100 MiB blob, as a
// download does.
func BenchmarkDecrypt(b *testing.B) {
	key, nonce := attachment.NewKey(), attachment.NewNonce()
	r, err := attachment.Encrypt(key, nonce, benchSize, &pattern{size: benchSize}, 0)
	if err != nil {
		b.Fatal(err)
	}
	blob, err := io.ReadAll(r)
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256(blob)
	buf := make([]byte, 256<<10)
	b.SetBytes(benchSize)
	for b.Loop() {
		d, err := attachment.Decrypt(key, benchSize, digest[:], bytes.NewReader(blob))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyBuffer(struct{ io.Writer }{io.Discard}, d, buf); err != nil {
			b.Fatal(err)
		}
	}
}
