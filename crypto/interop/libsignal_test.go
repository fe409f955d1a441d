package interop

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"os"
	"testing"
	"time"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/libsignal/keys/identity"
	"go.mau.fi/libsignal/keys/prekey"
	"go.mau.fi/libsignal/logger"
	"go.mau.fi/libsignal/protocol"
	"go.mau.fi/libsignal/serialize"
	"go.mau.fi/libsignal/session"
	"go.mau.fi/libsignal/state/record"
	"go.mau.fi/libsignal/util/optional"

	"github.com/mutualcoop/mutual/crypto/keys"
	"github.com/mutualcoop/mutual/crypto/pqxdh"
	"github.com/mutualcoop/mutual/crypto/ratchet"
	msession "github.com/mutualcoop/mutual/crypto/session"
)

// lsUser is a device running go.mau.fi/libsignal, with in-memory stores
// keyed by address string (records kept as objects, libsignal's fastest
// path).
type lsUser struct {
	addr       *protocol.SignalAddress
	identity   *identity.KeyPair
	regID      uint32
	serializer *serialize.Serializer
	sessions   map[string]*record.Session
	preKeys    map[uint32]*record.PreKey
	signed     map[uint32]*record.SignedPreKey
	trusted    map[string]*identity.Key
	ciphers    map[string]*session.Cipher
}

func TestMain(m *testing.M) {
	// go.mau.fi/libsignal logs every operation by default.
	logger.Logger = nopLogger{}
	os.Exit(m.Run())
}

type nopLogger struct{}

func (nopLogger) Debug(string, string)   {}
func (nopLogger) Info(string, string)    {}
func (nopLogger) Warning(string, string) {}
func (nopLogger) Error(string, string)   {}
func (nopLogger) Configure(string)       {}

func newLSUser(t testing.TB, name string, device uint32) *lsUser {
	t.Helper()
	kp, err := ecc.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	return newLSUserWithIdentity(name, device, identity.NewKeyPair(identity.NewKey(kp.PublicKey()), kp.PrivateKey()), 1+uint32(randInt(t, 16380)))
}

func newLSUserWithIdentity(name string, device uint32, id *identity.KeyPair, regID uint32) *lsUser {
	return &lsUser{
		addr:       protocol.NewSignalAddress(name, device),
		identity:   id,
		regID:      regID,
		serializer: serialize.NewProtoBufSerializer(),
		sessions:   map[string]*record.Session{},
		preKeys:    map[uint32]*record.PreKey{},
		signed:     map[uint32]*record.SignedPreKey{},
		trusted:    map[string]*identity.Key{},
		ciphers:    map[string]*session.Cipher{},
	}
}

func randInt(t testing.TB, n int64) int64 {
	v, err := rand.Int(rand.Reader, big.NewInt(n))
	if err != nil {
		t.Fatal(err)
	}
	return v.Int64()
}

// Stores (go.mau.fi/libsignal's store interfaces).

