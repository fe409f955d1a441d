package ratchet

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/mutualcoop/mutual/crypto/keys"
)

// pair returns two connected states, as if set up by a key agreement with
// random secrets: the initiator a (with pending prekey data) and the
// responder b.
func pair(t testing.TB, version int) (a, b *State) {
	t.Helper()
	gen := func() keys.PrivateKey {
		k, err := keys.GeneratePrivateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	root, chain := make([]byte, KeySize), make([]byte, KeySize)
	rand.Read(root)
	rand.Read(chain)
	aID, bID, bSigned, base := gen(), gen(), gen(), gen()
	pending := PendingPreKey{SignedPreKeyID: 1, BaseKey: base.Public(), PreKeyID: 5, HasPreKeyID: true}
	if version == Version4 {
		pending.KEMPreKeyID = 9
		pending.KEMCiphertext = make([]byte, keys.KEMCiphertextSize)
	}
	a, err := NewInitiatorState(InitiatorParams{
		Version: version, RootKey: root, ChainKey: chain,
		LocalIdentity: aID.Public(), RemoteIdentity: bID.Public(),
		TheirRatchetKey: bSigned.Public(), OurRatchetKey: gen(), Pending: pending,
		LocalRegistrationID: 11, RemoteRegistrationID: 22,
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err = NewResponderState(ResponderParams{
		Version: version, RootKey: root, ChainKey: chain,
		LocalIdentity: bID.Public(), RemoteIdentity: aID.Public(),
		OurRatchetKey: bSigned, BaseKey: base.Public(),
		LocalRegistrationID: 22, RemoteRegistrationID: 11,
	})
	if err != nil {
		t.Fatal(err)
	}
	return a, b
}

// signalMessage extracts the SignalMessage of a ciphertext.
func signalMessage(t testing.TB, ct Ciphertext) *SignalMessage {
	t.Helper()
	if ct.Type == TypePreKey {
		m, err := ParsePreKeySignalMessage(ct.Body)
		if err != nil {
			t.Fatal(err)
		}
		return m.Message()
	}
	m, err := ParseSignalMessage(ct.Body)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func encrypt(t testing.TB, s *State, pt string) *SignalMessage {
	t.Helper()
	ct, err := s.Encrypt([]byte(pt))
	if err != nil {
		t.Fatal(err)
	}
	return signalMessage(t, ct)
}

func mustDecrypt(t testing.TB, s *State, m *SignalMessage, want string) {
	t.Helper()
	pt, err := s.Decrypt(rand.Reader, m)
	if err != nil || string(pt) != want {
		t.Fatalf("decrypt: %q, %v; want %q", pt, err, want)
	}
}

func marshal(t testing.TB, s *State) []byte {
	t.Helper()
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestChainKDF checks the chain step and the message keys against
// libsignal's chain-key vector, then along a chain against the Double
// Ratchet specification's KDF_CK computed here with crypto/hmac (message
// seed = HMAC-SHA256(chain key, 0x01), next chain key = HMAC-SHA256(chain
// key, 0x02)) and crypto/hkdf (HKDF-SHA256 of the seed, no salt, info
// "WhisperMessageKeys": AES key, MAC key, IV).
func TestChainKDF(t *testing.T) {
	raw, err := os.ReadFile("testdata/libsignal_chain_key.json")
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]string
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	hx := func(k string) []byte {
		b, err := hex.DecodeString(v[k])
		if err != nil || len(b) != KeySize {
			t.Fatalf("%s: %x %v", k, b, err)
		}
		return b
	}
	hmacByte := func(key []byte, b byte) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte{b})
		return m.Sum(nil)
	}

	t.Run("libsignal vector", func(t *testing.T) {
		ck := chainKey{key: [KeySize]byte(hx("chainKey"))}
		seed := ck.messageSeed()
		mk := deriveMessageKeys(&seed)
		next := ck.next()
		for _, f := range []struct {
			name      string
			got, want []byte
		}{
			{"cipher key", mk.cipherKey[:], hx("cipherKey")},
			{"mac key", mk.macKey[:], hx("macKey")},
			{"next chain key", next.key[:], hx("nextChainKey")},
		} {
			if !bytes.Equal(f.got, f.want) {
				t.Errorf("%s %x, want %x", f.name, f.got, f.want)
			}
		}
		if next.index != 1 {
			t.Errorf("next index %d", next.index)
		}
	})

	t.Run("along a chain", func(t *testing.T) {
		ck := chainKey{key: [KeySize]byte(hx("chainKey"))}
		want := hx("chainKey")
		for i := range uint32(50) {
			if ck.index != i || !bytes.Equal(ck.key[:], want) {
				t.Fatalf("step %d: chain key %x (index %d), want %x", i, ck.key, ck.index, want)
			}
			wantSeed := hmacByte(want, 0x01)
			if seed := ck.messageSeed(); !bytes.Equal(seed[:], wantSeed) {
				t.Fatalf("step %d: message seed %x, want %x", i, seed, wantSeed)
			}
			keys, err := hkdf.Key(sha256.New, wantSeed, nil, "WhisperMessageKeys", 80)
			if err != nil {
				t.Fatal(err)
			}
			seed := ck.messageSeed()
			mk := deriveMessageKeys(&seed)
			if !bytes.Equal(mk.cipherKey[:], keys[:32]) || !bytes.Equal(mk.macKey[:], keys[32:64]) || !bytes.Equal(mk.iv[:], keys[64:]) {
				t.Fatalf("step %d: message keys differ", i)
			}
			ck, want = ck.next(), hmacByte(want, 0x02)
		}
	})
}

func TestRoundTrip(t *testing.T) {
	for _, v := range []int{Version3, Version4} {
		t.Run(fmt.Sprint("v", v), func(t *testing.T) {
			a, b := pair(t, v)
			ct, err := a.Encrypt([]byte("one"))
			if err != nil || ct.Type != TypePreKey {
				t.Fatalf("%v %v", ct.Type, err)
			}
			mustDecrypt(t, b, signalMessage(t, ct), "one")
			for i := range 20 {
				// Alternate directions, with bursts.
				for j := range i % 3 {
					msg := fmt.Sprint("b", i, j)
					mustDecrypt(t, a, encrypt(t, b, msg), msg)
				}
				msg := fmt.Sprint("a", i)
				mustDecrypt(t, b, encrypt(t, a, msg), msg)
			}
			if a.HasPending() {
				t.Fatal("initiator still pending")
			}
		})
	}
}

func TestOutOfOrderAndDuplicates(t *testing.T) {
	a, b := pair(t, Version4)
	var msgs []*SignalMessage
	for i := range 10 {
		msgs = append(msgs, encrypt(t, a, fmt.Sprint(i)))
	}
	for _, i := range []int{9, 0, 5, 1, 8, 2, 7, 3, 6, 4} {
		mustDecrypt(t, b, msgs[i], fmt.Sprint(i))
	}
	for i := range msgs {
		before := marshal(t, b)
		if _, err := b.Decrypt(rand.Reader, msgs[i]); !errors.Is(err, ErrDuplicate) {
			t.Fatalf("replay %d: %v", i, err)
		}
		if !bytes.Equal(before, marshal(t, b)) {
			t.Fatal("replay changed the state")
		}
	}
}

func TestForwardJumpLimit(t *testing.T) {
	a, b := pair(t, Version4)
	mustDecrypt(t, b, encrypt(t, a, "start"), "start")
	// Advance a's chain by MaxForwardJumps+1 without sending.
	skipSend(a, MaxForwardJumps+1)
	far := encrypt(t, a, "far")
	before := marshal(t, b)
	if _, err := b.Decrypt(rand.Reader, far); !errors.Is(err, ErrTooFarInFuture) {
		t.Fatalf("got %v, want ErrTooFarInFuture", err)
	}
	if !bytes.Equal(before, marshal(t, b)) {
		t.Fatal("refused message changed the state")
	}

	// Exactly MaxForwardJumps is allowed; only MaxMessageKeys are kept.
	a, b = pair(t, Version4)
	var sent []*SignalMessage
	for i := range MaxForwardJumps + 1 {
		if i >= 3 && i < MaxForwardJumps-3 {
			skipSend(a, 1) // messages never sent
			continue
		}
		sent = append(sent, encrypt(t, a, fmt.Sprint(i)))
	}
	last := sent[len(sent)-1]
	mustDecrypt(t, b, last, fmt.Sprint(MaxForwardJumps))
	if n := len(b.receivers[len(b.receivers)-1].skipped); n != MaxMessageKeys {
		t.Fatalf("%d skipped keys kept, want %d", n, MaxMessageKeys)
	}
	// The oldest were evicted: a duplicate-key error, no change.
	if _, err := b.Decrypt(rand.Reader, sent[0]); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("evicted key: %v", err)
	}
	// The newest skipped ones still decrypt.
	mustDecrypt(t, b, sent[len(sent)-2], fmt.Sprint(MaxForwardJumps-1))
}

// skipSend advances s's sending chain by n, as if n messages had been sent
// and lost.
func skipSend(s *State, n int) {
	for range n {
		s.sender.ck = s.sender.ck.next()
	}
}

func TestSkippedKeyEvictionMatchesSequential(t *testing.T) {
	// Two jumps whose skipped keys together exceed MaxMessageKeys: the
	// oldest go first, as if inserted one by one.
	a, b := pair(t, Version4)
	mustDecrypt(t, b, encrypt(t, a, "0"), "0")
	var msgs []*SignalMessage
	for i := range 2*MaxMessageKeys + 10 {
		msgs = append(msgs, encrypt(t, a, fmt.Sprint(i)))
	}
	mustDecrypt(t, b, msgs[1500], "1500")
	mustDecrypt(t, b, msgs[len(msgs)-1], fmt.Sprint(len(msgs)-1))
	sk := b.receivers[len(b.receivers)-1].skipped
	if len(sk) != MaxMessageKeys || sk[0].index != uint32(len(msgs)-MaxMessageKeys) {
		t.Fatalf("kept %d keys from %d", len(sk), sk[0].index)
	}
}

func TestReceiverChainLimit(t *testing.T) {
	a, b := pair(t, Version4)
	mustDecrypt(t, b, encrypt(t, a, "first"), "first")
	// Keep one message of each of a's chains unread.
	var held []*SignalMessage
	for i := range MaxReceiverChains + 2 {
		held = append(held, encrypt(t, a, fmt.Sprint("held", i)))
		mustDecrypt(t, b, encrypt(t, a, fmt.Sprint("x", i)), fmt.Sprint("x", i))
		mustDecrypt(t, a, encrypt(t, b, "ack"), "ack")
	}
	if len(b.receivers) != MaxReceiverChains {
		t.Fatalf("%d receiver chains", len(b.receivers))
	}
	// The oldest chains are gone: their messages no longer decrypt.
	before := marshal(t, b)
	if _, err := b.Decrypt(rand.Reader, held[0]); err == nil {
		t.Fatal("message on an evicted chain decrypted")
	}
	if !bytes.Equal(before, marshal(t, b)) {
		t.Fatal("failed decrypt changed the state")
	}
	mustDecrypt(t, b, held[len(held)-1], fmt.Sprint("held", len(held)-1))
}

func TestTamperingChangesNothing(t *testing.T) {
	a, b := pair(t, Version4)
	mustDecrypt(t, b, encrypt(t, a, "hi"), "hi")
	m := encrypt(t, b, "reply") // a new ratchet key for a
	for i := range len(m.Bytes()) {
		for _, bit := range []byte{0x01, 0x80} {
			raw := bytes.Clone(m.Bytes())
			raw[i] ^= bit
			tm, err := ParseSignalMessage(raw)
			if err != nil {
				continue
			}
			before := marshal(t, a)
			if _, err := a.Decrypt(rand.Reader, tm); err == nil {
				t.Fatalf("byte %d bit %#x: forged message accepted", i, bit)
			}
			if !bytes.Equal(before, marshal(t, a)) {
				t.Fatalf("byte %d: forged message changed the state", i)
			}
		}
	}
	for n := range len(m.Bytes()) {
		if tm, err := ParseSignalMessage(m.Bytes()[:n]); err == nil {
			if _, err := a.Decrypt(rand.Reader, tm); err == nil {
				t.Fatalf("truncated to %d accepted", n)
			}
		}
	}
	mustDecrypt(t, a, m, "reply")
}

func TestWrongVersion(t *testing.T) {
	a, _ := pair(t, Version4)
	_, b3 := pair(t, Version3)
	m := encrypt(t, a, "x")
	if _, err := b3.Decrypt(rand.Reader, m); !errors.Is(err, ErrVersion) {
		t.Fatalf("got %v", err)
	}
	raw := bytes.Clone(m.Bytes())
	raw[0] = 0x23
	if _, err := ParseSignalMessage(raw); !errors.Is(err, ErrVersion) {
		t.Fatalf("version 2: %v", err)
	}
	raw[0] = 0x53
	if _, err := ParseSignalMessage(raw); !errors.Is(err, ErrVersion) {
		t.Fatalf("version 5: %v", err)
	}
}

func TestVersionByte(t *testing.T) {
	for _, v := range []int{Version3, Version4} {
		a, _ := pair(t, v)
		ct, _ := a.Encrypt([]byte("x"))
		if want := byte(v<<4 | 3); ct.Body[0] != want {
			t.Fatalf("v%d prekey message starts %#x, want %#x", v, ct.Body[0], want)
		}
		if want := byte(v<<4 | 3); signalMessage(t, ct).Bytes()[0] != want {
			t.Fatalf("v%d message starts %#x", v, ct.Body[0])
		}
	}
}

func TestStateEncoding(t *testing.T) {
	a, b := pair(t, Version4)
	mustDecrypt(t, b, encrypt(t, a, "x"), "x")
	for range 3 {
		encrypt(t, a, "skipped")
	}
	mustDecrypt(t, b, encrypt(t, a, "y"), "y")
	for _, s := range []*State{a, b} {
		raw := marshal(t, s)
		s2, err := ParseState(raw)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(raw, marshal(t, s2)) {
			t.Fatal("round trip changed the encoding")
		}
	}
	// The parsed copy behaves like the original, and keeps nothing of the
	// bytes it was parsed from.
	raw := marshal(t, b)
	b2, err := ParseState(raw)
	if err != nil {
		t.Fatal(err)
	}
	clear(raw)
	if !bytes.Equal(marshal(t, b), marshal(t, b2)) {
		t.Fatal("the parsed state changed with the bytes it came from")
	}
	m := encrypt(t, a, "z")
	mustDecrypt(t, b2, m, "z")

	t.Run("format versions", func(t *testing.T) {
		raw := marshal(t, a)
		if raw[0] != 15<<3 || raw[1] != FormatVersion {
			t.Fatalf("encoding does not start with the format version: %x", raw[:2])
		}
		raw[1] = 2
		if _, err := ParseState(raw); !errors.Is(err, ErrFormatVersion) {
			t.Fatalf("version 2: %v", err)
		}
		if _, err := ParseState(raw[2:]); !errors.Is(err, ErrMalformed) {
			t.Fatalf("no version: %v", err)
		}
	})
}

func TestDecryptCost(t *testing.T) {
	a, b := pair(t, Version4)
	mustDecrypt(t, b, encrypt(t, a, "0"), "0")
	skipped := encrypt(t, a, "1")
	skipSend(a, 9)
	mustDecrypt(t, b, encrypt(t, a, "11"), "11") // b's chain now at 12, key 1 kept
	ahead := encrypt(t, a, "12")
	skipSend(a, 30)
	far := encrypt(t, a, "43")
	reply := encrypt(t, b, "reply") // a new chain for a, at counter 0
	skipSend(b, 7)
	replyLater := encrypt(t, b, "later") // the same new chain, counter 8
	for _, tc := range []struct {
		name     string
		s        *State
		m        *SignalMessage
		keys     uint32
		newChain bool
	}{
		{"skipped key", b, skipped, 0, false},
		{"next key", b, ahead, 0, false},
		{"31 ahead", b, far, 31, false},
		{"new chain", a, reply, 0, true},
		{"new chain, 8 ahead", a, replyLater, 8, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keys, newChain := tc.s.DecryptCost(tc.m)
			if keys != tc.keys || newChain != tc.newChain {
				t.Fatalf("cost (%d, %v), want (%d, %v)", keys, newChain, tc.keys, tc.newChain)
			}
		})
	}
}

