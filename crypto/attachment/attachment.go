package attachment

import (
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"math/big"

	"golang.org/x/crypto/chacha20poly1305"
)

const (
	// ChunkSize is the size of a plaintext chunk: 64 KiB.
	ChunkSize = 64 << 10
	// KeySize is the size of an attachment key.
	KeySize = 32
	// NonceSize is the size of a blob's nonce, its first bytes.
	NonceSize = 16
	// TagSize is the size of the authentication tag after every chunk.
	TagSize = chacha20poly1305.Overhead
	// DigestSize is the size of a blob's digest (SHA-256).
	DigestSize = sha256.Size
	// MaxSize is the largest plaintext this package encrypts or
	// decrypts: 1 TiB, far above any attachment, so that every size and
	// offset of a blob fits an int64.
	MaxSize = 1 << 40

	// minPadded is the smallest padded size, Signal's.
	minPadded = 541
	// sealedChunkSize is the size of a full chunk in the blob.
	sealedChunkSize = ChunkSize + TagSize
)

// ErrTampered reports a blob that is not the one its pointer describes: a
// chunk that does not authenticate, a blob too short or too long, or a
// wrong digest.
var ErrTampered = errors.New("attachment: blob is damaged or was tampered with")

// PaddedSize returns the bucket a plaintext of size bytes is padded to:
// max(541, floor(1.05^k)) with k the smallest integer such that
// 1.05^k >= size (Signal's attachment buckets). It is computed exactly
// (21^k against size·20^k), not in floating point. It panics unless
// 0 <= size <= MaxSize.
func PaddedSize(size int64) int64 {
	checkSize(size)
	num, den := big.NewInt(1), big.NewInt(1)
	sz, target := big.NewInt(size), new(big.Int)
	twentyOne, twenty := big.NewInt(21), big.NewInt(20)
	for num.Cmp(target.Mul(den, sz)) < 0 {
		num.Mul(num, twentyOne)
		den.Mul(den, twenty)
	}
	return max(num.Quo(num, den).Int64(), minPadded)
}

// BlobSize returns the size of the blob of a plaintext of size bytes: the
// nonce, the padded plaintext and a tag per chunk. It panics unless
// 0 <= size <= MaxSize.
func BlobSize(size int64) int64 {
	padded := PaddedSize(size)
	return NonceSize + padded + chunks(padded)*TagSize
}

// PlainOffset returns where in the plaintext Encrypt must start reading to
// give the blob's bytes from blobOffset on: the start of the chunk that
// holds blobOffset (0 within the nonce). At or past the plaintext's end
// Encrypt reads nothing more from it.
func PlainOffset(blobOffset int64) int64 {
	if blobOffset <= NonceSize {
		return 0
	}
	return (blobOffset - NonceSize) / sealedChunkSize * ChunkSize
}

// NewKey returns a new random attachment key.
func NewKey() []byte {
	return random(KeySize)
}

// NewNonce returns a new random blob nonce.
func NewNonce() []byte {
	return random(NonceSize)
}

// Digest returns a hash of a blob's digest (SHA-256): fed the blob as it
// is sent, it gives the digest the pointer carries, without reading the
// file twice.
func Digest() hash.Hash {
	return sha256.New()
}

func random(n int) []byte {
	b := make([]byte, n)
	rand.Read(b) // never fails
	return b
}

func checkSize(size int64) {
	if size < 0 || size > MaxSize {
		panic(fmt.Sprintf("attachment: size %d out of range", size))
	}
}

// checkArgs checks what Encrypt and Decrypt are given.
func checkArgs(key []byte, size int64) error {
	if len(key) != KeySize {
		return fmt.Errorf("attachment: key is %d bytes, want %d", len(key), KeySize)
	}
	if size < 0 || size > MaxSize {
		return fmt.Errorf("attachment: size %d out of range", size)
	}
	return nil
}

// chunks returns the number of chunks of a padded plaintext (never 0).
func chunks(padded int64) int64 {
	return (padded + ChunkSize - 1) / ChunkSize
}

// payloadAEAD returns the cipher of a blob: ChaCha20-Poly1305 under the
// payload key HKDF-SHA-256(key, nonce, "payload").
func payloadAEAD(key, nonce []byte) cipher.AEAD {
	pk, err := hkdf.Key(sha256.New, key, nonce, "payload", chacha20poly1305.KeySize)
	if err != nil {
		panic(err) // 32 bytes of SHA-256's HKDF never fail
	}
	aead, err := chacha20poly1305.New(pk)
	if err != nil {
		panic(err) // the key has the right size
	}
	return aead
}

// geometry is where the chunks of a blob are.
type geometry struct {
	size, padded, n int64
}

func newGeometry(size int64) geometry {
	padded := PaddedSize(size)
	return geometry{size: size, padded: padded, n: chunks(padded)}
}

// chunkLen returns the plaintext length of chunk i.
func (g geometry) chunkLen(i int64) int {
	return int(min(ChunkSize, g.padded-i*ChunkSize))
}

// dataLen returns how many of chunk i's plaintext bytes are the file's
// (the rest is padding).
func (g geometry) dataLen(i int64) int {
	return int(max(0, min(int64(g.chunkLen(i)), g.size-i*ChunkSize)))
}

// blobSize returns the blob's size.
func (g geometry) blobSize() int64 {
	return NonceSize + g.padded + g.n*TagSize
}

// chunkNonce writes the nonce of chunk i into nonce: uint88_be(i) || last.
func (g geometry) chunkNonce(nonce *[chacha20poly1305.NonceSize]byte, i int64) {
	*nonce = [chacha20poly1305.NonceSize]byte{}
	binary.BigEndian.PutUint64(nonce[3:11], uint64(i))
	if i == g.n-1 {
		nonce[11] = 1
	}
}
