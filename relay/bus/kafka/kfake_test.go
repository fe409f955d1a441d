package kafka

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/mutualcoop/mutual/relay/bus"
)

// startKfake runs an in-process Kafka (franz-go's kfake) for the test.
func startKfake(t *testing.T) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatalf("start kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

func TestKfake(t *testing.T) {
	testBus(t, openWith(startKfake(t), false))
}

func TestKfakeConformance(t *testing.T) {
	conformance(t, startKfake(t), false)
}

// TestKfakeLeaderMove moves a subscribed partition to another broker: the
// subscription follows it without losing or repeating records.
func TestKfakeLeaderMove(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(3))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	b := openWith(c.ListenAddrs(), false)(t, nil)
	ctx := testCtx(t)
	topic := inbox()
	if err := b.CreateTopic(ctx, topic, 1); err != nil {
		t.Fatal(err)
	}
	s, err := b.Subscribe(ctx, topic, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	appendValues(t, ctx, b, topic, 0, 3)
	checkSequence(t, readN(t, ctx, s, 3), topic, 0)
	name := b.cfg.TopicPrefix + topic
	for i := range 3 {
		leader := c.LeaderFor(name, 0)
		next := (leader + 1) % 3
		if err := c.MoveTopicPartition(name, 0, next); err != nil {
			t.Fatalf("move to %d: %v", next, err)
		}
		from := 3 + 2*i
		appendValues(t, ctx, b, topic, from, from+2)
		checkSequence(t, readN(t, ctx, s, 2), topic, int64(from))
	}
}

// TestKfakeRetention removes records a parked subscription still wants:
// it reads what it had buffered, then ends with bus.ErrOutOfRange.
func TestKfakeRetention(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	// One record batch per fetch, one buffered record per subscription.
	b := openWith(c.ListenAddrs(), false)(t, func(c *Config) {
		c.SubscriptionBuffer, c.BatchSize, c.PartitionMaxBytes = 1, 1, 1024
	})
	ctx := testCtx(t)
	topic := inbox()
	if err := b.CreateTopic(ctx, topic, 1); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		v := append(fmt.Appendf(nil, "m%d", i), make([]byte, 2000)...)
		if err := b.Append(ctx, bus.Message{Topic: topic, Value: v}); err != nil {
			t.Fatal(err)
		}
	}
	s, err := b.Subscribe(ctx, topic, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	recs, err := s.Next(ctx)
	if err != nil || len(recs) != 1 || recs[0].Offset != 0 {
		t.Fatalf("first Next = %d records, %v", len(recs), err)
	}
	if err := c.DeleteRecords(b.cfg.TopicPrefix+topic, 0, 8); err != nil {
		t.Fatal(err)
	}
	if o, n, err := b.Bounds(ctx, topic, 0); err != nil || o != 8 || n != 10 {
		t.Fatalf("bounds after retention = %d, %d, %v; want 8, 10", o, n, err)
	}
	if _, err := b.Subscribe(ctx, topic, 0, 7); !errors.Is(err, bus.ErrOutOfRange) {
		t.Fatalf("subscribe below the oldest offset: %v, want ErrOutOfRange", err)
	}
	// Whatever was fetched before the removal is still handed out, in
	// order; then the subscription ends.
	want := int64(1)
	for {
		recs, err := s.Next(ctx)
		if errors.Is(err, bus.ErrOutOfRange) {
			break
		}
		if err != nil {
			t.Fatalf("Next: %v, want records then ErrOutOfRange", err)
		}
		for _, r := range recs {
			if r.Offset != want {
				t.Fatalf("record at %d, want %d", r.Offset, want)
			}
			want++
		}
		if want > 8 {
			t.Fatalf("read up to %d: records past the removal point came through a gap", want)
		}
	}
	s2, err := b.Subscribe(ctx, topic, 0, 8)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	got := readN(t, ctx, s2, 2)
	if got[0].Offset != 8 || got[1].Offset != 9 {
		t.Fatalf("after retention read offsets %d, %d; want 8, 9", got[0].Offset, got[1].Offset)
	}
}

// TestKfakeFetchFaults makes the broker drop the fetch session and refuse
// the partition: the subscription rebuilds its session, finds the leader
// again and reads on without gaps.
func TestKfakeFetchFaults(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	b := openWith(c.ListenAddrs(), false)(t, nil)
	ctx := testCtx(t)
	topic := inbox()
	if err := b.CreateTopic(ctx, topic, 1); err != nil {
		t.Fatal(err)
	}
	s, err := b.Subscribe(ctx, topic, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	appendValues(t, ctx, b, topic, 0, 2)
	checkSequence(t, readN(t, ctx, s, 2), topic, 0)

	faults := []kfake.Fault{
		{Keys: []kmsg.Key{kmsg.Fetch}, TopLevel: true, Err: kerr.FetchSessionIDNotFound},
		{Keys: []kmsg.Key{kmsg.Fetch}, TopLevel: true, Err: kerr.InvalidFetchSessionEpoch},
		{Keys: []kmsg.Key{kmsg.Fetch}, Topic: b.cfg.TopicPrefix + topic, Err: kerr.NotLeaderForPartition, Count: 2},
	}
	next := 2
	for _, f := range faults {
		h := c.Fault(f)
		if err := h.Wait(ctx, max(f.Count, 1)); err != nil {
			t.Fatalf("fault %v not hit: %v", f.Err, err)
		}
		appendValues(t, ctx, b, topic, next, next+2)
		checkSequence(t, readN(t, ctx, s, 2), topic, int64(next))
		next += 2
	}
}

// TestKfakeSubscribeShares checks that concurrent subscriptions share
// Metadata and ListOffsets requests instead of sending one each.
func TestKfakeSubscribeShares(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	b := openWith(c.ListenAddrs(), false)(t, nil)
	ctx := testCtx(t)
	const n = 200
	topics := make([]string, n)
	for i := range topics {
		topics[i] = inbox()
		if err := b.CreateTopic(ctx, topics[i], 1); err != nil {
			t.Fatal(err)
		}
		appendValues(t, ctx, b, topics[i], 0, 1)
	}
	// A fresh bus knows none of the topics.
	r := openWith(c.ListenAddrs(), false)(t, func(c *Config) { c.TopicPrefix = b.cfg.TopicPrefix })
	lists := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.ListOffsets}, Observe: true, Count: -1})
	metas := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Metadata}, Observe: true, Count: -1})
	defer lists.Remove()
	defer metas.Remove()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for _, topic := range topics {
		wg.Go(func() {
			s, err := r.Subscribe(ctx, topic, 0, 0)
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			if _, err := s.Next(ctx); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Each round costs one Metadata and two ListOffsets requests; the
	// callers arrive over a few rounds, far fewer than one per caller.
	if got := lists.Hits(); got > n/4 {
		t.Errorf("%d ListOffsets requests for %d subscriptions", got, n)
	}
	if got := metas.Hits(); got > n/8 {
		t.Errorf("%d Metadata requests for %d subscriptions", got, n)
	}
	t.Logf("%d subscriptions: %d Metadata, %d ListOffsets requests", n, metas.Hits(), lists.Hits())
}