// failingReader fails every read.
type failingReader struct{ reads int }

func (r *failingReader) Read([]byte) (int, error) {
	r.reads++
	return 0, errors.New("no randomness")
}

func TestNewChainDrawsKeyOnlyWhenAuthentic(t *testing.T) {
	// The new ratchet key of a DH step is made only once the message has
	// authenticated: a forged message costs no key generation, and a
	// genuine one whose key cannot be made changes nothing.
	a, b := pair(t, Version4)
	mustDecrypt(t, b, encrypt(t, a, "hi"), "hi")
	m := encrypt(t, b, "reply") // a new ratchet key for a
	raw := bytes.Clone(m.Bytes())
	raw[len(raw)-1] ^= 1
	forged, err := ParseSignalMessage(raw)
	if err != nil {
		t.Fatal(err)
	}
	r := &failingReader{}
	before := marshal(t, a)
	if _, err := a.Decrypt(r, forged); !errors.Is(err, ErrAuth) || r.reads != 0 {
		t.Fatalf("forged: %v after %d reads, want ErrAuth after none", err, r.reads)
	}
	if _, err := a.Decrypt(r, m); err == nil || r.reads == 0 {
		t.Fatalf("genuine without randomness: %v after %d reads", err, r.reads)
	}
	if !bytes.Equal(before, marshal(t, a)) {
		t.Fatal("refused messages changed the state")
	}
	mustDecrypt(t, a, m, "reply")
}

