//go:build !js

package client_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

// TestIdentityChanged: Bob loses his phone, registers again on a new one
// (a fresh store: a new device and a new identity key) and removes the
// old device. Alice's client notices before anything reaches the new
// key: her message waits, and so does what she writes after it, the
// safety numbers show the change; once she accepts it, the messages go.
func TestIdentityChanged(t *testing.T) {
	r := startRelay(t)
	alice := r.newDevice("alice", "email:alice@example.org")
	bob := r.newDevice("bob", "email:bob@example.org")
	befriend(t, alice, bob)
	bob.waitText(alice, "hello from alice")
	bob.send(alice, "see you")
	alice.waitText(bob, "see you")
	before, err := alice.c.SafetyNumbers(ctxT(t), bob.acct.User)
	if err != nil || len(before) != 1 {
		t.Fatalf("safety numbers: %+v %v", before, err)
	}

	bob2 := r.newDevice("bob2", bob.address)
	if bob2.acct.User != bob.acct.User || bob2.acct.Device == bob.acct.Device {
		t.Fatalf("new device %+v of %+v", bob2.acct, bob.acct)
	}
	if err := bob2.c.RemoveDevice(ctxT(t), bob.acct.Device); err != nil {
		t.Fatal(err)
	}
	if err := <-bob.done; !errors.Is(err, client.ErrDeviceRemoved) {
		t.Fatalf("the removed device's Run ended with %v", err)
	}
	bob.cancel = nil
	// Its credential is gone: it cannot connect again.
	if err := bob.c.Run(ctxT(t)); !errors.Is(err, client.ErrAuthFailed) {
		t.Fatalf("the removed device connecting again: %v", err)
	}
	devs, err := bob2.c.Devices(ctxT(t))
	if err != nil || len(devs) != 1 || devs[0].ID != bob2.acct.Device {
		t.Fatalf("devices: %+v %v", devs, err)
	}

	// Alice writes: the relay says Bob's devices changed, her client
	// fetches the new device's keys and stops.
	waiting := alice.send(bob, "are you there?")
	ev := alice.waitEvent("an identity change", func(ev client.Event) bool {
		ic, ok := ev.(client.IdentityChanged)
		return ok && ic.Contact == bob.acct.User
	}).(client.IdentityChanged)
	if !slices.Equal(ev.Devices, []wire.DeviceID{bob2.acct.Device}) {
		t.Fatalf("changed devices %v, want [%d]", ev.Devices, bob2.acct.Device)
	}
	if m, _ := alice.c.Message(ctxT(t), alice.acct.User, waiting); m.State != client.StateSending {
		t.Fatalf("the waiting message is %s", m.State)
	}
	// What she writes meanwhile waits too, behind it.
	later := alice.send(bob, "hello?")
	if m, _ := alice.c.Message(ctxT(t), alice.acct.User, later); m.State != client.StateSending {
		t.Fatalf("a message written after the change is %s", m.State)
	}
	if ct, _ := alice.c.Contact(ctxT(t), bob.acct.User); !ct.IdentityChanged {
		t.Fatalf("contact not flagged: %+v", ct)
	}
	after, err := alice.c.SafetyNumbers(ctxT(t), bob.acct.User)
	if err != nil || len(after) != 1 || after[0].Device != bob2.acct.Device || !after[0].Unverified {
		t.Fatalf("safety numbers after the change: %+v %v", after, err)
	}
	if after[0].Fingerprint.Displayable() == before[0].Fingerprint.Displayable() {
		t.Fatal("the safety number did not change")
	}
	if len(bob2.messages(alice)) != 0 {
		t.Fatalf("bob's new device got %+v before alice accepted", bob2.messages(alice))
	}

	// Alice compares numbers with Bob and accepts: the messages go, in
	// order.
	if err := alice.c.AcceptIdentity(ctxT(t), bob.acct.User); err != nil {
		t.Fatal(err)
	}
	if m := bob2.waitText(alice, "are you there?"); m.ID != waiting {
		t.Fatalf("got %+v", m)
	}
	alice.waitState(bob, waiting, client.StateDelivered)
	alice.waitState(bob, later, client.StateDelivered)
	if got := bob2.messages(alice); len(got) != 2 || got[0].ID != waiting || got[1].ID != later {
		t.Fatalf("bob's new device has %+v, want the two waiting messages in order", got)
	}
	bn, err := bob2.c.SafetyNumbers(ctxT(t), alice.acct.User)
	if err != nil || len(bn) != 1 {
		t.Fatalf("bob's safety numbers: %+v %v", bn, err)
	}
	an, _ := alice.c.SafetyNumbers(ctxT(t), bob.acct.User)
	if an[0].Unverified || an[0].Fingerprint.Displayable() != bn[0].Fingerprint.Displayable() {
		t.Fatalf("after accepting: %+v vs %+v", an, bn)
	}
	bob2.send(alice, "new phone, same bob")
	alice.waitText(bob, "new phone, same bob")
}

