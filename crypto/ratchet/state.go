package ratchet

import (
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/mutualcoop/mutual/crypto/internal/cbc"
	"github.com/mutualcoop/mutual/crypto/keys"
)

// Limits, as libsignal's (rust/protocol/src/consts.rs).
const (
	// MaxForwardJumps is the most message keys one message may make the
	// receiver skip in one chain.
	MaxForwardJumps = 25_000
	// MaxMessageKeys is the most skipped message keys kept per receiver
	// chain; the oldest are evicted first.
	MaxMessageKeys = 2_000
	// MaxReceiverChains is the most receiver chains kept per state; the
	// oldest is evicted first.
	MaxReceiverChains = 5
)

// State is one Double Ratchet session with one remote device: libsignal's
// SessionState. It is not safe for concurrent use.
type State struct {
	version         int
	localIdentity   keys.PublicKey
	remoteIdentity  keys.PublicKey
	rootKey         [KeySize]byte
	previousCounter uint32
	sender          senderChain
	receivers       []*receiverChain // oldest first
	pending         *PendingPreKey
	localRegID      uint32
	remoteRegID     uint32
	baseKey         keys.PublicKey // the initiator's base key: names the session
	cache           *KeyCache      // not serialized
}

// UseKeyCache makes the state take its ratchet private key from c, and put
// the new ones there, in DH ratchet steps. c may be shared by many states.
func (s *State) UseKeyCache(c *KeyCache) { s.cache = c }

// senderChain is our current ratchet key pair and sending chain. A parsed
// state keeps the private key as bytes (raw) and makes the
// keys.PrivateKey only when a DH ratchet step needs it: building one
// computes its public key, a scalar multiplication that sending does not
// need.
type senderChain struct {
	priv keys.PrivateKey // zero until needed, after parsing
	raw  [keys.PrivateKeySize]byte
	pub  keys.PublicKey
	ck   chainKey
}

func newSenderChain(priv keys.PrivateKey, ck chainKey) senderChain {
	c := senderChain{priv: priv, pub: priv.Public(), ck: ck}
	b := priv.Bytes()
	copy(c.raw[:], b)
	clear(b)
	return c
}

// private returns the ratchet private key, from the cache if it has it,
// checking a parsed one against its public key otherwise.
func (c *senderChain) private(cache *KeyCache) (keys.PrivateKey, error) {
	if c.priv.IsZero() && cache != nil {
		if k, ok := cache.get(c.pub, &c.raw); ok {
			c.priv = k
		}
	}
	if c.priv.IsZero() {
		k, err := keys.NewPrivateKey(c.raw[:])
		if err != nil {
			return keys.PrivateKey{}, fmt.Errorf("%w: sender ratchet key: %w", ErrMalformed, err)
		}
		if !k.Public().Equal(c.pub) {
			return keys.PrivateKey{}, fmt.Errorf("%w: sender ratchet key pair inconsistent", ErrMalformed)
		}
		c.priv = k
	}
	return c.priv, nil
}

type receiverChain struct {
	ratchetKey keys.PublicKey
	ck         chainKey
	skipped    []skippedKey // ascending index, oldest first
}

// skippedKey is the message seed of a message not yet received.
type skippedKey struct {
	index uint32
	seed  [KeySize]byte
}

// PendingPreKey is what an initiator repeats in every message until the
// recipient answers: the prekeys it used and its base key. It makes Encrypt
// produce PreKeySignalMessages.
type PendingPreKey struct {
	PreKeyID       uint32 // the one-time prekey, if HasPreKeyID
	HasPreKeyID    bool
	SignedPreKeyID uint32
	BaseKey        keys.PublicKey
	KEMPreKeyID    uint32 // version 4 only
	KEMCiphertext  []byte // bare ML-KEM-1024 ciphertext, version 4 only
}

