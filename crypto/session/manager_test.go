package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/mutualcoop/mutual/crypto/pqxdh"
	"github.com/mutualcoop/mutual/crypto/ratchet"
)

func TestConversation(t *testing.T) {
	alice := newPeer(t, "alice", 1, nil, Config{})
	bob := newPeer(t, "bob", 1, nil, Config{})
	bob.publish(2)
	alice.connect(bob)

	ct := alice.send(bob, "hi")
	if ct.Type != ratchet.TypePreKey {
		t.Fatalf("first message is %v", ct.Type)
	}
	bob.recv(alice, ct, "hi")
	if bob.store.HasPreKey(1) {
		t.Fatal("one-time prekey not removed")
	}
	for i := range 3 {
		bob.recv(alice, alice.send(bob, fmt.Sprint("a", i)), fmt.Sprint("a", i))
	}
	reply := bob.send(alice, "hello")
	if reply.Type != ratchet.TypeSignal {
		t.Fatalf("reply is %v", reply.Type)
	}
	alice.recv(bob, reply, "hello")
	if ct := alice.send(bob, "after"); ct.Type != ratchet.TypeSignal {
		t.Fatalf("message after reply is %v", ct.Type)
	} else {
		bob.recv(alice, ct, "after")
	}
}

func TestNoSession(t *testing.T) {
	alice := newPeer(t, "alice", 1, nil, Config{})
	bob := newPeer(t, "bob", 1, nil, Config{})
	if _, err := alice.m.Encrypt(context.Background(), bob.addr, []byte("x")); !errors.Is(err, ErrNoSession) {
		t.Fatalf("got %v, want ErrNoSession", err)
	}
}

func TestSimultaneousInitiation(t *testing.T) {
	alice := newPeer(t, "alice", 1, nil, Config{})
	bob := newPeer(t, "bob", 1, nil, Config{})
	alice.publish(1)
	bob.publish(1)
	alice.connect(bob)
	bob.connect(alice)
	a1 := alice.send(bob, "a1")
	b1 := bob.send(alice, "b1")
	bob.recv(alice, a1, "a1")
	alice.recv(bob, b1, "b1")
	// Each now holds two states; every further message decrypts.
	for i := range 4 {
		m := fmt.Sprint("a", i)
		bob.recv(alice, alice.send(bob, m), m)
		m = fmt.Sprint("b", i)
		alice.recv(bob, bob.send(alice, m), m)
	}
	rec, err := alice.store.LoadSession(context.Background(), bob.addr)
	if err != nil || rec.ArchivedStates() != 1 {
		t.Fatalf("alice's record: %v archived, %v", rec.ArchivedStates(), err)
	}
}

func TestRejectedMessagesChangeNothing(t *testing.T) {
	alice := newPeer(t, "alice", 1, nil, Config{})
	bob := newPeer(t, "bob", 1, nil, Config{})
	bob.publish(1)
	alice.connect(bob)
	first := alice.send(bob, "first")
	bob.recv(alice, first, "first")
	second := alice.send(bob, "second")

	for _, tc := range []struct {
		name string
		ct   ratchet.Ciphertext
	}{
		{"replayed prekey message", first},
		{"truncated", ratchet.Ciphertext{Type: second.Type, Body: second.Body[:len(second.Body)-1]}},
		{"ciphertext flipped", flip(second, innerOffset(t, second)+60)},
		{"mac flipped", flip(second, innerOffset(t, second)+innerLen(t, second)-1)},
		{"ratchet key flipped", flip(second, innerOffset(t, second)+5)},
		{"wrong type", ratchet.Ciphertext{Type: ratchet.TypeSignal, Body: second.Body}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := bob.store.SessionBytes(alice.addr)
			if _, err := bob.m.Decrypt(context.Background(), alice.addr, tc.ct); err == nil {
				t.Fatal("accepted")
			}
			if !bytes.Equal(before, bob.store.SessionBytes(alice.addr)) {
				t.Fatal("session changed")
			}
		})
	}
	bob.recv(alice, second, "second")
	if _, err := bob.m.Decrypt(context.Background(), alice.addr, second); !errors.Is(err, ratchet.ErrDuplicate) {
		t.Fatalf("replay: %v, want ErrDuplicate", err)
	}
}

