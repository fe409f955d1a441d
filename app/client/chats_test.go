package client

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/app/store/memstore"
	"github.com/mutualcoop/mutual/crypto/pqxdh"
	"github.com/mutualcoop/mutual/relay/wire"
)

// offlineClient opens a client on st for a device registered without a
// relay, for tests that need no connection.
func offlineClient(tb testing.TB, st store.Store) *Client {
	tb.Helper()
	registerOffline(tb, st, currentLayout)
	return openOffline(tb, st)
}

// registerOffline stores a registered device's records in st, in the
// given storage layout, and returns its user ID.
func registerOffline(tb testing.TB, st store.Store, layout uint32) wire.UserID {
	tb.Helper()
	id, err := pqxdh.GenerateIdentity(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	idb, err := id.MarshalBinary()
	if err != nil {
		tb.Fatal(err)
	}
	a := &accountRecord{User: wire.NewUserID(), Device: 1, Credential: []byte("credential"), Layout: layout}
	err = st.Update(context.Background(), func(tx store.Tx) error {
		if err := tx.Put(bAccount, kIdentity, idb); err != nil {
			return err
		}
		return putAccount(tx, a)
	})
	if err != nil {
		tb.Fatal(err)
	}
	return a.User
}

func openOffline(tb testing.TB, st store.Store) *Client {
	tb.Helper()
	c, err := Open(context.Background(), st, Config{ServerURL: "ws://127.0.0.1:9/v1/ws"})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// addContact stores a contact as if the user had added (or been asked
// by) them.
func addContact(tb testing.TB, c *Client, state ContactState, added time.Time) wire.UserID {
	tb.Helper()
	u := wire.NewUserID()
	err := c.update(context.Background(), func(ts *txState) error {
		return c.putContact(ts, &Contact{User: u, State: state, Accepted: true, Added: added})
	})
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

// receive stores n incoming messages from peer, as the inbox does, in
// transactions of at most 1,000, and returns their IDs.
func receive(tb testing.TB, c *Client, peer wire.UserID, n int, at time.Time) []wire.MessageID {
	tb.Helper()
	conv := DirectConversation(c.me().User, peer)
	var ids []wire.MessageID
	for len(ids) < n {
		err := c.update(context.Background(), func(ts *txState) error {
			for i := 0; i < 1000 && len(ids) < n; i++ {
				m := &Message{
					ID: wire.NewMessageID(), Conversation: conv, Peer: peer, SenderDevice: 1,
					Text:   fmt.Sprintf("message %d, long enough to look like a real one", len(ids)),
					SentAt: at, ServerTime: at, State: StateReceived,
				}
				if err := c.insertMessage(ts.tx, peer, m); err != nil {
					return err
				}
				ids = append(ids, m.ID)
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	return ids
}

// TestChatSummary: the summary follows sending, receiving, state changes
// and reads, each in its own transaction, and Chats orders by activity.
func TestChatSummary(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	defer st.Close()
	c := offlineClient(t, st)
	t0 := time.UnixMilli(1_700_000_000_000)
	bob := addContact(t, c, ContactAllowed, t0)
	carol := addContact(t, c, ContactRequest, t0.Add(time.Minute))
	dave := addContact(t, c, ContactBlocked, t0.Add(2*time.Minute))
	check := func(t *testing.T, what string) {
		t.Helper()
		if err := CheckChats(ctx, c); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	check(t, "contacts only")
	chats, err := c.Chats(ctx)
	if err != nil || len(chats) != 2 || chats[0].Contact.User != carol || chats[1].Contact.User != bob ||
		chats[0].Last != nil || !chats[0].Activity.Equal(t0.Add(time.Minute)) {
		t.Fatalf("chats: %+v %v", chats, err)
	}

	fromBob := receive(t, c, bob, 3, t0.Add(time.Hour))
	receive(t, c, dave, 1, t0.Add(2*time.Hour)) // blocked: stored, not listed
	check(t, "received")
	chats, _ = c.Chats(ctx)
	if len(chats) != 2 || chats[0].Contact.User != bob || chats[0].Unread != 3 || chats[0].Last.ID != fromBob[2] || chats[0].Last.Seq != 3 {
		t.Fatalf("after receiving: %+v", chats)
	}

	id, err := c.Send(ctx, bob, "an answer")
	if err != nil {
		t.Fatal(err)
	}
	check(t, "sent")
	chats, _ = c.Chats(ctx)
	if chats[0].Last.ID != id || chats[0].Last.State != StateSending || chats[0].Last.Seq != 4 || chats[0].Unread != 3 {
		t.Fatalf("after sending: %+v", chats[0])
	}

	// The relay accepts it; then it fails on a refusal.
	e := &outboxEntry{MessageID: id, ContentKind: kindText}
	if err := c.accepted(ctx, e, &wire.Accepted{ServerTimeMS: t0.Add(3 * time.Hour).UnixMilli()}); err != nil {
		t.Fatal(err)
	}
	check(t, "accepted")
	chats, _ = c.Chats(ctx)
	if chats[0].Last.State != StateSent || !chats[0].Activity.Equal(t0.Add(3*time.Hour)) {
		t.Fatalf("after the relay accepted: %+v", chats[0])
	}

	for _, tc := range []struct {
		name   string
		ids    []wire.MessageID
		unread int
	}{
		{"one", fromBob[1:2], 2},
		{"the same again", fromBob[1:2], 2},
		{"an outgoing one", []wire.MessageID{id}, 2},
		{"unknown", []wire.MessageID{wire.NewMessageID()}, 2},
		{"all", nil, 0},
		{"all again", nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := c.MarkRead(ctx, DirectConversation(c.me().User, bob), tc.ids...); err != nil {
				t.Fatal(err)
			}
			check(t, tc.name)
			chats, _ := c.Chats(ctx)
			if chats[0].Unread != tc.unread {
				t.Fatalf("unread %d, want %d", chats[0].Unread, tc.unread)
			}
		})
	}
	ms, err := c.Messages(ctx, DirectConversation(c.me().User, bob))
	if err != nil || len(ms) != 4 {
		t.Fatalf("messages: %+v %v", ms, err)
	}
	for i, m := range ms {
		if m.Seq != uint64(i+1) || (!m.Outgoing && m.State != StateRead) {
			t.Fatalf("message %d: %+v", i, m)
		}
	}

	// Removing a contact keeps the conversation (and its numbering).
	err = c.update(ctx, func(ts *txState) error { return c.deleteContact(ts, bob) })
	if err != nil {
		t.Fatal(err)
	}
	check(t, "removed")
	if chats, _ := c.Chats(ctx); len(chats) != 1 || chats[0].Contact.User != carol {
		t.Fatalf("after removing bob: %+v", chats)
	}
	err = c.update(ctx, func(ts *txState) error {
		return c.putContact(ts, &Contact{User: bob, State: ContactAllowed, Added: t0})
	})
	if err != nil {
		t.Fatal(err)
	}
	if id, err = c.Send(ctx, bob, "back again"); err != nil {
		t.Fatal(err)
	}
	if m, err := c.Message(ctx, c.me().User, id); err != nil || m.Seq != 5 {
		t.Fatalf("after adding bob again: %+v %v", m, err)
	}
	check(t, "added again")
}

// TestHistoryPages: paging backwards from the newest message visits
// every message once, in order, for any page size.
func TestHistoryPages(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	defer st.Close()
	c := offlineClient(t, st)
	t0 := time.UnixMilli(1_700_000_000_000)
	bob := addContact(t, c, ContactAllowed, t0)
	other := addContact(t, c, ContactAllowed, t0)
	ids := receive(t, c, bob, 250, t0)
	receive(t, c, other, 10, t0) // a neighbour in the key space
	conv := DirectConversation(c.me().User, bob)
	for _, size := range []int{1, 7, 100, 250, 1000} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			var got []wire.MessageID
			before := uint64(0)
			for {
				page, err := c.History(ctx, conv, before, size)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) > size {
					t.Fatalf("page of %d, want at most %d", len(page), size)
				}
				for i, m := range page {
					if m.Conversation != conv || (i > 0 && m.Seq != page[i-1].Seq+1) || (before > 0 && m.Seq >= before) {
						t.Fatalf("page before %d: message %d is %+v", before, i, m)
					}
				}
				pageIDs := make([]wire.MessageID, 0, len(page)+len(got))
				for _, m := range page {
					pageIDs = append(pageIDs, m.ID)
				}
				got = append(pageIDs, got...)
				if len(page) < size {
					break
				}
				before = page[0].Seq
			}
			if !slices.Equal(got, ids) {
				t.Fatalf("paged through %d messages, want the %d in order", len(got), len(ids))
			}
		})
	}
	if _, err := c.History(ctx, conv, 0, 0); err == nil {
		t.Fatal("a page of 0 messages was accepted")
	}
	if page, err := c.History(ctx, conv, 1, 10); err != nil || len(page) != 0 {
		t.Fatalf("before the first message: %+v %v", page, err)
	}
}

// TestUpgradeLayout: a store of layout 0 (one message counter for the
// account, no summaries) is brought up to date when it is opened:
// sequences count per conversation, the index follows, and the
// summaries are built.
func TestUpgradeLayout(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	defer st.Close()
	me := registerOffline(t, st, 0)
	t0 := time.UnixMilli(1_700_000_000_000)
	bob, carol, dave := wire.NewUserID(), wire.NewUserID(), wire.NewUserID()
	want := map[wire.UserID][]Message{}
	err := st.Update(ctx, func(tx store.Tx) error {
		for _, ct := range []*Contact{
			{User: bob, State: ContactAllowed, Accepted: true, Added: t0},
			{User: carol, State: ContactRequest, Accepted: true, Added: t0},
		} {
			if err := tx.Put(bContacts, ct.User[:], ct.marshal()); err != nil {
				return err
			}
		}
		// Layout 0: the account's counter, shared by the conversations.
		for seq := uint64(1); seq <= 30; seq++ {
			peer := []wire.UserID{bob, carol, dave}[seq%3]
			m := Message{
				ID: wire.NewMessageID(), Conversation: DirectConversation(me, peer), Peer: peer,
				Outgoing: seq%2 == 0, Text: fmt.Sprint("message ", seq), SentAt: t0.Add(time.Duration(seq) * time.Second),
				State: []MessageState{StateReceived, StateSent, StateRead}[seq%3],
			}
			if m.Outgoing {
				m.State = StateDelivered
			}
			author := peer
			if m.Outgoing {
				author = me
			}
			k := messageKey(m.Conversation, seq)
			if err := tx.Put(bMessages, k, m.marshal()); err != nil {
				return err
			}
			if err := tx.Put(bMsgIndex, authoredKey(author, m.ID), k); err != nil {
				return err
			}
			m.Seq = uint64(len(want[peer]) + 1)
			want[peer] = append(want[peer], m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	c := openOffline(t, st)
	if err := CheckChats(ctx, c); err != nil {
		t.Fatal(err)
	}
	for peer, ms := range want {
		got, err := c.Messages(ctx, DirectConversation(me, peer))
		if err != nil || len(got) != len(ms) {
			t.Fatalf("messages with %s: %d, %v", peer, len(got), err)
		}
		for i, m := range ms {
			if got[i].ID != m.ID || got[i].Seq != m.Seq {
				t.Fatalf("message %d: %+v, want %+v", i, got[i], m)
			}
			author := peer
			if m.Outgoing {
				author = me
			}
			if byID, err := c.Message(ctx, author, m.ID); err != nil || byID.Seq != m.Seq {
				t.Fatalf("message %s by ID: %+v %v", m.ID, byID, err)
			}
		}
	}
	chats, err := c.Chats(ctx)
	if err != nil || len(chats) != 2 {
		t.Fatalf("chats: %+v %v", chats, err)
	}
	for _, ch := range chats {
		ms := want[ch.Contact.User]
		unread := 0
		for _, m := range ms {
			if isUnread(m.Outgoing, m.State) {
				unread++
			}
		}
		if ch.Last.ID != ms[len(ms)-1].ID || ch.Unread != unread {
			t.Fatalf("chat with %s: %+v", ch.Contact.User, ch)
		}
	}
	// New messages go on from there.
	id, err := c.Send(ctx, bob, "after the upgrade")
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := c.Message(ctx, me, id); m.Seq != uint64(len(want[bob])+1) {
		t.Fatalf("new message: %+v", m)
	}
	if err := CheckChats(ctx, c); err != nil {
		t.Fatal(err)
	}
	c.Close()
	// Opening again finds the layout current.
	again := openOffline(t, st)
	if err := CheckChats(ctx, again); err != nil {
		t.Fatal(err)
	}
}
