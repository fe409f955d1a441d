package loadgen

import (
	"context"
	cryptorand "crypto/rand"
	"errors"
	"fmt"
	"io"
	"time"

	appclient "github.com/mutualcoop/mutual/app/client"
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
	pb, err := appclient.BundleFromWire(b)
	if err != nil {
		return fmt.Errorf("start session: %w", err)
	}
	if !pb.HasKEMPreKey() {
		// Every bench device publishes one: the session is PQXDH.
		return errors.New("start session: bundle without a KEM prekey")
	}
	return e.mgr.ProcessBundle(ctx, address(to), pb)
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
