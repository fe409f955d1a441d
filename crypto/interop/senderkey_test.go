package interop

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"testing"
	"testing/cryptotest"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/libsignal/groups"
	grecord "go.mau.fi/libsignal/groups/state/record"
	"go.mau.fi/libsignal/protocol"
	"go.mau.fi/libsignal/serialize"

	"github.com/mutualcoop/mutual/crypto/keys"
	"github.com/mutualcoop/mutual/crypto/senderkey"
)

// lsGroup is one go.mau.fi/libsignal device's sender keys for one sender
// in one group, in an in-memory SenderKeyStore that keeps objects.
type lsGroup struct {
	serializer *serialize.Serializer
	name       *protocol.SenderKeyName
	records    map[string]*grecord.SenderKey
	builder    *groups.SessionBuilder
	cipher     *groups.GroupCipher
}

func newLSGroup() *lsGroup {
	g := &lsGroup{
		serializer: serialize.NewProtoBufSerializer(),
		name:       protocol.NewSenderKeyName("group", protocol.NewSignalAddress("sender", 1)),
		records:    map[string]*grecord.SenderKey{},
	}
	g.builder = groups.NewGroupSessionBuilder(g, g.serializer)
	g.cipher = groups.NewGroupCipher(g.builder, g.name, g)
	return g
}

func skName(n *protocol.SenderKeyName) string { return n.GroupID() + "/" + n.Sender().String() }

func (g *lsGroup) StoreSenderKey(_ context.Context, n *protocol.SenderKeyName, r *grecord.SenderKey) error {
	g.records[skName(n)] = r
	return nil
}

func (g *lsGroup) LoadSenderKey(_ context.Context, n *protocol.SenderKeyName) (*grecord.SenderKey, error) {
	if r, ok := g.records[skName(n)]; ok {
		return r, nil
	}
	return grecord.NewSenderKey(g.serializer.SenderKeyRecord, g.serializer.SenderKeyState), nil
}

// distribution returns go.mau.fi's SenderKeyDistributionMessage for its
// own sender key (made on first use), serialized.
func (g *lsGroup) distribution(t *testing.T) []byte {
	t.Helper()
	d, err := g.builder.Create(context.Background(), g.name)
	if err != nil {
		t.Fatal(err)
	}
	return d.Serialize()
}

// process gives go.mau.fi a serialized distribution message.
func (g *lsGroup) process(t *testing.T, b []byte) {
	t.Helper()
	d, err := protocol.NewSenderKeyDistributionMessageFromBytes(b, g.serializer.SenderKeyDistributionMessage)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.builder.Process(context.Background(), g.name, d); err != nil {
		t.Fatal(err)
	}
}

func (g *lsGroup) encrypt(t *testing.T, pt []byte) []byte {
	t.Helper()
	m, err := g.cipher.Encrypt(context.Background(), pt)
	if err != nil {
		t.Fatal(err)
	}
	return m.(*protocol.SenderKeyMessage).SignedSerialize()
}

func (g *lsGroup) decrypt(b []byte) ([]byte, error) {
	m, err := protocol.NewSenderKeyMessageFromBytes(b, g.serializer.SenderKeyMessage)
	if err != nil {
		return nil, err
	}
	return g.cipher.Decrypt(context.Background(), m)
}

