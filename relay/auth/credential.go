package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
)

// CredentialLen is the length of a device credential in bytes.
const CredentialLen = 32

// NewCredential returns a fresh device credential (32 bytes from
// crypto/rand, handed to the device once) and its hash (SHA-256), which is
// all the directory keeps.
//
// A plain hash is enough here, where a password would need a slow KDF
// (Argon2, scrypt): a slow KDF only makes guessing a low-entropy secret
// expensive, and a 256-bit random credential cannot be guessed at any
// speed. What the hash gives is that a copy of the directory does not let
// anyone authenticate: finding a preimage of SHA-256 is infeasible.
func NewCredential() (cred, hash []byte) {
	cred = make([]byte, CredentialLen)
	rand.Read(cred) // never fails (crypto/rand, Go 1.24+)
	h := sha256.Sum256(cred)
	return cred, h[:]
}

// CheckCredential reports whether cred hashes to hash. The comparison takes
// the same time wherever the hashes differ.
func CheckCredential(cred, hash []byte) bool {
	if len(cred) != CredentialLen || len(hash) != sha256.Size {
		return false
	}
	h := sha256.Sum256(cred)
	return subtle.ConstantTimeCompare(h[:], hash) == 1
}