// innerOffset returns where the SignalMessage starts inside a prekey
// message (the outer fields after the first are not authenticated: once the
// session exists only the inner message counts).
func innerOffset(t *testing.T, ct ratchet.Ciphertext) int {
	m, err := ratchet.ParsePreKeySignalMessage(ct.Body)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Index(ct.Body, m.Message().Bytes())
}

func innerLen(t *testing.T, ct ratchet.Ciphertext) int {
	m, err := ratchet.ParsePreKeySignalMessage(ct.Body)
	if err != nil {
		t.Fatal(err)
	}
	return len(m.Message().Bytes())
}

func flip(ct ratchet.Ciphertext, i int) ratchet.Ciphertext {
	b := bytes.Clone(ct.Body)
	b[i] ^= 0x01
	return ratchet.Ciphertext{Type: ct.Type, Body: b}
}

func TestDowngradeRefused(t *testing.T) {
	ctx := context.Background()
	alice := newPeer(t, "alice", 1, nil, Config{AllowX3DH: true})
	bob := newPeer(t, "bob", 1, nil, Config{}) // a client: strict
	bob.publish(1)
	// A bundle stripped of its KEM prekey (as a malicious directory would).
	b := bob.bundle(false)
	strict := newPeer(t, "carol", 1, nil, Config{})
	if err := strict.m.ProcessBundle(ctx, bob.addr, b); !errors.Is(err, pqxdh.ErrX3DHRefused) {
		t.Fatalf("strict initiator: %v, want ErrX3DHRefused", err)
	}
	if err := alice.m.ProcessBundle(ctx, bob.addr, b); err != nil {
		t.Fatal(err)
	}
	ct := alice.send(bob, "v3")
	before := bob.store.SessionBytes(alice.addr)
	if _, err := bob.m.Decrypt(ctx, alice.addr, ct); !errors.Is(err, pqxdh.ErrX3DHRefused) {
		t.Fatalf("strict responder: %v, want ErrX3DHRefused", err)
	}
	if !bytes.Equal(before, bob.store.SessionBytes(alice.addr)) || !bob.store.HasPreKey(1) {
		t.Fatal("refused message changed the store")
	}
}

func TestArchivedStatesBounded(t *testing.T) {
	alice := newPeer(t, "alice", 1, nil, Config{})
	bob := newPeer(t, "bob", 1, nil, Config{})
	first := ratchet.Ciphertext{}
	for i := range MaxArchivedStates + 5 {
		alice.connect(bob) // last-resort KEM prekey, no one-time prekey
		ct := alice.send(bob, fmt.Sprint(i))
		if i == 0 {
			first = ct
		}
		bob.recv(alice, ct, fmt.Sprint(i))
	}
	for _, p := range []struct {
		p    *peer
		addr Address
	}{{alice, bob.addr}, {bob, alice.addr}} {
		rec, err := p.p.store.LoadSession(context.Background(), p.addr)
		if err != nil {
			t.Fatal(err)
		}
		if rec.ArchivedStates() != MaxArchivedStates {
			t.Fatalf("%d archived states", rec.ArchivedStates())
		}
	}
	// The first session's state is gone: its prekey message would set up
	// a new session, but its base key was seen with the last-resort prekey.
	before := bob.store.SessionBytes(alice.addr)
	if _, err := bob.m.Decrypt(context.Background(), alice.addr, first); !errors.Is(err, ErrReusedBaseKey) {
		t.Fatalf("got %v, want ErrReusedBaseKey", err)
	}
	if !bytes.Equal(before, bob.store.SessionBytes(alice.addr)) {
		t.Fatal("refused message changed the record")
	}
}

func TestOneTimeKEMPreKeyDeleted(t *testing.T) {
	alice := newPeer(t, "alice", 1, nil, Config{})
	bob := newPeer(t, "bob", 1, nil, Config{})
	bob.publish(1)
	kemID := bob.kemKeys[0].ID
	alice.connect(bob)
	if !bob.store.HasKEMPreKey(kemID) {
		t.Fatal("kem prekey missing before use")
	}
	bob.recv(alice, alice.send(bob, "x"), "x")
	if bob.store.HasKEMPreKey(kemID) {
		t.Fatal("one-time kem prekey not deleted")
	}
	if !bob.store.HasKEMPreKey(bob.lastKEM.ID) {
		t.Fatal("last-resort kem prekey deleted")
	}
}

