package interop

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"testing/cryptotest"

	"google.golang.org/protobuf/encoding/protowire"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/libsignal/kdf"
	"go.mau.fi/libsignal/keys/chain"
	"go.mau.fi/libsignal/keys/identity"
	"go.mau.fi/libsignal/keys/message"
	"go.mau.fi/libsignal/state/record"
	"go.mau.fi/libsignal/util/optional"

	"github.com/mutualcoop/mutual/crypto/ratchet"
)

// lsTwin returns a libsignal device with the same identity, registration
// ID, signed prekey and one-time prekeys as the Mutual device u.
func lsTwin(t *testing.T, u *mutualUser) *lsUser {
	t.Helper()
	id := identity.NewKeyPair(identity.NewKey(lsPub(u.id.Key.Public())), lsPriv(u.id.Key))
	tw := newLSUserWithIdentity(u.addr.Name, u.addr.DeviceID, id, u.id.RegistrationID)
	if !u.signed.Key.IsZero() {
		kp := ecc.NewECKeyPair(lsPub(u.signed.Key.Public()), lsPriv(u.signed.Key))
		tw.signed[u.signed.ID] = record.NewSignedPreKey(u.signed.ID, u.signed.Created.UnixMilli(), kp, [64]byte(u.signed.Signature), tw.serializer.SignedPreKeyRecord)
	}
	for _, pk := range u.pre {
		kp := ecc.NewECKeyPair(lsPub(pk.Key.Public()), lsPriv(pk.Key))
		tw.preKeys[pk.ID] = record.NewPreKey(pk.ID, kp, tw.serializer.PreKeyRecord)
	}
	return tw
}

// TestIdenticalResponder: a Mutual device and a libsignal device with the
// same keys process the same messages, drawing the same randomness (the
// new ratchet keys of the DH steps, with testing/cryptotest); their
// replies must be the same bytes. The one known difference is
// go.mau.fi/libsignal's: when it ratchets with a sending chain that never
// sent, it writes previousCounter 0xFFFFFFFF (an unsigned underflow) where
// libsignal (Rust, Java) and Mutual write 0; such replies must then agree
// in everything else, ciphertext and keys included.
func TestIdenticalResponder(t *testing.T) {
	ctx := context.Background()
	for _, withPreKey := range []bool{true, false} {
		t.Run(fmt.Sprintf("one-time prekey=%v", withPreKey), func(t *testing.T) {
			alice := newMutualUser(t, "alice", 1)
			bob := newMutualUser(t, "bob", 1)
			bob.addPreKeys(t, 2)
			twin := lsTwin(t, bob)
			var preKeyID uint32
			if withPreKey {
				preKeyID = 1
			}
			if err := alice.m.ProcessBundle(ctx, bob.addr, bob.bundle(preKeyID)); err != nil {
				t.Fatal(err)
			}
			fromAlice := twin.peerAddr(alice)
			seed := uint64(100)
			exact := 0
			for round := range 6 {
				for i := range 1 + round%3 {
					pt := fmt.Sprint("hello ", round, i)
					ct := alice.encrypt(t, bob.addr, pt)
					seed++
					cryptotest.SetGlobalRandom(t, seed)
					got1, err1 := bob.decrypt(alice.addr, ct)
					cryptotest.SetGlobalRandom(t, seed)
					got2, err2 := twin.decrypt(fromAlice, ct)
					if err1 != nil || err2 != nil || string(got1) != pt || string(got2) != pt {
						t.Fatalf("decrypt: mutual %q %v, libsignal %q %v", got1, err1, got2, err2)
					}
				}
				for i := range 2 {
					pt := fmt.Sprint("reply ", round, i)
					c1 := bob.encrypt(t, alice.addr, pt)
					c2 := twin.encrypt(t, fromAlice, pt)
					if c1.Type != c2.Type {
						t.Fatalf("types differ: %v %v", c1.Type, c2.Type)
					}
					if bytes.Equal(c1.Body, c2.Body) {
						exact++
					} else {
						m1, err1 := ratchet.ParseSignalMessage(c1.Body)
						m2, err2 := ratchet.ParseSignalMessage(c2.Body)
						if err1 != nil || err2 != nil || round != 0 ||
							m1.PreviousCounter() != 0 || m2.PreviousCounter() != 0xFFFFFFFF ||
							!m1.RatchetKey().Equal(m2.RatchetKey()) || m1.Counter() != m2.Counter() ||
							!bytes.Equal(m1.Ciphertext(), m2.Ciphertext()) {
							t.Fatalf("round %d reply %d differs:\nmutual    %x\nlibsignal %x", round, i, c1.Body, c2.Body)
						}
					}
					got, err := alice.decrypt(bob.addr, c1)
					if err != nil || string(got) != pt {
						t.Fatalf("alice: %q %v", got, err)
					}
				}
			}
			if exact < 10 {
				t.Fatalf("only %d replies byte-identical", exact)
			}
		})
	}
}