// TestUsedAndEvictedKeysCleared: a skipped message key once used, skipped
// keys once evicted and a receiver chain once evicted leave zeros behind
// in the memory the state held them in.
func TestUsedAndEvictedKeysCleared(t *testing.T) {
	zero := [KeySize]byte{}
	t.Run("used skipped key", func(t *testing.T) {
		a, b := pair(t, Version4)
		mustDecrypt(t, b, encrypt(t, a, "0"), "0")
		var held []*SignalMessage
		for i := range 3 {
			held = append(held, encrypt(t, a, fmt.Sprint(i+1)))
		}
		mustDecrypt(t, b, held[2], "3") // keys 1 and 2 are kept
		rc := b.receivers[len(b.receivers)-1]
		array := rc.skipped[:cap(rc.skipped)]
		used := rc.skipped[len(rc.skipped)-1].seed
		mustDecrypt(t, b, held[1], "2")
		for i, k := range array {
			if k.seed == used {
				t.Fatalf("the used key is still in slot %d", i)
			}
		}
	})
	t.Run("evicted skipped keys", func(t *testing.T) {
		a, b := pair(t, Version4)
		mustDecrypt(t, b, encrypt(t, a, "0"), "0")
		skipSend(a, MaxMessageKeys-100)
		mustDecrypt(t, b, encrypt(t, a, "x"), "x")
		rc := b.receivers[len(b.receivers)-1]
		array := rc.skipped[:cap(rc.skipped)]
		evicted := map[[KeySize]byte]bool{}
		for _, k := range rc.skipped[:500] {
			evicted[k.seed] = true
		}
		skipSend(a, 499)
		mustDecrypt(t, b, encrypt(t, a, "y"), "y") // 500 more: the oldest 500 go
		if len(rc.skipped) != MaxMessageKeys {
			t.Fatalf("%d keys kept", len(rc.skipped))
		}
		for i, k := range array {
			if evicted[k.seed] {
				t.Fatalf("an evicted key is still in slot %d", i)
			}
		}
	})
	t.Run("evicted receiver chain", func(t *testing.T) {
		a, b := pair(t, Version4)
		mustDecrypt(t, b, encrypt(t, a, "0"), "0")
		skipSend(a, 3)
		mustDecrypt(t, b, encrypt(t, a, "4"), "4") // keys 1 to 3 kept
		oldest := b.receivers[0]
		if len(oldest.skipped) != 3 {
			t.Fatalf("%d skipped keys", len(oldest.skipped))
		}
		array := oldest.skipped
		for range MaxReceiverChains {
			mustDecrypt(t, a, encrypt(t, b, "ack"), "ack")
			mustDecrypt(t, b, encrypt(t, a, "next"), "next")
		}
		if b.receivers[0] == oldest {
			t.Fatal("the oldest chain was not evicted")
		}
		if oldest.ck.key != zero {
			t.Fatal("the evicted chain key was not cleared")
		}
		for i, k := range array {
			if k.seed != zero {
				t.Fatalf("skipped key %d of the evicted chain was not cleared", i)
			}
		}
	})
}
