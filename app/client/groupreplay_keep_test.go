package client

import (
	"context"
	"slices"
	"testing"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/app/store/memstore"
	"github.com/mutualcoop/mutual/relay/wire"
)

// TestKeepForInvited: a device keeps what it writes to a group for the
// members who have not joined, the newest maxReplay for replayWindow;
// a member's join queues what was kept for them, oldest first, once; a
// member gone from the list is taken off; a change keeps nothing for
// those it invites, and the creation and this account's own join keep
// nothing.
func TestKeepForInvited(t *testing.T) {
	st := memstore.New()
	t.Cleanup(func() { st.Close() })
	c := offlineClient(t, st)
	me := c.me().User
	s := &groupState{
		ID: wire.ConversationID{7}, Name: "Family", Version: 1,
		Members: []groupMember{{User: me, Admin: true, Joined: true}, {User: ben, AddedBy: me}, {User: cleo, AddedBy: me}},
	}
	g := &groupRecord{State: s, Status: GroupJoined}
	ctx := context.Background()
	update := func(fn func(ts *txState) error) {
		t.Helper()
		if err := c.update(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	kept := func() []*replayRecord {
		t.Helper()
		var out []*replayRecord
		update(func(ts *txState) error {
			all, err := loadReplays(ts.tx, s.ID, ts.now)
			for _, kr := range all {
				out = append(out, kr.p)
			}
			return err
		})
		return out
	}
	entry := func(seq uint64, m *content) *outboxEntry {
		t.Helper()
		m.Group = s.ID
		padded, err := sealContent(m)
		if err != nil {
			t.Fatal(err)
		}
		return &outboxEntry{seq: seq, MessageID: wire.NewMessageID(), Conversation: s.ID, ContentKind: m.Kind, Padded: padded, Group: s.ID}
	}

	// More than maxReplay texts: the oldest go.
	var ids []wire.MessageID
	update(func(ts *txState) error {
		for i := range maxReplay + 5 {
			e := entry(uint64(i+1), &content{Kind: kindText, Text: "hello"})
			ids = append(ids, e.MessageID)
			if err := c.keepForInvited(ts, e, g); err != nil {
				return err
			}
		}
		return nil
	})
	k := kept()
	if len(k) != maxReplay || k[0].MessageID != ids[5] || !slices.Equal(k[0].Invited, []wire.UserID{ben, cleo}) {
		t.Fatalf("kept %d, the first %+v", len(k), k[0])
	}

	// One older than replayWindow is not sent, and is forgotten.
	update(func(ts *txState) error {
		p := k[0]
		p.At = ts.now - replayWindow.Milliseconds() - 1
		return ts.tx.Put(bGroupReplay, replayKey(s.ID, p.MessageID), p.marshal())
	})

	// Ben joins: the rest go to him, oldest first; Cleo still waits.
	update(func(ts *txState) error { return c.replayTo(ts, g, ben) })
	var sent []wire.MessageID
	err := st.View(ctx, func(tx store.Tx) error {
		return tx.Scan(bOutbox, nil, func(_, v []byte) error {
			e, err := parseOutbox(v)
			if err != nil {
				return err
			}
			if e.Peer != ben || e.Group != s.ID || e.ContentKind != kindText || !e.replayed() {
				t.Errorf("entry %+v", e)
			}
			sent = append(sent, e.MessageID)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sent, ids[6:]) {
		t.Fatalf("sent %d to ben, want the %d newer than a day", len(sent), len(ids[6:]))
	}
	k = kept()
	if len(k) != maxReplay-1 || !slices.Equal(k[0].Invited, []wire.UserID{cleo}) {
		t.Fatalf("after ben joined: %d kept, %+v", len(k), k[0])
	}
	// His join told again sends nothing again.
	update(func(ts *txState) error {
		if err := c.replayTo(ts, g, ben); err != nil || ts.queued {
			t.Fatalf("sent again: queued %v, %v", ts.queued, err)
		}
		return nil
	})

	// Cleo is removed before joining: nothing is kept for anyone.
	ns := s.clone()
	ns.Members = ns.Members[:2]
	ns.Members[1].Joined = true
	update(func(ts *txState) error { return forgetInvitees(ts.tx, ts.now, s, ns) })
	if k := kept(); len(k) != 0 {
		t.Fatalf("kept for nobody: %d", len(k))
	}

	// Changes: Dan is added, and nothing is kept for him; the creation
	// and this account's own join keep nothing.
	added := s.clone()
	added.Members = append(added.Members, groupMember{User: dan, AddedBy: me})
	g.State = added
	update(func(ts *txState) error {
		for _, m := range []*content{
			{Kind: kindGroupState, State: added, Event: &GroupEvent{Kind: EventAdded, Actor: me, Subjects: []wire.UserID{dan}}},
			{Kind: kindGroupState, State: s, Event: &GroupEvent{Kind: EventCreated, Actor: me, Name: s.Name}},
			{Kind: kindGroupState, State: s, Event: &GroupEvent{Kind: EventJoined, Actor: me}},
		} {
			if err := c.keepForInvited(ts, entry(1000, m), g); err != nil {
				return err
			}
		}
		return nil
	})
	k = kept()
	if len(k) != 1 || k[0].ContentKind != kindGroupState || !slices.Equal(k[0].Invited, []wire.UserID{ben, cleo}) {
		t.Fatalf("kept for changes: %+v", k)
	}
}
