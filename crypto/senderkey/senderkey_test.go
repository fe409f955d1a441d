package senderkey_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/mutualcoop/mutual/crypto/senderkey"
)

// newSender returns a new own sender key.
func newSender(t testing.TB) *senderkey.Record {
	t.Helper()
	r, err := senderkey.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// newSenderNot returns a new sender whose chain ID is none of used: two
// random 31-bit IDs collide about once in two billion draws, and a test
// that needs distinct chains draws again rather than skip.
func newSenderNot(t testing.TB, used map[uint32]bool) *senderkey.Record {
	t.Helper()
	for {
		if r := newSender(t); !used[r.ChainID()] {
			return r
		}
	}
}

// distribute gives the sender's current key to receiver, through the
// serialized distribution message.
func distribute(t testing.TB, sender, receiver *senderkey.Record) {
	t.Helper()
	d, err := sender.Distribution()
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := senderkey.ParseDistributionMessage(d.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if err := receiver.Process(parsed); err != nil {
		t.Fatal(err)
	}
}

// encryptN encrypts n messages "<prefix> i".
func encryptN(t testing.TB, sender *senderkey.Record, prefix string, n int) [][]byte {
	t.Helper()
	msgs := make([][]byte, n)
	for i := range msgs {
		m, err := sender.Encrypt([]byte(fmt.Sprint(prefix, " ", i)), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		msgs[i] = m
	}
	return msgs
}

func mustDecrypt(t testing.TB, r *senderkey.Record, msg []byte, want string) {
	t.Helper()
	got, err := r.Decrypt(msg)
	if err != nil || string(got) != want {
		t.Fatalf("decrypt: %q, %v; want %q", got, err, want)
	}
}

// refuse checks that decrypting msg fails with want and leaves r unchanged.
func refuse(t testing.TB, r *senderkey.Record, msg []byte, want error) {
	t.Helper()
	before := r.Marshal()
	got, err := r.Decrypt(msg)
	if !errors.Is(err, want) {
		t.Fatalf("decrypt: %q, %v; want %v", got, err, want)
	}
	if !bytes.Equal(r.Marshal(), before) {
		t.Fatalf("a refused message (%v) changed the record", err)
	}
}

func TestRoundTrip(t *testing.T) {
	sender := newSender(t)
	empty, err := senderkey.ParseRecord(nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, receiver := range map[string]*senderkey.Record{"new(Record)": new(senderkey.Record), "ParseRecord(nil)": empty} {
		t.Run(name, func(t *testing.T) {
			distribute(t, sender, receiver)
			if receiver.ChainID() != sender.ChainID() {
				t.Fatalf("chain ID %d, want %d", receiver.ChainID(), sender.ChainID())
			}
			for i, m := range encryptN(t, sender, name, 20) {
				mustDecrypt(t, receiver, m, fmt.Sprint(name, " ", i))
			}
		})
	}
	if id := sender.ChainID(); id >= 1<<31 {
		t.Fatalf("chain ID %d has more than 31 bits", id)
	}
	big := bytes.Repeat([]byte("x"), 1<<16+5)
	receiver := new(senderkey.Record)
	distribute(t, sender, receiver)
	m, err := sender.Encrypt(big, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	mustDecrypt(t, receiver, m, string(big))
}

// TestOutOfOrder delivers messages in a random order, then every one again.
func TestOutOfOrder(t *testing.T) {
	sender, receiver := newSender(t), new(senderkey.Record)
	distribute(t, sender, receiver)
	msgs := encryptN(t, sender, "m", 200)
	order := mrand.New(mrand.NewPCG(1, 2)).Perm(len(msgs))
	for _, i := range order {
		mustDecrypt(t, receiver, msgs[i], fmt.Sprint("m ", i))
	}
	for _, i := range order {
		refuse(t, receiver, msgs[i], senderkey.ErrDuplicate)
	}
	mustDecrypt(t, receiver, encryptN(t, sender, "after", 1)[0], "after 0")
}

// TestSkipped: a message far ahead decrypts first; the skipped ones
// after it, in reverse; each only once.
func TestSkipped(t *testing.T) {
	sender, receiver := newSender(t), new(senderkey.Record)
	distribute(t, sender, receiver)
	msgs := encryptN(t, sender, "s", 60)
	mustDecrypt(t, receiver, msgs[59], "s 59")
	refuse(t, receiver, msgs[59], senderkey.ErrDuplicate)
	mustDecrypt(t, receiver, msgs[30], "s 30")
	for i := 58; i >= 0; i-- {
		if i == 30 {
			refuse(t, receiver, msgs[i], senderkey.ErrDuplicate)
			continue
		}
		mustDecrypt(t, receiver, msgs[i], fmt.Sprint("s ", i))
	}
}

// TestDistributionMidChain: a member who joins later gets the key at the
// current iteration and cannot read what came before.
func TestDistributionMidChain(t *testing.T) {
	sender := newSender(t)
	early := encryptN(t, sender, "early", 5)
	late := new(senderkey.Record)
	distribute(t, sender, late)
	d, _ := sender.Distribution()
	if d.Iteration != 5 {
		t.Fatalf("distribution at iteration %d, want 5", d.Iteration)
	}
	for _, m := range early {
		refuse(t, late, m, senderkey.ErrDuplicate)
	}
	for i, m := range encryptN(t, sender, "late", 3) {
		mustDecrypt(t, late, m, fmt.Sprint("late ", i))
	}
}

// TestNewSenderKey: after a member leaves, the sender makes a new key and
// distributes it to those who remain; the old key's holder reads nothing
// of the new chain, and the remaining members read both chains.
func TestNewSenderKey(t *testing.T) {
	old := newSender(t)
	stays, leaves := new(senderkey.Record), new(senderkey.Record)
	distribute(t, old, stays)
	distribute(t, old, leaves)
	before := encryptN(t, old, "before", 3)

	renewed := newSenderNot(t, map[uint32]bool{old.ChainID(): true})
	distribute(t, renewed, stays)
	after := encryptN(t, renewed, "after", 3)
	for i := range after {
		refuse(t, leaves, after[i], senderkey.ErrNoState)
		mustDecrypt(t, stays, after[i], fmt.Sprint("after ", i))
		mustDecrypt(t, stays, before[i], fmt.Sprint("before ", i))
	}
}

// TestStates: a record keeps MaxStates states, newest first; a sixth
// pushes out the oldest; a repeated distribution message keeps its state
// (no replay) and makes it the newest; one with the same chain ID and
// another signing key replaces it.
func TestStates(t *testing.T) {
	receiver := new(senderkey.Record)
	senders := make([]*senderkey.Record, senderkey.MaxStates+1)
	seen := map[uint32]bool{}
	for i := range senders {
		senders[i] = newSenderNot(t, seen)
		seen[senders[i].ChainID()] = true
	}
	var first [][]byte
	for i, s := range senders[:senderkey.MaxStates] {
		distribute(t, s, receiver)
		if i == 0 {
			first = encryptN(t, s, "first", 2)
			mustDecrypt(t, receiver, first[0], "first 0")
		}
	}
	// The oldest again: kept as it was, now newest.
	distribute(t, senders[0], receiver)
	if receiver.ChainID() != senders[0].ChainID() {
		t.Fatal("a repeated distribution did not make its state the newest")
	}
	refuse(t, receiver, first[0], senderkey.ErrDuplicate)
	// A sixth pushes out the oldest, now senders[1].
	distribute(t, senders[5], receiver)
	if receiver.ChainID() != senders[5].ChainID() {
		t.Fatal("the newest state is not the last distributed")
	}
	refuse(t, receiver, encryptN(t, senders[1], "gone", 1)[0], senderkey.ErrNoState)
	for i, s := range senders {
		if i == 1 {
			continue
		}
		mustDecrypt(t, receiver, encryptN(t, s, "kept", 1)[0], "kept 0")
	}
	mustDecrypt(t, receiver, first[1], "first 1")
}

// TestForgery: another member (holding the chain key, not the signing
// key) cannot make a message that decrypts; nor can anyone who alters a
// message, its signature or its length.
func TestForgery(t *testing.T) {
	sender, receiver := newSender(t), new(senderkey.Record)
	distribute(t, sender, receiver)
	msg := encryptN(t, sender, "real", 1)[0]

	// A forger who received the distribution message makes its own record
	// with the same chain ID and chain key but its own signing key.
	forger := newSender(t)
	t.Run("bit flips", func(t *testing.T) {
		for i := range msg {
			for _, bit := range []byte{0x01, 0x80} {
				bad := bytes.Clone(msg)
				bad[i] ^= bit
				before := receiver.Marshal()
				if _, err := receiver.Decrypt(bad); err == nil {
					t.Fatalf("byte %d bit %#x: accepted", i, bit)
				}
				if !bytes.Equal(receiver.Marshal(), before) {
					t.Fatalf("byte %d: a refused message changed the record", i)
				}
			}
		}
	})
	t.Run("signature", func(t *testing.T) {
		bad := bytes.Clone(msg)
		bad[len(bad)-10] ^= 4
		refuse(t, receiver, bad, senderkey.ErrBadSignature)
		body := msg[:len(msg)-senderkey.SignatureSize]
		fake, err := forger.Encrypt([]byte("forged"), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		spliced := append(bytes.Clone(body), fake[len(fake)-senderkey.SignatureSize:]...)
		refuse(t, receiver, spliced, senderkey.ErrBadSignature)
	})
	t.Run("ciphertext", func(t *testing.T) {
		bad := bytes.Clone(msg)
		bad[len(bad)-senderkey.SignatureSize-1] ^= 1
		refuse(t, receiver, bad, senderkey.ErrBadSignature)
	})
	t.Run("truncated and extended", func(t *testing.T) {
		for n := range len(msg) {
			refuseAny(t, receiver, msg[:n])
		}
		refuseAny(t, receiver, append(bytes.Clone(msg), 0))
	})
	mustDecrypt(t, receiver, msg, "real 0")
}

func refuseAny(t *testing.T, r *senderkey.Record, msg []byte) {
	t.Helper()
	before := r.Marshal()
	if _, err := r.Decrypt(msg); err == nil {
		t.Fatalf("%x: accepted", msg)
	}
	if !bytes.Equal(r.Marshal(), before) {
		t.Fatalf("%x: a refused message changed the record", msg)
	}
}

func TestNotSender(t *testing.T) {
	empty := new(senderkey.Record)
	if _, err := empty.Encrypt([]byte("x"), rand.Reader); !errors.Is(err, senderkey.ErrNoState) {
		t.Fatalf("Encrypt on an empty record: %v", err)
	}
	if _, err := empty.Distribution(); !errors.Is(err, senderkey.ErrNoState) {
		t.Fatalf("Distribution on an empty record: %v", err)
	}
	if _, err := empty.Decrypt(encryptN(t, newSender(t), "x", 1)[0]); !errors.Is(err, senderkey.ErrNoState) {
		t.Fatalf("Decrypt on an empty record: %v", err)
	}
	receiver := new(senderkey.Record)
	distribute(t, newSender(t), receiver)
	before := receiver.Marshal()
	if _, err := receiver.Encrypt([]byte("x"), rand.Reader); !errors.Is(err, senderkey.ErrNotSender) {
		t.Fatalf("Encrypt on a received key: %v", err)
	}
	if _, err := receiver.Distribution(); !errors.Is(err, senderkey.ErrNotSender) {
		t.Fatalf("Distribution of a received key: %v", err)
	}
	if err := receiver.Process(&senderkey.DistributionMessage{ChainID: 1}); !errors.Is(err, senderkey.ErrMalformed) {
		t.Fatalf("Process of an empty distribution message: %v", err)
	}
	if !bytes.Equal(receiver.Marshal(), before) {
		t.Fatal("refused calls changed the record")
	}
}

// TestEncryptRandFailure: a signature that cannot be made leaves the
// chain where it was.
func TestEncryptRandFailure(t *testing.T) {
	sender := newSender(t)
	before := sender.Marshal()
	if _, err := sender.Encrypt([]byte("x"), bytes.NewReader(make([]byte, 10))); err == nil {
		t.Fatal("encrypted with 10 bytes of randomness")
	}
	if !bytes.Equal(sender.Marshal(), before) {
		t.Fatal("a failed Encrypt advanced the chain")
	}
	if _, err := senderkey.Generate(bytes.NewReader(make([]byte, 40))); err == nil {
		t.Fatal("generated a sender key from 40 bytes")
	}
}

// TestRecordRoundTrip: own and received records survive Marshal and
// ParseRecord byte for byte, and the parsed records go on as the
// originals would.
func TestRecordRoundTrip(t *testing.T) {
	sender := newSender(t)
	other := newSender(t)
	receiver := new(senderkey.Record)
	distribute(t, other, receiver)
	distribute(t, sender, receiver)
	msgs := encryptN(t, sender, "r", 40)
	mustDecrypt(t, receiver, msgs[39], "r 39")
	mustDecrypt(t, receiver, msgs[10], "r 10")

	for name, r := range map[string]*senderkey.Record{"own": sender, "received": receiver, "empty": new(senderkey.Record)} {
		b := r.Marshal()
		parsed, err := senderkey.ParseRecord(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(parsed.Marshal(), b) {
			t.Fatalf("%s: Marshal(ParseRecord(b)) != b", name)
		}
		if parsed.ChainID() != r.ChainID() {
			t.Fatalf("%s: chain ID %d, want %d", name, parsed.ChainID(), r.ChainID())
		}
	}
	parsed, _ := senderkey.ParseRecord(receiver.Marshal())
	refuse(t, parsed, msgs[10], senderkey.ErrDuplicate)
	for i := range 39 {
		if i != 10 {
			mustDecrypt(t, parsed, msgs[i], fmt.Sprint("r ", i))
		}
	}
	ownParsed, _ := senderkey.ParseRecord(sender.Marshal())
	next := encryptN(t, ownParsed, "next", 1)[0]
	mustDecrypt(t, parsed, next, "next 0")
	mustDecrypt(t, parsed, encryptN(t, other, "other", 1)[0], "other 0")
}

// TestNoSecretsPrinted: no chain key, seed or private key shows in any
// fmt form of a record or a distribution message, directly or inside a
// struct.
func TestNoSecretsPrinted(t *testing.T) {
	sender := newSender(t)
	d, err := sender.Distribution()
	if err != nil {
		t.Fatal(err)
	}
	raw := d.Marshal()
	chainKey := raw[len(raw)-2-33-2-32 : len(raw)-2-33] // field 3's bytes
	own := sender.Marshal()
	type holder struct {
		d   senderkey.DistributionMessage
		r   senderkey.Record
		p   *senderkey.Record
		dp  *senderkey.DistributionMessage
		Pub string
	}
	h := holder{d: *d, r: *sender, p: sender, dp: d}
	var out strings.Builder
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"} {
		fmt.Fprintf(&out, verb+"\n", d)
		fmt.Fprintf(&out, verb+"\n", *d)
		fmt.Fprintf(&out, verb+"\n", sender)
		fmt.Fprintf(&out, verb+"\n", *sender)
		fmt.Fprintf(&out, verb+"\n", h)
		fmt.Fprintf(&out, verb+"\n", &h)
	}
	text := strings.ToLower(out.String())
	privateKey := own[len(own)-32:] // the last field of the own record
	for _, secret := range [][]byte{chainKey, privateKey} {
		for _, form := range []string{fmt.Sprintf("%x", secret[:8]), fmt.Sprint(secret[:8])[1:12], string(secret[:8])} {
			if strings.Contains(text, strings.ToLower(form)) {
				t.Fatalf("a secret shows in fmt output:\n%s", out.String())
			}
		}
	}
}

func TestParseDistributionErrors(t *testing.T) {
	d, err := newSender(t).Distribution()
	if err != nil {
		t.Fatal(err)
	}
	pub := d.SigningKey().Bytes()
	ck := bytes.Repeat([]byte{7}, 32)
	// build writes a distribution message with the version byte v and
	// the fields given (nil leaves one out).
	build := func(v byte, id, iteration *uint64, chainKey, signingKey []byte) []byte {
		b := []byte{v}
		if id != nil {
			b = protowire.AppendVarint(protowire.AppendTag(b, 1, protowire.VarintType), *id)
		}
		if iteration != nil {
			b = protowire.AppendVarint(protowire.AppendTag(b, 2, protowire.VarintType), *iteration)
		}
		if chainKey != nil {
			b = protowire.AppendBytes(protowire.AppendTag(b, 3, protowire.BytesType), chainKey)
		}
		if signingKey != nil {
			b = protowire.AppendBytes(protowire.AppendTag(b, 4, protowire.BytesType), signingKey)
		}
		return b
	}
	one, big := uint64(1), uint64(1)<<32
	good := build(0x33, &one, &one, ck, pub)
	if m, err := senderkey.ParseDistributionMessage(good); err != nil || m.ChainID != 1 || m.Iteration != 1 {
		t.Fatalf("%+v, %v", m, err)
	}
	badType := bytes.Clone(pub)
	badType[0] = 0x06
	cases := map[string][]byte{
		"empty":               nil,
		"version 2":           build(0x23, &one, &one, ck, pub),
		"version 4":           build(0x43, &one, &one, ck, pub),
		"no id":               build(0x33, nil, &one, ck, pub),
		"no iteration":        build(0x33, &one, nil, ck, pub),
		"no chain key":        build(0x33, &one, &one, nil, pub),
		"no signing key":      build(0x33, &one, &one, ck, nil),
		"short chain key":     build(0x33, &one, &one, ck[:31], pub),
		"long chain key":      build(0x33, &one, &one, append(ck, 0), pub),
		"signing key type":    build(0x33, &one, &one, ck, badType),
		"raw signing key":     build(0x33, &one, &one, ck, pub[1:]),
		"id over 32 bits":     build(0x33, &big, &one, ck, pub),
		"truncated":           good[:len(good)-1],
		"id as a bytes field": append(bytes.Clone(good), 0x0a, 0x01, 0x00),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := senderkey.ParseDistributionMessage(b); !errors.Is(err, senderkey.ErrMalformed) {
				t.Fatalf("%x: %v", b, err)
			}
		})
	}
}