func (u *lsUser) GetIdentityKeyPair() *identity.KeyPair { return u.identity }
func (u *lsUser) GetLocalRegistrationID() uint32        { return u.regID }
func (u *lsUser) SaveIdentity(_ context.Context, a *protocol.SignalAddress, k *identity.Key) error {
	u.trusted[a.String()] = k
	return nil
}
func (u *lsUser) IsTrustedIdentity(_ context.Context, a *protocol.SignalAddress, k *identity.Key) (bool, error) {
	old, ok := u.trusted[a.String()]
	return !ok || old.PublicKey().PublicKey() == k.PublicKey().PublicKey(), nil
}
func (u *lsUser) LoadPreKey(_ context.Context, id uint32) (*record.PreKey, error) {
	return u.preKeys[id], nil
}
func (u *lsUser) StorePreKey(_ context.Context, id uint32, r *record.PreKey) error {
	u.preKeys[id] = r
	return nil
}
func (u *lsUser) ContainsPreKey(_ context.Context, id uint32) (bool, error) {
	_, ok := u.preKeys[id]
	return ok, nil
}
func (u *lsUser) RemovePreKey(_ context.Context, id uint32) error {
	delete(u.preKeys, id)
	return nil
}
func (u *lsUser) LoadSession(_ context.Context, a *protocol.SignalAddress) (*record.Session, error) {
	if s, ok := u.sessions[a.String()]; ok {
		return s, nil
	}
	return record.NewSession(u.serializer.Session, u.serializer.State), nil
}
func (u *lsUser) GetSubDeviceSessions(context.Context, string) ([]uint32, error) { return nil, nil }
func (u *lsUser) StoreSession(_ context.Context, a *protocol.SignalAddress, r *record.Session) error {
	u.sessions[a.String()] = r
	return nil
}
func (u *lsUser) ContainsSession(_ context.Context, a *protocol.SignalAddress) (bool, error) {
	_, ok := u.sessions[a.String()]
	return ok, nil
}
func (u *lsUser) DeleteSession(_ context.Context, a *protocol.SignalAddress) error {
	delete(u.sessions, a.String())
	return nil
}
func (u *lsUser) DeleteAllSessions(context.Context) error {
	clear(u.sessions)
	return nil
}
func (u *lsUser) LoadSignedPreKey(_ context.Context, id uint32) (*record.SignedPreKey, error) {
	return u.signed[id], nil
}
func (u *lsUser) LoadSignedPreKeys(context.Context) ([]*record.SignedPreKey, error) { return nil, nil }
func (u *lsUser) StoreSignedPreKey(_ context.Context, id uint32, r *record.SignedPreKey) error {
	u.signed[id] = r
	return nil
}
func (u *lsUser) ContainsSignedPreKey(_ context.Context, id uint32) (bool, error) {
	_, ok := u.signed[id]
	return ok, nil
}
func (u *lsUser) RemoveSignedPreKey(_ context.Context, id uint32) error {
	delete(u.signed, id)
	return nil
}

func (u *lsUser) builder(remote *protocol.SignalAddress) *session.Builder {
	return session.NewBuilder(u, u, u, u, remote, u.serializer)
}

func (u *lsUser) cipher(remote *protocol.SignalAddress) *session.Cipher {
	if c, ok := u.ciphers[remote.String()]; ok {
		return c
	}
	c := session.NewCipher(u.builder(remote), remote)
	u.ciphers[remote.String()] = c
	return c
}

// addPreKeys generates a signed prekey (ID 1) and one-time prekeys 1..n.
func (u *lsUser) addPreKeys(t testing.TB, n int) {
	t.Helper()
	kp, err := ecc.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	sig := ecc.CalculateSignature(u.identity.PrivateKey(), kp.PublicKey().Serialize())
	u.signed[1] = record.NewSignedPreKey(1, time.Now().UnixMilli(), kp, sig, u.serializer.SignedPreKeyRecord)
	for i := 1; i <= n; i++ {
		kp, err := ecc.GenerateKeyPair()
		if err != nil {
			t.Fatal(err)
		}
		u.preKeys[uint32(i)] = record.NewPreKey(uint32(i), kp, u.serializer.PreKeyRecord)
	}
}

// mutualBundle converts this user's published keys (with one-time prekey
// id, 0 for none) to a Mutual bundle: a version 3 bundle, no KEM prekey.
func (u *lsUser) mutualBundle(t testing.TB, preKeyID uint32) *pqxdh.Bundle {
	t.Helper()
	spk := u.signed[1]
	sig := spk.Signature()
	b := &pqxdh.Bundle{
		RegistrationID:        u.regID,
		DeviceID:              u.addr.DeviceID(),
		IdentityKey:           mustPub(t, u.identity.PublicKey().Serialize()),
		SignedPreKeyID:        spk.ID(),
		SignedPreKey:          mustPub(t, spk.KeyPair().PublicKey().Serialize()),
		SignedPreKeySignature: sig[:],
	}
	if preKeyID != 0 {
		b.HasPreKey, b.PreKeyID = true, preKeyID
		b.PreKey = mustPub(t, u.preKeys[preKeyID].KeyPair().PublicKey().Serialize())
	}
	return b
}

