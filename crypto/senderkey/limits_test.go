package senderkey

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/mutualcoop/mutual/crypto/keys"
	"github.com/mutualcoop/mutual/internal/pb"
)

// pair returns an own sender key and a receiver that has processed its
// distribution message at iteration 0.
func pair(t *testing.T) (sender, receiver *Record) {
	t.Helper()
	sender, err := Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	d, err := sender.Distribution()
	if err != nil {
		t.Fatal(err)
	}
	receiver = new(Record)
	if err := receiver.Process(d); err != nil {
		t.Fatal(err)
	}
	return sender, receiver
}

// at moves the sender's chain to the iteration without sending (cheap: no
// signatures) and encrypts the message of that iteration.
func at(t *testing.T, sender *Record, iteration uint32) []byte {
	t.Helper()
	st := sender.states()[0]
	if st.chain.iteration > iteration {
		t.Fatalf("sender already at %d, past %d", st.chain.iteration, iteration)
	}
	for st.chain.iteration < iteration {
		st.chain = st.chain.next()
	}
	m, err := sender.Encrypt(fmt.Append(nil, iteration), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func decryptOK(t *testing.T, r *Record, msg []byte, iteration uint32) {
	t.Helper()
	got, err := r.Decrypt(msg)
	if err != nil || string(got) != fmt.Sprint(iteration) {
		t.Fatalf("iteration %d: %q, %v", iteration, got, err)
	}
}

func refused(t *testing.T, r *Record, msg []byte, want error) {
	t.Helper()
	before := r.Marshal()
	if _, err := r.Decrypt(msg); !errors.Is(err, want) {
		t.Fatalf("got %v, want %v", err, want)
	}
	if !bytes.Equal(r.Marshal(), before) {
		t.Fatal("a refused message changed the record")
	}
}

func skippedRange(r *Record) (n int, oldest, newest uint32) {
	sk := r.states()[0].skipped
	if len(sk) == 0 {
		return 0, 0, 0
	}
	return len(sk), sk[0].iteration, sk[len(sk)-1].iteration
}

// TestForwardJumpLimit: a message may skip exactly MaxForwardJumps
// iterations, not one more.
func TestForwardJumpLimit(t *testing.T) {
	t.Run("at the limit", func(t *testing.T) {
		sender, receiver := pair(t)
		decryptOK(t, receiver, at(t, sender, MaxForwardJumps), MaxForwardJumps)
		n, oldest, newest := skippedRange(receiver)
		if n != MaxSkippedKeys || oldest != MaxForwardJumps-MaxSkippedKeys || newest != MaxForwardJumps-1 {
			t.Fatalf("skipped keys: %d, %d..%d", n, oldest, newest)
		}
		// And again from there.
		decryptOK(t, receiver, at(t, sender, 2*MaxForwardJumps+1), 2*MaxForwardJumps+1)
	})
	t.Run("past the limit", func(t *testing.T) {
		sender, receiver := pair(t)
		refused(t, receiver, at(t, sender, MaxForwardJumps+1), ErrTooFarAhead)
		if n, _, _ := skippedRange(receiver); n != 0 {
			t.Fatalf("%d skipped keys stored", n)
		}
	})
	t.Run("from a later iteration", func(t *testing.T) {
		sender, receiver := pair(t)
		decryptOK(t, receiver, at(t, sender, 100), 100)
		refused(t, receiver, at(t, sender, 101+MaxForwardJumps+1), ErrTooFarAhead)
	})
}

// TestSkippedKeyLimit: a state keeps the newest MaxSkippedKeys skipped
// keys; a message whose key was dropped is a duplicate.
func TestSkippedKeyLimit(t *testing.T) {
	t.Run("one jump", func(t *testing.T) {
		sender, receiver := pair(t)
		m0, m1, m2 := at(t, sender, 0), at(t, sender, 1), at(t, sender, 2)
		decryptOK(t, receiver, at(t, sender, MaxSkippedKeys+2), MaxSkippedKeys+2)
		if n, oldest, newest := skippedRange(receiver); n != MaxSkippedKeys || oldest != 2 || newest != MaxSkippedKeys+1 {
			t.Fatalf("skipped keys: %d, %d..%d", n, oldest, newest)
		}
		refused(t, receiver, m0, ErrDuplicate)
		refused(t, receiver, m1, ErrDuplicate)
		decryptOK(t, receiver, m2, 2)
		refused(t, receiver, m2, ErrDuplicate)
		if n, oldest, _ := skippedRange(receiver); n != MaxSkippedKeys-1 || oldest != 3 {
			t.Fatalf("after using one: %d, oldest %d", n, oldest)
		}
	})
	t.Run("two jumps", func(t *testing.T) {
		sender, receiver := pair(t)
		m998, m999 := at(t, sender, 998), at(t, sender, 999)
		decryptOK(t, receiver, at(t, sender, 1500), 1500) // skips 0..1499
		decryptOK(t, receiver, at(t, sender, 3000), 3000) // skips 1501..2999
		if n, oldest, newest := skippedRange(receiver); n != MaxSkippedKeys || oldest != 999 || newest != 2999 {
			t.Fatalf("skipped keys: %d, %d..%d", n, oldest, newest)
		}
		refused(t, receiver, m998, ErrDuplicate)
		decryptOK(t, receiver, m999, 999)
	})
}

// signed returns a SenderKeyMessage for the sender's chain with any
// ciphertext, properly signed: what a sender that misbehaves can send.
func signed(t *testing.T, sender *Record, iteration uint32, ciphertext []byte) []byte {
	t.Helper()
	st := sender.states()[0]
	b := appendMessageBody(nil, st.chainID, iteration, ciphertext)
	sig, err := st.signingPriv.Sign(rand.Reader, b)
	if err != nil {
		t.Fatal(err)
	}
	return append(b, sig...)
}

// TestUndecryptableLeavesStateUnchanged: a correctly signed message whose
// ciphertext does not decrypt changes nothing, neither the chain nor the
// skipped keys, whether it is ahead or for a skipped key.
func TestUndecryptableLeavesStateUnchanged(t *testing.T) {
	sender, receiver := pair(t)
	m3 := at(t, sender, 3)
	decryptOK(t, receiver, at(t, sender, 5), 5)
	garbage := bytes.Repeat([]byte{0xA5}, 32)
	for name, msg := range map[string][]byte{
		"ahead, bad padding":       signed(t, sender, 20, garbage),
		"ahead, partial block":     signed(t, sender, 20, garbage[:17]),
		"ahead, empty":             signed(t, sender, 20, nil),
		"skipped key, bad padding": signed(t, sender, 3, garbage),
		"current key, bad padding": signed(t, sender, 6, garbage),
	} {
		t.Run(name, func(t *testing.T) {
			refused(t, receiver, msg, ErrMalformed)
		})
	}
	decryptOK(t, receiver, m3, 3)
	decryptOK(t, receiver, at(t, sender, 6), 6)
}

// TestLastIteration: the chain ends at iteration 2^32 − 1, which cannot
// be sent (libsignal refuses to step past it).
func TestLastIteration(t *testing.T) {
	sender, _ := pair(t)
	st := sender.states()[0]
	st.chain.iteration = math.MaxUint32 - 1
	d, _ := sender.Distribution()
	receiver := new(Record)
	if err := receiver.Process(d); err != nil {
		t.Fatal(err)
	}
	last := at(t, sender, math.MaxUint32-1)
	before := sender.Marshal()
	if _, err := sender.Encrypt([]byte("x"), rand.Reader); err == nil {
		t.Fatal("encrypted past the chain's end")
	}
	if !bytes.Equal(sender.Marshal(), before) {
		t.Fatal("a refused Encrypt changed the record")
	}
	refused(t, receiver, signed(t, sender, math.MaxUint32, []byte("0123456789abcdef")), ErrTooFarAhead)
	decryptOK(t, receiver, last, math.MaxUint32-1)
}

// TestProcessSameChainOtherKey: a distribution message for a known chain
// ID with another signing key replaces the state (libsignal's rule).
func TestProcessSameChainOtherKey(t *testing.T) {
	sender, receiver := pair(t)
	old := at(t, sender, 0)
	other, err := keys.GeneratePrivateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := sender.Distribution()
	d.signingKey = other.Public()
	if err := receiver.Process(d); err != nil {
		t.Fatal(err)
	}
	if len(receiver.states()) != 1 {
		t.Fatalf("%d states", len(receiver.states()))
	}
	refused(t, receiver, old, ErrBadSignature)
}

func TestParseRecordErrors(t *testing.T) {
	good := func() *state {
		sender, _ := pair(t)
		return sender.states()[0]
	}
	record := func(sts ...*state) []byte {
		return (&Record{p: &stateList{states: sts}}).Marshal()
	}
	withSkipped := func(its ...uint32) *state {
		st := good()
		st.chain.iteration = 10
		for _, it := range its {
			st.skipped = append(st.skipped, skippedKey{iteration: it})
		}
		return st
	}
	tooMany := good()
	tooMany.chain.iteration = MaxSkippedKeys + 5
	for i := range MaxSkippedKeys + 1 {
		tooMany.skipped = append(tooMany.skipped, skippedKey{iteration: uint32(i)})
	}
	mismatched := good()
	mismatched.signingKey = good().signingKey
	twin := good()
	twin2 := good()
	twin2.chainID = twin.chainID
	six := make([]*state, MaxStates+1)
	for i := range six {
		six[i] = good()
		six[i].chainID = uint32(i)
	}
	stateBytes := func(chainKeyLen int, signing []byte) []byte {
		b := pb.AppendVarint(nil, fStateChainID, 1)
		ck := pb.AppendVarint(nil, fKeyIteration, 0)
		ck = pb.AppendBytes(ck, fKeySeed, make([]byte, chainKeyLen))
		b = pb.AppendBytes(b, fStateChainKey, ck)
		if signing != nil {
			b = pb.AppendBytes(b, fStateSigningKey, pb.AppendBytes(nil, fSigningPublic, signing))
		}
		return pb.AppendBytes(pb.AppendVarint(nil, fRecordFormat, FormatVersion), fRecordStates, b)
	}
	pub := good().signingKey.Bytes()
	badType := bytes.Clone(pub)
	badType[0] = 0x06

	if _, err := ParseRecord(stateBytes(KeySize, pub)); err != nil {
		t.Fatalf("the hand-made state is refused: %v", err)
	}
	cases := map[string][]byte{
		"no format version":        pb.AppendBytes(nil, fRecordStates, nil),
		"skipped out of order":     record(withSkipped(1, 3, 2)),
		"skipped twice":            record(withSkipped(1, 1)),
		"skipped at the chain key": record(withSkipped(1, 10)),
		"too many skipped keys":    record(tooMany),
		"private key of another":   record(mismatched),
		"two states for one chain": record(twin, twin2),
		"too many states":          record(six...),
		"short chain key":          stateBytes(KeySize-1, pub),
		"no signing key":           stateBytes(KeySize, nil),
		"signing key type":         stateBytes(KeySize, badType),
		"truncated":                record(good())[:40],
		"states field as a varint": pb.AppendVarint(pb.AppendVarint(nil, fRecordFormat, FormatVersion), fRecordStates, 1),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseRecord(b); !errors.Is(err, ErrMalformed) {
				t.Fatalf("%v", err)
			}
		})
	}
	if _, err := ParseRecord(pb.AppendVarint(nil, fRecordFormat, 2)); !errors.Is(err, ErrFormatVersion) {
		t.Fatalf("format 2: %v", err)
	}
	if r, err := ParseRecord(record(withSkipped(1, 2, 9))); err != nil || len(r.states()[0].skipped) != 3 {
		t.Fatalf("valid skipped keys: %v", err)
	}
}
