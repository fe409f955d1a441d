package keys

import (
	"crypto/mlkem"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
)

const (
	// KEMKeyType is the type byte in front of a serialized KEM public key:
	// 0x0A, the value libsignal assigns to ML-KEM-1024 (FIPS 203). libsignal's
	// 0x08 is pre-standard Kyber1024, a different algorithm that Mutual does
	// not implement.
	KEMKeyType = 0x0A
	// KEMSeedSize is the size of a KEM private key's seed (d || z).
	KEMSeedSize = mlkem.SeedSize
	// KEMEncapsulationKeySize is the size of a bare ML-KEM-1024
	// encapsulation key.
	KEMEncapsulationKeySize = mlkem.EncapsulationKeySize1024
	// KEMPublicKeySize is the size of a serialized KEMPublicKey.
	KEMPublicKeySize = 1 + KEMEncapsulationKeySize
	// KEMCiphertextSize is the size of a bare ML-KEM-1024 ciphertext, the
	// form Encapsulate returns and Decapsulate takes.
	KEMCiphertextSize = mlkem.CiphertextSize1024
	// KEMSharedKeySize is the size of the shared secret.
	KEMSharedKeySize = mlkem.SharedKeySize
)

// KEMPrivateKey is an ML-KEM-1024 decapsulation key. The zero value is not
// a usable key (IsZero reports it).
// Like PrivateKey, it keeps the key two pointers deep, out of reach of
// fmt's reflection.
type KEMPrivateKey struct {
	_ [0]func() // incomparable
	s *kemSecret
}

type kemSecret struct {
	dk *mlkem.DecapsulationKey1024
}

func (k KEMPrivateKey) key() *mlkem.DecapsulationKey1024 {
	if k.s == nil {
		return nil
	}
	return k.s.dk
}

// GenerateKEMPrivateKey returns a new ML-KEM-1024 key from the operating
// system's random source (crypto/mlkem offers no other).
func GenerateKEMPrivateKey() (KEMPrivateKey, error) {
	dk, err := mlkem.GenerateKey1024()
	if err != nil {
		return KEMPrivateKey{}, fmt.Errorf("generate kem key: %w", err)
	}
	return KEMPrivateKey{s: &kemSecret{dk: dk}}, nil
}

// NewKEMPrivateKeyFromSeed returns the ML-KEM-1024 key derived
// deterministically from the 64-byte seed d || z (FIPS 203
// ML-KEM.KeyGen_internal).
func NewKEMPrivateKeyFromSeed(seed []byte) (KEMPrivateKey, error) {
	dk, err := mlkem.NewDecapsulationKey1024(seed)
	if err != nil {
		return KEMPrivateKey{}, fmt.Errorf("kem private key: %w", err)
	}
	return KEMPrivateKey{s: &kemSecret{dk: dk}}, nil
}

// Seed returns a copy of the 64-byte seed, the key's storage form.
func (k KEMPrivateKey) Seed() []byte {
	dk := k.key()
	if dk == nil {
		return nil
	}
	return dk.Bytes()
}

// IsZero reports whether k is the zero value.
func (k KEMPrivateKey) IsZero() bool { return k.key() == nil }

// Equal reports in constant time whether k and o are the same key.
func (k KEMPrivateKey) Equal(o KEMPrivateKey) bool {
	a, b := k.key(), o.key()
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return subtle.ConstantTimeCompare(a.Bytes(), b.Bytes()) == 1
}

// Public returns the encapsulation key of k.
func (k KEMPrivateKey) Public() KEMPublicKey {
	dk := k.key()
	if dk == nil {
		return KEMPublicKey{}
	}
	return KEMPublicKey{ek: dk.EncapsulationKey()}
}

// Decapsulate returns the 32-byte shared secret in the bare 1568-byte
// ciphertext ct. ML-KEM decapsulation never fails on a well-sized
// ciphertext: a forged one yields an unrelated secret (implicit rejection).
func (k KEMPrivateKey) Decapsulate(ct []byte) ([]byte, error) {
	dk := k.key()
	if dk == nil {
		return nil, errors.New("kem decapsulate: zero key")
	}
	if len(ct) != KEMCiphertextSize {
		return nil, fmt.Errorf("kem decapsulate: ciphertext is %d bytes, want %d", len(ct), KEMCiphertextSize)
	}
	shared, err := dk.Decapsulate(ct)
	if err != nil {
		return nil, fmt.Errorf("kem decapsulate: %w", err)
	}
	return shared, nil
}

// Format prints a redacted placeholder, whatever the verb.
func (k KEMPrivateKey) Format(f fmt.State, verb rune) {
	io.WriteString(f, "keys.KEMPrivateKey{redacted}")
}

// KEMPublicKey is an ML-KEM-1024 encapsulation key.
type KEMPublicKey struct {
	_  [0]func() // incomparable
	ek *mlkem.EncapsulationKey1024
}

// NewKEMPublicKey parses a serialized KEM public key: the type byte 0x0A
// followed by the 1568-byte encapsulation key. The key is checked as FIPS
// 203 requires (every coefficient reduced modulo q).
func NewKEMPublicKey(b []byte) (KEMPublicKey, error) {
	if len(b) != KEMPublicKeySize {
		return KEMPublicKey{}, fmt.Errorf("kem public key: got %d bytes, want %d", len(b), KEMPublicKeySize)
	}
	if b[0] != KEMKeyType {
		return KEMPublicKey{}, fmt.Errorf("kem public key: type byte %#02x, want %#02x", b[0], KEMKeyType)
	}
	ek, err := mlkem.NewEncapsulationKey1024(b[1:])
	if err != nil {
		return KEMPublicKey{}, fmt.Errorf("kem public key: %w", err)
	}
	return KEMPublicKey{ek: ek}, nil
}

// Bytes returns the serialization: 0x0A || 1568-byte encapsulation key.
// The zero value serializes to nil.
func (p KEMPublicKey) Bytes() []byte {
	if p.ek == nil {
		return nil
	}
	b := make([]byte, 0, KEMPublicKeySize)
	b = append(b, KEMKeyType)
	return append(b, p.ek.Bytes()...)
}

// IsZero reports whether p is the zero value.
func (p KEMPublicKey) IsZero() bool { return p.ek == nil }

// Equal reports in constant time whether p and o are the same key.
func (p KEMPublicKey) Equal(o KEMPublicKey) bool {
	if p.ek == nil || o.ek == nil {
		return p.ek == nil && o.ek == nil
	}
	return subtle.ConstantTimeCompare(p.ek.Bytes(), o.ek.Bytes()) == 1
}

// Encapsulate returns a fresh 32-byte shared secret and the bare 1568-byte
// ciphertext that carries it to the holder of the private key. It panics
// on the zero value.
func (p KEMPublicKey) Encapsulate() (shared, ciphertext []byte) {
	if p.ek == nil {
		panic("keys: Encapsulate on the zero KEMPublicKey")
	}
	return p.ek.Encapsulate()
}

// EncapsulationKey returns the underlying crypto/mlkem key, for callers
// that need an API this type does not wrap (derandomized encapsulation in
// known-answer tests, with crypto/mlkem/mlkemtest). It is nil for the zero
// value.
func (p KEMPublicKey) EncapsulationKey() *mlkem.EncapsulationKey1024 { return p.ek }

// String returns the text form "kem:" followed by the hex of the first 8
// bytes of the encapsulation key, enough to tell keys apart in a log.
func (p KEMPublicKey) String() string {
	if p.ek == nil {
		return "kem:<zero>"
	}
	return fmt.Sprintf("kem:%x…", p.ek.Bytes()[:8])
}
