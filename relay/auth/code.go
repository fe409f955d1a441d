package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"math/big"
	"strings"
)

// Code lengths accepted in Config.CodeDigits.
const (
	MinCodeDigits = 6
	MaxCodeDigits = 8
)

// newCode returns a uniformly random string of n decimal digits. rand.Int
// draws by rejection sampling, so every value below 10^n is equally likely
// (no modulo bias).
func newCode(n int) (string, error) {
	max := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
	v, err := rand.Int(rand.Reader, max)
	if err != nil {
		return "", fmt.Errorf("generate code: %w", err)
	}
	return fmt.Sprintf("%0*d", n, v), nil
}

// normaliseCode turns what a person typed into the n digits it stands for:
// spaces and hyphens (as in "1234 5678" or "1234-5678") are dropped. It
// reports false for anything else.
func normaliseCode(s string, n int) (string, bool) {
	if len(s) > 4*n {
		return "", false
	}
	var b strings.Builder
	b.Grow(n)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case '0' <= c && c <= '9':
			b.WriteByte(c)
		case c == ' ' || c == '-':
		default:
			return "", false
		}
	}
	if b.Len() != n {
		return "", false
	}
	return b.String(), true
}

// TokenLen is the length in bytes of the token a code request is answered
// with.
const TokenLen = 16

// newToken returns a fresh token: 128 random bits, which nobody who did
// not receive it can guess.
func newToken() []byte {
	t := make([]byte, TokenLen)
	rand.Read(t) // never fails (crypto/rand, Go 1.24+)
	return t
}

// hashToken is what the directory keeps of a token: its SHA-256. A plain
// hash suffices for 128 random bits (see NewCredential); it keeps a copy
// of the directory from letting anyone try the pending codes.
func hashToken(t []byte) []byte {
	h := sha256.Sum256(t)
	return h[:]
}
