package kafka

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/mutualcoop/mutual/relay/bus"
	"github.com/mutualcoop/mutual/relay/bus/bustest"
	"github.com/mutualcoop/mutual/relay/wire"
)

// opener starts a bus for one test; adjust may change the configuration.
type opener func(t *testing.T, adjust func(*Config)) *Bus

// openWith returns an opener for brokers that isolates each bus under a
// fresh topic prefix, so tests can share a long-lived broker. With drop,
// the prefix's topics and groups are deleted when the test ends.
func openWith(brokers []string, drop bool) opener {
	return func(t *testing.T, adjust func(*Config)) *Bus {
		t.Helper()
		return openPrefixed(t, brokers, "t"+randHex(6)+".", drop, adjust)
	}
}

// openPrefixed opens a bus on brokers under prefix.
func openPrefixed(t *testing.T, brokers []string, prefix string, drop bool, adjust func(*Config)) *Bus {
	t.Helper()
	cfg := Config{Brokers: brokers, TopicPrefix: prefix, SessionTimeout: 6 * time.Second}
	if adjust != nil {
		adjust(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := New(ctx, cfg)
	if err != nil {
		t.Fatalf("open bus: %v", err)
	}
	if drop {
		t.Cleanup(func() { dropPrefix(t, brokers, prefix) }) // after Close below
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("close bus: %v", err)
		}
	})
	return b
}

// dropPrefix deletes the topics and consumer groups named with prefix, so a
// long-lived broker does not accumulate test topics.
func dropPrefix(t testing.TB, brokers []string, prefix string) {
	conf := sarama.NewConfig()
	conf.Version = sarama.V4_1_0_0
	admin, err := sarama.NewClusterAdmin(brokers, conf)
	if err != nil {
		t.Errorf("drop %s*: %v", prefix, err)
		return
	}
	defer admin.Close()
	topics, err := admin.ListTopics()
	if err != nil {
		t.Errorf("drop %s*: list topics: %v", prefix, err)
		return
	}
	var names []string
	for name := range topics {
		if strings.HasPrefix(name, prefix) {
			names = append(names, name)
		}
	}
	controller, err := admin.Controller()
	if err != nil {
		t.Errorf("drop %s*: %v", prefix, err)
		return
	}
	for len(names) > 0 {
		n := min(len(names), 1000)
		resp, err := controller.DeleteTopics(sarama.NewDeleteTopicsRequest(conf.Version, names[:n], time.Minute))
		if err != nil {
			t.Errorf("drop %s*: %v", prefix, err)
			return
		}
		for name, kerr := range resp.TopicErrorCodes {
			if !errors.Is(kerr, sarama.ErrNoError) && !errors.Is(kerr, sarama.ErrUnknownTopicOrPartition) {
				t.Errorf("drop topic %s: %v", name, kerr)
			}
		}
		names = names[n:]
	}
	groups, err := admin.ListConsumerGroups()
	if err != nil {
		t.Errorf("drop %s*: list groups: %v", prefix, err)
		return
	}
	for name := range groups {
		if strings.HasPrefix(name, prefix) {
			if err := admin.DeleteConsumerGroup(name); err != nil && !errors.Is(err, sarama.ErrGroupIDNotFound) {
				t.Errorf("drop group %s: %v", name, err)
			}
		}
	}
}

// conformance runs the bus conformance suite against brokers.
func conformance(t *testing.T, brokers []string, drop bool) {
	t.Run("Run", func(t *testing.T) {
		bustest.Run(t, func(t *testing.T) bus.Bus { return openWith(brokers, drop)(t, nil) })
	})
	t.Run("RunReopen", func(t *testing.T) {
		bustest.RunReopen(t, func(t *testing.T) (bus.Bus, func(t *testing.T) bus.Bus) {
			prefix := "t" + randHex(6) + "."
			b := openPrefixed(t, brokers, prefix, drop, nil)
			return b, func(t *testing.T) bus.Bus { return openPrefixed(t, brokers, prefix, false, nil) }
		})
	})
}

