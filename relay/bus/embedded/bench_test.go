package embedded

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/mutualcoop/mutual/relay/bus"
)

// value is a typical small record: a padded, encrypted message envelope.
var benchValue = make([]byte, 200)

func reportRecords(b *testing.B, records int) {
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkAppend measures durable appends (every call waits for fdatasync).
func BenchmarkAppend(b *testing.B) {
	b.Run("serial", func(b *testing.B) {
		bb := openBus(b, Config{Dir: b.TempDir()})
		createTopic(b, bb, "t", 1)
		ctx := context.Background()
		for b.Loop() {
			if err := bb.Append(ctx, bus.Message{Topic: "t", Value: benchValue}); err != nil {
				b.Fatal(err)
			}
		}
		reportRecords(b, b.N)
	})
	b.Run("batch100", func(b *testing.B) {
		bb := openBus(b, Config{Dir: b.TempDir()})
		createTopic(b, bb, "t", 1)
		msgs := make([]bus.Message, 100)
		for i := range msgs {
			msgs[i] = bus.Message{Topic: "t", Value: benchValue}
		}
		ctx := context.Background()
		for b.Loop() {
			if err := bb.Append(ctx, msgs...); err != nil {
				b.Fatal(err)
			}
		}
		reportRecords(b, b.N*len(msgs))
	})
	// Many concurrent callers, one record per call: group commit at work.
	for _, callers := range []int{64, 256} {
		for _, topics := range []int{1, 16} {
			b.Run(fmt.Sprintf("callers%d/topics%d", callers, topics), func(b *testing.B) {
				bb := openBus(b, Config{Dir: b.TempDir()})
				for i := range topics {
					createTopic(b, bb, fmt.Sprint("t", i), 1)
				}
				ctx := context.Background()
				var next atomic.Int64
				b.SetParallelism(max(1, callers/runtime.GOMAXPROCS(0)))
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					topic := fmt.Sprint("t", next.Add(1)%int64(topics))
					for pb.Next() {
						if err := bb.Append(ctx, bus.Message{Topic: topic, Value: benchValue}); err != nil {
							b.Error(err)
							return
						}
					}
				})
				reportRecords(b, b.N)
			})
		}
	}
}

// BenchmarkAppendFanout is the router's pattern: each call appends one
// record to each of many single-partition inbox topics.
func BenchmarkAppendFanout(b *testing.B) {
	for _, topics := range []int{16, 256} {
		b.Run(fmt.Sprint("topics", topics), func(b *testing.B) {
			bb := openBus(b, Config{Dir: b.TempDir()})
			msgs := make([]bus.Message, topics)
			for i := range msgs {
				msgs[i] = bus.Message{Topic: fmt.Sprint("u.", i), Value: benchValue}
				createTopic(b, bb, msgs[i].Topic, 1)
			}
			ctx := context.Background()
			for b.Loop() {
				if err := bb.Append(ctx, msgs...); err != nil {
					b.Fatal(err)
				}
			}
			reportRecords(b, b.N*topics)
		})
	}
}

// BenchmarkIdleTopics measures the memory a loaded, idle single-partition
// topic costs, and the time to open and load it.
func BenchmarkIdleTopics(b *testing.B) {
	const topics = 2000
	dir := b.TempDir()
	bb := openBus(b, Config{Dir: dir})
	for i := range topics {
		topic := fmt.Sprint("u.", i)
		createTopic(b, bb, topic, 1)
		if err := bb.Append(context.Background(), bus.Message{Topic: topic, Value: benchValue}); err != nil {
			b.Fatal(err)
		}
	}
	closeBus(b, bb)
	var perTopic float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		bb, err := Open(Config{Dir: dir})
		if err != nil {
			b.Fatal(err)
		}
		for i := range topics {
			if _, _, err := bb.Bounds(context.Background(), fmt.Sprint("u.", i), 0); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perTopic = float64(after.HeapAlloc-before.HeapAlloc) / topics
		runtime.KeepAlive(bb)
		bb.Close()
	}
	b.ReportMetric(perTopic, "heapB/topic")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*topics), "ns/topic-load")
}

// BenchmarkRead measures reading a partition from the start through a
// subscription (records already on disk, in the page cache).
func BenchmarkRead(b *testing.B) {
	const n = 100_000
	bb := openBus(b, Config{Dir: b.TempDir()})
	createTopic(b, bb, "t", 1)
	ctx := context.Background()
	batch := make([]bus.Message, 1000)
	for i := range batch {
		batch[i] = bus.Message{Topic: "t", Value: benchValue}
	}
	for range n / len(batch) {
		if err := bb.Append(ctx, batch...); err != nil {
			b.Fatal(err)
		}
	}
	records := 0
	for b.Loop() {
		sub, err := bb.Subscribe(ctx, "t", 0, 0)
		if err != nil {
			b.Fatal(err)
		}
		for got := 0; got < n; {
			recs, err := sub.Next(ctx)
			if err != nil {
				b.Fatal(err)
			}
			got += len(recs)
		}
		sub.Close()
		records += n
	}
	reportRecords(b, records)
}

// BenchmarkTail measures the path of a live message: append one record and
// have a waiting subscriber receive it.
func BenchmarkTail(b *testing.B) {
	bb := openBus(b, Config{Dir: b.TempDir()})
	createTopic(b, bb, "t", 1)
	ctx := context.Background()
	sub, err := bb.Subscribe(ctx, "t", 0, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Close()
	for b.Loop() {
		if err := bb.Append(ctx, bus.Message{Topic: "t", Value: benchValue}); err != nil {
			b.Fatal(err)
		}
		if _, err := sub.Next(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