// TestIdenticalFromState moves a Mutual session state into libsignal (by
// decoding the documented serialization independently of package ratchet)
// at many points of a conversation, and checks that both encrypt the same
// plaintext to the same bytes and decrypt the same message to the same
// plaintext.
func TestIdenticalFromState(t *testing.T) {
	ctx := context.Background()
	for _, mutualStarts := range []bool{true, false} {
		t.Run(fmt.Sprintf("mutual starts=%v", mutualStarts), func(t *testing.T) {
			c := newConv(t, mutualStarts, true, 11)
			probes := 0
			check := func() {
				t.Helper()
				probes++
				rec, err := c.mu.store.LoadSession(ctx, c.lsAddr())
				if err != nil || rec == nil {
					t.Fatalf("load: %v", err)
				}
				raw, err := rec.Current().MarshalBinary()
				if err != nil {
					t.Fatal(err)
				}
				// Encrypt side.
				twin := lsTwin(t, c.mu)
				twin.sessions[c.ls.addr.String()] = record.NewSessionFromState(lsState(t, raw, twin), twin.serializer.Session)
				pt := fmt.Sprint("probe ", probes)
				c2 := twin.encrypt(t, c.ls.addr, pt)
				c.muSend(0)
				c1 := c.mu.encrypt(t, c.lsAddr(), pt)
				if c1.Type != c2.Type || !bytes.Equal(c1.Body, c2.Body) {
					t.Fatalf("probe %d (%v) differs:\nmutual    %x\nlibsignal %x", probes, c1.Type, c1.Body, c2.Body)
				}
				c.toLS = append(c.toLS, sent{c1, pt})
				c.deliverToLS(fifo)

				// Decrypt side.
				rec, _ = c.mu.store.LoadSession(ctx, c.lsAddr())
				raw, _ = rec.Current().MarshalBinary()
				twin = lsTwin(t, c.mu)
				twin.sessions[c.ls.addr.String()] = record.NewSessionFromState(lsState(t, raw, twin), twin.serializer.Session)
				c.lsSend(1)
				in := c.toMu[0]
				got, err := twin.decrypt(c.ls.addr, in.ct)
				if err != nil || string(got) != in.pt {
					t.Fatalf("libsignal from mutual state: %q %v", got, err)
				}
				c.deliverToMu(fifo)
			}
			if mutualStarts {
				check() // a PreKeySignalMessage
				c.deliverToLS(fifo)
			} else {
				c.lsSend(2)
				c.deliverToMu(reverse)
			}
			for i := range 12 {
				c.muSend(1 + i%3)
				c.lsSend(1 + i%4)
				c.deliverToLS(shuffle)
				check()
				c.deliverToMu(lastFirst) // leaves skipped keys behind
				check()
			}
		})
	}
}