// InitiatorParams sets up the initiator's ("Alice's") side of a session
// after the key agreement.
type InitiatorParams struct {
	Version                                   int
	RootKey, ChainKey                         []byte // KeySize bytes each, from the key agreement
	LocalIdentity, RemoteIdentity             keys.PublicKey
	TheirRatchetKey                           keys.PublicKey  // the recipient's signed prekey
	OurRatchetKey                             keys.PrivateKey // a fresh key for the first sending chain
	Pending                                   PendingPreKey
	LocalRegistrationID, RemoteRegistrationID uint32
}

// ResponderParams sets up the responder's ("Bob's") side of a session after
// the key agreement.
type ResponderParams struct {
	Version                                   int
	RootKey, ChainKey                         []byte // KeySize bytes each, from the key agreement
	LocalIdentity, RemoteIdentity             keys.PublicKey
	OurRatchetKey                             keys.PrivateKey // our signed prekey
	BaseKey                                   keys.PublicKey  // the initiator's base key
	LocalRegistrationID, RemoteRegistrationID uint32
}

func checkSetup(version int, root, chain []byte, local, remote keys.PublicKey) error {
	if version != Version3 && version != Version4 {
		return fmt.Errorf("%w: session version %d", ErrVersion, version)
	}
	if len(root) != KeySize || len(chain) != KeySize {
		return errors.New("ratchet: root and chain keys must be 32 bytes")
	}
	if local.IsZero() || remote.IsZero() {
		return errors.New("ratchet: missing identity key")
	}
	return nil
}

// NewInitiatorState returns the initiator's state: a receiving chain on the
// recipient's signed prekey with the agreed chain key, and a first sending
// chain from one root step with OurRatchetKey, as libsignal's
// initialize_alice_session.
func NewInitiatorState(p InitiatorParams) (*State, error) {
	if err := checkSetup(p.Version, p.RootKey, p.ChainKey, p.LocalIdentity, p.RemoteIdentity); err != nil {
		return nil, err
	}
	if p.OurRatchetKey.IsZero() || p.TheirRatchetKey.IsZero() || p.Pending.BaseKey.IsZero() {
		return nil, errors.New("ratchet: missing ratchet or base key")
	}
	if (p.Version >= Version4) != (p.Pending.KEMCiphertext != nil) {
		return nil, errors.New("ratchet: a KEM ciphertext goes with version 4 and only with it")
	}
	if p.Pending.KEMCiphertext != nil && len(p.Pending.KEMCiphertext) != keys.KEMCiphertextSize {
		return nil, fmt.Errorf("ratchet: KEM ciphertext of %d bytes", len(p.Pending.KEMCiphertext))
	}
	var root [KeySize]byte
	copy(root[:], p.RootKey)
	recv := chainKey{}
	copy(recv.key[:], p.ChainKey)
	newRoot, send, err := rootStep(&root, p.OurRatchetKey, p.TheirRatchetKey)
	clear(root[:])
	if err != nil {
		return nil, err
	}
	pending := p.Pending
	pending.KEMCiphertext = append([]byte(nil), p.Pending.KEMCiphertext...)
	if p.Pending.KEMCiphertext == nil {
		pending.KEMCiphertext = nil
	}
	return &State{
		version:        p.Version,
		localIdentity:  p.LocalIdentity,
		remoteIdentity: p.RemoteIdentity,
		rootKey:        newRoot,
		sender:         newSenderChain(p.OurRatchetKey, send),
		receivers:      []*receiverChain{{ratchetKey: p.TheirRatchetKey, ck: recv}},
		pending:        &pending,
		localRegID:     p.LocalRegistrationID,
		remoteRegID:    p.RemoteRegistrationID,
		baseKey:        p.Pending.BaseKey,
	}, nil
}

// NewResponderState returns the responder's state: a sending chain on our
// signed prekey with the agreed chain key, as libsignal's
// initialize_bob_session.
func NewResponderState(p ResponderParams) (*State, error) {
	if err := checkSetup(p.Version, p.RootKey, p.ChainKey, p.LocalIdentity, p.RemoteIdentity); err != nil {
		return nil, err
	}
	if p.OurRatchetKey.IsZero() || p.BaseKey.IsZero() {
		return nil, errors.New("ratchet: missing ratchet or base key")
	}
	s := &State{
		version:        p.Version,
		localIdentity:  p.LocalIdentity,
		remoteIdentity: p.RemoteIdentity,
		sender:         newSenderChain(p.OurRatchetKey, chainKey{}),
		localRegID:     p.LocalRegistrationID,
		remoteRegID:    p.RemoteRegistrationID,
		baseKey:        p.BaseKey,
	}
	copy(s.rootKey[:], p.RootKey)
	copy(s.sender.ck.key[:], p.ChainKey)
	return s, nil
}

