// Package kdf is the one place Mutual's end-to-end encryption calls
// HKDF-SHA256 (RFC 5869) and HMAC-SHA256 (RFC 2104), the key derivation and
// authentication functions of X3DH, PQXDH and the Double Ratchet as Signal
// specifies them. Both come from the standard library (crypto/hkdf,
// crypto/hmac); this package fixes the hash and the argument order, and its
// tests run RFC 5869's and Wycheproof's vectors through these exact calls.
//
// One exception: MACByte, the Double Ratchet's chain step, spells RFC
// 2104's two SHA-256 passes out over stack buffers, because crypto/hmac
// allocates five objects to key each HMAC and a receiver may have to make
// 25,000 chain steps, each under a new key, before it can check one
// message's MAC. Its tests check it against crypto/hmac and Wycheproof.
package kdf

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

const (
	// HashSize is the output size of SHA-256, of an HMAC tag and of a PRK.
	HashSize = sha256.Size
	// MaxOutput is the longest output HKDF-SHA256 can produce (255 blocks).
	MaxOutput = 255 * HashSize
	// MinTagSize is the shortest MAC tag VerifyMAC accepts: 8 bytes, the
	// truncation libsignal uses for message MACs.
	MinTagSize = 8
)

// HKDF derives length bytes from the input keying material ikm with the
// given salt and info (HKDF-Extract then HKDF-Expand, SHA-256). An empty
// salt means HashSize zero bytes, as RFC 5869 says. length must be between
// 1 and MaxOutput.
func HKDF(ikm, salt, info []byte, length int) ([]byte, error) {
	if length <= 0 || length > MaxOutput {
		return nil, fmt.Errorf("hkdf: output length %d out of range 1..%d", length, MaxOutput)
	}
	out, err := hkdf.Key(sha256.New, ikm, salt, string(info), length)
	if err != nil {
		return nil, fmt.Errorf("hkdf: %w", err)
	}
	return out, nil
}

// Extract is HKDF-Extract(salt, ikm) with SHA-256.
func Extract(ikm, salt []byte) []byte {
	prk, err := hkdf.Extract(sha256.New, ikm, salt)
	if err != nil {
		// crypto/hkdf fails only in FIPS 140-only mode with short keys.
		panic("kdf: hkdf extract: " + err.Error())
	}
	return prk
}

// Expand is HKDF-Expand(prk, info, length) with SHA-256.
func Expand(prk, info []byte, length int) ([]byte, error) {
	if length <= 0 || length > MaxOutput {
		return nil, fmt.Errorf("hkdf expand: output length %d out of range 1..%d", length, MaxOutput)
	}
	out, err := hkdf.Expand(sha256.New, prk, string(info), length)
	if err != nil {
		return nil, fmt.Errorf("hkdf expand: %w", err)
	}
	return out, nil
}

// MAC returns HMAC-SHA256(key, data[0] || data[1] || ...), 32 bytes.
func MAC(key []byte, data ...[]byte) []byte {
	m := hmac.New(sha256.New, key)
	for _, d := range data {
		m.Write(d)
	}
	return m.Sum(nil)
}

// VerifyMAC reports, in constant time, whether tag is HMAC-SHA256(key,
// data...) truncated to len(tag) bytes. A tag of fewer than MinTagSize or
// more than HashSize bytes is never valid.
func VerifyMAC(key, tag []byte, data ...[]byte) bool {
	if len(tag) < MinTagSize || len(tag) > HashSize {
		return false
	}
	return hmac.Equal(MAC(key, data...)[:len(tag)], tag)
}

// blockSize is SHA-256's block size, the size HMAC pads its key to.
const blockSize = 64

// MACByte returns HMAC-SHA256(key, {b}) for a 32-byte key, as RFC 2104
// defines it: SHA-256((K ^ opad) || SHA-256((K ^ ipad) || b)), K being the
// key padded with zeros to the block size. It allocates nothing.
func MACByte(key *[HashSize]byte, b byte) [HashSize]byte {
	var buf [blockSize + HashSize]byte
	pad(&buf, key, ipad)
	buf[blockSize] = b
	inner := sha256.Sum256(buf[:blockSize+1])
	pad(&buf, key, opad)
	copy(buf[blockSize:], inner[:])
	out := sha256.Sum256(buf[:])
	clear(buf[:])
	clear(inner[:])
	return out
}

// RFC 2104's ipad and opad bytes, eight at a time.
const (
	ipad = 0x3636363636363636
	opad = 0x5c5c5c5c5c5c5c5c
)

// pad writes the key, padded with zeros to the block size and XORed with
// p, at the start of buf.
func pad(buf *[blockSize + HashSize]byte, key *[HashSize]byte, p uint64) {
	for i := 0; i < HashSize; i += 8 {
		binary.LittleEndian.PutUint64(buf[i:], binary.LittleEndian.Uint64(key[i:])^p)
	}
	for i := HashSize; i < blockSize; i += 8 {
		binary.LittleEndian.PutUint64(buf[i:], p)
	}
}