// sameSenderKey returns a Mutual sender key and a go.mau.fi one with the
// same chain ID, chain key and signing key pair, at iteration 0.
func sameSenderKey(t *testing.T, chainIDBytes [4]byte, rng *mrand.ChaCha8) (*senderkey.Record, *lsGroup) {
	t.Helper()
	var chainKey, scalar [32]byte
	rng.Read(chainKey[:])
	rng.Read(scalar[:])
	in := append(append(chainIDBytes[:], chainKey[:]...), scalar[:]...)
	mu, err := senderkey.Generate(bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	priv, err := keys.NewPrivateKey(scalar[:]) // clamped, as Generate keeps it
	if err != nil {
		t.Fatal(err)
	}
	ls := newLSGroup()
	rec := grecord.NewSenderKey(ls.serializer.SenderKeyRecord, ls.serializer.SenderKeyState)
	rec.SetSenderKeyState(mu.ChainID(), 0, chainKey[:], ecc.NewECKeyPair(lsPub(priv.Public()), lsPriv(priv)))
	ls.records[skName(ls.name)] = rec
	return mu, ls
}

// TestSenderKeyIdentical: from the same chain ID, chain key and signing
// key, Mutual and go.mau.fi/libsignal write the same distribution
// messages and, drawing the same signature randomness
// (testing/cryptotest.SetGlobalRandom), the same SenderKeyMessages, byte
// for byte, signature included; each side's signatures verify under the
// other's code, and each side decrypts the other's messages.
func TestSenderKeyIdentical(t *testing.T) {
	rng := mrand.NewChaCha8([32]byte{'i', 'd', 'e', 'n', 't', 'i', 'c', 'a', 'l'})
	for _, idBytes := range [][4]byte{{0, 0, 0, 0}, {0, 0, 0, 3}, {0x12, 0x34, 0x56, 0x78}, {0xFF, 0xFF, 0xFF, 0xFF}} {
		t.Run(fmt.Sprintf("chain %x", idBytes), func(t *testing.T) {
			mu, ls := sameSenderKey(t, idBytes, rng)
			muReceiver, lsReceiver := new(senderkey.Record), newLSGroup()
			compareDistributions := func() {
				t.Helper()
				d, err := mu.Distribution()
				if err != nil {
					t.Fatal(err)
				}
				if got, want := d.Marshal(), ls.distribution(t); !bytes.Equal(got, want) {
					t.Fatalf("distribution at iteration %d:\nmutual    %x\nlibsignal %x", d.Iteration, got, want)
				}
			}
			compareDistributions()
			d, _ := mu.Distribution()
			if err := muReceiver.Process(d); err != nil {
				t.Fatal(err)
			}
			lsReceiver.process(t, d.Marshal())
			lsPublic := ecc.NewDjbECPublicKey([32]byte(d.SigningKey().Raw()))

			for i, n := range []int{0, 1, 15, 16, 17, 31, 32, 200, 1500} {
				pt := make([]byte, n)
				rng.Read(pt)
				seed := uint64(1000*i) + uint64(idBytes[3])
				cryptotest.SetGlobalRandom(t, seed)
				m1, err := mu.Encrypt(pt, rand.Reader)
				if err != nil {
					t.Fatal(err)
				}
				cryptotest.SetGlobalRandom(t, seed)
				m2 := ls.encrypt(t, pt)
				if !bytes.Equal(m1, m2) {
					t.Fatalf("message %d (%d bytes) differs:\nmutual    %x\nlibsignal %x", i, n, m1, m2)
				}
				body, sig := m1[:len(m1)-senderkey.SignatureSize], [64]byte(m1[len(m1)-senderkey.SignatureSize:])
				if !ecc.VerifySignature(lsPublic, body, sig) {
					t.Fatalf("message %d: libsignal does not verify Mutual's signature", i)
				}
				if got, err := lsReceiver.decrypt(m1); err != nil || !bytes.Equal(got, pt) {
					t.Fatalf("message %d: libsignal decrypts Mutual's: %v", i, err)
				}
				if got, err := muReceiver.Decrypt(m2); err != nil || !bytes.Equal(got, pt) {
					t.Fatalf("message %d: Mutual decrypts libsignal's: %v", i, err)
				}
			}
			compareDistributions()
		})
	}
}

// TestSenderKeyIdenticalSignatureOnly: with different signature
// randomness the bytes before the signature are still the same, and each
// signature verifies under the other implementation.
func TestSenderKeyIdenticalSignatureOnly(t *testing.T) {
	rng := mrand.NewChaCha8([32]byte{'s', 'i', 'g'})
	mu, ls := sameSenderKey(t, [4]byte{9, 8, 7, 6}, rng)
	d, _ := mu.Distribution()
	pub := d.SigningKey()
	lsPublic := ecc.NewDjbECPublicKey([32]byte(pub.Raw()))
	for i := range 5 {
		pt := []byte(fmt.Sprint("message ", i))
		m1, err := mu.Encrypt(pt, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		m2 := ls.encrypt(t, pt)
		n := len(m1) - senderkey.SignatureSize
		if len(m2) != len(m1) || !bytes.Equal(m1[:n], m2[:n]) {
			t.Fatalf("message %d: bodies differ:\nmutual    %x\nlibsignal %x", i, m1[:n], m2[:min(n, len(m2))])
		}
		if !ecc.VerifySignature(lsPublic, m1[:n], [64]byte(m1[n:])) || !pub.Verify(m2[:n], m2[n:]) {
			t.Fatalf("message %d: a signature does not verify under the other implementation", i)
		}
	}
}

// TestSenderKeyMutualToLibsignal: go.mau.fi/libsignal decrypts Mutual's
// group messages in order, out of order, after skipped iterations (up to
// its own limit, 2,000) and refuses replays.
func TestSenderKeyMutualToLibsignal(t *testing.T) {
	sender, err := senderkey.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	receiver := newLSGroup()
	d, _ := sender.Distribution()
	receiver.process(t, d.Marshal())
	send := func(n int, prefix string) [][]byte {
		msgs := make([][]byte, n)
		for i := range msgs {
			if msgs[i], err = sender.Encrypt(fmt.Append(nil, prefix, i), rand.Reader); err != nil {
				t.Fatal(err)
			}
		}
		return msgs
	}
	check := func(msgs [][]byte, prefix string, i int) {
		t.Helper()
		got, err := receiver.decrypt(msgs[i])
		if err != nil || string(got) != fmt.Sprint(prefix, i) {
			t.Fatalf("%s%d: %q, %v", prefix, i, got, err)
		}
	}
	in := send(10, "in order ")
	for i := range in {
		check(in, "in order ", i)
	}
	mixed := send(80, "mixed ")
	order := mrand.New(mrand.NewPCG(3, 4)).Perm(len(mixed))
	for _, i := range order {
		check(mixed, "mixed ", i)
	}
	for _, i := range order[:10] {
		if _, err := receiver.decrypt(mixed[i]); err == nil {
			t.Fatalf("libsignal accepted a replay of mixed %d", i)
		}
	}
	gap := send(1501, "gap ")
	check(gap, "gap ", 1500)
	for i := 1499; i >= 0; i -= 7 {
		check(gap, "gap ", i)
	}
	// A record that went through Marshal and ParseRecord keeps sending.
	sender, err = senderkey.ParseRecord(sender.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	after := send(3, "after ")
	for i := range after {
		check(after, "after ", i)
	}
}

// TestSenderKeyLibsignalToMutual: Mutual decrypts go.mau.fi/libsignal's
// group messages in order, out of order, after skipped iterations (more
// than 2,000, keeping the newest 2,000 keys) and refuses replays; a
// member who joins from a later distribution message reads from there on.
func TestSenderKeyLibsignalToMutual(t *testing.T) {
	sender := newLSGroup()
	dist := sender.distribution(t)
	receiver := new(senderkey.Record)
	d, err := senderkey.ParseDistributionMessage(dist)
	if err != nil {
		t.Fatal(err)
	}
	if err := receiver.Process(d); err != nil {
		t.Fatal(err)
	}
	send := func(n int, prefix string) [][]byte {
		msgs := make([][]byte, n)
		for i := range msgs {
			msgs[i] = sender.encrypt(t, fmt.Append(nil, prefix, i))
		}
		return msgs
	}
	check := func(r *senderkey.Record, msgs [][]byte, prefix string, i int) {
		t.Helper()
		got, err := r.Decrypt(msgs[i])
		if err != nil || string(got) != fmt.Sprint(prefix, i) {
			t.Fatalf("%s%d: %q, %v", prefix, i, got, err)
		}
	}
	in := send(10, "in order ")
	for i := range in {
		check(receiver, in, "in order ", i)
	}
	mixed := send(80, "mixed ")
	order := mrand.New(mrand.NewPCG(5, 6)).Perm(len(mixed))
	for _, i := range order {
		check(receiver, mixed, "mixed ", i)
	}
	for _, i := range order[:10] {
		if _, err := receiver.Decrypt(mixed[i]); !errors.Is(err, senderkey.ErrDuplicate) {
			t.Fatalf("replay of mixed %d: %v", i, err)
		}
	}

	late := new(senderkey.Record)
	ld, err := senderkey.ParseDistributionMessage(sender.distribution(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := late.Process(ld); err != nil {
		t.Fatal(err)
	}
	const n = senderkey.MaxSkippedKeys + 100
	gap := send(n+1, "gap ")
	check(receiver, gap, "gap ", n)
	for i := range 100 {
		if _, err := receiver.Decrypt(gap[i]); !errors.Is(err, senderkey.ErrDuplicate) {
			t.Fatalf("gap %d, whose key was dropped: %v", i, err)
		}
	}
	receiver, err = senderkey.ParseRecord(receiver.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	for i := n - 1; i >= 100; i -= 13 {
		check(receiver, gap, "gap ", i)
	}
	check(late, gap, "gap ", 0)
	check(late, gap, "gap ", n)
	if _, err := late.Decrypt(mixed[0]); !errors.Is(err, senderkey.ErrDuplicate) {
		t.Fatalf("a message from before the late member's distribution: %v", err)
	}
}
