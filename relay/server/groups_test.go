package server_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/internal/relaytest"
	"github.com/mutualcoop/mutual/internal/wait"
	"github.com/mutualcoop/mutual/relay/bus"
	"github.com/mutualcoop/mutual/relay/server"
	"github.com/mutualcoop/mutual/relay/wire"
)

// lockedBuffer collects the relay's log lines from its goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) contains(needle []byte) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Contains(l.b.Bytes(), needle)
}

// setGroup makes a change of a group's list that must succeed.
func (c *client) setGroup(s *wire.SetGroup) {
	c.t.Helper()
	if _, err := transport.Call[*wire.OK](ctxT(c.t), c.conn, s); err != nil {
		c.t.Fatalf("set group %d: %v", s.Op, err)
	}
}

// countOnDisk returns how many times needle occurs in the files under dir.
func countOnDisk(t *testing.T, dir string, needle []byte) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		n += bytes.Count(data, needle)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestGroupMessageOnDisk: what the relay keeps of a group message is its
// ciphertext, the shared part once in each member's inbox however many
// devices the member has; the plaintext, and the group's secrets, are
// nowhere on its disk (the log, the directory) nor in its logs, even at
// debug level. The relay stores only the secrets' hashes.
func TestGroupMessageOnDisk(t *testing.T) {
	var logs lockedBuffer
	r := &relay{Relay: relaytest.Start(t, relaytest.Options{
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Config: func(c *server.Config) { c.Gateway.NoHold = true },
	}), t: t}
	alice := r.register("email:alice@example.org")
	bob := r.register("email:bob@example.org")
	laptop := r.register("email:bob@example.org") // Bob's second device
	carol := r.register("email:carol@example.org")
	dave := r.register("email:dave@example.org") // invited, never joins

	group := wire.ConversationID(wire.NewMessageID())
	admin, add, link := make([]byte, 32), make([]byte, 32), make([]byte, 32)
	for _, b := range [][]byte{admin, add, link} {
		rand.Read(b)
	}
	h := func(b []byte) []byte { s := sha256.Sum256(b); return s[:] }
	alice.setGroup(&wire.SetGroup{Group: group, Op: wire.GroupCreate, Users: []wire.UserID{bob.user, dave.user}, AdminHash: h(admin), AddHash: h(add), LinkHash: h(link)})
	bob.setGroup(&wire.SetGroup{Group: group, Op: wire.GroupJoin})
	carol.setGroup(&wire.SetGroup{Group: group, Op: wire.GroupJoin, Proof: link})

	// The shared part is a real ciphertext of the canary, as a Sender Key
	// message would be.
	plaintext := []byte("group canary 5d1e: what the members say to each other")
	key, nonce := make([]byte, 32), make([]byte, 12)
	rand.Read(key)
	rand.Read(nonce)
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	shared := aead.Seal(nil, nonce, plaintext, group[:])
	id := wire.NewMessageID()
	reply, err := alice.conn.Request(ctxT(t), &wire.Send{MessageID: id, Conversation: group, Kind: wire.KindGroup, Shared: shared, Recipients: []wire.Recipient{
		{User: bob.user, Device: bob.device}, {User: laptop.user, Device: laptop.device},
		{User: carol.user, Device: carol.device}, {User: dave.user, Device: dave.device},
	}})
	if _, ok := reply.(*wire.Accepted); err != nil || !ok {
		t.Fatalf("send: %#v, %v", reply, err)
	}
	for _, c := range []*client{bob, laptop, carol} {
		d := c.next()
		if d.Envelope.MessageID != id || !bytes.Equal(d.Envelope.Shared, shared) || len(d.Envelope.Ciphertext) != 0 {
			t.Fatalf("%s got %+v", c.addr, d.Envelope)
		}
		if got, err := aead.Open(nil, nonce, d.Envelope.Shared, group[:]); err != nil || !bytes.Equal(got, plaintext) {
			t.Fatalf("%s cannot read the group message: %v", c.addr, err)
		}
	}
	if d := alice.next(); d.Envelope.Kind != wire.KindRejected || d.Envelope.Subject != dave.user {
		t.Fatalf("alice got %+v, want the refusal for dave", d.Envelope)
	}

	topics := filepath.Join(r.Dir(), "bus", "topics")
	for _, c := range []*client{bob, carol} {
		if n := countOnDisk(t, filepath.Join(topics, bus.InboxTopic(c.user)), shared); n != 1 {
			t.Errorf("%s's inbox holds the shared ciphertext %d times, want once", c.addr, n)
		}
	}
	if n := countOnDisk(t, filepath.Join(topics, bus.InboxTopic(dave.user)), shared); n != 0 {
		t.Errorf("dave's inbox holds the shared ciphertext %d times", n)
	}
	for what, secret := range map[string][]byte{"the plaintext": plaintext, "the admins' secret": admin, "the adders' secret": add, "the link's secret": link} {
		if files := onDisk(t, r.Dir(), secret); len(files) > 0 {
			t.Errorf("%s is on the relay's disk: %v", what, files)
		}
		if logs.contains(secret) {
			t.Errorf("%s is in the relay's logs", what)
		}
	}
	if len(onDisk(t, r.Dir(), h(admin))) == 0 {
		t.Error("the admins' hash is not on the disk: where does the relay keep it?")
	}
}

// TestGroupMetrics: /metrics counts how many users each group message
// reached, and the changes of member lists refused, by reason.
func TestGroupMetrics(t *testing.T) {
	r := startRelay(t, nil)
	alice := r.register("email:alice@example.org")
	bob := r.register("email:bob@example.org")
	group := wire.ConversationID(wire.NewMessageID())
	hash := sha256.Sum256([]byte("admins"))
	alice.setGroup(&wire.SetGroup{Group: group, Op: wire.GroupCreate, Users: []wire.UserID{bob.user}, AdminHash: hash[:], AddHash: hash[:]})
	for range 2 {
		_, err := transport.Call[*wire.OK](ctxT(t), bob.conn, &wire.SetGroup{Group: group, Op: wire.GroupRemove, Users: []wire.UserID{alice.user}, Proof: []byte("guess")})
		if err == nil {
			t.Fatal("an invited user removed the group's creator")
		}
	}
	bob.setGroup(&wire.SetGroup{Group: group, Op: wire.GroupJoin})
	reply, err := alice.conn.Request(ctxT(t), &wire.Send{MessageID: wire.NewMessageID(), Conversation: group, Kind: wire.KindGroup, Shared: []byte("x"),
		Recipients: []wire.Recipient{{User: bob.user, Device: bob.device}}})
	if _, ok := reply.(*wire.Accepted); err != nil || !ok {
		t.Fatalf("send: %#v, %v", reply, err)
	}
	bob.next()
	wait.For(t, "the group metrics", func() bool {
		families := scrape(t, r.MetricsURL())
		fanout, ok1 := sample(families, "mutual_router_group_fanout_users", "")
		refused, ok2 := sample(families, "mutual_gateway_set_group_refused_total", "reason="+wire.CodeForbidden.String())
		return ok1 && ok2 && fanout == 1 && refused == 2
	})
}