func mustPub(t testing.TB, b []byte) keys.PublicKey {
	t.Helper()
	k, err := keys.NewPublicKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func lsPub(k keys.PublicKey) ecc.ECPublicKeyable {
	return ecc.NewDjbECPublicKey([32]byte(k.Raw()))
}

func lsPriv(k keys.PrivateKey) ecc.ECPrivateKeyable {
	return ecc.NewDjbECPrivateKey([32]byte(k.Bytes()))
}

// lsBundle converts a Mutual bundle (version 3: its KEM prekey is ignored)
// to a go.mau.fi/libsignal bundle.
func lsBundle(b *pqxdh.Bundle) *prekey.Bundle {
	preKeyID := optional.NewEmptyUint32()
	var preKey ecc.ECPublicKeyable
	if b.HasPreKey {
		preKeyID = optional.NewOptionalUint32(b.PreKeyID)
		preKey = ecc.NewDjbECPublicKey([32]byte(b.PreKey.Raw()))
	}
	return prekey.NewBundle(b.RegistrationID, b.DeviceID, preKeyID, b.SignedPreKeyID, preKey,
		ecc.NewDjbECPublicKey([32]byte(b.SignedPreKey.Raw())), [64]byte(b.SignedPreKeySignature),
		identity.NewKey(lsPub(b.IdentityKey)))
}

func (u *lsUser) encrypt(t testing.TB, to *protocol.SignalAddress, pt string) ratchet.Ciphertext {
	t.Helper()
	m, err := u.cipher(to).Encrypt(context.Background(), []byte(pt))
	if err != nil {
		t.Fatalf("libsignal encrypt: %v", err)
	}
	return ratchet.Ciphertext{Type: ratchet.MessageType(m.Type()), Body: m.Serialize()}
}

func (u *lsUser) decrypt(from *protocol.SignalAddress, ct ratchet.Ciphertext) ([]byte, error) {
	ctx := context.Background()
	switch ct.Type {
	case ratchet.TypePreKey:
		m, err := protocol.NewPreKeySignalMessageFromBytes(ct.Body, u.serializer.PreKeySignalMessage, u.serializer.SignalMessage)
		if err != nil {
			return nil, err
		}
		return u.cipher(from).DecryptMessage(ctx, m)
	case ratchet.TypeSignal:
		m, err := protocol.NewSignalMessageFromBytes(ct.Body, u.serializer.SignalMessage)
		if err != nil {
			return nil, err
		}
		return u.cipher(from).Decrypt(ctx, m)
	}
	return nil, fmt.Errorf("message type %d", ct.Type)
}

// mutualUser is a Mutual device allowed to speak version 3.
type mutualUser struct {
	addr   msession.Address
	store  *msession.MemoryStore
	m      *msession.Manager
	id     pqxdh.Identity
	signed pqxdh.SignedPreKey
	pre    []pqxdh.PreKey
}

func newMutualUser(t testing.TB, name string, device uint32) *mutualUser {
	t.Helper()
	id, err := pqxdh.GenerateIdentity(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return newMutualUserWithIdentity(t, name, device, id)
}

func newMutualUserWithIdentity(t testing.TB, name string, device uint32, id pqxdh.Identity) *mutualUser {
	t.Helper()
	u := &mutualUser{addr: msession.Address{Name: name, DeviceID: device}, store: msession.NewMemoryStore(id), id: id}
	var err error
	if u.m, err = msession.New(u.store, msession.Config{AllowX3DH: true}); err != nil {
		t.Fatal(err)
	}
	return u
}

func (u *mutualUser) addPreKeys(t testing.TB, n int) {
	t.Helper()
	var err error
	if u.signed, err = pqxdh.GenerateSignedPreKey(rand.Reader, u.id.Key, 1, time.Now()); err != nil {
		t.Fatal(err)
	}
	u.store.StoreSignedPreKey(u.signed)
	if u.pre, err = pqxdh.GeneratePreKeys(rand.Reader, 1, n); err != nil {
		t.Fatal(err)
	}
	u.store.StorePreKey(u.pre...)
}

func (u *mutualUser) bundle(preKeyID uint32) *pqxdh.Bundle {
	var pk *pqxdh.PreKey
	if preKeyID != 0 {
		pk = &u.pre[preKeyID-1]
	}
	return pqxdh.NewBundle(u.id, u.addr.DeviceID, u.signed, pk, nil)
}

func (u *mutualUser) encrypt(t testing.TB, to msession.Address, pt string) ratchet.Ciphertext {
	t.Helper()
	ct, err := u.m.Encrypt(context.Background(), to, []byte(pt))
	if err != nil {
		t.Fatalf("mutual encrypt: %v", err)
	}
	return ct
}

func (u *mutualUser) decrypt(from msession.Address, ct ratchet.Ciphertext) ([]byte, error) {
	return u.m.Decrypt(context.Background(), from, ct)
}

type mutualAddr = msession.Address

func (u *lsUser) peerAddr(m *mutualUser) *protocol.SignalAddress {
	return protocol.NewSignalAddress(m.addr.Name, m.addr.DeviceID)
}
