package pqxdh

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"

	"github.com/mutualcoop/mutual/crypto/internal/kdf"
	"github.com/mutualcoop/mutual/crypto/keys"
	"github.com/mutualcoop/mutual/crypto/ratchet"
)

// HKDF info strings of the two key agreements.
const (
	// InfoX3DH is libsignal's info for version 3 (X3DH).
	InfoX3DH = "WhisperText"
	// InfoPQXDH is Mutual's info for version 4 (PQXDH with ML-KEM-1024).
	// It differs from libsignal's "WhisperText_X25519_SHA-256_CRYSTALS-KYBER-1024"
	// because the KEM differs: version 4 sessions are Mutual-only.
	InfoPQXDH = "Mutual_PQXDH_CURVE25519_SHA-256_ML-KEM-1024"
)

var (
	// ErrX3DHRefused is returned when a version 3 (X3DH) session would be
	// set up and Options.AllowX3DH is false: a bundle without a KEM prekey,
	// or a version 3 prekey message. Clients never set AllowX3DH, so an
	// attacker cannot downgrade them to a session without post-quantum
	// protection.
	ErrX3DHRefused = errors.New("pqxdh: protocol version 3 (X3DH) refused")
	// ErrBaseKey is returned for a prekey message whose base key is not a
	// canonical point of the prime-order subgroup.
	ErrBaseKey = errors.New("pqxdh: base key is not canonical")
)

// Options tune a key agreement. The zero value is what a client uses.
type Options struct {
	// Rand is the source of the base key and the first ratchet key;
	// nil means crypto/rand.Reader.
	Rand io.Reader
	// AllowX3DH permits version 3 sessions. It exists to test the ratchet
	// against libsignal; leave it false.
	AllowX3DH bool
	// Encapsulate, when set, replaces keys.KEMPublicKey.Encapsulate. It
	// exists for known-answer tests (derandomized encapsulation with
	// crypto/mlkem/mlkemtest); leave it nil.
	Encapsulate func(keys.KEMPublicKey) (shared, ciphertext []byte, err error)
}

func (o Options) rand() io.Reader {
	if o.Rand == nil {
		return rand.Reader
	}
	return o.Rand
}

// ProcessBundle runs the initiator's side of the key agreement with a
// verified bundle and returns the new session state, whose first messages
// are PreKeySignalMessages. A bundle with a KEM prekey gives a version 4
// (PQXDH) session; one without gives version 3 (X3DH) if opts.AllowX3DH,
// else ErrX3DHRefused. Signatures are checked first (ErrSignature).
//
// The shared secret is, as Signal's X3DH and PQXDH specifications and
// libsignal have it, HKDF-SHA256 with a zero salt over
// 0xFF×32 || DH(IKa, SPKb) || DH(EKa, IKb) || DH(EKa, SPKb) [|| DH(EKa, OPKb)] [|| SS],
// info InfoX3DH or InfoPQXDH, 64 bytes: root key and chain key.
func ProcessBundle(opts Options, local Identity, b *Bundle) (*ratchet.State, error) {
	if local.Key.IsZero() {
		return nil, errors.New("pqxdh: no local identity key")
	}
	if err := b.Verify(); err != nil {
		return nil, err
	}
	version := ratchet.Version4
	if !b.HasKEMPreKey() {
		if !opts.AllowX3DH {
			return nil, ErrX3DHRefused
		}
		version = ratchet.Version3
	}
	r := opts.rand()
	base, err := keys.GeneratePrivateKey(r)
	if err != nil {
		return nil, fmt.Errorf("pqxdh: base key: %w", err)
	}

	var theirOneTime *keys.PublicKey
	if b.HasPreKey {
		theirOneTime = &b.PreKey
	}
	pending := ratchet.PendingPreKey{
		PreKeyID:       b.PreKeyID,
		HasPreKeyID:    b.HasPreKey,
		SignedPreKeyID: b.SignedPreKeyID,
		BaseKey:        base.Public(),
	}
	var kemShared []byte
	if version == ratchet.Version4 {
		encapsulate := opts.Encapsulate
		if encapsulate == nil {
			encapsulate = func(k keys.KEMPublicKey) ([]byte, []byte, error) {
				ss, ct := k.Encapsulate()
				return ss, ct, nil
			}
		}
		ss, ct, err := encapsulate(b.KEMPreKey)
		if err != nil {
			return nil, fmt.Errorf("pqxdh: encapsulate: %w", err)
		}
		kemShared = ss
		pending.KEMPreKeyID, pending.KEMCiphertext = b.KEMPreKeyID, ct
	}
	root, chain, err := agreeInitiator(local.Key, base, b.IdentityKey, b.SignedPreKey, theirOneTime, kemShared)
	clear(kemShared)
	if err != nil {
		return nil, err
	}
	ratchetKey, err := keys.GeneratePrivateKey(r)
	if err != nil {
		return nil, fmt.Errorf("pqxdh: ratchet key: %w", err)
	}
	st, err := ratchet.NewInitiatorState(ratchet.InitiatorParams{
		Version:              version,
		RootKey:              root,
		ChainKey:             chain,
		LocalIdentity:        local.Key.Public(),
		RemoteIdentity:       b.IdentityKey,
		TheirRatchetKey:      b.SignedPreKey,
		OurRatchetKey:        ratchetKey,
		Pending:              pending,
		LocalRegistrationID:  local.RegistrationID,
		RemoteRegistrationID: b.RegistrationID,
	})
	clear(root)
	clear(chain)
	if err != nil {
		return nil, fmt.Errorf("pqxdh: %w", err)
	}
	return st, nil
}

