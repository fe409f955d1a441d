package server_test

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/internal/wait"
	"github.com/mutualcoop/mutual/relay/bus"
	"github.com/mutualcoop/mutual/relay/server"
	"github.com/mutualcoop/mutual/relay/wire"
)

// onDisk returns the files under dir whose bytes contain needle.
func onDisk(t *testing.T, dir string, needle []byte) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil // deleted while we walked
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		data, err := os.ReadFile(path)
		if os.IsNotExist(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if bytes.Contains(data, needle) {
			rel, _ := filepath.Rel(dir, path)
			found = append(found, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func fastJanitor(c *server.Config) { c.Janitor.Interval = 10 * time.Millisecond }

// TestAcknowledgedMessagesLeaveTheDisk: a message stays on the relay's
// disk while one of its recipient's devices has not acknowledged it, and
// leaves it once every device has; its record on `in` goes once it is
// routed.
func TestAcknowledgedMessagesLeaveTheDisk(t *testing.T) {
	r := startRelay(t, fastJanitor)
	alice := r.register("email:alice@example.org")
	bob := r.register("email:bob@example.org")
	laptop := r.register("email:bob@example.org") // Bob's second device
	bob.allow(alice, wire.ContactAllowed)
	laptop.conn.Close() // away for now

	marker := []byte("ciphertext-that-says-who-wrote-to-whom")
	id := wire.NewMessageID()
	reply, err := alice.conn.Request(ctxT(t), &wire.Send{MessageID: id, Kind: wire.KindMessage, Recipients: []wire.Recipient{
		{User: bob.user, Device: bob.device, Ciphertext: marker},
		{User: laptop.user, Device: laptop.device, Ciphertext: marker},
	}})
	if _, ok := reply.(*wire.Accepted); err != nil || !ok {
		t.Fatalf("send: %#v, %v", reply, err)
	}
	if d := bob.next(); d.Envelope.MessageID != id {
		t.Fatalf("bob got %v", d.Envelope.MessageID)
	}

	// Routed: gone from `in` and from the write-ahead log; kept in Bob's
	// inbox for the laptop.
	inbox := filepath.Join("bus", "topics", bus.InboxTopic(bob.user))
	wait.For(t, "the routed record to leave `in`", func() bool {
		for _, f := range onDisk(t, r.Dir(), marker) {
			if !bytes.HasPrefix([]byte(f), []byte(inbox)) {
				return false
			}
		}
		return true
	})
	if len(onDisk(t, r.Dir(), marker)) == 0 {
		t.Fatal("the message left the disk before Bob's laptop fetched it")
	}

	laptop.reconnect()
	if d := laptop.next(); d.Envelope.MessageID != id {
		t.Fatalf("the laptop got %v", d.Envelope.MessageID)
	}
	wait.For(t, "the acknowledged message to leave the disk", func() bool {
		return len(onDisk(t, r.Dir(), marker)) == 0
	})
}

// TestRefusedMessagesLeaveTheDisk: a message its recipient refuses leaves
// the disk once routed, and the refusal notice once the sender has
// acknowledged it.
func TestRefusedMessagesLeaveTheDisk(t *testing.T) {
	r := startRelay(t, fastJanitor)
	carol := r.register("email:carol@example.org")
	dave := r.register("email:dave@example.org") // has not allowed Carol

	// A message to Dave is refused before it is stored; a second contact
	// request on one day is stored, then refused by the router.
	carol.mustSend(dave, wire.KindRequest, "hello")
	dave.next() // and acknowledged
	marker := []byte("a-message-dave-never-wanted")
	id := wire.NewMessageID()
	reply, err := carol.conn.Request(ctxT(t), &wire.Send{MessageID: id, Kind: wire.KindRequest, Recipients: []wire.Recipient{
		{User: dave.user, Device: dave.device, Ciphertext: marker},
	}})
	if _, ok := reply.(*wire.Accepted); err != nil || !ok {
		t.Fatalf("send: %#v, %v", reply, err)
	}
	if d := carol.next(); d.Envelope.Kind != wire.KindRejected || d.Envelope.MessageID != id {
		t.Fatalf("carol got %+v, want the refusal", d.Envelope)
	}
	wait.For(t, "the refused message to leave the disk", func() bool {
		return len(onDisk(t, r.Dir(), marker)) == 0
	})
	// The notice names Dave: it goes once Carol has acknowledged it.
	wait.For(t, "the acknowledged refusal to leave Carol's inbox", func() bool {
		oldest, next, err := r.Server().Bus().Bounds(ctxT(t), bus.InboxTopic(carol.user), 0)
		return err == nil && next == 1 && oldest == 1
	})
	// Dave's ID was in the records of his inbox and of the in topic;
	// the janitor deletes them once acknowledged and routed, on its own
	// schedule.
	wait.For(t, "Dave's user ID to leave the bus", func() bool {
		return len(onDisk(t, filepath.Join(r.Dir(), "bus"), dave.user[:])) == 0
	})
}

// TestDataFileModes: every file and directory an embedded relay creates
// in its data directory is the relay user's alone.
func TestDataFileModes(t *testing.T) {
	r := startRelay(t, fastJanitor)
	alice := r.register("email:alice@example.org")
	bob := r.register("email:bob@example.org")
	bob.allow(alice, wire.ContactAllowed)
	alice.mustSend(bob, wire.KindMessage, "hello")
	bob.next()

	err := filepath.WalkDir(r.Dir(), func(path string, d fs.DirEntry, err error) error {
		if os.IsNotExist(err) {
			return nil
		}
		if err != nil || path == r.Dir() {
			return err // the directory itself is the operator's
		}
		info, err := d.Info()
		if os.IsNotExist(err) {
			return nil
		}
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if info.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v", path, info.Mode().Perm(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"secret", "mutual.db", "mutual.db-wal", "mutual.db-shm", "bus"} {
		if _, err := os.Stat(filepath.Join(r.Dir(), name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
