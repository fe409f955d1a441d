package push

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// Sizes of RFC 8291's keys and of the aes128gcm header.
const (
	// KeySize is a subscription's p256dh: an uncompressed P-256 point.
	KeySize = 65
	// AuthSize is a subscription's auth secret.
	AuthSize = 16
	saltSize = 16
	// headerSize is salt, record size, key ID length and the sender's
	// public key (RFC 8291 section 4).
	headerSize = saltSize + 4 + 1 + KeySize
	tagSize    = 16
	// recordSize is the rs of the header: one record holds the whole
	// message.
	recordSize = 4096
)

// PadTo is the length every payload is padded to, with its delimiter,
// before it is encrypted: every push of the relay is PadTo+102 bytes on
// the wire, whatever its conversation.
const PadTo = 128

// Encrypt encrypts plaintext to a subscription's keys as RFC 8291 says,
// with a fresh salt and a fresh sender key pair, padded to PadTo. The
// result is the body of the push request (Content-Encoding: aes128gcm).
func Encrypt(plaintext, p256dh, auth []byte) ([]byte, error) {
	if len(plaintext)+1 > PadTo {
		return nil, fmt.Errorf("push: payload of %d bytes, at most %d", len(plaintext), PadTo-1)
	}
	salt := make([]byte, saltSize)
	rand.Read(salt)
	as, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("push: sender key: %w", err)
	}
	return encrypt(plaintext, p256dh, auth, salt, as, PadTo)
}

// encrypt is Encrypt with the salt and the sender's key given, as RFC
// 8291's Appendix A gives them. The record holds plaintext, the last
// record's delimiter (2) and zeros up to padTo bytes.
func encrypt(plaintext, p256dh, auth, salt []byte, as *ecdh.PrivateKey, padTo int) ([]byte, error) {
	if len(auth) != AuthSize {
		return nil, fmt.Errorf("push: auth secret of %d bytes, want %d", len(auth), AuthSize)
	}
	if len(salt) != saltSize {
		return nil, errors.New("push: salt of the wrong size")
	}
	ua, err := ecdh.P256().NewPublicKey(p256dh)
	if err != nil {
		return nil, fmt.Errorf("push: p256dh is not a P-256 point: %w", err)
	}
	shared, err := as.ECDH(ua)
	if err != nil {
		return nil, fmt.Errorf("push: key agreement: %w", err)
	}
	asPublic := as.PublicKey().Bytes()
	// IKM = HKDF(auth, ecdh_secret, "WebPush: info" 0 ua_public as_public, 32)
	info := make([]byte, 0, 14+2*KeySize)
	info = append(info, "WebPush: info\x00"...)
	info = append(info, p256dh...)
	info = append(info, asPublic...)
	ikm, err := hkdf.Key(sha256.New, shared, auth, string(info), 32)
	if err != nil {
		return nil, err
	}
	prk, err := hkdf.Extract(sha256.New, ikm, salt)
	if err != nil {
		return nil, err
	}
	cek, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: aes128gcm\x00", 16)
	if err != nil {
		return nil, err
	}
	nonce, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: nonce\x00", 12)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	record := make([]byte, max(len(plaintext)+1, padTo))
	copy(record, plaintext)
	record[len(plaintext)] = 2 // the last (and only) record
	if len(record)+tagSize > recordSize {
		return nil, errors.New("push: payload larger than one record")
	}
	out := make([]byte, headerSize, headerSize+len(record)+tagSize)
	copy(out, salt)
	binary.BigEndian.PutUint32(out[saltSize:], recordSize)
	out[saltSize+4] = KeySize
	copy(out[saltSize+5:], asPublic)
	return gcm.Seal(out, nonce, record, nil), nil
}
