package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/app/store/memstore"
	"github.com/mutualcoop/mutual/crypto/pqxdh"
	"github.com/mutualcoop/mutual/internal/pb"
	"github.com/mutualcoop/mutual/relay/wire"
)

// historyFixture is an offline device with a bit of everything an
// archive carries, and the other device of its account to import into.
type historyFixture struct {
	c        *Client
	bob      wire.UserID
	group    wire.ConversationID
	unsent   wire.MessageID
	withFile wire.MessageID
	file     []byte
	idb      []byte // the identity both devices are registered with
}

var historyT0 = time.UnixMilli(1_700_000_000_000)

// registerAs stores a registered device of user in st.
func registerAs(tb testing.TB, st store.Store, user wire.UserID, device wire.DeviceID, idb []byte) *Client {
	tb.Helper()
	a := &accountRecord{User: user, Device: device, Credential: []byte("credential"), Layout: currentLayout}
	err := st.Update(context.Background(), func(tx store.Tx) error {
		if err := tx.Put(bAccount, kIdentity, idb); err != nil {
			return err
		}
		return putAccount(tx, a)
	})
	if err != nil {
		tb.Fatal(err)
	}
	return openOffline(tb, st)
}

func newHistoryFixture(tb testing.TB) *historyFixture {
	tb.Helper()
	id, err := pqxdh.GenerateIdentity(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	idb, err := id.MarshalBinary()
	if err != nil {
		tb.Fatal(err)
	}
	st := memstore.New()
	tb.Cleanup(func() { st.Close() })
	c := registerAs(tb, st, wire.NewUserID(), 1, idb)
	me := c.me().User
	f := &historyFixture{c: c, idb: idb, bob: wire.NewUserID(), group: wire.ConversationID(wire.NewUserID()), file: bytes.Repeat([]byte("photo "), 100_000)}
	stranger := wire.NewUserID()
	err = c.update(context.Background(), func(ts *txState) error {
		a, err := mustAccount(ts.tx)
		if err != nil {
			return err
		}
		a.ProfileName, a.ProfileAt = "Alice", historyT0.UnixMilli()
		if err := putAccount(ts.tx, a); err != nil {
			return err
		}
		bob := &Contact{User: f.bob, State: ContactAllowed, Accepted: true, Added: historyT0, Nickname: "Bobby",
			ProfileName: "Bob", profileAt: 5, VerifiedAddress: "email:bob@example.org", Verified: historyT0}
		if err := c.putContact(ts, bob); err != nil {
			return err
		}
		if err := c.putContact(ts, &Contact{User: stranger, State: ContactRequest, Added: historyT0}); err != nil {
			return err
		}
		if err := noteMemberName(ts.tx, stranger, "Sam", 7); err != nil {
			return err
		}
		g := &groupRecord{
			State: &groupState{ID: f.group, Name: "Family", Version: 3, Created: historyT0.UnixMilli(), Members: []groupMember{
				{User: me, Admin: true, Joined: true}, {User: f.bob, Joined: true, AddedBy: me}, {User: stranger, AddedBy: me},
			}},
			Status: GroupJoined, Secrets: groupSecrets{Admin: bytes.Repeat([]byte{1}, 32), Add: bytes.Repeat([]byte{2}, 32)},
			Rotate: true, Since: historyT0.UnixMilli(),
		}
		if err := putGroup(ts.tx, g); err != nil {
			return err
		}
		if err := putChat(ts.tx, f.group, &chatRecord{Group: true}); err != nil {
			return err
		}
		conv := DirectConversation(me, f.bob)
		at := historyT0
		msg := func(m *Message, author wire.UserID) error {
			at = at.Add(time.Second)
			m.ID, m.SentAt, m.ServerTime = wire.NewMessageID(), at, at
			return c.insertMessage(ts.tx, author, m)
		}
		for i := range 3 {
			if err := msg(&Message{Conversation: conv, Peer: f.bob, Outgoing: true, SenderDevice: 1, Text: fmt.Sprint("to bob ", i), State: StateDelivered}, me); err != nil {
				return err
			}
			if err := msg(&Message{Conversation: conv, Peer: f.bob, SenderDevice: 2, Text: fmt.Sprint("from bob ", i), State: StateReceived}, f.bob); err != nil {
				return err
			}
		}
		photo := &Message{Conversation: conv, Peer: f.bob, SenderDevice: 2, Text: "a photo", State: StateRead, Attachments: []Attachment{{
			Name: "p.jpg", Type: "image/jpeg", Size: int64(len(f.file)), Width: 3, Height: 2, Thumbnail: []byte("thumb"),
			Transfer: TransferLocal, Done: int64(len(f.file)), blob: wire.BlobID(wire.NewUserID()), key: bytes.Repeat([]byte{3}, 32),
			digest: bytes.Repeat([]byte{4}, 32), nonce: bytes.Repeat([]byte{5}, 16),
		}}}
		if err := msg(photo, f.bob); err != nil {
			return err
		}
		f.withFile = photo.ID
		file := fileKey(f.bob, photo.ID, 0)
		var chunks [][]byte
		for b := f.file; len(b) > 0; b = b[min(len(b), mediaChunk):] {
			chunks = append(chunks, b[:min(len(b), mediaChunk)])
		}
		if err := putChunks(ts.tx, file, &mediaFile{Conversation: conv, At: 1}, chunks); err != nil {
			return err
		}
		unsent := &Message{Conversation: conv, Peer: f.bob, Outgoing: true, SenderDevice: 1, Text: "not yet", State: StateSending}
		if err := msg(unsent, me); err != nil {
			return err
		}
		f.unsent = unsent.ID
		line := &Message{Conversation: f.group, Author: me, State: StateRead, Event: &GroupEvent{Kind: EventCreated, Actor: me, Name: "Family"}}
		if err := msg(line, me); err != nil {
			return err
		}
		if err := msg(&Message{Conversation: f.group, Author: f.bob, SenderDevice: 2, Text: "hi all", State: StateReceived}, f.bob); err != nil {
			return err
		}
		if err := msg(&Message{Conversation: f.group, Author: me, Outgoing: true, SenderDevice: 1, Text: "hello", State: StateRead}, me); err != nil {
			return err
		}
		notice := &wire.CoopNotice{ID: wire.NewMessageID(), Kind: wire.NoticeDues, Text: "Thanks", Amount: 100, Currency: "GBP"}
		return msg(&Message{Conversation: wire.CoopConversation, Text: notice.Text, State: StateReceived, Coop: notice}, wire.UserID{})
	})
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

// twin is a new, empty device of the fixture's account.
func (f *historyFixture) twin(tb testing.TB) *Client {
	tb.Helper()
	st := memstore.New()
	tb.Cleanup(func() { st.Close() })
	return registerAs(tb, st, f.c.me().User, 2, f.idb)
}

func (f *historyFixture) archive(tb testing.TB, opts HistoryOptions) []byte {
	tb.Helper()
	var b bytes.Buffer
	if _, err := f.c.WriteHistory(context.Background(), &b, opts, nil); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// dump renders every bucket of c's store that an import writes to.
func dump(tb testing.TB, c *Client) string {
	tb.Helper()
	var b bytes.Buffer
	err := c.st.View(context.Background(), func(tx store.Tx) error {
		for _, bucket := range [][]byte{bAccount, bContacts, bClaims, bMessages, bMsgIndex, bChats, bGroups, bMemberNames, bMedia, bMediaFiles, bMediaUsed, bHistoryIn} {
			err := tx.Scan(bucket, nil, func(k, v []byte) error {
				fmt.Fprintf(&b, "%s %x %x\n", bucket, k, v)
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return b.String()
}

// splitRecords splits an archive into its magic and framed records.
func splitRecords(tb testing.TB, a []byte) [][]byte {
	tb.Helper()
	out := [][]byte{a[:len(historyMagic)]}
	for b := a[len(historyMagic):]; len(b) > 0; {
		n, k := binary.Uvarint(b)
		if k <= 0 {
			tb.Fatal("bad framing")
		}
		out = append(out, b[:k+int(n)])
		b = b[k+int(n):]
	}
	return out
}

// frame frames a record of field n.
func frame(n pb.Number, body []byte) []byte {
	r := pb.AppendBytes(nil, n, body)
	return append(binary.AppendUvarint(nil, uint64(len(r))), r...)
}

// TestHistoryRoundTrip: the fixture's archive, read by the other device
// of the account, gives the same chats, contacts, groups and messages
// (Seqs kept, the unsent message left out, the file with Media), with
// summaries that match the messages; reading it again changes nothing.
func TestHistoryRoundTrip(t *testing.T) {
	f := newHistoryFixture(t)
	ctx := context.Background()
	for _, media := range []bool{false, true} {
		t.Run(fmt.Sprint("media=", media), func(t *testing.T) {
			archive := f.archive(t, HistoryOptions{Media: media})
			tw := f.twin(t)
			var last Progress
			st, err := tw.ReadHistory(ctx, bytes.NewReader(archive), func(p Progress) { last = p })
			if err != nil {
				t.Fatal(err)
			}
			wantMedia := int64(0)
			if media {
				wantMedia = int64(len(f.file))
			}
			if want := (HistoryStats{Contacts: 2, Chats: 4, Messages: 11, Groups: 1, Attachments: 1, MediaBytes: wantMedia}); st != want {
				t.Fatalf("stats %+v, want %+v", st, want)
			}
			if last.Done != last.Total || last.Total == 0 {
				t.Fatalf("last progress %+v", last)
			}
			if err := CheckChats(ctx, tw); err != nil {
				t.Fatal(err)
			}
			for _, conv := range []wire.ConversationID{DirectConversation(f.c.me().User, f.bob), f.group, wire.CoopConversation} {
				want, _ := f.c.Messages(ctx, conv)
				got, _ := tw.Messages(ctx, conv)
				var kept []Message
				for _, m := range want {
					if m.ID != f.unsent {
						kept = append(kept, m)
					}
				}
				if len(got) != len(kept) {
					t.Fatalf("%d messages, want %d", len(got), len(kept))
				}
				for i := range got {
					g, w := got[i], kept[i]
					if g.ID != w.ID || g.Seq != w.Seq || g.State != w.State || g.Text != w.Text || g.Author != w.Author || (g.Event == nil) != (w.Event == nil) || (g.Coop == nil) != (w.Coop == nil) {
						t.Fatalf("message %d: %+v, want %+v", i, g, w)
					}
				}
			}
			m, err := tw.Message(ctx, f.bob, f.withFile)
			if err != nil {
				t.Fatal(err)
			}
			a := m.Attachments[0]
			if media {
				if a.Transfer != TransferLocal {
					t.Fatalf("the file is %v", a.Transfer)
				}
				r, err := tw.OpenAttachment(ctx, f.bob, f.withFile, 0)
				if err != nil {
					t.Fatal(err)
				}
				var got bytes.Buffer
				got.ReadFrom(r)
				if !bytes.Equal(got.Bytes(), f.file) {
					t.Fatal("the file differs")
				}
			} else if a.Transfer != TransferRemote || a.nonce != nil || a.Done != 0 {
				t.Fatalf("the pointer is %+v", a)
			}
			g, err := tw.Group(ctx, f.group)
			if err != nil || g.Name != "Family" || g.Version != 3 || len(g.Members) != 3 || !g.Admin {
				t.Fatalf("group %+v %v", g, err)
			}
			ct, err := tw.Contact(ctx, f.bob)
			if err != nil || ct.Nickname != "Bobby" || ct.ProfileName != "Bob" || !ct.Verified.IsZero() || ct.VerifiedAddress == "" {
				t.Fatalf("bob %+v %v", ct, err)
			}
			if name, _ := tw.ProfileName(ctx); name != "Alice" {
				t.Fatalf("profile %q", name)
			}
			before := dump(t, tw)
			if _, err := tw.ReadHistory(ctx, bytes.NewReader(archive), nil); err != nil {
				t.Fatal(err)
			}
			if after := dump(t, tw); after != before {
				t.Fatalf("reading again changed the store:\n%s\n---\n%s", before, after)
			}
		})
	}
}

// TestHistoryMerge: a device that already has messages of a conversation
// (some of them the archive's, at an earlier state) keeps them, advances
// the shared ones, and gets the archive's others after its own; a
// message arriving after an import into an empty conversation goes after
// the archive's.
func TestHistoryMerge(t *testing.T) {
	f := newHistoryFixture(t)
	ctx := context.Background()
	archive := f.archive(t, HistoryOptions{})
	tw := f.twin(t)
	me := f.c.me().User
	conv := DirectConversation(me, f.bob)
	old, _ := f.c.Messages(ctx, conv)
	shared := old[0] // delivered on the old device
	own := &Message{ID: wire.NewMessageID(), Conversation: conv, Peer: f.bob, SenderDevice: 2, Text: "arrived first", State: StateReceived, SentAt: historyT0}
	err := tw.update(ctx, func(ts *txState) error {
		if err := tw.putContact(ts, &Contact{User: f.bob, State: ContactAllowed, Added: historyT0}); err != nil {
			return err
		}
		s := shared
		s.State, s.Seq = StateSent, 0
		if err := tw.insertMessage(ts.tx, me, &s); err != nil {
			return err
		}
		return tw.insertMessage(ts.tx, f.bob, own)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tw.ReadHistory(ctx, bytes.NewReader(archive), nil); err != nil {
		t.Fatal(err)
	}
	got, _ := tw.Messages(ctx, conv)
	if len(got) != len(old) { // the archive's, less the unsent one, plus its own
		t.Fatalf("%d messages, want %d", len(got), len(old))
	}
	if got[0].ID != shared.ID || got[0].State != StateDelivered || got[1].ID != own.ID {
		t.Fatalf("first messages %+v %+v", got[0], got[1])
	}
	if err := CheckChats(ctx, tw); err != nil {
		t.Fatal(err)
	}

	// Into an empty conversation: the archive's Seqs, then the next.
	tw2 := f.twin(t)
	if _, err := tw2.ReadHistory(ctx, bytes.NewReader(archive), nil); err != nil {
		t.Fatal(err)
	}
	next := &Message{ID: wire.NewMessageID(), Conversation: conv, Peer: f.bob, SenderDevice: 2, Text: "later", State: StateReceived, SentAt: historyT0}
	if err := tw2.update(ctx, func(ts *txState) error { return tw2.insertMessage(ts.tx, f.bob, next) }); err != nil {
		t.Fatal(err)
	}
	// The fixture's newest message is the unsent one, not in the archive.
	if last := old[len(old)-2].Seq; next.Seq != last+1 {
		t.Fatalf("a later message at %d after the archive's %d", next.Seq, last)
	}
}

// TestHistoryRefused: an archive of another account, and archives that
// are damaged in any of these ways, are refused with nothing written.
func TestHistoryRefused(t *testing.T) {
	f := newHistoryFixture(t)
	archive := f.archive(t, HistoryOptions{Media: true})
	recs := splitRecords(t, archive)
	join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	n := len(recs)
	me := f.c.me().User
	conv := DirectConversation(me, f.bob)
	msg := func(m *Message, seq uint64) []byte {
		e := newEnc()
		e.uint(1, seq)
		e.message(2, m.marshal())
		return frame(hMessage, e.b)
	}
	// An archive of the fixture's header, Bob's chat, one message and
	// an end that counts them.
	crafted := func(m *Message) []byte {
		chat := (&historyChat{Conversation: conv, User: f.bob}).marshal()
		head := &historyHeader{User: me, Stats: HistoryStats{Chats: 1, Messages: 1}, Records: 3}
		return join([]byte(historyMagic), frame(hHeader, head.marshal()), frame(hChat, chat), msg(m, 1), frame(hEnd, head.marshal()))
	}
	good := &Message{ID: wire.NewMessageID(), Conversation: conv, Peer: f.bob, Outgoing: true, Text: "hi", State: StateSent}
	other := *good
	other.State = StateSending
	elsewhere := *good
	elsewhere.Conversation = wire.ConversationID{9}
	otherHead := (&historyHeader{User: wire.NewUserID(), Records: 1}).marshal()
	for _, tc := range []struct {
		name    string
		archive []byte
		want    error
	}{
		{"another account", join([]byte(historyMagic), frame(hHeader, otherHead), frame(hEnd, otherHead)), ErrHistoryOtherAccount},
		{"empty", nil, ErrHistoryMalformed},
		{"not an archive", []byte("hello, world, this is not it"), ErrHistoryMalformed},
		{"no header", join(recs[0], join(recs[2:]...)), ErrHistoryMalformed},
		{"no end", join(recs[:n-1]...), ErrHistoryMalformed},
		{"cut in a record", archive[:len(archive)-3], ErrHistoryMalformed},
		{"a record left out", join(join(recs[:n-3]...), join(recs[n-2:]...)), ErrHistoryMalformed},
		{"a record twice", join(join(recs[:n-1]...), recs[n-2], recs[n-1]), ErrHistoryMalformed},
		{"data after the end", join(archive, []byte{1, 0}), ErrHistoryMalformed},
		{"a record of no bytes", join(join(recs[:n-1]...), []byte{0}, recs[n-1]), ErrHistoryMalformed},
		{"a record too large", join(join(recs[:n-1]...), []byte{0xff, 0xff, 0xff, 0x7f}), ErrHistoryMalformed},
		{"an unknown record", join(join(recs[:n-1]...), frame(12, []byte{1}), recs[n-1]), ErrHistoryMalformed},
		{"a second header", join(recs[0], recs[1], recs[1], join(recs[2:]...)), ErrHistoryMalformed},
		{"crafted, well formed", crafted(good), nil},
		{"an outgoing message not sent", crafted(&other), ErrHistoryMalformed},
		{"a message of an unlisted conversation", crafted(&elsewhere), ErrHistoryMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tw := f.twin(t)
			before := dump(t, tw)
			_, err := tw.ReadHistory(context.Background(), bytes.NewReader(tc.archive), nil)
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if after := dump(t, tw); after != before {
				t.Fatalf("a refused archive wrote:\n%s", after)
			}
		})
	}
}

// FuzzReadHistory: whatever the bytes, ReadHistory either imports them
// with consistent chat summaries or refuses them having written nothing.
func FuzzReadHistory(f *testing.F) {
	fx := newHistoryFixture(f)
	for _, media := range []bool{false, true} {
		f.Add(fx.archive(f, HistoryOptions{Media: media}))
	}
	f.Add([]byte(historyMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		tw := fx.twin(t)
		before := dump(t, tw)
		_, err := tw.ReadHistory(context.Background(), bytes.NewReader(b), nil)
		if err != nil {
			if !errors.Is(err, ErrHistoryMalformed) && !errors.Is(err, ErrHistoryOtherAccount) {
				t.Fatalf("an error that is not a refusal: %v", err)
			}
			if after := dump(t, tw); after != before {
				t.Fatal("a refused archive wrote to the store")
			}
			return
		}
		if err := CheckChats(context.Background(), tw); err != nil {
			t.Fatal(err)
		}
	})
}
