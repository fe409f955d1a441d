package pqxdh

import (
	"testing"

	"github.com/mutualcoop/mutual/crypto/ratchet"
)

// BenchmarkSetup measures session setup on each side: the initiator's
// ProcessBundle (two signature checks, four X25519, one ML-KEM-1024
// encapsulation, HKDF, the first root step) and the responder's
// ProcessPreKeyMessage (four X25519, the base key check, decapsulation).
func BenchmarkSetup(b *testing.B) {
	for _, c := range []struct {
		name string
		kem  bool
	}{{"pqxdh", true}, {"x3dh", false}} {
		alice, bob := newDevice(b), newDevice(b)
		bundle := bob.bundle(true, c.kem)
		opts := Options{AllowX3DH: !c.kem}
		b.Run(c.name+"/initiator", func(b *testing.B) {
			for b.Loop() {
				if _, err := ProcessBundle(opts, alice.id, bundle); err != nil {
					b.Fatal(err)
				}
			}
		})
		st, err := ProcessBundle(opts, alice.id, bundle)
		if err != nil {
			b.Fatal(err)
		}
		ct, _ := st.Encrypt([]byte("x"))
		m, err := ratchet.ParsePreKeySignalMessage(ct.Body)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name+"/responder", func(b *testing.B) {
			for b.Loop() {
				if _, err := ProcessPreKeyMessage(opts, bob.id, m, bob.responderKeys(m)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