// ResponderKeys are the responder's private prekeys that a prekey message
// names, looked up by the caller.
type ResponderKeys struct {
	SignedPreKey keys.PrivateKey
	PreKey       keys.PrivateKey    // the zero value when the message names no one-time prekey
	KEMPreKey    keys.KEMPrivateKey // the zero value for version 3
}

// ProcessPreKeyMessage runs the responder's side of the key agreement for
// a prekey message and returns the new session state (not yet proven: the
// caller must decrypt m.Message() with it before keeping it). A version 3
// message gives ErrX3DHRefused unless opts.AllowX3DH. Only opts.AllowX3DH
// is used.
func ProcessPreKeyMessage(opts Options, local Identity, m *ratchet.PreKeySignalMessage, k ResponderKeys) (*ratchet.State, error) {
	if local.Key.IsZero() || k.SignedPreKey.IsZero() {
		return nil, errors.New("pqxdh: no local identity key or signed prekey")
	}
	version := m.Version()
	if version == ratchet.Version3 && !opts.AllowX3DH {
		return nil, ErrX3DHRefused
	}
	if _, has := m.PreKeyID(); has == k.PreKey.IsZero() {
		return nil, errors.New("pqxdh: one-time prekey missing or unexpected")
	}
	if (version == ratchet.Version4) == k.KEMPreKey.IsZero() {
		return nil, errors.New("pqxdh: KEM prekey missing or unexpected")
	}
	theirBase, theirIdentity := m.BaseKey(), m.IdentityKey()
	if !canonicalPoint(theirBase) {
		return nil, ErrBaseKey
	}
	var kemShared []byte
	if version == ratchet.Version4 {
		ss, err := k.KEMPreKey.Decapsulate(m.KEMCiphertext())
		if err != nil {
			return nil, fmt.Errorf("pqxdh: %w", err)
		}
		kemShared = ss
	}
	root, chain, err := agreeResponder(local.Key, k.SignedPreKey, k.PreKey, theirIdentity, theirBase, kemShared)
	clear(kemShared)
	if err != nil {
		return nil, err
	}
	st, err := ratchet.NewResponderState(ratchet.ResponderParams{
		Version:              version,
		RootKey:              root,
		ChainKey:             chain,
		LocalIdentity:        local.Key.Public(),
		RemoteIdentity:       theirIdentity,
		OurRatchetKey:        k.SignedPreKey,
		BaseKey:              theirBase,
		LocalRegistrationID:  local.RegistrationID,
		RemoteRegistrationID: m.RegistrationID(),
	})
	clear(root)
	clear(chain)
	if err != nil {
		return nil, fmt.Errorf("pqxdh: %w", err)
	}
	return st, nil
}

// discontinuity is the 32 0xFF bytes that open the key material (F in the
// specifications), so that it never looks like an XEdDSA key.
var discontinuity = [32]byte{
	0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
}

// agreeInitiator computes the initiator's root and chain keys:
// KDF(F || DH(IKa, SPKb) || DH(EKa, IKb) || DH(EKa, SPKb) [|| DH(EKa, OPKb)] [|| SS]),
// with info InfoPQXDH when there is a KEM shared secret, InfoX3DH otherwise.
func agreeInitiator(identity, base keys.PrivateKey, theirIdentity, theirSigned keys.PublicKey, theirOneTime *keys.PublicKey, kemShared []byte) (root, chain []byte, err error) {
	secrets := make([]byte, 0, 32*6)
	secrets = append(secrets, discontinuity[:]...)
	pairs := []dhPair{{identity, theirSigned}, {base, theirIdentity}, {base, theirSigned}}
	if theirOneTime != nil {
		pairs = append(pairs, dhPair{base, *theirOneTime})
	}
	return agree(secrets, pairs, kemShared)
}

// agreeResponder computes the responder's root and chain keys, the same
// as agreeInitiator's from the other side. oneTime may be the zero key.
func agreeResponder(identity, signed, oneTime keys.PrivateKey, theirIdentity, theirBase keys.PublicKey, kemShared []byte) (root, chain []byte, err error) {
	secrets := make([]byte, 0, 32*6)
	secrets = append(secrets, discontinuity[:]...)
	pairs := []dhPair{{signed, theirIdentity}, {identity, theirBase}, {signed, theirBase}}
	if !oneTime.IsZero() {
		pairs = append(pairs, dhPair{oneTime, theirBase})
	}
	return agree(secrets, pairs, kemShared)
}

type dhPair struct {
	priv keys.PrivateKey
	pub  keys.PublicKey
}

func agree(secrets []byte, pairs []dhPair, kemShared []byte) (root, chain []byte, err error) {
	defer func() { clear(secrets) }()
	for _, p := range pairs {
		if secrets, err = appendDH(secrets, p.priv, p.pub); err != nil {
			return nil, nil, err
		}
	}
	info := InfoX3DH
	if kemShared != nil {
		secrets = append(secrets, kemShared...)
		info = InfoPQXDH
	}
	return deriveSecrets(secrets, info)
}

func appendDH(b []byte, priv keys.PrivateKey, pub keys.PublicKey) ([]byte, error) {
	s, err := priv.DH(pub)
	if err != nil {
		return b, fmt.Errorf("pqxdh: %w", err)
	}
	b = append(b, s...)
	clear(s)
	return b, nil
}

func deriveSecrets(secrets []byte, info string) (root, chain []byte, err error) {
	out, err := kdf.HKDF(secrets, nil, []byte(info), 2*ratchet.KeySize)
	if err != nil {
		return nil, nil, fmt.Errorf("pqxdh: %w", err)
	}
	return out[:ratchet.KeySize], out[ratchet.KeySize:], nil
}