// Version returns the session's protocol version (3 or 4).
func (s *State) Version() int { return s.version }

// LocalIdentity returns our identity key as this session knows it.
func (s *State) LocalIdentity() keys.PublicKey { return s.localIdentity }

// RemoteIdentity returns the remote identity key of this session.
func (s *State) RemoteIdentity() keys.PublicKey { return s.remoteIdentity }

// BaseKey returns the initiator's base key, which names the session: a
// PreKeySignalMessage with the same version and base key belongs to it.
func (s *State) BaseKey() keys.PublicKey { return s.baseKey }

// LocalRegistrationID returns our registration ID as sent in prekey
// messages.
func (s *State) LocalRegistrationID() uint32 { return s.localRegID }

// RemoteRegistrationID returns the remote device's registration ID.
func (s *State) RemoteRegistrationID() uint32 { return s.remoteRegID }

// HasPending reports whether the remote side has not answered yet, so that
// Encrypt still produces PreKeySignalMessages.
func (s *State) HasPending() bool { return s.pending != nil }

// ClearPending forgets the pending prekey data (libsignal does this when it
// archives a state).
func (s *State) ClearPending() { s.pending = nil }

// SenderRatchetKey returns our current ratchet public key.
func (s *State) SenderRatchetKey() keys.PublicKey { return s.sender.pub }

func (s *State) initialized() bool { return !s.sender.pub.IsZero() }

// Encrypt encrypts plaintext with the next key of the sending chain and
// advances the chain. The result is a PreKeySignalMessage while the session
// has pending prekey data, a SignalMessage otherwise. Persist the State
// before sending the result.
func (s *State) Encrypt(plaintext []byte) (Ciphertext, error) {
	if !s.initialized() {
		return Ciphertext{}, ErrNoSession
	}
	ck := s.sender.ck
	defer ck.wipe()
	if ck.index == math.MaxUint32 {
		return Ciphertext{}, errors.New("ratchet: sending chain exhausted")
	}
	seed := ck.messageSeed()
	mk := deriveMessageKeys(&seed)
	clear(seed[:])
	defer mk.wipe()
	body, err := cbc.Encrypt(mk.cipherKey[:], mk.iv[:], plaintext)
	if err != nil {
		return Ciphertext{}, fmt.Errorf("encrypt: %w", err)
	}
	msg := newSignalMessage(s.version, &mk.macKey, s.sender.pub, ck.index, s.previousCounter, body, s.localIdentity, s.remoteIdentity)
	out := Ciphertext{Type: TypeSignal, Body: msg.serialized}
	if s.pending != nil {
		out = Ciphertext{Type: TypePreKey, Body: newPreKeySignalMessage(s.version, s.localRegID, s.pending, s.localIdentity, msg)}
	}
	s.sender.ck = ck.next()
	return out, nil
}