func TestRecordEncoding(t *testing.T) {
	alice := newPeer(t, "alice", 1, nil, Config{})
	bob := newPeer(t, "bob", 1, nil, Config{})
	alice.connect(bob)
	alice.connect(bob)
	raw := alice.store.SessionBytes(bob.addr)
	rec, err := ParseRecord(raw)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := rec.MarshalBinary()
	if !bytes.Equal(raw, again) || rec.ArchivedStates() != 1 {
		t.Fatal("record round trip")
	}
	if raw[0] != fFormat<<3 || raw[1] != FormatVersion {
		t.Fatalf("no leading format version: %x", raw[:2])
	}
	future := bytes.Clone(raw)
	future[1] = 9
	if _, err := ParseRecord(future); !errors.Is(err, ErrFormatVersion) {
		t.Fatalf("format 9: %v", err)
	}
	if _, err := ParseRecord(raw[2:]); !errors.Is(err, ErrMalformed) {
		t.Fatalf("no format: %v", err)
	}
	id, _ := IdentityRecord{Key: bob.store.identity.Key.Public()}.MarshalBinary()
	r, err := ParseIdentityRecord(id)
	if err != nil || !r.Key.Equal(bob.store.identity.Key.Public()) {
		t.Fatalf("identity record: %v", err)
	}
	id[1] = 2
	if _, err := ParseIdentityRecord(id); !errors.Is(err, ErrFormatVersion) {
		t.Fatalf("identity format 2: %v", err)
	}
}

// TestReplayedLastResortSetupSavesNothing: a prekey message on the
// last-resort KEM prekey, replayed from another address (as a relay could)
// once its session is set up, is refused before anything is saved: no
// session and no identity for the replaying address.
func TestReplayedLastResortSetupSavesNothing(t *testing.T) {
	ctx := context.Background()
	alice := newPeer(t, "alice", 1, nil, Config{})
	bob := newPeer(t, "bob", 1, nil, Config{})
	alice.connect(bob) // no one-time prekeys: the last-resort KEM prekey
	ct := alice.send(bob, "hi")
	bob.recv(alice, ct, "hi")
	mallory := Address{Name: "mallory", DeviceID: 1}
	if _, err := bob.m.Decrypt(ctx, mallory, ct); !errors.Is(err, ErrReusedBaseKey) {
		t.Fatalf("got %v, want ErrReusedBaseKey", err)
	}
	if _, ok := bob.store.Identity(mallory); ok {
		t.Fatal("the refused replay saved an identity")
	}
	if bob.store.SessionBytes(mallory) != nil {
		t.Fatal("the refused replay stored a session")
	}
	if !bob.store.HasKEMPreKey(bob.lastKEM.ID) {
		t.Fatal("the last-resort KEM prekey is gone")
	}
}

// TestRecordClearsDroppedStates: the serialized form of an archived state
// made current again, and that of the oldest state dropped for a new one,
// are cleared.
func TestRecordClearsDroppedStates(t *testing.T) {
	alice := newPeer(t, "alice", 1, nil, Config{})
	bob := newPeer(t, "bob", 1, nil, Config{})
	for range MaxArchivedStates + 1 {
		alice.connect(bob)
	}
	rec, err := alice.store.LoadSession(context.Background(), bob.addr)
	if err != nil {
		t.Fatal(err)
	}
	zero := func(b []byte) bool { return len(b) > 0 && bytes.Count(b, []byte{0}) == len(b) }
	newest, oldest := rec.previous[0], rec.previous[MaxArchivedStates-1]
	st, err := rec.archived(0)
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.promoteArchived(0, st); err != nil {
		t.Fatal(err)
	}
	if !zero(newest) {
		t.Fatal("the serialized form of the state made current was not cleared")
	}
	other, err := rec.archived(1)
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.promote(other); err != nil {
		t.Fatal(err)
	}
	if rec.ArchivedStates() != MaxArchivedStates || !zero(oldest) {
		t.Fatal("the dropped state was not cleared")
	}
}
