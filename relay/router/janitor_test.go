package router_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/mutualcoop/mutual/relay/bus"
	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/router"
	"github.com/mutualcoop/mutual/relay/wire"
)

func (f *fixture) janitor(t *testing.T) *router.Janitor {
	t.Helper()
	j, err := router.NewJanitor(router.JanitorConfig{PageSize: 2}, f.bus, f.dir)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func (f *fixture) sweep(t *testing.T, j *router.Janitor) {
	t.Helper()
	if err := j.Sweep(context.Background()); err != nil {
		t.Fatalf("sweep: %v", err)
	}
}

func (f *fixture) fill(t *testing.T, topic string, n int) {
	t.Helper()
	for range n {
		if err := f.bus.Append(context.Background(), bus.Message{Topic: topic, Value: []byte("record")}); err != nil {
			t.Fatal(err)
		}
	}
}

func (f *fixture) checkBounds(t *testing.T, topic string, oldest, next int64) {
	t.Helper()
	o, n, err := f.bus.Bounds(context.Background(), topic, 0)
	if err != nil {
		t.Fatal(err)
	}
	if o != oldest || n != next {
		t.Fatalf("%s holds %d..%d, want %d..%d", topic, o, n, oldest, next)
	}
}

// account creates a user with an inbox and n devices at offset 0.
func (f *fixture) account(t *testing.T, n int) (wire.UserID, []wire.DeviceID) {
	t.Helper()
	ctx := context.Background()
	u := f.user(t) // an account
	var ids []wire.DeviceID
	for range n {
		id, err := f.dir.AddDevice(ctx, u, "device", bytes.Repeat([]byte{1}, 32), 0)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return u, ids
}

func (f *fixture) ack(t *testing.T, u wire.UserID, d wire.DeviceID, offset int64) {
	t.Helper()
	if err := f.dir.CommitOffsets(context.Background(), []directory.DeviceOffset{{User: u, Device: d, Offset: offset}}); err != nil {
		t.Fatal(err)
	}
}

// TestJanitorInboxes: an inbox keeps what one of its user's devices has
// not acknowledged, and nothing else.
func TestJanitorInboxes(t *testing.T) {
	f := newFixture(t)
	j := f.janitor(t)
	two, devs := f.account(t, 2)
	none, _ := f.account(t, 0)
	idle, _ := f.account(t, 1) // nothing in its inbox
	f.account(t, 1)            // more users than one page
	f.fill(t, bus.InboxTopic(two), 5)
	f.fill(t, bus.InboxTopic(none), 3)

	f.sweep(t, j)
	f.checkBounds(t, bus.InboxTopic(two), 0, 5)
	f.checkBounds(t, bus.InboxTopic(none), 3, 3) // no device will ever read it
	f.checkBounds(t, bus.InboxTopic(idle), 0, 0)

	f.ack(t, two, devs[0], 5)
	f.sweep(t, j)
	f.checkBounds(t, bus.InboxTopic(two), 0, 5) // the other device has read nothing

	f.ack(t, two, devs[1], 2)
	f.sweep(t, j)
	f.checkBounds(t, bus.InboxTopic(two), 2, 5)

	f.ack(t, two, devs[1], 5)
	f.fill(t, bus.InboxTopic(two), 1)
	f.sweep(t, j)
	f.checkBounds(t, bus.InboxTopic(two), 5, 6)

	// A janitor that starts afresh (a restarted router) finds the same.
	f.sweep(t, f.janitor(t))
	f.checkBounds(t, bus.InboxTopic(two), 5, 6)
	f.checkBounds(t, bus.InboxTopic(none), 3, 3)
}

// TestJanitorIn: `in` keeps only what the router has not routed.
func TestJanitorIn(t *testing.T) {
	f := newFixture(t)
	j := f.janitor(t)
	f.fill(t, bus.InTopic, 4)
	f.sweep(t, j)
	f.checkBounds(t, bus.InTopic, 0, 4) // nothing routed yet

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seen := 0
	f.bus.Consume(ctx, "router", bus.InTopic, func(_ context.Context, batch []bus.Record) error {
		if seen += len(batch); seen == 4 {
			cancel()
		}
		return nil
	})
	f.sweep(t, j)
	f.checkBounds(t, bus.InTopic, 4, 4)
}

// TestJanitorControl: announcements are kept for one round.
func TestJanitorControl(t *testing.T) {
	f := newFixture(t)
	j := f.janitor(t)
	f.sweep(t, j) // no control topic yet
	if err := f.bus.CreateTopic(context.Background(), bus.ControlTopic, 1); err != nil {
		t.Fatal(err)
	}
	f.fill(t, bus.ControlTopic, 2)
	f.sweep(t, j)
	f.checkBounds(t, bus.ControlTopic, 0, 2)
	f.fill(t, bus.ControlTopic, 1)
	f.sweep(t, j)
	f.checkBounds(t, bus.ControlTopic, 2, 3)
	f.sweep(t, j)
	f.checkBounds(t, bus.ControlTopic, 3, 3)
}