func randHex(n int) string {
	p := make([]byte, n)
	rand.Read(p)
	return hex.EncodeToString(p)
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func inbox() string { return bus.InboxTopic(wire.NewUserID()) }

// readN reads exactly n records from s.
func readN(t *testing.T, ctx context.Context, s bus.Subscription, n int) []bus.Record {
	t.Helper()
	var got []bus.Record
	for len(got) < n {
		recs, err := s.Next(ctx)
		if err != nil {
			t.Fatalf("next after %d of %d records: %v", len(got), n, err)
		}
		got = append(got, recs...)
	}
	if len(got) != n {
		t.Fatalf("read %d records, want %d", len(got), n)
	}
	return got
}

func appendValues(t *testing.T, ctx context.Context, b *Bus, topic string, from, to int) {
	t.Helper()
	msgs := make([]bus.Message, 0, to-from)
	for i := from; i < to; i++ {
		msgs = append(msgs, bus.Message{Topic: topic, Value: fmt.Appendf(nil, "m%d", i)})
	}
	if err := b.Append(ctx, msgs...); err != nil {
		t.Fatalf("append: %v", err)
	}
}

func checkSequence(t *testing.T, recs []bus.Record, topic string, from int64) {
	t.Helper()
	for i, r := range recs {
		off := from + int64(i)
		if r.Topic != topic || r.Partition != 0 || r.Offset != off || string(r.Value) != fmt.Sprintf("m%d", off) {
			t.Fatalf("record %d = %s/%d@%d %q, want %s/0@%d m%d", i, r.Topic, r.Partition, r.Offset, r.Value, topic, off, off)
		}
		if r.Time.IsZero() {
			t.Fatalf("record %d has no time", i)
		}
	}
}

// testBus runs this package's own checks of the Kafka bus.
func testBus(t *testing.T, open opener) {
	t.Run("AppendSubscribeBounds", func(t *testing.T) {
		b := open(t, nil)
		ctx := testCtx(t)
		topic := inbox()
		if err := b.CreateTopic(ctx, topic, 1); err != nil {
			t.Fatal(err)
		}
		if err := b.CreateTopic(ctx, topic, 1); err != nil {
			t.Fatalf("create again: %v", err)
		}
		if o, n, err := b.Bounds(ctx, topic, 0); err != nil || o != 0 || n != 0 {
			t.Fatalf("bounds of empty topic = %d, %d, %v", o, n, err)
		}
		appendValues(t, ctx, b, topic, 0, 3)
		if o, n, err := b.Bounds(ctx, topic, 0); err != nil || o != 0 || n != 3 {
			t.Fatalf("bounds = %d, %d, %v; want 0, 3", o, n, err)
		}
		s, err := b.Subscribe(ctx, topic, 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		checkSequence(t, readN(t, ctx, s, 2), topic, 1)
		// At the end: waits for the next append.
		appendValues(t, ctx, b, topic, 3, 5)
		checkSequence(t, readN(t, ctx, s, 2), topic, 3)
	})

	t.Run("UnknownTopic", func(t *testing.T) {
		b := open(t, nil)
		ctx := testCtx(t)
		topic := inbox()
		if _, err := b.Subscribe(ctx, topic, 0, 0); !errors.Is(err, bus.ErrUnknownTopic) {
			t.Errorf("subscribe: %v, want ErrUnknownTopic", err)
		}
		if _, _, err := b.Bounds(ctx, topic, 0); !errors.Is(err, bus.ErrUnknownTopic) {
			t.Errorf("bounds: %v, want ErrUnknownTopic", err)
		}
		if err := b.Append(ctx, bus.Message{Topic: topic, Value: []byte("x")}); !errors.Is(err, bus.ErrUnknownTopic) {
			t.Errorf("append: %v, want ErrUnknownTopic", err)
		}
		if err := b.CreateTopic(ctx, topic, 1); err != nil {
			t.Fatal(err)
		}
		if _, _, err := b.Bounds(ctx, topic, 1); !errors.Is(err, bus.ErrUnknownTopic) {
			t.Errorf("bounds of partition 1: %v, want ErrUnknownTopic", err)
		}
		err := b.Consume(ctx, "g", inbox(), func(context.Context, []bus.Record) error { return nil })
		if !errors.Is(err, bus.ErrUnknownTopic) {
			t.Errorf("consume: %v, want ErrUnknownTopic", err)
		}
	})

	t.Run("OutOfRange", func(t *testing.T) {
		b := open(t, nil)
		ctx := testCtx(t)
		topic := inbox()
		if err := b.CreateTopic(ctx, topic, 1); err != nil {
			t.Fatal(err)
		}
		appendValues(t, ctx, b, topic, 0, 2)
		for _, off := range []int64{-1, 3, 100} {
			if _, err := b.Subscribe(ctx, topic, 0, off); !errors.Is(err, bus.ErrOutOfRange) {
				t.Errorf("subscribe at %d: %v, want ErrOutOfRange", off, err)
			}
		}
	})

	t.Run("KeyedOrder", func(t *testing.T) {
		b := open(t, nil)
		ctx := testCtx(t)
		if err := b.CreateTopic(ctx, bus.InTopic, 4); err != nil {
			t.Fatal(err)
		}
		const senders, each = 8, 25
		var wg sync.WaitGroup
		errs := make(chan error, senders)
		for k := range senders {
			wg.Go(func() {
				for i := range each {
					m := bus.Message{Topic: bus.InTopic, Key: fmt.Appendf(nil, "k%d", k), Value: fmt.Appendf(nil, "%d", i)}
					if err := b.Append(ctx, m); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		seen := map[string]int{}
		where := map[string]int32{}
		total := 0
		for p := range int32(4) {
			_, next, err := b.Bounds(ctx, bus.InTopic, p)
			if err != nil {
				t.Fatal(err)
			}
			if next == 0 {
				continue
			}
			s, err := b.Subscribe(ctx, bus.InTopic, p, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range readN(t, ctx, s, int(next)) {
				k := string(r.Key)
				if w, ok := where[k]; ok && w != p {
					t.Fatalf("key %s in partitions %d and %d", k, w, p)
				}
				where[k] = p
				if want := fmt.Sprint(seen[k]); string(r.Value) != want {
					t.Fatalf("key %s: got %s, want %s", k, r.Value, want)
				}
				seen[k]++
				total++
			}
			s.Close()
		}
		if total != senders*each {
			t.Fatalf("read %d records, want %d", total, senders*each)
		}
	})

	t.Run("SharedPartition", func(t *testing.T) {
		b := open(t, nil)
		ctx := testCtx(t)
		topic := inbox()
		if err := b.CreateTopic(ctx, topic, 1); err != nil {
			t.Fatal(err)
		}
		appendValues(t, ctx, b, topic, 0, 10)
		late, err := b.Subscribe(ctx, topic, 0, 8)
		if err != nil {
			t.Fatal(err)
		}
		checkSequence(t, readN(t, ctx, late, 2), topic, 8)
		early, err := b.Subscribe(ctx, topic, 0, 2)
		if err != nil {
			t.Fatal(err)
		}
		checkSequence(t, readN(t, ctx, early, 8), topic, 2)
		appendValues(t, ctx, b, topic, 10, 12)
		checkSequence(t, readN(t, ctx, late, 2), topic, 10)
		checkSequence(t, readN(t, ctx, early, 2), topic, 10)
		late.Close()
		appendValues(t, ctx, b, topic, 12, 13)
		checkSequence(t, readN(t, ctx, early, 1), topic, 12)
		early.Close()
		if _, err := early.Next(ctx); !errors.Is(err, bus.ErrClosed) {
			t.Fatalf("next after close: %v, want ErrClosed", err)
		}
		if err := early.Close(); err != nil {
			t.Fatalf("second close: %v", err)
		}
	})

	t.Run("SlowSubscriber", func(t *testing.T) {
		b := open(t, func(c *Config) { c.SubscriptionBuffer = 4; c.BatchSize = 3 })
		ctx := testCtx(t)
		topic := inbox()
		if err := b.CreateTopic(ctx, topic, 1); err != nil {
			t.Fatal(err)
		}
		fast, err := b.Subscribe(ctx, topic, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		slow, err := b.Subscribe(ctx, topic, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 10 {
			appendValues(t, ctx, b, topic, i*5, i*5+5)
		}
		checkSequence(t, readN(t, ctx, fast, 50), topic, 0)
		checkSequence(t, readN(t, ctx, slow, 50), topic, 0)
		appendValues(t, ctx, b, topic, 50, 51)
		checkSequence(t, readN(t, ctx, fast, 1), topic, 50)
		checkSequence(t, readN(t, ctx, slow, 1), topic, 50)
	})

	t.Run("ManySubscriptions", func(t *testing.T) {
		b := open(t, nil)
		ctx := testCtx(t)
		const n = 40
		topics := make([]string, n)
		for i := range topics {
			topics[i] = inbox()
			if err := b.CreateTopic(ctx, topics[i], 1); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for _, topic := range topics {
			wg.Go(func() {
				s, err := b.Subscribe(ctx, topic, 0, 0)
				if err != nil {
					errs <- err
					return
				}
				defer s.Close()
				if err := b.Append(ctx, bus.Message{Topic: topic, Value: []byte("m0")}); err != nil {
					errs <- err
					return
				}
				recs, err := s.Next(ctx)
				if err != nil {
					errs <- err
					return
				}
				if len(recs) != 1 || string(recs[0].Value) != "m0" {
					errs <- fmt.Errorf("%s: got %d records", topic, len(recs))
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	})

	t.Run("ConsumeCommitsOnlyHandled", func(t *testing.T) {
		b := open(t, nil)
		ctx := testCtx(t)
		topic := inbox()
		if err := b.CreateTopic(ctx, topic, 1); err != nil {
			t.Fatal(err)
		}
		appendValues(t, ctx, b, topic, 0, 5)

		// First member handles everything up to m3, then fails on a batch
		// holding m3 or later.
		errBoom := errors.New("boom")
		var handled []int64
		err := b.Consume(ctx, "router", topic, func(_ context.Context, batch []bus.Record) error {
			for _, r := range batch {
				if r.Offset >= 3 {
					return errBoom
				}
			}
			for _, r := range batch {
				handled = append(handled, r.Offset)
			}
			return nil
		})
		if !errors.Is(err, errBoom) {
			t.Fatalf("consume: %v, want the handler's error", err)
		}
		// The next member starts after the last batch handled in full.
		from := int64(len(handled))
		cctx, cancel := context.WithCancel(ctx)
		var got []bus.Record
		err = b.Consume(cctx, "router", topic, func(_ context.Context, batch []bus.Record) error {
			got = append(got, batch...)
			if got[len(got)-1].Offset == 4 {
				cancel()
			}
			return nil
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("second consume: %v, want context.Canceled", err)
		}
		if len(got) == 0 || got[0].Offset > from {
			t.Fatalf("second member started at %v, want at most %d", got, from)
		}
		checkSequence(t, got, topic, got[0].Offset)
	})

	t.Run("Close", func(t *testing.T) {
		b := open(t, nil)
		ctx := testCtx(t)
		topic := inbox()
		if err := b.CreateTopic(ctx, topic, 1); err != nil {
			t.Fatal(err)
		}
		s, err := b.Subscribe(ctx, topic, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		consumed := make(chan error, 1)
		go func() {
			consumed <- b.Consume(ctx, "g", topic, func(context.Context, []bus.Record) error { return nil })
		}()
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Next(ctx); !errors.Is(err, bus.ErrClosed) {
			t.Errorf("next after close: %v, want ErrClosed", err)
		}
		if err := <-consumed; !errors.Is(err, bus.ErrClosed) {
			t.Errorf("consume after close: %v, want ErrClosed", err)
		}
		if err := b.Append(ctx, bus.Message{Topic: topic}); !errors.Is(err, bus.ErrClosed) {
			t.Errorf("append after close: %v, want ErrClosed", err)
		}
	})
}
