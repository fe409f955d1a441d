package client

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/app/store/memstore"
	"github.com/mutualcoop/mutual/relay/wire"
)

// TestHandlerFor: every content kind this build sends has a handler;
// other kinds have none, so they are dropped.
func TestHandlerFor(t *testing.T) {
	for _, tc := range []struct {
		name string
		kind contentKind
		want bool
	}{
		{"text", kindText, true},
		{"delivery receipt", kindDelivered, true},
		{"read receipt", kindRead, true},
		{"profile", kindProfile, true},
		{"contacts sync", kindContacts, true},
		{"group state (an invitation)", kindGroupState, true},
		{"groups sync", kindGroups, true},
		// A sender key is read within a group message only (groupreceive.go).
		{"sender key", kindSenderKey, false},
		{"no kind", 0, false},
		{"join request", kindJoinRequest, true},
		{"next kind", kindJoinRequest + 1, false},
		{"a later kind", 99, false},
		{"largest kind", 1<<32 - 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := handlerFor(tc.kind) != nil; got != tc.want {
				t.Errorf("handlerFor(%d) != nil is %v, want %v", tc.kind, got, tc.want)
			}
		})
	}
}

// applyFixture is an offline client with contacts in each state a
// content can find its writer in, and a message each way with Bob.
type applyFixture struct {
	c        *Client
	me       wire.UserID
	bob      wire.UserID    // an allowed contact who has written
	pat      wire.UserID    // added by the user, a request to them pending
	stranger wire.UserID    // not a contact
	sent     wire.MessageID // to Bob, StateSent
	got      wire.MessageID // from Bob, StateReceived
}

var applyT0 = time.UnixMilli(1_700_000_000_000)

