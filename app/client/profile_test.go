//go:build !js

package client_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/internal/wait"
	"github.com/mutualcoop/mutual/relay/wire"
)

// waitContactChanged waits for a ContactChanged event about peer.
func (d *device) waitContactChanged(what string, peer *device) {
	d.t.Helper()
	d.waitEvent(what, func(ev client.Event) bool {
		cc, ok := ev.(client.ContactChanged)
		return ok && cc.User == peer.acct.User
	})
}

// waitProfileName waits until d knows peer's profile name as name.
func (d *device) waitProfileName(peer *device, name string) {
	d.t.Helper()
	d.eventually(peer.name+"'s profile name "+name, func() bool {
		ct, err := d.c.Contact(ctxT(d.t), peer.acct.User)
		return err == nil && ct.ProfileName == name
	})
}

// TestProfileName: a profile name reaches a contact end to end once they
// have accepted each other, and the account's other device; it is not a
// message; it survives restarts; it is never sent to a stranger, a
// pending request or a blocked user; a profile from a stranger makes no
// contact and is dropped.
func TestProfileName(t *testing.T) {
	r := startRelay(t)
	alice := r.newDevice("alice", "email:alice@example.org")
	alice2 := r.newDevice("alice2", "email:alice@example.org")
	bob := r.newDevice("bob", "email:bob@example.org")
	carol := r.newDevice("carol", "email:carol@example.org")
	eve := r.newDevice("eve", "email:eve@example.org")

	for _, tc := range []struct {
		name string
		in   string
	}{
		{"too long", strings.Repeat("x", client.MaxProfileName+1)},
		{"newline", "Alice\nLiddell"},
		{"bidi override", "\u202eAlice"},
		{"not UTF-8", "Alice\xff"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := alice.c.SetProfileName(ctxT(t), tc.in); !errors.Is(err, client.ErrBadProfileName) {
				t.Fatalf("SetProfileName(%q): %v", tc.in, err)
			}
		})
	}
	if err := alice.c.SetProfileName(ctxT(t), "  Alice Liddell "); err != nil {
		t.Fatal(err)
	}
	if name, err := alice.c.ProfileName(ctxT(t)); err != nil || name != "Alice Liddell" {
		t.Fatalf("profile name %q, %v", name, err)
	}

	// Alice adds Bob and writes; Bob accepts. Her profile goes once Bob
	// has written back (his delivery receipt), to him and to her other
	// device.
	befriend(t, alice, bob)
	alice.waitContactChanged("bob added", bob)
	bob.waitContactChanged("alice accepted", alice)
	bob.waitProfileName(alice, "Alice Liddell")
	if ct, _ := bob.c.Contact(ctxT(t), alice.acct.User); ct.Name() != "Alice Liddell" {
		t.Fatalf("bob calls alice %q", ct.Name())
	}
	wait.For(t, "alice2 takes the name over", func() bool {
		name, err := alice2.c.ProfileName(ctxT(t))
		return err == nil && name == "Alice Liddell"
	})
	// It is not a message.
	if ms := bob.messages(alice); len(ms) != 1 || ms[0].Text != "hello from alice" {
		t.Fatalf("bob's messages with alice: %+v", ms)
	}
	bob.checkChats(chatWant{alice, client.ContactAllowed, "hello from alice", false, 1})

	// Bob names himself: Alice sees it, unless she gave him a nickname.
	if err := bob.c.SetProfileName(ctxT(t), "Bob"); err != nil {
		t.Fatal(err)
	}
	alice.waitProfileName(bob, "Bob")
	if ct, _ := alice.c.Contact(ctxT(t), bob.acct.User); ct.Name() != "Bob" || ct.Address != bob.address {
		t.Fatalf("alice's contact: %+v, called %q", ct, ct.Name())
	}
	if err := alice.c.SetNickname(ctxT(t), bob.acct.User, "Bobby"); err != nil {
		t.Fatal(err)
	}
	if ct, _ := alice.c.Contact(ctxT(t), bob.acct.User); ct.Name() != "Bobby" || ct.ProfileName != "Bob" {
		t.Fatalf("after the nickname: %+v", ct)
	}
	alice.checkChats(chatWant{bob, client.ContactAllowed, "hello from alice", true, 0})

	// Everything survives restarts.
	alice.restart()
	bob.restart()
	if name, _ := alice.c.ProfileName(ctxT(t)); name != "Alice Liddell" {
		t.Fatalf("alice's name after a restart: %q", name)
	}
	if ct, _ := alice.c.Contact(ctxT(t), bob.acct.User); ct.ProfileName != "Bob" || ct.Name() != "Bobby" {
		t.Fatalf("alice's contact after a restart: %+v", ct)
	}
	if ct, _ := bob.c.Contact(ctxT(t), alice.acct.User); ct.ProfileName != "Alice Liddell" {
		t.Fatalf("bob's contact after a restart: %+v", ct)
	}

	// Eve, a stranger to Bob, sends him a profile as a contact request (a
	// client of her own making could): Bob drops it and makes no contact
	// or request of it.
	eve.stop()
	forged := forgeProfile(t, eve, bob, "Bob's bank")
	wait.For(t, "bob reads eve's profile", func() bool {
		seen, err := client.Seen(ctxT(t), bob.c, eve.acct.User, forged)
		return err == nil && seen
	})
	if ct, err := bob.c.Contact(ctxT(t), eve.acct.User); !errors.Is(err, client.ErrNotContact) {
		t.Fatalf("eve's profile made a contact: %+v %v", ct, err)
	}
	if rs, _ := bob.c.Requests(ctxT(t)); len(rs) != 0 {
		t.Fatalf("eve's profile made a request: %+v", rs)
	}
	eve.start()

	// Carol names herself and asks Bob: her profile waits until he
	// accepts (it never goes as a request); her request shows no name.
	if err := carol.c.SetProfileName(ctxT(t), "Carol"); err != nil {
		t.Fatal(err)
	}
	if _, err := carol.c.AddContact(ctxT(t), bob.address); err != nil {
		t.Fatal(err)
	}
	if queued, err := client.QueuedProfiles(ctxT(t), carol.c); err != nil || len(queued) != 0 {
		t.Fatalf("carol queued her profile for a stranger: %v %v", queued, err)
	}
	carol.send(bob, "it's carol")
	bob.waitEvent("carol's request", func(ev client.Event) bool {
		rr, ok := ev.(client.RequestReceived)
		return ok && rr.Contact.User == carol.acct.User
	})
	// Her request shows her address once confirmed (claims_test.go), and
	// no name.
	if rs, _ := bob.c.Requests(ctxT(t)); len(rs) != 1 || rs[0].ProfileName != "" ||
		(rs[0].Name() != carol.acct.User.String()[:8] && rs[0].Name() != "carol@example.org") {
		t.Fatalf("bob's requests: %+v", rs)
	}

	// Eve adds Bob (so she would take his messages) and Bob blocks her.
	// He renames himself while offline: the profile waits for Alice only,
	// not for Carol's pending request nor for Eve.
	if _, err := eve.c.AddContact(ctxT(t), bob.address); err != nil {
		t.Fatal(err)
	}
	if err := bob.c.Block(ctxT(t), eve.acct.User); err != nil {
		t.Fatal(err)
	}
	bob.waitContactChanged("eve blocked", eve)
	bob.stop()
	if err := bob.c.SetProfileName(ctxT(t), "Robert"); err != nil {
		t.Fatal(err)
	}
	queued, err := client.QueuedProfiles(ctxT(t), bob.c)
	if err != nil || !slices.Equal(queued, []wire.UserID{alice.acct.User}) {
		t.Fatalf("profiles queued: %v %v", queued, err)
	}
	bob.start()
	alice.waitProfileName(bob, "Robert")

	// Bob accepts Carol: each gets the other's name.
	if err := bob.c.Accept(ctxT(t), carol.acct.User); err != nil {
		t.Fatal(err)
	}
	carol.waitProfileName(bob, "Robert")
	bob.waitProfileName(carol, "Carol")
	bob.checkChats(
		chatWant{carol, client.ContactAllowed, "it's carol", false, 1},
		chatWant{alice, client.ContactAllowed, "hello from alice", false, 1},
	)

	// Clearing the name clears it for the contacts. Eve, blocked, never
	// heard of it.
	if err := bob.c.SetProfileName(ctxT(t), ""); err != nil {
		t.Fatal(err)
	}
	alice.waitProfileName(bob, "")
	carol.waitProfileName(bob, "")
	if ct, err := eve.c.Contact(ctxT(t), bob.acct.User); err != nil || ct.ProfileName != "" {
		t.Fatalf("eve's contact bob: %+v %v", ct, err)
	}
}

