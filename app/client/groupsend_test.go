package client

import (
	"bytes"
	"context"
	"testing"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/app/store/memstore"
	"github.com/mutualcoop/mutual/relay/wire"
)

// TestCommitGroupEntrySplits: a group entry whose devices' own parts do
// not fit one frame with it keeps every device with an empty part, and
// the parts go in pre-sends that each fit a frame, name every device of
// the users they carry, each with a part, and carry every part once.
func TestCommitGroupEntrySplits(t *testing.T) {
	e := &outboxEntry{
		seq: 1, MessageID: wire.NewMessageID(), Conversation: wire.ConversationID{9}, Group: wire.ConversationID{9},
		ContentKind: kindText, Kind: wire.KindGroup, Shared: bytes.Repeat([]byte{1}, 8<<10),
	}
	type device struct {
		u wire.UserID
		d wire.DeviceID
	}
	parts := map[device]bool{}
	for i := range 400 {
		u := wire.NewUserID()
		for d := range 2 {
			r := wire.Recipient{User: u, Device: wire.DeviceID(d + 1)}
			if i%4 != 0 { // a quarter of the users hold the key: no part
				r.Ciphertext = bytes.Repeat([]byte{byte(i)}, 2<<10)
				parts[device{u, r.Device}] = true
			}
			e.Recipients = append(e.Recipients, r)
		}
	}
	if frameSize(groupSend(e)) <= wire.MaxFrameSize {
		t.Fatal("the entry fits one frame: nothing to split")
	}
	st := memstore.New()
	err := st.Update(context.Background(), func(tx store.Tx) error { return commitGroupEntry(tx, e) })
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Pre) < 2 || !e.Encrypted || frameSize(groupSend(e)) > wire.MaxFrameSize || len(e.Recipients) != 800 {
		t.Fatalf("%d pre-sends, entry of %d bytes with %d devices", len(e.Pre), frameSize(groupSend(e)), len(e.Recipients))
	}
	for _, r := range e.Recipients {
		if len(r.Ciphertext) != 0 {
			t.Fatalf("the entry kept a part for %v", r.User)
		}
	}
	seen := map[device]bool{}
	for i, p := range e.Pre {
		s := &wire.Send{MessageID: p.MessageID, Conversation: e.Conversation, Kind: wire.KindGroup, Recipients: p.Recipients}
		if frameSize(s) > wire.MaxFrameSize {
			t.Fatalf("pre-send %d: %d bytes", i, frameSize(s))
		}
		for _, r := range p.Recipients {
			k := device{r.User, r.Device}
			if len(r.Ciphertext) == 0 || seen[k] || !parts[k] {
				t.Fatalf("pre-send %d: device %v %d, part of %d bytes", i, r.User, r.Device, len(r.Ciphertext))
			}
			seen[k] = true
		}
	}
	if len(seen) != len(parts) {
		t.Fatalf("%d parts in pre-sends, want %d", len(seen), len(parts))
	}
	var stored *outboxEntry
	err = st.View(context.Background(), func(tx store.Tx) (err error) {
		stored, err = loadEntry(tx, 1)
		return err
	})
	if err != nil || stored == nil || len(stored.Pre) != len(e.Pre) {
		t.Fatalf("stored: %+v %v", stored, err)
	}
}
