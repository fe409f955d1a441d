package auth

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"os"
	"strings"
)

// MinSecretLen is the shortest server secret accepted, in bytes.
const MinSecretLen = 32

// ReadSecretFile reads the server secret from a file. The file holds at
// least MinSecretLen bytes of high-entropy material: raw random bytes, or
// text such as the output of `openssl rand -hex 32`; white space around it
// is ignored. Secrets come from files or the environment, never from
// flags, which other users of the machine can read.
//
// The secret keys every address hash in the directory: if it changes,
// every account becomes unreachable. Back it up with the database.
func ReadSecretFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read secret: %w", err)
	}
	s := []byte(strings.TrimSpace(string(b)))
	if len(s) < MinSecretLen {
		return nil, fmt.Errorf("read secret: %s holds %d bytes, want at least %d", path, len(s), MinSecretLen)
	}
	return s, nil
}

// keys are independent subkeys derived from the server secret with HKDF
// (RFC 5869), one per purpose, so that an address hash can never be taken
// for a code hash or the reverse.
type keys struct {
	addr []byte // keys HMAC-SHA256 of canonical addresses
	code []byte // keys HMAC-SHA256 of (address hash, code)
}

func deriveKeys(secret []byte) (keys, error) {
	addr, err := hkdf.Key(sha256.New, secret, nil, "mutual auth address hash v1", sha256.Size)
	if err != nil {
		return keys{}, fmt.Errorf("derive address key: %w", err)
	}
	code, err := hkdf.Key(sha256.New, secret, nil, "mutual auth code hash v1", sha256.Size)
	if err != nil {
		return keys{}, fmt.Errorf("derive code key: %w", err)
	}
	return keys{addr: addr, code: code}, nil
}

// hashAddress is HMAC-SHA256 of the canonical address under the address
// key: what the directory stores and looks accounts up by.
func (k keys) hashAddress(a Address) []byte {
	m := hmac.New(sha256.New, k.addr)
	m.Write([]byte(a.String()))
	return m.Sum(nil)
}

// hashCode is HMAC-SHA256 of the address hash followed by the code, under
// the code key. The address hash has a fixed length, so the input is
// unambiguous; binding it makes a code hash useless for any other address.
func (k keys) hashCode(addrHash []byte, code string) []byte {
	m := hmac.New(sha256.New, k.code)
	m.Write(addrHash)
	m.Write([]byte(code))
	return m.Sum(nil)
}