// forgeProfile sends a profile with name from d (whose Run is stopped)
// to peer as a contact request, over a connection of its own, and
// returns its message ID.
func forgeProfile(t *testing.T, d, peer *device, name string) wire.MessageID {
	t.Helper()
	return forge(t, d, peer, func(ctx context.Context, bundles []wire.Bundle) (*wire.Send, error) {
		return client.SealProfileRequest(ctx, d.c, peer.acct.User, name, bundles)
	})
}

// forge sends what seal encrypts from d (whose Run is stopped) to peer,
// given peer's bundles, over a connection of its own, and returns its
// message ID.
func forge(t *testing.T, d, peer *device, seal func(context.Context, []wire.Bundle) (*wire.Send, error)) wire.MessageID {
	t.Helper()
	ctx := ctxT(t)
	conn, err := transport.Dial(ctx, d.r.URL(), transport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	user, dev, cred := client.Credentials(d.c)
	if _, err := conn.Auth(ctx, user, dev, cred); err != nil {
		t.Fatal(err)
	}
	bundles, err := transport.Call[*wire.Bundles](ctx, conn, &wire.FetchBundles{User: peer.acct.User})
	if err != nil {
		t.Fatal(err)
	}
	send, err := seal(ctx, bundles.Bundles)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := transport.Call[*wire.Accepted](ctx, conn, send); err != nil {
		t.Fatalf("send: %v", err)
	}
	return send.MessageID
}
