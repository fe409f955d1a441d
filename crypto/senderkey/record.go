package senderkey

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/mutualcoop/mutual/crypto/internal/cbc"
	"github.com/mutualcoop/mutual/crypto/keys"
)

// Limits, libsignal's (rust/protocol/src/consts.rs).
const (
	// MaxStates is the number of states a Record keeps (libsignal's
	// MAX_SENDER_KEY_STATES); a new one pushes out the oldest.
	MaxStates = 5
	// MaxSkippedKeys is the number of skipped message keys a state keeps
	// (libsignal's MAX_MESSAGE_KEYS); newer ones push out the oldest.
	MaxSkippedKeys = 2000
	// MaxForwardJumps is the number of iterations a message may skip
	// (libsignal's MAX_FORWARD_JUMPS).
	MaxForwardJumps = 25000
)

// Record is what one device holds for one sender (device) in one group:
// the device's own sender key, made by Generate, with its private signing
// key; or the states received from another sender by Process, at most
// MaxStates, newest first.
//
// The zero Record (new(Record)) is empty, as is ParseRecord(nil); Process
// into an empty Record creates its first state. A Record holds chain keys:
// store its Marshal as carefully as a private key.
type Record struct {
	// The states live two pointers deep, so that even fmt's reflection on
	// a struct holding a Record in an unexported field (where Format is
	// out of its reach, whatever the verb) prints addresses, not keys.
	p *stateList
}

type stateList struct {
	states []*state // newest first
}

// states returns the states, newest first.
func (r *Record) states() []*state {
	if r.p == nil {
		return nil
	}
	return r.p.states
}

// state is one sender key: a chain and the key that signs its messages.
type state struct {
	chainID     uint32
	chain       chainKey
	signingKey  keys.PublicKey
	signingPriv keys.PrivateKey // zero in a state received from another sender
	skipped     []skippedKey    // ascending iterations, all below chain.iteration
}

// Generate returns a new own sender key: a random 31-bit chain ID (as
// libsignal, whose Java ancestor used 31-bit integers), iteration 0, a
// random chain key and a new signing key pair. It reads, in this order, 4
// bytes for the chain ID (big-endian, shifted right by one), 32 for the
// chain key and 32 for the signing key from rand (use crypto/rand.Reader).
func Generate(rand io.Reader) (*Record, error) {
	var id [4]byte
	if _, err := io.ReadFull(rand, id[:]); err != nil {
		return nil, fmt.Errorf("generate sender key: %w", err)
	}
	st := &state{chainID: binary.BigEndian.Uint32(id[:]) >> 1}
	if _, err := io.ReadFull(rand, st.chain.key[:]); err != nil {
		return nil, fmt.Errorf("generate sender key: %w", err)
	}
	priv, err := keys.GeneratePrivateKey(rand)
	if err != nil {
		clear(st.chain.key[:])
		return nil, fmt.Errorf("generate sender key: %w", err)
	}
	st.signingPriv, st.signingKey = priv, priv.Public()
	return &Record{p: &stateList{states: []*state{st}}}, nil
}

// ChainID returns the chain ID of the newest state, 0 for an empty
// Record (0 is also a valid chain ID).
func (r *Record) ChainID() uint32 {
	if states := r.states(); len(states) > 0 {
		return states[0].chainID
	}
	return 0
}

// own returns the newest state if it is this device's own sender key.
func (r *Record) own() (*state, error) {
	states := r.states()
	if len(states) == 0 {
		return nil, fmt.Errorf("%w: empty record", ErrNoState)
	}
	st := states[0]
	if st.signingPriv.IsZero() {
		return nil, ErrNotSender
	}
	return st, nil
}

// Distribution returns the message that lets others decrypt this device's
// messages from the current iteration on. The Record must be the device's
// own (from Generate): otherwise ErrNotSender, or ErrNoState if empty.
func (r *Record) Distribution() (*DistributionMessage, error) {
	st, err := r.own()
	if err != nil {
		return nil, err
	}
	ck := st.chain.key
	return &DistributionMessage{
		ChainID:    st.chainID,
		Iteration:  st.chain.iteration,
		chainKey:   &sealedKey{key: &ck},
		signingKey: st.signingKey,
	}, nil
}

