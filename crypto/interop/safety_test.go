package interop

import (
	"crypto/sha512"
	"fmt"
	"testing"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/libsignal/fingerprint"
	"go.mau.fi/libsignal/keys/identity"

	"github.com/mutualcoop/mutual/crypto/keys"
	"github.com/mutualcoop/mutual/crypto/safety"
)

// libsignalHash is libsignal's NumericFingerprintGenerator.getFingerprint
// (version 0, 5,200 iterations of SHA-512) over go.mau.fi/libsignal's
// serialization of the identity key.
func libsignalHash(id string, key *identity.Key) []byte {
	k := key.Serialize()
	h := sha512.New()
	h.Write([]byte{0, 0})
	h.Write(k)
	h.Write([]byte(id))
	h.Write(k)
	out := h.Sum(nil)
	for range 5200 - 1 {
		h.Reset()
		h.Write(out)
		h.Write(k)
		out = h.Sum(out[:0])
	}
	return out
}

// TestSafetyNumbers checks Mutual's safety numbers (package safety, with
// identity keys of package keys) against go.mau.fi/libsignal's fingerprint
// display, both ways round.
func TestSafetyNumbers(t *testing.T) {
	for i := range 4 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			a, err := ecc.GenerateKeyPair()
			if err != nil {
				t.Fatal(err)
			}
			b, err := ecc.GenerateKeyPair()
			if err != nil {
				t.Fatal(err)
			}
			aKey, bKey := identity.NewKey(a.PublicKey()), identity.NewKey(b.PublicKey())
			aID, bID := fmt.Sprintf("+1415555%04d", i), fmt.Sprintf("email:bob%d@example.org", i)
			want := fingerprint.NewDisplay(libsignalHash(aID, aKey), libsignalHash(bID, bKey)).DisplayText()

			aPub, err := keys.NewPublicKey(aKey.Serialize())
			if err != nil {
				t.Fatal(err)
			}
			bPub, err := keys.NewPublicKey(bKey.Serialize())
			if err != nil {
				t.Fatal(err)
			}
			fromA := safety.New(safety.ScannableVersion, []byte(aID), aPub, []byte(bID), bPub)
			fromB := safety.New(safety.ScannableVersion, []byte(bID), bPub, []byte(aID), aPub)
			if fromA.Displayable() != want || fromB.Displayable() != want {
				t.Fatalf("safety number %s / %s, libsignal %s", fromA.Displayable(), fromB.Displayable(), want)
			}
			ok, err := fromA.CompareScanned(fromB.Scannable())
			if err != nil || !ok {
				t.Fatalf("scanning: %v %v", ok, err)
			}
		})
	}
}
