//go:build kafka

package kafka

import (
	"context"
	"crypto/rand"
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

// BenchmarkAppend appends one 256-byte record per call from many
// goroutines at once onto a 12-partition topic, each keyed by a random
// sender: the gateway's pattern.
func BenchmarkAppend(b *testing.B) {
	bs := openBench(b, "bench"+randHex(4)+".", nil)
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
	prefix := "bench" + randHex(4) + "."
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
	bs := openBench(b, "bench"+randHex(4)+".", nil)
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

// stormTopics makes *stormUsers one-partition topics under prefix "storm.",
// each holding at least one record. They are kept between runs.
func stormTopics(b *testing.B) []string {
	b.Helper()
	bs := openBench(b, "storm.", nil)
	ctx := context.Background()
	topics := make([]string, *stormUsers)
	for i := range topics {
		topics[i] = fmt.Sprintf("u.%032x", i)
	}
	work := make(chan string)
	var wg sync.WaitGroup
	var failed atomic.Value
	for range 16 {
		wg.Go(func() {
			for t := range work {
				if err := bs.CreateTopic(ctx, t, 1); err != nil {
					failed.Store(err)
					continue
				}
				if _, next, err := bs.Bounds(ctx, t, 0); err != nil {
					failed.Store(err)
				} else if next == 0 {
					if err := bs.Append(ctx, bus.Message{Topic: t, Value: []byte("hello")}); err != nil {
						failed.Store(err)
					}
				}
			}
		})
	}
	for _, t := range topics {
		work <- t
	}
	close(work)
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatalf("prepare storm topics: %v", err)
	}
	return topics
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
	topics := stormTopics(b)
	writer := openBench(b, "storm.", nil)
	for _, tail := range []bool{false, true} {
		b.Run(map[bool]string{false: "head", true: "tail"}[tail], func(b *testing.B) {
			var lat []time.Duration
			for b.Loop() {
				bs := openBench(b, "storm.", nil)
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
	topics := stormTopics(b)
	writer := openBench(b, "storm.", nil)
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
						pc, err := c.ConsumePartition("storm."+t, 0, from)
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