// Encrypt encrypts plaintext with the next message key of the device's
// own sender key and returns the signed SenderKeyMessage, reading the
// signature's 64 random bytes from rand. It advances the chain: store the
// Record before sending the message. On error the Record is unchanged.
func (r *Record) Encrypt(plaintext []byte, rand io.Reader) ([]byte, error) {
	st, err := r.own()
	if err != nil {
		return nil, err
	}
	if st.chain.iteration == math.MaxUint32 {
		return nil, fmt.Errorf("senderkey: chain %d is at its last iteration: generate a new sender key", st.chainID)
	}
	seed := st.chain.messageSeed()
	mk := deriveMessageKeys(&seed)
	clear(seed[:])
	ct, err := cbc.Encrypt(mk.cipherKey[:], mk.iv[:], plaintext)
	mk.clear()
	if err != nil {
		return nil, fmt.Errorf("senderkey encrypt: %w", err)
	}
	b := appendMessageBody(make([]byte, 0, 1+20+len(ct)+SignatureSize), st.chainID, st.chain.iteration, ct)
	sig, err := st.signingPriv.Sign(rand, b)
	if err != nil {
		return nil, fmt.Errorf("senderkey encrypt: %w", err)
	}
	st.chain = st.chain.next()
	return append(b, sig...), nil
}

// Process adds the sender key in m as the Record's newest state, as
// libsignal does: a state with m's chain ID and signing key is kept as it
// is (a repeated distribution message cannot move the chain back to
// replay old messages) and becomes the newest; a state with m's chain ID
// and another signing key is replaced; when the Record would hold more
// than MaxStates states, the oldest is dropped.
func (r *Record) Process(m *DistributionMessage) error {
	if m == nil || m.chainKey == nil || m.chainKey.key == nil || m.signingKey.IsZero() {
		return fmt.Errorf("%w: incomplete distribution message", ErrMalformed)
	}
	var kept *state
	rest := make([]*state, 0, MaxStates)
	for _, st := range r.states() {
		switch {
		case st.chainID != m.ChainID:
			rest = append(rest, st)
		case kept == nil && st.signingKey.Equal(m.signingKey):
			kept = st
		default:
			st.wipe()
		}
	}
	if kept == nil {
		kept = &state{
			chainID:    m.ChainID,
			chain:      chainKey{key: *m.chainKey.key, iteration: m.Iteration},
			signingKey: m.signingKey,
		}
	}
	for len(rest) >= MaxStates {
		rest[len(rest)-1].wipe()
		rest = rest[:len(rest)-1]
	}
	r.p = &stateList{states: append([]*state{kept}, rest...)}
	return nil
}

// Decrypt checks a SenderKeyMessage's signature under the signing key of
// the state for its chain ID, then decrypts it. The state advances (and
// keeps the keys of skipped iterations) only when the message decrypts;
// every error leaves the Record unchanged.
func (r *Record) Decrypt(msg []byte) ([]byte, error) {
	m, err := parseMessage(msg)
	if err != nil {
		return nil, err
	}
	st := r.find(m.chainID)
	if st == nil {
		return nil, fmt.Errorf("%w: chain %d", ErrNoState, m.chainID)
	}
	if !st.signingKey.Verify(m.signed, m.signature) {
		return nil, fmt.Errorf("%w: chain %d, iteration %d", ErrBadSignature, m.chainID, m.iteration)
	}
	p, err := st.messageKey(m.iteration)
	if err != nil {
		return nil, err
	}
	pt, err := cbc.Decrypt(p.keys.cipherKey[:], p.keys.iv[:], m.ciphertext)
	if err != nil {
		p.discard()
		return nil, fmt.Errorf("%w: chain %d, iteration %d: %w", ErrMalformed, m.chainID, m.iteration, err)
	}
	p.commit()
	return pt, nil
}