// Decrypt authenticates and decrypts m. Only when it succeeds does it change
// the State: it takes the message key out of the skipped-key store or
// advances the receiving chain (storing the keys it skips), performs the
// DH ratchet step when m starts a new chain (drawing a new ratchet key from
// rand), and clears the pending prekey data. On any error the State is
// unchanged.
//
// Before the MAC can be checked, Decrypt derives as many chain keys as m
// skips (at most MaxForwardJumps) and, for a new chain, computes the
// receiving half of the DH ratchet step; the new ratchet key and the
// sending chain are made only once m has authenticated. DecryptCost tells
// that work in advance.
func (s *State) Decrypt(rand io.Reader, m *SignalMessage) ([]byte, error) {
	if !s.initialized() {
		return nil, ErrNoSession
	}
	if m.version != s.version {
		return nil, fmt.Errorf("%w: version %d message for a version %d session", ErrVersion, m.version, s.version)
	}

	// Plan: compute every change aside.
	ci := s.receiverIndex(m.ratchetKey)
	var (
		ck    chainKey
		root1 [KeySize]byte // the root key after the receiving half of a DH step
	)
	defer ck.wipe()
	defer clear(root1[:])
	if ci >= 0 {
		ck = s.receivers[ci].ck
	} else {
		var err error
		if root1, ck, err = s.receivingStep(m.ratchetKey); err != nil {
			return nil, err
		}
	}

	var (
		seed       [KeySize]byte
		skippedPos = -1
		skipped    bool     // m skips keys of its chain
		skipFrom   chainKey // the first of them to keep
		nextCK     chainKey
	)
	defer skipFrom.wipe()
	defer nextCK.wipe()
	if m.counter < ck.index {
		if ci >= 0 {
			skippedPos = findSkipped(s.receivers[ci].skipped, m.counter)
		}
		if skippedPos < 0 {
			return nil, fmt.Errorf("%w: counter %d, chain at %d", ErrDuplicate, m.counter, ck.index)
		}
		seed = s.receivers[ci].skipped[skippedPos].seed
	} else {
		jump := m.counter - ck.index
		if jump > MaxForwardJumps {
			return nil, fmt.Errorf("%w: %d messages ahead", ErrTooFarInFuture, jump)
		}
		// Walk the chain to m's key. Only the newest MaxMessageKeys
		// skipped keys survive eviction; their seeds are derived from
		// skipFrom once m has authenticated.
		keepFrom := ck.index
		if jump > MaxMessageKeys {
			keepFrom = m.counter - MaxMessageKeys
		}
		skipped = jump > 0
		for ck.index < m.counter {
			if ck.index == keepFrom {
				skipFrom = ck
			}
			ck = ck.next()
		}
		seed = ck.messageSeed()
		nextCK = ck.next()
	}
	mk := deriveMessageKeys(&seed)
	clear(seed[:])
	defer mk.wipe()
	if !m.verifyMAC(s.remoteIdentity, s.localIdentity, &mk.macKey) {
		return nil, ErrAuth
	}
	plaintext, err := cbc.Decrypt(mk.cipherKey[:], mk.iv[:], m.ciphertext)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}

	// The skipped keys' seeds and the sending half of a DH step, now that
	// m is authentic.
	var newSkipped []skippedKey
	if skipped {
		newSkipped = make([]skippedKey, 0, m.counter-skipFrom.index)
		c := skipFrom
		for c.index < m.counter {
			newSkipped = append(newSkipped, skippedKey{index: c.index, seed: c.messageSeed()})
			c = c.next()
		}
		c.wipe()
	}
	var step *ratchetStep
	if ci < 0 {
		if step, err = sendingStep(rand, &root1, m.ratchetKey); err != nil {
			return nil, err
		}
	}

	// Commit. What is replaced is overwritten in place; what is evicted
	// or used up is cleared (best effort: see wipe).
	if step != nil {
		s.rootKey = step.root
		s.receivers = append(s.receivers, &receiverChain{ratchetKey: m.ratchetKey, ck: nextCK, skipped: newSkipped})
		if len(s.receivers) > MaxReceiverChains {
			s.receivers[0].wipe()
			s.receivers[0] = nil
			s.receivers = s.receivers[1:]
		}
		prev := s.sender.ck.index
		if prev > 0 {
			prev--
		}
		s.previousCounter = prev
		if s.cache != nil {
			s.cache.remove(s.sender.pub)
			s.cache.put(step.priv)
		}
		s.sender = newSenderChain(step.priv, step.send)
		step.wipe()
	} else {
		rc := s.receivers[ci]
		if skippedPos >= 0 {
			rc.skipped = removeSkipped(rc.skipped, skippedPos)
		} else {
			rc.skipped = appendSkipped(rc.skipped, newSkipped)
			rc.ck = nextCK
		}
	}
	s.pending = nil
	return plaintext, nil
}

