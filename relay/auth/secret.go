package auth

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"net/netip"
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
	net  []byte // keys HMAC-SHA256 of (address hash, client network)
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
	net, err := hkdf.Key(sha256.New, secret, nil, "mutual auth address network v1", sha256.Size)
	if err != nil {
		return keys{}, fmt.Errorf("derive address network key: %w", err)
	}
	return keys{addr: addr, code: code, net: net}, nil
}

// hashAddress is HMAC-SHA256 of the address's folded form under the
// address key: what the directory stores and looks accounts, codes and
// code requests up by.
func (k keys) hashAddress(a Address) []byte { return k.hashForm(a.Key()) }

// hashLegacy is the hash accounts made before addresses were folded are
// stored under: HMAC-SHA256 of the canonical form with the local part as
// typed. It equals hashAddress when the local part was typed in lower
// case.
func (k keys) hashLegacy(a Address) []byte { return k.hashForm(a.String()) }

func (k keys) hashForm(form string) []byte {
	m := hmac.New(sha256.New, k.addr)
	m.Write([]byte(form))
	return m.Sum(nil)
}

// hashAddressNet is HMAC-SHA256 of an address hash followed by a client
// network, under its own key: what the requests of one address from one
// network are counted under. The address hash has a fixed length, so the
// input is unambiguous.
func (k keys) hashAddressNet(addrHash []byte, network netip.Prefix) []byte {
	m := hmac.New(sha256.New, k.net)
	m.Write(addrHash)
	m.Write([]byte(network.String()))
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