// find returns the state with the chain ID, or nil.
func (r *Record) find(chainID uint32) *state {
	for _, st := range r.states() {
		if st.chainID == chainID {
			return st
		}
	}
	return nil
}

// pendingKey is the message key for one iteration and the change to its
// state that using it makes, applied by commit once the message has
// decrypted.
type pendingKey struct {
	st    *state
	keys  messageKeys
	used  int          // index of the skipped key used, or -1
	next  chainKey     // the chain key after the message (used == -1)
	fresh []skippedKey // the keys of the iterations skipped over
}

// messageKey returns the message key of the iteration, without changing
// the state: a skipped key for an earlier iteration, or a walk along the
// chain (at most MaxForwardJumps steps) for this or a later one. Of the
// iterations skipped over, only the last MaxSkippedKeys can survive in
// the state, so only their seeds are computed.
func (st *state) messageKey(iteration uint32) (*pendingKey, error) {
	cur := st.chain.iteration
	if iteration < cur {
		i, ok := slices.BinarySearchFunc(st.skipped, iteration, func(k skippedKey, it uint32) int {
			return cmp.Compare(k.iteration, it)
		})
		if !ok {
			return nil, fmt.Errorf("%w: chain %d, iteration %d (chain at %d)", ErrDuplicate, st.chainID, iteration, cur)
		}
		return &pendingKey{st: st, keys: deriveMessageKeys(&st.skipped[i].seed), used: i}, nil
	}
	if jump := iteration - cur; jump > MaxForwardJumps {
		return nil, fmt.Errorf("%w: chain %d, iteration %d skips %d (at most %d)", ErrTooFarAhead, st.chainID, iteration, jump, MaxForwardJumps)
	}
	if iteration == math.MaxUint32 {
		return nil, fmt.Errorf("%w: chain %d, iteration %d is past the chain's end", ErrTooFarAhead, st.chainID, iteration)
	}
	p := &pendingKey{st: st, used: -1}
	if n := min(iteration-cur, MaxSkippedKeys); n > 0 {
		p.fresh = make([]skippedKey, 0, n)
	}
	ck := st.chain
	for ck.iteration < iteration {
		if iteration-ck.iteration <= MaxSkippedKeys {
			p.fresh = append(p.fresh, skippedKey{iteration: ck.iteration, seed: ck.messageSeed()})
		}
		ck = ck.next()
	}
	seed := ck.messageSeed()
	p.keys = deriveMessageKeys(&seed)
	clear(seed[:])
	p.next = ck.next()
	clear(ck.key[:])
	return p, nil
}

// commit applies the change: the used skipped key goes, or the chain
// moves past the message and keeps the newest MaxSkippedKeys skipped keys.
func (p *pendingKey) commit() {
	st := p.st
	p.keys.clear()
	if p.used >= 0 {
		clear(st.skipped[p.used].seed[:])
		st.skipped = slices.Delete(st.skipped, p.used, p.used+1)
		return
	}
	st.chain = p.next
	all := append(st.skipped, p.fresh...)
	if drop := len(all) - MaxSkippedKeys; drop > 0 {
		clear(all[:drop])
		n := copy(all, all[drop:])
		clear(all[n:])
		all = all[:n]
	}
	st.skipped = all
	clear(p.next.key[:])
	clear(p.fresh)
}

// discard clears what was computed for a message that did not decrypt.
func (p *pendingKey) discard() {
	p.keys.clear()
	clear(p.next.key[:])
	clear(p.fresh)
}

// wipe clears a state's chain key and skipped keys when it is dropped.
func (st *state) wipe() {
	clear(st.chain.key[:])
	clear(st.skipped)
	st.skipped = nil
}

// Format prints the number of states and the newest chain ID, whatever
// the verb: no key ever shows.
func (r Record) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "senderkey.Record{%d states, newest chain %d}", len(r.states()), r.ChainID())
}
