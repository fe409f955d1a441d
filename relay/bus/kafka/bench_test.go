//go:build kafka

package kafka

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/mutualcoop/mutual/relay/bus"
)

var stormUsers = flag.Int("storm.users", 5000, "user topics in the subscribe-storm benchmarks")

// openBench opens a bus on the real broker under prefix.
func openBench(b *testing.B, prefix string, adjust func(*Config)) *Bus {
	b.Helper()
	cfg := Config{Brokers: brokerAddrs(b), TopicPrefix: prefix}
	if adjust != nil {
		adjust(&cfg)
	}
	bs, err := New(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { bs.Close() })
	return bs
}

// benchPrefix returns a fresh topic prefix whose topics and groups are
// deleted when the benchmark ends.
func benchPrefix(b *testing.B) string {
	prefix := "bench" + randHex(4) + "."
	b.Cleanup(func() { dropPrefix(b, brokerAddrs(b), prefix) })
	return prefix
}

// BenchmarkAppend appends one 256-byte record per call from many
// goroutines at once onto a 12-partition topic, each keyed by a random
// sender: the gateway's pattern.
func BenchmarkAppend(b *testing.B) {
	bs := openBench(b, benchPrefix(b), nil)
	ctx := context.Background()
	if err := bs.EnsureInTopic(ctx); err != nil {
		b.Fatal(err)
	}
	value := make([]byte, 256)
	rand.Read(value)
	b.SetParallelism(128) // 128 × GOMAXPROCS concurrent Append calls
	b.SetBytes(int64(len(value)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		key := []byte(randHex(16))
		for pb.Next() {
			if err := bs.Append(ctx, bus.Message{Topic: bus.InTopic, Key: key, Value: value}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkAppendSyncProducer is the same load through sarama's
// SyncProducer with the same settings, for comparison.
func BenchmarkAppendSyncProducer(b *testing.B) {
	prefix := benchPrefix(b)
	bs := openBench(b, prefix, nil)
	ctx := context.Background()
	if err := bs.EnsureInTopic(ctx); err != nil {
		b.Fatal(err)
	}
	cfg := bs.cfg.producerConfig()
	sp, err := sarama.NewSyncProducer(bs.cfg.Brokers, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer sp.Close()
	value := make([]byte, 256)
	rand.Read(value)
	b.SetParallelism(32)
	b.SetBytes(int64(len(value)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		key := sarama.ByteEncoder(randHex(16))
		for pb.Next() {
			_, _, err := sp.SendMessage(&sarama.ProducerMessage{Topic: prefix + bus.InTopic, Key: key, Value: sarama.ByteEncoder(value)})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkConsume reads b.N records of 256 bytes from a 12-partition
// topic through one consumer group member, committing after each batch.
func BenchmarkConsume(b *testing.B) {
	bs := openBench(b, benchPrefix(b), nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := bs.EnsureInTopic(ctx); err != nil {
		b.Fatal(err)
	}
	value := make([]byte, 256)
	rand.Read(value)
	const chunk = 1000
	msgs := make([]bus.Message, 0, chunk)
	for i := 0; i < b.N; i += chunk {
		msgs = msgs[:0]
		for j := i; j < min(i+chunk, b.N); j++ {
			msgs = append(msgs, bus.Message{Topic: bus.InTopic, Key: fmt.Appendf(nil, "s%d", j%1000), Value: value})
		}
		if err := bs.Append(ctx, msgs...); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(value)))
	b.ResetTimer()
	var n atomic.Int64
	err := bs.Consume(ctx, "bench", bus.InTopic, func(_ context.Context, batch []bus.Record) error {
		if n.Add(int64(len(batch))) >= int64(b.N) {
			cancel()
		}
		return nil
	})
	if err != nil && ctx.Err() == nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// stormTopics makes *stormUsers one-partition topics under a fresh prefix,
// each holding one record, and deletes them when the benchmark ends. It
// creates them 1,000 to a CreateTopics request, which the bus's one-topic
// CreateTopic does not offer.
func stormTopics(b *testing.B) (prefix string, topics []string) {
	b.Helper()
	brokers := brokerAddrs(b)
	prefix = "storm" + randHex(4) + "."
	b.Cleanup(func() { dropPrefix(b, brokers, prefix) })
	bs := openBench(b, prefix, nil)
	ctx := context.Background()
	topics = make([]string, *stormUsers)
	for i := range topics {
		topics[i] = fmt.Sprintf("u.%032x", i)
	}

	conf := bs.cfg.sarama()
	conn := sarama.NewBroker(brokers[0])
	if err := conn.Open(conf); err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	for i := 0; i < len(topics); i += 1000 {
		details := make(map[string]*sarama.TopicDetail)
		for _, t := range topics[i:min(i+1000, len(topics))] {
			details[prefix+t] = &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: -1, ConfigEntries: bs.topicConfig}
		}
		resp, err := conn.CreateTopics(sarama.NewCreateTopicsRequest(conf.Version, details, time.Minute, false))
		if err != nil {
			b.Fatalf("create storm topics: %v", err)
		}
		for name, terr := range resp.TopicErrors {
			if terr != nil && !errors.Is(terr.Err, sarama.ErrNoError) {
				b.Fatalf("create %s: %v", name, terr)
			}
		}
	}

	// Wait until each leader serves its topic (CreateTopic's own wait),
	// then give each topic a record.
	var wg sync.WaitGroup
	var failed atomic.Value
	sem := make(chan struct{}, 256)
	for _, t := range topics {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := bs.waitTopic(ctx, prefix+t); err != nil {
				failed.Store(err)
				return
			}
			if err := bs.Append(ctx, bus.Message{Topic: t, Value: []byte("hello")}); err != nil {
				failed.Store(err)
			}
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatalf("prepare storm topics: %v", err)
	}
	return prefix, topics
}

// reportStorm reports the time until the last subscription had its first
// record, and percentiles of the per-subscription times.
func reportStorm(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	q := func(f float64) float64 { return lat[int(f*float64(len(lat)-1))].Seconds() }
	b.ReportMetric(q(1), "s-last")
	b.ReportMetric(q(0.5), "s-p50")
	b.ReportMetric(q(0.99), "s-p99")
}

// BenchmarkSubscribeStorm measures a reconnect storm: a fresh process
// subscribes to *stormUsers user topics at once. In mode head each
// subscription starts at offset 0 and waits for the record there; in mode
// tail it starts at the end (found with Bounds, as a device resuming at its
// last acknowledged offset) and a record is appended right after it is
// subscribed. The figure is the time from the start of the storm until the
// last subscription had its record.
func BenchmarkSubscribeStorm(b *testing.B) {
	prefix, topics := stormTopics(b)
	writer := openBench(b, prefix, nil)
	for _, tail := range []bool{false, true} {
		b.Run(map[bool]string{false: "head", true: "tail"}[tail], func(b *testing.B) {
			var lat []time.Duration
			for b.Loop() {
				bs := openBench(b, prefix, nil)
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				lat = make([]time.Duration, len(topics))
				start := time.Now()
				var wg sync.WaitGroup
				var failed atomic.Value
				for i, t := range topics {
					wg.Go(func() {
						var from int64
						if tail {
							_, next, err := bs.Bounds(ctx, t, 0)
							if err != nil {
								failed.Store(err)
								return
							}
							from = next
						}
						s, err := bs.Subscribe(ctx, t, 0, from)
						if err != nil {
							failed.Store(err)
							return
						}
						defer s.Close()
						if tail {
							if err := writer.Append(ctx, bus.Message{Topic: t, Value: []byte("again")}); err != nil {
								failed.Store(err)
								return
							}
						}
						if _, err := s.Next(ctx); err != nil {
							failed.Store(err)
							return
						}
						lat[i] = time.Since(start)
					})
				}
				wg.Wait()
				cancel()
				if err, _ := failed.Load().(error); err != nil {
					b.Fatal(err)
				}
				bs.Close()
			}
			reportStorm(b, lat)
		})
	}
}

// BenchmarkSubscribeStormSarama is the same storm through sarama's own
// Consumer with one PartitionConsumer per topic, for comparison, with
// sarama's default fetch wait (500ms).
func BenchmarkSubscribeStormSarama(b *testing.B) {
	prefix, topics := stormTopics(b)
	writer := openBench(b, prefix, nil)
	for _, tail := range []bool{false, true} {
		b.Run(map[bool]string{false: "head", true: "tail"}[tail], func(b *testing.B) {
			var lat []time.Duration
			for b.Loop() {
				cfg := Config{}.withDefaults().sarama()
				cfg.Consumer.MaxWaitTime = 500 * time.Millisecond
				c, err := sarama.NewConsumer(brokerAddrs(b), cfg)
				if err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				lat = make([]time.Duration, len(topics))
				start := time.Now()
				var wg sync.WaitGroup
				var failed atomic.Value
				for i, t := range topics {
					wg.Go(func() {
						from := int64(0)
						if tail {
							from = sarama.OffsetNewest
						}
						pc, err := c.ConsumePartition(prefix+t, 0, from)
						if err != nil {
							failed.Store(err)
							return
						}
						defer pc.Close()
						if tail {
							if err := writer.Append(ctx, bus.Message{Topic: t, Value: []byte("again")}); err != nil {
								failed.Store(err)
								return
							}
						}
						select {
						case <-pc.Messages():
						case <-ctx.Done():
							failed.Store(ctx.Err())
							return
						}
						lat[i] = time.Since(start)
					})
				}
				wg.Wait()
				cancel()
				if err, _ := failed.Load().(error); err != nil {
					b.Fatal(err)
				}
				c.Close()
			}
			reportStorm(b, lat)
		})
	}
}
