// Package cbc is AES in CBC mode with PKCS#7 padding, the message cipher of
// the Signal protocol (AES-256-CBC, keyed and IV'd by the Double Ratchet's
// message keys, authenticated by HMAC-SHA256 over the ciphertext).
//
// The block cipher and the chaining are the standard library's (crypto/aes,
// crypto/cipher); the padding is RFC 5652 section 6.3 (PKCS#7). Decrypt
// must only be given ciphertext whose MAC has been verified: CBC with
// padding is malleable and a padding check is an oracle if run on
// unauthenticated input. Even so, the padding check here runs in time that
// depends only on the ciphertext's length, and every failure is the same
// error.
package cbc

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"errors"
	"fmt"
)

// ErrDecrypt is the one error Decrypt returns for a ciphertext that is not
// a whole number of blocks or whose padding is wrong.
var ErrDecrypt = errors.New("cbc: decryption failed")

// Encrypt returns the AES-CBC encryption of plaintext, PKCS#7 padded,
// under key (16, 24 or 32 bytes; Signal uses 32) and the 16-byte iv.
func Encrypt(key, iv, plaintext []byte) ([]byte, error) {
	block, err := newBlock(key, iv)
	if err != nil {
		return nil, err
	}
	n := aes.BlockSize - len(plaintext)%aes.BlockSize
	out := make([]byte, len(plaintext)+n)
	copy(out, plaintext)
	for i := len(plaintext); i < len(out); i++ {
		out[i] = byte(n)
	}
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(out, out)
	return out, nil
}

// Decrypt returns the plaintext in ciphertext, checking and removing the
// PKCS#7 padding.
func Decrypt(key, iv, ciphertext []byte) ([]byte, error) {
	block, err := newBlock(key, iv)
	if err != nil {
		return nil, err
	}
	if len(ciphertext) == 0 || len(ciphertext)%aes.BlockSize != 0 {
		return nil, ErrDecrypt
	}
	out := make([]byte, len(ciphertext))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(out, ciphertext)
	n, ok := paddingLength(out[len(out)-aes.BlockSize:])
	if !ok {
		return nil, ErrDecrypt
	}
	return out[: len(out)-n : len(out)-n], nil
}

// paddingLength checks the PKCS#7 padding in the last block in constant
// time and returns its length.
func paddingLength(last []byte) (int, bool) {
	n := last[len(last)-1]
	// 1 ≤ n ≤ 16
	good := subtle.ConstantTimeLessOrEq(1, int(n)) & subtle.ConstantTimeLessOrEq(int(n), aes.BlockSize)
	for i := range aes.BlockSize {
		// Byte i from the end is padding when i < n; it must equal n.
		inPad := subtle.ConstantTimeLessOrEq(i+1, int(n))
		eq := subtle.ConstantTimeByteEq(last[len(last)-1-i], n)
		good &= eq | (1 ^ inPad)
	}
	return int(n), good == 1
}

func newBlock(key, iv []byte) (cipher.Block, error) {
	if len(iv) != aes.BlockSize {
		return nil, fmt.Errorf("cbc: iv is %d bytes, want %d", len(iv), aes.BlockSize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("cbc: %w", err)
	}
	return block, nil
}