// DecryptCost tells, without any cryptography, the work Decrypt(m) would
// do before it can check m's MAC: how many chain keys it would derive to
// reach m's key (0 for a skipped or already used key; more than
// MaxForwardJumps means Decrypt refuses m at once), and whether it would
// compute a DH (m starts a new receiving chain). A caller that may try a
// message against many states uses it to bound what a forged message
// costs.
func (s *State) DecryptCost(m *SignalMessage) (chainKeys uint32, newChain bool) {
	var index uint32
	if ci := s.receiverIndex(m.ratchetKey); ci >= 0 {
		index = s.receivers[ci].ck.index
	} else {
		newChain = true
	}
	if m.counter < index {
		return 0, newChain
	}
	return m.counter - index, newChain
}

// ratchetStep is the sending half of a DH ratchet step.
type ratchetStep struct {
	root [KeySize]byte
	priv keys.PrivateKey
	send chainKey
}

// Wiping. Message keys, message seeds and chain keys are cleared once used,
// replaced or evicted, as far as Go lets a program: copies the compiler or
// the runtime makes (stack growth, a slice's old backing array, the
// garbage collector) are out of reach, and so are the keys inside
// crypto/ecdh and crypto/aes values. It narrows the window in which a
// memory disclosure finds old keys; it does not close it.

func (mk *messageKeys) wipe() {
	clear(mk.cipherKey[:])
	clear(mk.macKey[:])
	clear(mk.iv[:])
}

func (c *chainKey) wipe() { clear(c.key[:]) }

func (rc *receiverChain) wipe() {
	rc.ck.wipe()
	clear(rc.skipped)
	rc.skipped = nil
}

func (st *ratchetStep) wipe() {
	clear(st.root[:])
	st.send.wipe()
}

// removeSkipped removes skipped key i, used, and clears it.
func removeSkipped(sk []skippedKey, i int) []skippedKey {
	out := append(sk[:i], sk[i+1:]...)
	clear(sk[len(out):]) // the used key, or the copy the shift left behind
	return out
}

// appendSkipped appends add to sk and evicts the oldest keys beyond
// MaxMessageKeys, clearing them, add, and sk's backing array if the append
// had to move it.
func appendSkipped(sk, add []skippedKey) []skippedKey {
	out := append(sk, add...)
	if len(sk) > 0 && &out[0] != &sk[0] {
		clear(sk)
	}
	clear(add)
	if n := len(out); n > MaxMessageKeys {
		clear(out[:n-MaxMessageKeys])
		out = out[n-MaxMessageKeys:]
	}
	return out
}

// receivingStep is the receiving half of the DH ratchet step for a new
// remote ratchet key: the root key and the receiving chain from our
// current ratchet key.
func (s *State) receivingStep(their keys.PublicKey) ([KeySize]byte, chainKey, error) {
	ours, err := s.sender.private(s.cache)
	if err != nil {
		return [KeySize]byte{}, chainKey{}, err
	}
	root1, recv, err := rootStep(&s.rootKey, ours, their)
	if err != nil {
		return [KeySize]byte{}, chainKey{}, fmt.Errorf("%w: %w", ErrAuth, err)
	}
	return root1, recv, nil
}

// sendingStep is the sending half: a new ratchet key and the sending chain
// from it, after root1 (the root key that receivingStep gave).
func sendingStep(rand io.Reader, root1 *[KeySize]byte, their keys.PublicKey) (*ratchetStep, error) {
	priv, err := keys.GeneratePrivateKey(rand)
	if err != nil {
		return nil, fmt.Errorf("new ratchet key: %w", err)
	}
	root2, send, err := rootStep(root1, priv, their)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAuth, err)
	}
	return &ratchetStep{root: root2, priv: priv, send: send}, nil
}

func (s *State) receiverIndex(k keys.PublicKey) int {
	for i, rc := range s.receivers {
		if rc.ratchetKey.Equal(k) {
			return i
		}
	}
	return -1
}

func findSkipped(sk []skippedKey, index uint32) int {
	for i := range sk {
		if sk[i].index == index {
			return i
		}
	}
	return -1
}
