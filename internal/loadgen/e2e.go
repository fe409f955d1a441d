package loadgen

import (
	"context"
	cryptorand "crypto/rand"
	"fmt"
	"io"
	"time"

	"github.com/mutualcoop/mutual/crypto/keys"
	"github.com/mutualcoop/mutual/crypto/padding"
	"github.com/mutualcoop/mutual/crypto/pqxdh"
	"github.com/mutualcoop/mutual/crypto/ratchet"
	"github.com/mutualcoop/mutual/crypto/session"
	"github.com/mutualcoop/mutual/relay/wire"
)

// E2E is the PayloadEncoder of a client that encrypts end to end as the
// Mutual client does: its own identity, prekeys in a session.MemoryStore,
// a PQXDH session with each peer set up from the bundle the relay hands
// out, and every payload padded (crypto/padding) and encrypted by a
// session.Manager. What the relay carries is the ciphertext type byte
// followed by the ciphertext, the form the client sends.
//
// It is safe for concurrent use: the Manager runs one operation at a
// time, so a session is never stepped by two goroutines at once.
type E2E struct {
	id    pqxdh.Identity
	store *session.MemoryStore
	mgr   *session.Manager
	keys  *wire.PublishKeys
}

// e2eOneTime is how many one-time prekeys each bench client publishes:
// a run claims one bundle of each client.
const e2eOneTime = 4

// NewE2E returns the encoder of a new device: a fresh identity, a signed
// prekey, a last-resort ML-KEM-1024 prekey and a few one-time prekeys,
// all kept in its store, their public halves ready to publish
// (PublishKeys). rand is the source of the keys; nil means crypto/rand.
func NewE2E(rand io.Reader) (*E2E, error) {
	if rand == nil {
		rand = cryptorand.Reader
	}
	id, err := pqxdh.GenerateIdentity(rand)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	signed, err := pqxdh.GenerateSignedPreKey(rand, id.Key, 1, now)
	if err != nil {
		return nil, err
	}
	kem, err := pqxdh.GenerateKEMPreKey(rand, id.Key, 2, true, now)
	if err != nil {
		return nil, err
	}
	oneTime, err := pqxdh.GeneratePreKeys(rand, 3, e2eOneTime)
	if err != nil {
		return nil, err
	}
	store := session.NewMemoryStore(id)
	store.StoreSignedPreKey(signed)
	store.StoreKEMPreKey(kem)
	store.StorePreKey(oneTime...)
	mgr, err := session.New(store, session.Config{Rand: rand})
	if err != nil {
		return nil, err
	}
	p := &wire.PublishKeys{
		Identity:      id.Key.Public().Bytes(),
		Signed:        &wire.Prekey{ID: signed.ID, Public: signed.Key.Public().Bytes(), Signature: signed.Signature},
		KEMLastResort: &wire.Prekey{ID: kem.ID, Public: kem.Key.Public().Bytes(), Signature: kem.Signature},
	}
	for _, k := range oneTime {
		p.OneTime = append(p.OneTime, wire.Prekey{ID: k.ID, Public: k.Key.Public().Bytes()})
	}
	return &E2E{id: id, store: store, mgr: mgr, keys: p}, nil
}

// PublishKeys returns the frame that publishes the device's keys, in the
// byte forms the client publishes.
func (e *E2E) PublishKeys() *wire.PublishKeys { return e.keys }

// Start sets up a session with the device to from the bundle the relay
// returned for it (PQXDH, signatures verified first). Messages to it are
// PreKeySignalMessages until it answers.
func (e *E2E) Start(ctx context.Context, to Peer, b *wire.Bundle) error {
	if b.Device != to.Device {
		return fmt.Errorf("start session: bundle of device %d for device %d", b.Device, to.Device)
	}
	pb, err := fromWire(b)
	if err != nil {
		return fmt.Errorf("start session: %w", err)
	}
	return e.mgr.ProcessBundle(ctx, address(to), pb)
}

// fromWire converts a bundle as the relay hands it out, in the byte forms
// the client publishes (app/client's package documentation), to the form
// PQXDH takes, and verifies its signatures. Unlike the client it demands
// a KEM prekey: every bench device publishes one.
func fromWire(b *wire.Bundle) (*pqxdh.Bundle, error) {
	ik, err := keys.NewPublicKey(b.Identity)
	if err != nil {
		return nil, fmt.Errorf("bundle identity key: %w", err)
	}
	spk, err := keys.NewPublicKey(b.Signed.Public)
	if err != nil {
		return nil, fmt.Errorf("bundle signed prekey: %w", err)
	}
	kk, err := keys.NewKEMPublicKey(b.KEM.Public)
	if err != nil {
		return nil, fmt.Errorf("bundle kem prekey: %w", err)
	}
	pb := &pqxdh.Bundle{
		DeviceID: uint32(b.Device), IdentityKey: ik,
		SignedPreKeyID: b.Signed.ID, SignedPreKey: spk, SignedPreKeySignature: b.Signed.Signature,
		KEMPreKeyID: b.KEM.ID, KEMPreKey: kk, KEMPreKeySignature: b.KEM.Signature,
	}
	if b.OneTime != nil {
		pk, err := keys.NewPublicKey(b.OneTime.Public)
		if err != nil {
			return nil, fmt.Errorf("bundle one-time prekey: %w", err)
		}
		pb.HasPreKey, pb.PreKeyID, pb.PreKey = true, b.OneTime.ID, pk
	}
	if err := pb.Verify(); err != nil {
		return nil, err
	}
	return pb, nil
}

// Encode pads payload and encrypts it for to.
func (e *E2E) Encode(to Peer, payload []byte) ([]byte, error) {
	padded, err := padding.Pad(payload)
	if err != nil {
		return nil, err
	}
	ct, err := e.mgr.Encrypt(context.Background(), address(to), padded)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, 1+len(ct.Body))
	return append(append(out, byte(ct.Type)), ct.Body...), nil
}

// Decode authenticates and decrypts what from sent, and removes the
// padding.
func (e *E2E) Decode(from Peer, data []byte) ([]byte, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("decode: %w: empty ciphertext", ratchet.ErrMalformed)
	}
	plain, err := e.mgr.Decrypt(context.Background(), address(from),
		ratchet.Ciphertext{Type: ratchet.MessageType(data[0]), Body: data[1:]})
	if err != nil {
		return nil, err
	}
	return padding.Unpad(plain)
}

// address is the session address of a bench device, as the client forms
// it.
func address(p Peer) session.Address {
	return session.Address{Name: p.User.String(), DeviceID: uint32(p.Device)}
}