// lsState decodes a Mutual ratchet.State serialization (format version 1,
// as docs/crypto.md describes it) into a libsignal session state.
func lsState(t *testing.T, b []byte, owner *lsUser) *record.State {
	t.Helper()
	s := &record.StateStructure{}
	fields(t, b, func(num protowire.Number, v uint64, raw []byte) {
		switch num {
		case 15:
			if v != 1 {
				t.Fatalf("format version %d", v)
			}
		case 1:
			s.SessionVersion = int(v)
		case 2:
			s.LocalIdentityPublic = raw
		case 3:
			s.RemoteIdentityPublic = raw
		case 4:
			s.RootKey = raw
		case 5:
			s.PreviousCounter = uint32(v)
		case 6:
			s.SenderChain = lsChain(t, raw)
		case 7:
			s.ReceiverChains = append(s.ReceiverChains, lsChain(t, raw))
		case 9:
			p := &record.PendingPreKeyStructure{PreKeyID: optional.NewEmptyUint32()}
			fields(t, raw, func(num protowire.Number, v uint64, raw []byte) {
				switch num {
				case 1:
					p.PreKeyID = optional.NewOptionalUint32(uint32(v))
				case 2:
					p.BaseKey = raw
				case 3:
					p.SignedPreKeyID = uint32(v)
				}
			})
			s.PendingPreKey = p
		case 10:
			s.RemoteRegistrationID = uint32(v)
		case 11:
			s.LocalRegistrationID = uint32(v)
		case 13:
			s.SenderBaseKey = raw
		}
	})
	st, err := record.NewStateFromStructure(s, owner.serializer.State)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func lsChain(t *testing.T, b []byte) *record.ChainStructure {
	c := &record.ChainStructure{}
	fields(t, b, func(num protowire.Number, _ uint64, raw []byte) {
		switch num {
		case 1:
			c.SenderRatchetKeyPublic = raw
		case 2:
			c.SenderRatchetKeyPrivate = raw
		case 3:
			k := &chain.KeyStructure{}
			fields(t, raw, func(num protowire.Number, v uint64, raw []byte) {
				switch num {
				case 1:
					k.Index = uint32(v)
				case 2:
					k.Key = raw
				}
			})
			c.ChainKey = k
		case 4:
			var index uint32
			var seed []byte
			fields(t, raw, func(num protowire.Number, v uint64, raw []byte) {
				switch num {
				case 1:
					index = uint32(v)
				case 5:
					seed = raw
				}
			})
			// The stored seed is HMAC(chain key, 0x01); libsignal (Go)
			// stores the keys expanded from it.
			km, err := kdf.DeriveSecrets(seed, nil, []byte(message.KdfSalt), message.DerivedSecretsSize)
			if err != nil {
				t.Fatal(err)
			}
			c.MessageKeys = append(c.MessageKeys, &message.KeysStructure{CipherKey: km[:32], MacKey: km[32:64], IV: km[64:80], Index: index})
		}
	})
	return c
}

// fields walks a protobuf message: varints in v, bytes fields in raw.
func fields(t *testing.T, b []byte, fn func(num protowire.Number, v uint64, raw []byte)) {
	t.Helper()
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatal(protowire.ParseError(n))
		}
		b = b[n:]
		switch typ {
		case protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				t.Fatal(protowire.ParseError(n))
			}
			fn(num, v, nil)
			b = b[n:]
		case protowire.BytesType:
			raw, n := protowire.ConsumeBytes(b)
			if n < 0 {
				t.Fatal(protowire.ParseError(n))
			}
			fn(num, 0, bytes.Clone(raw))
			b = b[n:]
		default:
			t.Fatalf("field %d: wire type %d", num, typ)
		}
	}
}

// TestIdenticalInitiator: a Mutual device and its libsignal twin process
// the same bundle with the same randomness (base key, then first ratchet
// key); their PreKeySignalMessages must be the same bytes.
func TestIdenticalInitiator(t *testing.T) {
	ctx := context.Background()
	for _, withPreKey := range []bool{true, false} {
		t.Run(fmt.Sprintf("one-time prekey=%v", withPreKey), func(t *testing.T) {
			alice := newMutualUser(t, "alice", 1)
			twin := lsTwin(t, alice)
			bob := newLSUser(t, "bob", 3)
			bob.addPreKeys(t, 2)
			var preKeyID uint32
			if withPreKey {
				preKeyID = 2
			}
			b := bob.mutualBundle(t, preKeyID)
			bobAddr := mutualAddr{Name: "bob", DeviceID: 3}
			cryptotest.SetGlobalRandom(t, 42)
			if err := alice.m.ProcessBundle(ctx, bobAddr, b); err != nil {
				t.Fatal(err)
			}
			cryptotest.SetGlobalRandom(t, 42)
			if err := twin.builder(bob.addr).ProcessBundle(ctx, lsBundle(b)); err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				pt := fmt.Sprint("first ", i)
				c1 := alice.encrypt(t, bobAddr, pt)
				c2 := twin.encrypt(t, bob.addr, pt)
				if c1.Type != ratchet.TypePreKey || c1.Type != c2.Type || !bytes.Equal(c1.Body, c2.Body) {
					t.Fatalf("message %d differs:\nmutual    %x\nlibsignal %x", i, c1.Body, c2.Body)
				}
				got, err := bob.decrypt(bob.peerAddr(alice), c1)
				if err != nil || string(got) != pt {
					t.Fatalf("bob: %q %v", got, err)
				}
			}
		})
	}
}