func newApplyFixture(t *testing.T) *applyFixture {
	t.Helper()
	st := memstore.New()
	t.Cleanup(func() { st.Close() })
	c := offlineClient(t, st)
	f := &applyFixture{c: c, me: c.me().User, pat: wire.NewUserID(), stranger: wire.NewUserID()}
	f.bob = addContact(t, c, ContactAllowed, applyT0)
	err := c.update(context.Background(), func(ts *txState) error {
		a, err := mustAccount(ts.tx)
		if err != nil {
			return err
		}
		a.ProfileName, a.ProfileAt = "Alice", applyT0.UnixMilli()
		if err := putAccount(ts.tx, a); err != nil {
			return err
		}
		if err := c.putContact(ts, &Contact{User: f.pat, State: ContactAllowed, RequestSent: applyT0, Added: applyT0}); err != nil {
			return err
		}
		conv := DirectConversation(f.me, f.bob)
		sent := &Message{ID: wire.NewMessageID(), Conversation: conv, Peer: f.bob, Outgoing: true, SenderDevice: 1, Text: "to bob", SentAt: applyT0, State: StateSent}
		got := &Message{ID: wire.NewMessageID(), Conversation: conv, Peer: f.bob, SenderDevice: 1, Text: "from bob", SentAt: applyT0, State: StateReceived}
		f.sent, f.got = sent.ID, got.ID
		if err := c.insertMessage(ts.tx, f.me, sent); err != nil {
			return err
		}
		return c.insertMessage(ts.tx, f.bob, got)
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// apply applies m from sender (device 2 for this account's other
// device) as the inbox does once it has decrypted it, and returns the
// envelope and what it reported.
func (f *applyFixture) apply(t *testing.T, sender wire.UserID, kind wire.Kind, m *content) (*wire.Envelope, received) {
	t.Helper()
	env := &wire.Envelope{Sender: sender, SenderDevice: 1, MessageID: wire.NewMessageID(), Kind: kind, ServerTimeMS: applyT0.Add(time.Minute).UnixMilli()}
	if sender == f.me {
		env.SenderDevice = 2
	}
	var r received
	err := f.c.update(context.Background(), func(ts *txState) error {
		r = received{}
		var ct *Contact
		if sender != f.me {
			var err error
			if ct, err = getContact(ts.tx, f.me, sender); err != nil {
				return err
			}
		}
		return f.c.apply(ts, env, ct, m, &r)
	})
	if err != nil {
		t.Fatal(err)
	}
	return env, r
}

// dump returns every record of the store, by bucket and key.
func (f *applyFixture) dump(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := f.c.st.View(context.Background(), func(tx store.Tx) error {
		for _, b := range [][]byte{
			bAccount, bPreKeys, bSigned, bKEM, bKEMUsed, bRetired, bSessions, bIdentities,
			bContacts, bMessages, bMsgIndex, bChats, bSeen, bOutbox, bReceipts,
		} {
			err := tx.Scan(b, nil, func(k, v []byte) error {
				out[string(b)+"/"+string(k)] = string(v)
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (f *applyFixture) contact(t *testing.T, u wire.UserID) *Contact {
	t.Helper()
	var ct *Contact
	err := f.c.st.View(context.Background(), func(tx store.Tx) (err error) {
		ct, err = getContact(tx, f.me, u)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

func (f *applyFixture) message(t *testing.T, author wire.UserID, id wire.MessageID) *Message {
	t.Helper()
	m, err := f.c.Message(context.Background(), author, id)
	if err != nil {
		t.Fatal(err)
	}
	return &m
}

// queued returns the contents of the outbox's entries, in order.
func (f *applyFixture) queued(t *testing.T) []*content {
	t.Helper()
	var out []*content
	err := f.c.st.View(context.Background(), func(tx store.Tx) error {
		return tx.Scan(bOutbox, nil, func(_, v []byte) error {
			e, err := parseOutbox(v)
			if err != nil {
				return err
			}
			m, err := openContent(e.Padded)
			if err != nil {
				return err
			}
			out = append(out, m)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestApply: each content kind, from a contact, a stranger or another
// device of this account, has the effect described at its handler; what
// is dropped changes nothing at all.
func TestApply(t *testing.T) {
	type check func(t *testing.T, f *applyFixture, env *wire.Envelope, r received)
	nothing := func(t *testing.T, f *applyFixture, env *wire.Envelope, r received) {}
	for _, tc := range []struct {
		name    string
		from    func(f *applyFixture) wire.UserID
		kind    wire.Kind
		content func(f *applyFixture) *content
		// same: the store must be as it was (the content is dropped).
		same  bool
		check check
	}{
		{
			name: "text from a contact",
			from: func(f *applyFixture) wire.UserID { return f.bob }, kind: wire.KindMessage,
			content: func(f *applyFixture) *content { return &content{Kind: kindText, Text: "hi", SentAt: 5} },
			check: func(t *testing.T, f *applyFixture, env *wire.Envelope, r received) {
				m := f.message(t, f.bob, env.MessageID)
				if m.Text != "hi" || m.State != StateReceived || m.Outgoing || m.Seq != 3 {
					t.Errorf("message %+v", m)
				}
				if len(r.events) != 1 || !r.queued {
					t.Errorf("reported %+v", r)
				}
				if q := f.queued(t); len(q) != 1 || q[0].Kind != kindDelivered || q[0].Peer != f.bob || !slices.Equal(q[0].Refs, []wire.MessageID{env.MessageID}) {
					t.Errorf("queued %+v", q)
				}
			},
		},
		{
			name: "text from a contact who had not written",
			from: func(f *applyFixture) wire.UserID { return f.pat }, kind: wire.KindMessage,
			content: func(f *applyFixture) *content { return &content{Kind: kindText, Text: "yes"} },
			check: func(t *testing.T, f *applyFixture, env *wire.Envelope, r received) {
				if ct := f.contact(t, f.pat); !ct.Accepted || !ct.RequestSent.IsZero() {
					t.Errorf("pat %+v", ct)
				}
				q := f.queued(t)
				if len(q) != 2 || q[0].Kind != kindProfile || q[0].Name != "Alice" || q[1].Kind != kindDelivered {
					t.Errorf("queued %+v", q)
				}
				if _, ok := r.events[0].(MessageReceived); len(r.events) != 1 || !ok || !r.queued {
					t.Errorf("reported %+v", r)
				}
			},
		},
		{
			name: "request from a stranger",
			from: func(f *applyFixture) wire.UserID { return f.stranger }, kind: wire.KindRequest,
			content: func(f *applyFixture) *content { return &content{Kind: kindText, Text: "hello?"} },
			check: func(t *testing.T, f *applyFixture, env *wire.Envelope, r received) {
				if ct := f.contact(t, f.stranger); ct == nil || ct.State != ContactRequest || !ct.Accepted {
					t.Errorf("stranger %+v", ct)
				}
				if m := f.message(t, f.stranger, env.MessageID); m.Text != "hello?" || m.State != StateReceived {
					t.Errorf("message %+v", m)
				}
				if len(r.events) != 2 || r.queued {
					t.Fatalf("reported %+v", r)
				}
				if _, ok := r.events[0].(RequestReceived); !ok {
					t.Errorf("first event %T", r.events[0])
				}
				if q := f.queued(t); len(q) != 0 {
					t.Errorf("queued %+v", q) // no receipt before the user accepts
				}
			},
		},
		{
			name: "message from a stranger",
			from: func(f *applyFixture) wire.UserID { return f.stranger }, kind: wire.KindMessage,
			content: func(f *applyFixture) *content { return &content{Kind: kindText, Text: "me again"} },
			check: func(t *testing.T, f *applyFixture, env *wire.Envelope, r received) {
				if ct := f.contact(t, f.stranger); ct == nil || ct.State != ContactAllowed || !ct.Accepted {
					t.Errorf("stranger %+v", ct)
				}
				if q := f.queued(t); len(q) != 1 || q[0].Kind != kindDelivered || !r.queued {
					t.Errorf("queued %+v, reported %+v", q, r)
				}
			},
		},
		{
			name: "text from another device",
			from: func(f *applyFixture) wire.UserID { return f.me }, kind: wire.KindMessage,
			content: func(f *applyFixture) *content { return &content{Kind: kindText, Text: "sent there", Peer: f.bob} },
			check: func(t *testing.T, f *applyFixture, env *wire.Envelope, r received) {
				m := f.message(t, f.me, env.MessageID)
				if !m.Outgoing || m.State != StateSent || m.Peer != f.bob || m.SenderDevice != 2 {
					t.Errorf("message %+v", m)
				}
				if len(r.events) != 1 || r.queued || len(f.queued(t)) != 0 {
					t.Errorf("reported %+v", r)
				}
			},
		},
		{
			name: "request from another device",
			from: func(f *applyFixture) wire.UserID { return f.me }, kind: wire.KindRequest,
			content: func(f *applyFixture) *content { return &content{Kind: kindText, Text: "hi there", Peer: f.stranger} },
			check: func(t *testing.T, f *applyFixture, env *wire.Envelope, r received) {
				ct := f.contact(t, f.stranger)
				if ct == nil || ct.State != ContactAllowed || ct.Accepted || !ct.RequestSent.Equal(fromMS(env.ServerTimeMS)) {
					t.Errorf("stranger %+v", ct)
				}
			},
		},
		{
			name: "copy without a peer", same: true, check: nothing,
			from: func(f *applyFixture) wire.UserID { return f.me }, kind: wire.KindMessage,
			content: func(f *applyFixture) *content { return &content{Kind: kindText, Text: "lost"} },
		},
		{
			name: "copy to this account", same: true, check: nothing,
			from: func(f *applyFixture) wire.UserID { return f.me }, kind: wire.KindMessage,
			content: func(f *applyFixture) *content { return &content{Kind: kindText, Text: "to me", Peer: f.me} },
		},
		{
			name: "delivery receipt",
			from: func(f *applyFixture) wire.UserID { return f.bob }, kind: wire.KindMessage,
			content: func(f *applyFixture) *content {
				return &content{Kind: kindDelivered, Refs: []wire.MessageID{f.sent, f.got, wire.NewMessageID()}}
			},
			check: func(t *testing.T, f *applyFixture, env *wire.Envelope, r received) {
				if m := f.message(t, f.me, f.sent); m.State != StateDelivered {
					t.Errorf("sent message %v", m.State)
				}
				if m := f.message(t, f.bob, f.got); m.State != StateReceived {
					t.Errorf("received message %v", m.State)
				}
				if len(r.events) != 1 || r.queued {
					t.Errorf("reported %+v", r)
				}
			},
		},
		{
			name: "read receipt",
			from: func(f *applyFixture) wire.UserID { return f.bob }, kind: wire.KindMessage,
			content: func(f *applyFixture) *content { return &content{Kind: kindRead, Refs: []wire.MessageID{f.sent}} },
			check: func(t *testing.T, f *applyFixture, env *wire.Envelope, r received) {
				if m := f.message(t, f.me, f.sent); m.State != StateRead || len(r.events) != 1 {
					t.Errorf("sent message %v, reported %+v", m.State, r)
				}
			},
		},
		{
			name: "delivery receipt from another device", same: true, check: nothing,
			from: func(f *applyFixture) wire.UserID { return f.me }, kind: wire.KindMessage,
			content: func(f *applyFixture) *content {
				return &content{Kind: kindDelivered, Peer: f.bob, Refs: []wire.MessageID{f.got}}
			},
		},
		{
			name: "read receipt from another device",
			from: func(f *applyFixture) wire.UserID { return f.me }, kind: wire.KindMessage,
			content: func(f *applyFixture) *content {
				return &content{Kind: kindRead, Peer: f.bob, Refs: []wire.MessageID{f.got, f.sent}}
			},
			check: func(t *testing.T, f *applyFixture, env *wire.Envelope, r received) {
				if m := f.message(t, f.bob, f.got); m.State != StateRead {
					t.Errorf("received message %v", m.State)
				}
				if m := f.message(t, f.me, f.sent); m.State != StateSent {
					t.Errorf("sent message %v", m.State)
				}
				if len(r.events) != 1 || r.queued || len(f.queued(t)) != 0 {
					t.Errorf("reported %+v", r)
				}
			},
		},
		{
			name: "profile from a contact",
			from: func(f *applyFixture) wire.UserID { return f.bob }, kind: wire.KindMessage,
			content: func(f *applyFixture) *content { return &content{Kind: kindProfile, Name: "Bob", SentAt: 7} },
			check: func(t *testing.T, f *applyFixture, env *wire.Envelope, r received) {
				if ct := f.contact(t, f.bob); ct.ProfileName != "Bob" || ct.profileAt != 7 {
					t.Errorf("bob %+v", ct)
				}
				if len(r.events) != 0 || r.queued {
					t.Errorf("reported %+v", r) // ContactChanged comes from the transaction
				}
			},
		},
		{
			name: "profile from a contact who had not written",
			from: func(f *applyFixture) wire.UserID { return f.pat }, kind: wire.KindMessage,
			content: func(f *applyFixture) *content { return &content{Kind: kindProfile, Name: "Pat", SentAt: 7} },
			check: func(t *testing.T, f *applyFixture, env *wire.Envelope, r received) {
				if ct := f.contact(t, f.pat); ct.ProfileName != "Pat" || !ct.Accepted {
					t.Errorf("pat %+v", ct)
				}
				if q := f.queued(t); len(q) != 1 || q[0].Kind != kindProfile || !r.queued {
					t.Errorf("queued %+v, reported %+v", q, r)
				}
			},
		},
		{
			name: "profile from a stranger", same: true, check: nothing,
			from: func(f *applyFixture) wire.UserID { return f.stranger }, kind: wire.KindRequest,
			content: func(f *applyFixture) *content { return &content{Kind: kindProfile, Name: "Eve", SentAt: 7} },
		},
		{
			name: "profile from another device",
			from: func(f *applyFixture) wire.UserID { return f.me }, kind: wire.KindMessage,
			content: func(f *applyFixture) *content {
				return &content{Kind: kindProfile, Name: "Al", SentAt: applyT0.UnixMilli() + 1, Peer: f.bob}
			},
			check: func(t *testing.T, f *applyFixture, env *wire.Envelope, r received) {
				if name, err := f.c.ProfileName(context.Background()); err != nil || name != "Al" {
					t.Errorf("profile name %q, %v", name, err)
				}
			},
		},
		{
			name: "unknown kind from a contact who had not written", same: true, check: nothing,
			from: func(f *applyFixture) wire.UserID { return f.pat }, kind: wire.KindMessage,
			content: func(f *applyFixture) *content { return &content{Kind: 99, Text: "later"} },
		},
		{
			name: "unknown kind as a request from a stranger", same: true, check: nothing,
			from: func(f *applyFixture) wire.UserID { return f.stranger }, kind: wire.KindRequest,
			content: func(f *applyFixture) *content { return &content{Kind: 99, Text: "later"} },
		},
		{
			name: "unknown kind from another device", same: true, check: nothing,
			from: func(f *applyFixture) wire.UserID { return f.me }, kind: wire.KindMessage,
			content: func(f *applyFixture) *content { return &content{Kind: 99, Text: "later", Peer: f.bob} },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newApplyFixture(t)
			before := f.dump(t)
			env, r := f.apply(t, tc.from(f), tc.kind, tc.content(f))
			after := f.dump(t)
			if tc.same {
				if !maps.Equal(before, after) {
					t.Errorf("the store changed: %d records before, %d after", len(before), len(after))
				}
				if len(r.events) != 0 || r.queued {
					t.Errorf("reported %+v", r)
				}
			} else if maps.Equal(before, after) {
				t.Error("the store did not change")
			}
			tc.check(t, f, env, r)
		})
	}
}
