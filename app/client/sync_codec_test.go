package client

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/app/store/memstore"
	"github.com/mutualcoop/mutual/relay/wire"
)

// TestContactsContentRoundTrip: a claim and a contacts sync read back as
// written.
func TestContactsContentRoundTrip(t *testing.T) {
	want := &content{Kind: kindContacts, SentAt: 5, Peer: wire.UserID{1}, Address: "email:Ann@example.org", Contacts: []syncedContact{
		{User: wire.UserID{2}, VerifiedAddress: "email:Ben@example.org", ProfileName: "Ben", ProfileAt: 7, Nickname: "B", State: ContactAllowed, Accepted: true},
		{User: wire.UserID{3}, State: ContactBlocked},
	}}
	got, err := openContent(mustSeal(t, want))
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, %v", got, err)
	}
	bad := &content{Kind: kindContacts, Contacts: []syncedContact{{User: wire.UserID{2}, ProfileName: "\u202eBen"}}}
	if _, err := parseContent(bad.marshal()); err == nil {
		t.Fatal("a synced profile name with a bidirectional control was taken")
	}
}

// TestContactsSyncSplit: a contacts sync holds every contact but
// unanswered requests, in contents of at most maxSyncBytes; a device that
// knows nothing of anyone sends none.
func TestContactsSyncSplit(t *testing.T) {
	st := memstore.New()
	c := offlineClient(t, st)
	ctx := context.Background()
	const n = 300
	sync := func() []*content {
		t.Helper()
		err := c.update(ctx, func(ts *txState) error {
			_, err := c.enqueueContactsSync(ts)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		var out []*content
		err = st.Update(ctx, func(tx store.Tx) error {
			var keys [][]byte
			err := tx.Scan(bOutbox, nil, func(k, v []byte) error {
				e, err := parseOutbox(v)
				if err != nil {
					return err
				}
				m, err := openContent(e.Padded)
				if err != nil {
					return err
				}
				if e.Peer != c.me().User || m.Kind != kindContacts || len(m.marshal()) > maxSyncBytes {
					t.Errorf("entry to %s, kind %d, %d bytes", e.Peer, m.Kind, len(m.marshal()))
				}
				out = append(out, m)
				keys = append(keys, append([]byte(nil), k...))
				return nil
			})
			for _, k := range keys {
				if err == nil {
					err = tx.Delete(bOutbox, k)
				}
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}

	for range n {
		addContact(t, c, ContactAllowed, time.UnixMilli(1))
	}
	addContact(t, c, ContactRequest, time.UnixMilli(1))
	if got := sync(); len(got) != 0 {
		t.Fatalf("a device that knows no address, name or nickname sent %d contents", len(got))
	}
	err := c.update(ctx, func(ts *txState) error {
		return ts.tx.Scan(bContacts, nil, func(_, v []byte) error {
			ct, err := parseContact(v, c.me().User)
			if err != nil || ct.State != ContactAllowed {
				return err
			}
			ct.VerifiedAddress = "email:" + strings.Repeat("a", 64) + "@example.org"
			ct.Nickname = strings.Repeat("n", MaxNickname)
			return ts.tx.Put(bContacts, ct.User[:], ct.marshal())
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	got := sync()
	total := 0
	for _, m := range got {
		total += len(m.Contacts)
	}
	if total != n || len(got) < 2 {
		t.Fatalf("%d contacts in %d contents, want %d in several", total, len(got), n)
	}
}