// TestOwnDevices: an account with two devices. Each device sends to the
// contact and to the other device, which files its copy in the right
// conversation and follows its receipts; the contact sees one contact
// with two devices, trusted at first contact.
func TestOwnDevices(t *testing.T) {
	r := startRelay(t)
	alice := r.newDevice("alice", "email:alice@example.org")
	alice2 := r.newDevice("alice2", "email:alice@example.org")
	bob := r.newDevice("bob", "email:bob@example.org")

	befriend(t, alice, bob)
	// Alice's second device got a copy of her first message.
	first := alice2.waitText(bob, "hello from alice")
	if !first.Outgoing || first.Peer != bob.acct.User || first.SenderDevice != alice.acct.Device {
		t.Fatalf("alice2's copy: %+v", first)
	}
	alice2.waitState(bob, first.ID, client.StateDelivered)

	// Bob writes to both of Alice's devices; her second one reads it and
	// her first one hears so.
	id := bob.send(alice, "hi both of you")
	m1 := alice.waitText(bob, "hi both of you")
	m2 := alice2.waitText(bob, "hi both of you")
	if m1.ID != id || m2.ID != id {
		t.Fatalf("got %+v and %+v", m1, m2)
	}
	if err := alice2.c.MarkRead(ctxT(t), m2.Conversation); err != nil {
		t.Fatal(err)
	}
	bob.waitState(alice, id, client.StateRead)
	alice.eventually("read on the other device", func() bool {
		m, err := alice.c.Message(ctxT(t), bob.acct.User, id)
		return err == nil && m.State == client.StateRead
	})

	// Each of Alice's devices told her it met the other.
	alice.waitEvent("alice2 seen", func(ev client.Event) bool {
		o, ok := ev.(client.OwnDeviceSeen)
		return ok && o.Device == alice2.acct.Device
	})
	alice2.waitEvent("alice seen", func(ev client.Event) bool {
		o, ok := ev.(client.OwnDeviceSeen)
		return ok && o.Device == alice.acct.Device
	})

	// Alice's second device writes too.
	id2 := alice2.send(bob, "from my laptop")
	if m := bob.waitText(alice, "from my laptop"); m.SenderDevice != alice2.acct.Device {
		t.Fatalf("bob got %+v", m)
	}
	alice.waitText(bob, "from my laptop")
	alice2.waitState(bob, id2, client.StateDelivered)
	alice.waitState(bob, id2, client.StateDelivered)

	nums, err := bob.c.SafetyNumbers(ctxT(t), alice.acct.User)
	if err != nil || len(nums) != 2 || nums[0].Unverified || nums[1].Unverified {
		t.Fatalf("bob's safety numbers with alice: %+v %v", nums, err)
	}
	if cs, _ := bob.c.Contacts(ctxT(t)); len(cs) != 1 || cs[0].IdentityChanged {
		t.Fatalf("bob's contacts: %+v", cs)
	}
}

// TestRequestsAndBlocking: a stranger's contact request is listed until
// answered; a sender blocked after their request is not told (their
// messages wait); Remove declines a request.
func TestRequestsAndBlocking(t *testing.T) {
	r := startRelay(t)
	bob := r.newDevice("bob", "email:bob@example.org")
	carol := r.newDevice("carol", "email:carol@example.org")
	dave := r.newDevice("dave", "email:dave@example.org")

	if _, err := carol.c.AddContact(ctxT(t), bob.address); err != nil {
		t.Fatal(err)
	}
	carol.send(bob, "buy now")
	bob.waitEvent("carol's request", func(ev client.Event) bool {
		rr, ok := ev.(client.RequestReceived)
		return ok && rr.Contact.User == carol.acct.User && rr.Contact.State == client.ContactRequest
	})
	if rs, err := bob.c.Requests(ctxT(t)); err != nil || len(rs) != 1 || rs[0].User != carol.acct.User {
		t.Fatalf("requests: %+v %v", rs, err)
	}
	if _, err := bob.c.Send(ctxT(t), carol.acct.User, "who are you?"); !errors.Is(err, client.ErrNotContact) {
		t.Fatalf("replying to an unanswered request: %v", err)
	}
	if err := bob.c.Block(ctxT(t), carol.acct.User); err != nil {
		t.Fatal(err)
	}
	if rs, _ := bob.c.Requests(ctxT(t)); len(rs) != 0 {
		t.Fatalf("requests after blocking: %+v", rs)
	}
	if cs, _ := bob.c.Contacts(ctxT(t)); len(cs) != 1 || cs[0].State != client.ContactBlocked {
		t.Fatalf("contacts after blocking: %+v", cs)
	}
	if _, err := bob.c.Send(ctxT(t), carol.acct.User, "go away"); !errors.Is(err, client.ErrBlocked) {
		t.Fatalf("sending to a blocked user: %v", err)
	}
	// Carol cannot tell the block from a request not answered yet: her
	// next message waits for the answer (TestRequestRefused has a block
	// before the request).
	id := carol.send(bob, "hello??")
	carol.eventually("carol awaiting bob's answer", func() bool {
		ct, err := carol.c.Contact(ctxT(t), bob.acct.User)
		return err == nil && ct.AwaitingAcceptance()
	})
	if m, err := carol.c.Message(ctxT(t), carol.acct.User, id); err != nil || m.State != client.StateSending {
		t.Fatalf("carol's message to the user who blocked her: %+v %v", m, err)
	}

	// Dave's request is declined.
	if _, err := dave.c.AddContact(ctxT(t), bob.address); err != nil {
		t.Fatal(err)
	}
	dave.send(bob, "hi, it's dave")
	bob.waitEvent("dave's request", func(ev client.Event) bool {
		rr, ok := ev.(client.RequestReceived)
		return ok && rr.Contact.User == dave.acct.User
	})
	if err := bob.c.Remove(ctxT(t), dave.acct.User); err != nil {
		t.Fatal(err)
	}
	if rs, _ := bob.c.Requests(ctxT(t)); len(rs) != 0 {
		t.Fatalf("requests after declining: %+v", rs)
	}
	if _, err := bob.c.Contact(ctxT(t), dave.acct.User); !errors.Is(err, client.ErrNotContact) {
		t.Fatalf("declined request still a contact: %v", err)
	}
}
