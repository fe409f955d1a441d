package router_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/bus"
	"github.com/mutualcoop/mutual/relay/bus/embedded"
	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/directory/sqlite"
	"github.com/mutualcoop/mutual/relay/router"
	"github.com/mutualcoop/mutual/relay/wire"
)

type fixture struct {
	bus *embedded.Bus
	dir *sqlite.Directory
	now time.Time
	mu  sync.Mutex
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	b, err := embedded.Open(embedded.Config{Dir: filepath.Join(tb.TempDir(), "bus")})
	if err != nil {
		tb.Fatal(err)
	}
	d, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(tb.TempDir(), "dir.db")})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { b.Close(); d.Close() })
	if err := b.CreateTopic(context.Background(), bus.InTopic, 1); err != nil {
		tb.Fatal(err)
	}
	return &fixture{bus: b, dir: d, now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

// user creates an account and its inbox.
func (f *fixture) user(tb testing.TB) wire.UserID {
	u := wire.NewUserID()
	if _, _, err := f.dir.CreateAccount(context.Background(), u[:], u); err != nil {
		tb.Fatal(err)
	}
	if err := f.bus.CreateTopic(context.Background(), bus.InboxTopic(u), 1); err != nil {
		tb.Fatal(err)
	}
	return u
}

func (f *fixture) router(tb testing.TB) *router.Router {
	r, err := router.New(router.Config{Now: f.clock, AllowCacheTTL: time.Second}, f.bus, f.dir)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func record(from, to wire.UserID, kind wire.Kind, devices ...wire.DeviceID) bus.Record {
	rec := bus.Parcel{MessageID: wire.NewMessageID(), Sender: from, SenderDevice: 1, Kind: kind}
	for _, d := range devices {
		rec.Recipients = append(rec.Recipients, wire.Recipient{User: to, Device: d, Ciphertext: []byte(fmt.Sprint("for ", d))})
	}
	return bus.Record{Topic: bus.InTopic, Value: bus.AppendParcel(nil, &rec)}
}

// inbox returns what u's inbox holds.
func (f *fixture) inbox(tb testing.TB, u wire.UserID) []*bus.Parcel {
	tb.Helper()
	ctx := context.Background()
	_, next, err := f.bus.Bounds(ctx, bus.InboxTopic(u), 0)
	if err != nil {
		tb.Fatal(err)
	}
	var out []*bus.Parcel
	if next == 0 {
		return nil
	}
	sub, err := f.bus.Subscribe(ctx, bus.InboxTopic(u), 0, 0)
	if err != nil {
		tb.Fatal(err)
	}
	defer sub.Close()
	for int64(len(out)) < next {
		recs, err := sub.Next(ctx)
		if err != nil {
			tb.Fatal(err)
		}
		for _, r := range recs {
			rec, err := bus.DecodeParcel(r.Value)
			if err != nil {
				tb.Fatal(err)
			}
			out = append(out, rec)
		}
	}
	return out
}

func TestRoute(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	r := f.router(t)
	alice, bob, carol := f.user(t), f.user(t), f.user(t)
	if err := f.dir.SetContact(ctx, bob, alice, directory.Allowed, 100); err != nil {
		t.Fatal(err)
	}
	if err := f.dir.SetContact(ctx, bob, carol, directory.Blocked, 100); err != nil {
		t.Fatal(err)
	}
	dave := f.user(t)
	batch := []bus.Record{
		record(alice, bob, wire.KindMessage, 1, 2), // allowed: both devices
		record(carol, bob, wire.KindMessage, 1),    // blocked
		record(carol, bob, wire.KindRequest, 1),    // blocked: requests too, without a word
		record(dave, bob, wire.KindMessage, 1),     // stranger
		record(dave, bob, wire.KindRequest, 1),     // stranger's request: allowed once
		record(dave, bob, wire.KindRequest, 1),     // ... and no more
		record(alice, alice, wire.KindMessage, 2),  // own other device: always
	}
	if err := r.Route(ctx, batch); err != nil {
		t.Fatal(err)
	}
	in := f.inbox(t, bob)
	if len(in) != 2 || in[0].Sender != alice || len(in[0].Recipients) != 2 || in[1].Sender != dave || in[1].Kind != wire.KindRequest {
		t.Fatalf("bob's inbox: %+v", in)
	}
	if got := f.inbox(t, carol); len(got) != 1 || got[0].Kind != wire.KindRejected || got[0].Code != wire.CodeNotAccepted || got[0].Subject != bob {
		t.Fatalf("carol's inbox: %+v", got)
	}
	daves := f.inbox(t, dave)
	if len(daves) != 2 || daves[0].Code != wire.CodeNotAccepted || daves[1].Code != wire.CodeRateLimited {
		t.Fatalf("dave's inbox: %+v", daves)
	}
	if got := f.inbox(t, alice); len(got) != 1 || got[0].Kind != wire.KindMessage {
		t.Fatalf("alice's inbox: %+v", got)
	}
}

func TestBlockTakesEffect(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	r := f.router(t)
	alice, bob := f.user(t), f.user(t)
	if err := f.dir.SetContact(ctx, bob, alice, directory.Allowed, 100); err != nil {
		t.Fatal(err)
	}
	if err := r.Route(ctx, []bus.Record{record(alice, bob, wire.KindMessage, 1)}); err != nil {
		t.Fatal(err)
	}
	if err := f.dir.SetContact(ctx, bob, alice, directory.Blocked, 100); err != nil {
		t.Fatal(err)
	}
	// Remembered "allowed" lasts until the cache entry expires...
	f.advance(2 * time.Second)
	if err := r.Route(ctx, []bus.Record{record(alice, bob, wire.KindMessage, 1)}); err != nil {
		t.Fatal(err)
	}
	// ... or until the gateway tells the router.
	if err := f.dir.SetContact(ctx, bob, alice, directory.Allowed, 100); err != nil {
		t.Fatal(err)
	}
	if err := r.Route(ctx, []bus.Record{record(alice, bob, wire.KindMessage, 1)}); err != nil {
		t.Fatal(err)
	}
	if err := f.dir.SetContact(ctx, bob, alice, directory.Blocked, 100); err != nil {
		t.Fatal(err)
	}
	r.Forget(bob, alice)
	if err := r.Route(ctx, []bus.Record{record(alice, bob, wire.KindMessage, 1)}); err != nil {
		t.Fatal(err)
	}
	if got := len(f.inbox(t, bob)); got != 2 {
		t.Fatalf("bob's inbox holds %d records, want 2 (the ones before each block)", got)
	}
}

func TestUndecodableRecordIsDropped(t *testing.T) {
	f := newFixture(t)
	r := f.router(t)
	if err := r.Route(context.Background(), []bus.Record{{Value: []byte{0xff, 0xff}}}); err != nil {
		t.Fatalf("a damaged record must not stall routing: %v", err)
	}
}

// TestRunCommitsAfterAppend runs the router on the bus: what it routed is
// not routed again by a router started later.
func TestRunCommitsAfterAppend(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	alice, bob := f.user(t), f.user(t)
	if err := f.dir.SetContact(ctx, bob, alice, directory.Allowed, 100); err != nil {
		t.Fatal(err)
	}
	send := func(n int) {
		for range n {
			if err := f.bus.Append(ctx, bus.Message{Topic: bus.InTopic, Key: alice[:], Value: record(alice, bob, wire.KindMessage, 1).Value}); err != nil {
				t.Fatal(err)
			}
		}
	}
	runUntil := func(want int) {
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			f.router(t).Run(rctx)
		}()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		deadline := time.NewTimer(20 * time.Second)
		defer deadline.Stop()
		for {
			_, next, err := f.bus.Bounds(ctx, bus.InboxTopic(bob), 0)
			if err != nil {
				t.Fatal(err)
			}
			if next >= int64(want) {
				break
			}
			select {
			case <-tick.C:
			case <-deadline.C:
				t.Fatalf("inbox has %d records, want %d", next, want)
			}
		}
		cancel()
		<-done
	}
	send(10)
	runUntil(10)
	send(5)
	runUntil(15)
	if got := len(f.inbox(t, bob)); got != 15 {
		t.Fatalf("inbox holds %d records, want 15: a committed batch was routed again", got)
	}
}

// flakyBus is the embedded bus with appends that fail on demand, as when
// the disk or Kafka is briefly unavailable.
type flakyBus struct {
	*embedded.Bus
	failures atomic.Int32 // appends still to fail
}

func (b *flakyBus) Append(ctx context.Context, msgs ...bus.Message) error {
	if b.failures.Add(-1) >= 0 {
		return errors.New("append failed")
	}
	return b.Bus.Append(ctx, msgs...)
}

// TestRequestRoutedAgain: a batch holding a contact request that is routed
// a second time (its append failed, or the router stopped before moving
// past it) delivers the request again instead of refusing it, and the
// request counts once against the sender's limit.
func TestRequestRoutedAgain(t *testing.T) {
	lim := directory.RequestLimits{PairWindow: 24 * time.Hour, PerSender: 2, SenderWindow: 24 * time.Hour}
	tests := []struct {
		name  string
		route func(t *testing.T, f *fixture, r *router.Router, b *flakyBus, req bus.Record)
		want  int // copies of the request in the recipient's inbox
	}{
		{"append failed once", func(t *testing.T, f *fixture, r *router.Router, b *flakyBus, req bus.Record) {
			// The router consumes `in`: the failed batch is read again.
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			b.failures.Store(1)
			if err := f.bus.Append(ctx, bus.Message{Topic: bus.InTopic, Value: req.Value}); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				r.Run(ctx)
			}()
			defer func() { cancel(); <-done }()
			rec, err := bus.DecodeParcel(req.Value)
			if err != nil {
				t.Fatal(err)
			}
			f.waitInboxes(t, rec.Sender, rec.Recipients[0].User)
			if b.failures.Load() >= 0 {
				t.Fatal("the append did not fail")
			}
		}, 1},
		{"routed again after its append", func(t *testing.T, f *fixture, r *router.Router, b *flakyBus, req bus.Record) {
			// As after a crash between the append and the commit.
			for range 2 {
				if err := r.Route(context.Background(), []bus.Record{req}); err != nil {
					t.Fatal(err)
				}
			}
		}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t)
			b := &flakyBus{Bus: f.bus}
			r, err := router.New(router.Config{Now: f.clock, Requests: lim}, b, f.dir)
			if err != nil {
				t.Fatal(err)
			}
			dave, bob, carol, erin := f.user(t), f.user(t), f.user(t), f.user(t)
			req := record(dave, bob, wire.KindRequest, 1)
			tt.route(t, f, r, b, req)

			want, err := bus.DecodeParcel(req.Value)
			if err != nil {
				t.Fatal(err)
			}
			got := f.inbox(t, bob)
			if len(got) != tt.want {
				t.Fatalf("bob's inbox holds %d records, want %d copies of the request", len(got), tt.want)
			}
			for _, rec := range got {
				if rec.Kind != wire.KindRequest || rec.MessageID != want.MessageID || rec.Sender != dave {
					t.Fatalf("bob got %+v, want dave's request", rec)
				}
			}
			if got := f.inbox(t, dave); len(got) != 0 {
				t.Fatalf("dave was told %+v about a request that was delivered", got[0])
			}

			// The request counted once: one more recipient fits under the
			// limit of two a day, and no third.
			if err := r.Route(ctx, []bus.Record{record(dave, carol, wire.KindRequest, 1), record(dave, erin, wire.KindRequest, 1)}); err != nil {
				t.Fatal(err)
			}
			if got := f.inbox(t, carol); len(got) != 1 || got[0].Kind != wire.KindRequest {
				t.Fatalf("carol's inbox: %+v, want dave's second request", got)
			}
			if got := f.inbox(t, dave); len(got) != 1 || got[0].Code != wire.CodeRateLimited || got[0].Subject != erin {
				t.Fatalf("dave's inbox: %+v, want one rate_limited notice for erin", got)
			}
		})
	}
}

// waitInboxes waits until one of the users' inboxes holds a record.
func (f *fixture) waitInboxes(t *testing.T, users ...wire.UserID) {
	t.Helper()
	ctx := context.Background()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	for {
		for _, u := range users {
			_, next, err := f.bus.Bounds(ctx, bus.InboxTopic(u), 0)
			if err != nil {
				t.Fatal(err)
			}
			if next > 0 {
				return
			}
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			t.Fatal("nothing was routed")
		}
	}
}

// BenchmarkRoute measures one router step: a batch of 100 allowed
// messages decoded, checked and appended durably to inboxes.
func BenchmarkRoute(b *testing.B) {
	ctx := context.Background()
	f := newFixture(b)
	r := f.router(b)
	var batch []bus.Record
	for range 10 {
		from, to := f.user(b), f.user(b)
		if err := f.dir.SetContact(ctx, to, from, directory.Allowed, 100); err != nil {
			b.Fatal(err)
		}
		for range 10 {
			batch = append(batch, record(from, to, wire.KindMessage, 1))
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Route(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "msgs/s")
}
