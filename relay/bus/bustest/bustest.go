// Package bustest is the conformance suite that every bus.Bus
// implementation runs, so that the relay behaves the same on the embedded
// log and on Kafka.
//
// The suite assumes nothing about storage. Every test uses fresh topic and
// group names, so backends whose storage outlives one Bus (a Kafka cluster)
// can share it between tests; tests run in parallel.
//
// Beyond the comments of package bus, the suite pins down:
//   - a new topic's partitions have bounds (0, 0);
//   - Subscribe at a negative offset, or beyond the end, gives ErrOutOfRange;
//   - Subscribe, Append, Bounds and Consume on a missing topic or partition
//     give ErrUnknownTopic;
//   - Next returns ctx's error when ctx ends (the subscription stays usable),
//     and ErrClosed once the Bus is closed; Append after Close gives
//     ErrClosed; Bus.Close and Subscription.Close may be called twice;
//   - each batch Consume hands the handler holds records of one partition,
//     in offset order; two Consume calls of one group never handle the same
//     partition at once;
//   - a group with no committed position starts at the oldest record;
//   - Consume returns nil or ctx's error when ctx ends, and the handler's
//     error (errors.Is) when the handler fails; when it returns, every batch
//     the handler accepted is committed, and no other, and Committed says
//     so (-1 before the group commits anything);
//   - DeleteRecords moves the oldest offset to exactly the offset given,
//     also across a reopen; reading below it gives ErrOutOfRange; deleting
//     below the oldest changes nothing, beyond the end gives ErrOutOfRange,
//     and at the end empties the partition, whose offsets go on.
package bustest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/bus"
)

// timeout bounds each test; generous, for backends where joining a group
// takes seconds.
const timeout = 2 * time.Minute

// Run runs the conformance suite. open returns a new Bus for one test; the
// suite closes it (Close may be called twice).
func Run(t *testing.T, open func(t *testing.T) bus.Bus) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b bus.Bus)
	}{
		{"CreateTopic", testCreateTopic},
		{"UnknownTopic", testUnknownTopic},
		{"AppendRead", testAppendRead},
		{"SubscribeOffsets", testSubscribeOffsets},
		{"KeysKeepOrder", testKeysKeepOrder},
		{"ConcurrentAppend", testConcurrentAppend},
		{"NextWakesOnAppend", testNextWakes},
		{"NextContext", testNextContext},
		{"Batches", testBatches},
		{"LargeRecord", testLargeRecord},
		{"SubscriptionClose", testSubscriptionClose},
		{"CloseEndsNext", testCloseEndsNext},
		{"ConsumeCommitsAfterHandler", testConsumeCommits},
		{"ConsumeGroupsIndependent", testConsumeGroupsIndependent},
		{"ConsumeExclusivePartitions", testConsumeExclusive},
		{"Committed", testCommitted},
		{"DeleteRecords", testDeleteRecords},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := open(t)
			t.Cleanup(func() { b.Close() })
			tc.fn(t, b)
		})
	}
}

// RunReopen runs the tests that need a second Bus on the same storage.
// open returns a Bus and a reopen function; the suite closes the first Bus
// before calling reopen, and closes the second.
func RunReopen(t *testing.T, open func(t *testing.T) (b bus.Bus, reopen func(t *testing.T) bus.Bus)) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b bus.Bus, reopen func(t *testing.T) bus.Bus)
	}{
		{"RecordsSurviveReopen", testReopen},
		{"ConsumeResumesAfterReopen", testConsumeResumes},
		{"DeletedRecordsStayDeleted", testDeleteReopen},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, reopen := open(t)
			t.Cleanup(func() { b.Close() })
			tc.fn(t, b, func(t *testing.T) bus.Bus {
				b2 := reopen(t)
				t.Cleanup(func() { b2.Close() })
				return b2
			})
		})
	}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	t.Cleanup(cancel)
	return ctx
}

// name returns a fresh topic or group name.
func name(prefix string) string {
	return prefix + "." + rand.Text()[:16]
}

func newTopic(t *testing.T, ctx context.Context, b bus.Bus, partitions int32) string {
	t.Helper()
	topic := name("bustest")
	if err := b.CreateTopic(ctx, topic, partitions); err != nil {
		t.Fatalf("CreateTopic(%s, %d): %v", topic, partitions, err)
	}
	return topic
}

func msg(topic, key, value string) bus.Message {
	var k []byte
	if key != "" {
		k = []byte(key)
	}
	return bus.Message{Topic: topic, Key: k, Value: []byte(value)}
}

func appendAll(t *testing.T, ctx context.Context, b bus.Bus, msgs ...bus.Message) {
	t.Helper()
	if err := b.Append(ctx, msgs...); err != nil {
		t.Fatalf("Append: %v", err)
	}
}

// read subscribes at from and returns the next n records.
func read(t *testing.T, ctx context.Context, b bus.Bus, topic string, partition int32, from int64, n int) []bus.Record {
	t.Helper()
	sub, err := b.Subscribe(ctx, topic, partition, from)
	if err != nil {
		t.Fatalf("Subscribe(%s, %d, %d): %v", topic, partition, from, err)
	}
	defer sub.Close()
	var out []bus.Record
	for len(out) < n {
		recs, err := sub.Next(ctx)
		if err != nil {
			t.Fatalf("Next after %d of %d records: %v", len(out), n, err)
		}
		if len(recs) == 0 {
			t.Fatalf("Next returned no records and no error")
		}
		out = append(out, recs...)
	}
	if len(out) > n {
		t.Fatalf("read %d records, want %d", len(out), n)
	}
	return out
}

// readPartitions reads every record of every partition of topic.
func readPartitions(t *testing.T, ctx context.Context, b bus.Bus, topic string, partitions int32) [][]bus.Record {
	t.Helper()
	out := make([][]bus.Record, partitions)
	for p := range partitions {
		oldest, next, err := b.Bounds(ctx, topic, p)
		if err != nil {
			t.Fatalf("Bounds(%s, %d): %v", topic, p, err)
		}
		if next > oldest {
			out[p] = read(t, ctx, b, topic, p, oldest, int(next-oldest))
		}
	}
	return out
}

func checkRecord(t *testing.T, r bus.Record, topic string, partition int32, offset int64, key, value string) {
	t.Helper()
	if r.Topic != topic || r.Partition != partition || r.Offset != offset ||
		!bytes.Equal(r.Key, []byte(key)) || string(r.Value) != value {
		t.Fatalf("record = %s/%d@%d key %q value %q, want %s/%d@%d key %q value %q",
			r.Topic, r.Partition, r.Offset, r.Key, r.Value, topic, partition, offset, key, value)
	}
	if r.Time.IsZero() {
		t.Fatalf("record %d has no time", r.Offset)
	}
}

func checkBounds(t *testing.T, ctx context.Context, b bus.Bus, topic string, partition int32, oldest, next int64) {
	t.Helper()
	o, n, err := b.Bounds(ctx, topic, partition)
	if err != nil {
		t.Fatalf("Bounds(%s, %d): %v", topic, partition, err)
	}
	if o != oldest || n != next {
		t.Fatalf("Bounds(%s, %d) = %d, %d; want %d, %d", topic, partition, o, n, oldest, next)
	}
}

func testCreateTopic(t *testing.T, b bus.Bus) {
	ctx := testContext(t)
	topic := newTopic(t, ctx, b, 3)
	if err := b.CreateTopic(ctx, topic, 3); err != nil {
		t.Fatalf("CreateTopic again: %v", err)
	}
	for p := range int32(3) {
		checkBounds(t, ctx, b, topic, p, 0, 0)
	}
	if _, _, err := b.Bounds(ctx, topic, 3); !errors.Is(err, bus.ErrUnknownTopic) {
		t.Fatalf("Bounds of partition 3 of 3: %v, want ErrUnknownTopic", err)
	}
	if err := b.CreateTopic(ctx, name("bustest"), 0); err == nil {
		t.Fatalf("CreateTopic with 0 partitions succeeded")
	}
}

func testUnknownTopic(t *testing.T, b bus.Bus) {
	ctx := testContext(t)
	missing := name("bustest")
	check := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, bus.ErrUnknownTopic) {
			t.Errorf("%s: %v, want ErrUnknownTopic", op, err)
		}
	}
	check("Append", b.Append(ctx, msg(missing, "", "x")))
	_, err := b.Subscribe(ctx, missing, 0, 0)
	check("Subscribe", err)
	_, _, err = b.Bounds(ctx, missing, 0)
	check("Bounds", err)
	check("Consume", b.Consume(ctx, name("group"), missing, func(context.Context, []bus.Record) error {
		return errors.New("handler called for a missing topic")
	}))

	topic := newTopic(t, ctx, b, 1)
	_, err = b.Subscribe(ctx, topic, 1, 0)
	check("Subscribe to partition 1 of 1", err)
	_, err = b.Subscribe(ctx, topic, -1, 0)
	check("Subscribe to partition -1", err)
}

func testAppendRead(t *testing.T, b bus.Bus) {
	ctx := testContext(t)
	topic := newTopic(t, ctx, b, 1)
	for i := range 10 {
		appendAll(t, ctx, b, msg(topic, fmt.Sprint("k", i), fmt.Sprint("v", i)))
	}
	var batch []bus.Message
	for i := 10; i < 20; i++ {
		batch = append(batch, msg(topic, "", fmt.Sprint("v", i)))
	}
	appendAll(t, ctx, b, batch...)
	checkBounds(t, ctx, b, topic, 0, 0, 20)
	recs := read(t, ctx, b, topic, 0, 0, 20)
	for i, r := range recs {
		key := ""
		if i < 10 {
			key = fmt.Sprint("k", i)
		}
		checkRecord(t, r, topic, 0, int64(i), key, fmt.Sprint("v", i))
	}
	if err := b.Append(ctx); err != nil {
		t.Fatalf("Append of nothing: %v", err)
	}
}

func testSubscribeOffsets(t *testing.T, b bus.Bus) {
	ctx := testContext(t)
	topic := newTopic(t, ctx, b, 1)
	for i := range 20 {
		appendAll(t, ctx, b, msg(topic, "", fmt.Sprint("v", i)))
	}
	recs := read(t, ctx, b, topic, 0, 5, 15)
	for i, r := range recs {
		checkRecord(t, r, topic, 0, int64(5+i), "", fmt.Sprint("v", 5+i))
	}
	for _, off := range []int64{-1, 21, 1 << 40} {
		if _, err := b.Subscribe(ctx, topic, 0, off); !errors.Is(err, bus.ErrOutOfRange) {
			t.Errorf("Subscribe at %d of 20: %v, want ErrOutOfRange", off, err)
		}
	}
	// At the end: waits for the next record.
	sub, err := b.Subscribe(ctx, topic, 0, 20)
	if err != nil {
		t.Fatalf("Subscribe at the end: %v", err)
	}
	defer sub.Close()
	got := make(chan []bus.Record, 1)
	go func() {
		recs, err := sub.Next(ctx)
		if err != nil {
			t.Errorf("Next at the end: %v", err)
		}
		got <- recs
	}()
	appendAll(t, ctx, b, msg(topic, "", "v20"))
	recs = <-got
	if len(recs) != 1 {
		t.Fatalf("Next at the end returned %d records, want 1", len(recs))
	}
	checkRecord(t, recs[0], topic, 0, 20, "", "v20")
}

func testKeysKeepOrder(t *testing.T, b bus.Bus) {
	ctx := testContext(t)
	const parts, keys, rounds = 4, 12, 10
	topic := newTopic(t, ctx, b, parts)
	for r := range rounds {
		var batch []bus.Message
		for k := range keys {
			batch = append(batch, msg(topic, fmt.Sprint("key", k), fmt.Sprint(r)))
		}
		appendAll(t, ctx, b, batch...)
	}
	seen := make(map[string]int32)
	count := make(map[string]int)
	for p, recs := range readPartitions(t, ctx, b, topic, parts) {
		for i, r := range recs {
			if r.Offset != int64(i) || r.Partition != int32(p) {
				t.Fatalf("partition %d record %d has position %d/%d", p, i, r.Partition, r.Offset)
			}
			k := string(r.Key)
			if q, ok := seen[k]; ok && q != int32(p) {
				t.Fatalf("key %s in partitions %d and %d", k, q, p)
			}
			seen[k] = int32(p)
			if string(r.Value) != fmt.Sprint(count[k]) {
				t.Fatalf("key %s: got value %s, want %d", k, r.Value, count[k])
			}
			count[k]++
		}
	}
	for k := range keys {
		if n := count[fmt.Sprint("key", k)]; n != rounds {
			t.Fatalf("key%d: %d records, want %d", k, n, rounds)
		}
	}
}

func testConcurrentAppend(t *testing.T, b bus.Bus) {
	for _, parts := range []int32{1, 3} {
		t.Run(fmt.Sprint(parts, "partitions"), func(t *testing.T) {
			ctx := testContext(t)
			const writers, each = 16, 40
			topic := newTopic(t, ctx, b, parts)
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					key := fmt.Sprint("w", w)
					for i := 0; i < each; {
						n := 1 + i%3 // calls of one to three messages
						var batch []bus.Message
						for j := 0; j < n && i < each; j++ {
							batch = append(batch, msg(topic, key, fmt.Sprintf("%d/%d", w, i)))
							i++
						}
						if err := b.Append(ctx, batch...); err != nil {
							t.Errorf("writer %d: Append: %v", w, err)
							return
						}
					}
				})
			}
			wg.Wait()
			if t.Failed() {
				return
			}
			next := make([]int, writers) // next i expected from each writer
			total := 0
			for p, recs := range readPartitions(t, ctx, b, topic, parts) {
				for i, r := range recs {
					if r.Offset != int64(i) {
						t.Fatalf("partition %d: record %d has offset %d", p, i, r.Offset)
					}
					var w, n int
					if _, err := fmt.Sscanf(string(r.Value), "%d/%d", &w, &n); err != nil || w < 0 || w >= writers {
						t.Fatalf("partition %d offset %d: bad value %q", p, r.Offset, r.Value)
					}
					if n != next[w] {
						t.Fatalf("writer %d: got record %d, want %d (lost, duplicated or reordered)", w, n, next[w])
					}
					next[w]++
					total++
				}
			}
			if total != writers*each {
				t.Fatalf("stored %d records, want %d", total, writers*each)
			}
		})
	}
}

func testNextWakes(t *testing.T, b bus.Bus) {
	ctx := testContext(t)
	topic := newTopic(t, ctx, b, 1)
	const subs = 20
	var wg sync.WaitGroup
	for i := range subs {
		sub, err := b.Subscribe(ctx, topic, 0, 0)
		if err != nil {
			t.Fatalf("Subscribe: %v", err)
		}
		defer sub.Close()
		wg.Go(func() {
			var got []bus.Record
			for len(got) < 3 {
				recs, err := sub.Next(ctx)
				if err != nil {
					t.Errorf("subscriber %d: Next: %v", i, err)
					return
				}
				got = append(got, recs...)
			}
			for j, r := range got {
				if r.Offset != int64(j) || string(r.Value) != fmt.Sprint(j) {
					t.Errorf("subscriber %d: record %d = %d %q", i, j, r.Offset, r.Value)
				}
			}
		})
	}
	for i := range 3 {
		appendAll(t, ctx, b, msg(topic, "", fmt.Sprint(i)))
	}
	wg.Wait()
}

func testNextContext(t *testing.T, b bus.Bus) {
	ctx := testContext(t)
	topic := newTopic(t, ctx, b, 1)
	sub, err := b.Subscribe(ctx, topic, 0, 0)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	defer sub.Close()
	nctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() {
		_, err := sub.Next(nctx)
		errc <- err
	}()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Next with a cancelled context: %v, want context.Canceled", err)
	}
	// The subscription still works afterwards.
	appendAll(t, ctx, b, msg(topic, "", "after"))
	recs, err := sub.Next(ctx)
	if err != nil || len(recs) != 1 || string(recs[0].Value) != "after" {
		t.Fatalf("Next after a cancelled Next: %v, %v", recs, err)
	}
}

func testBatches(t *testing.T, b bus.Bus) {
	ctx := testContext(t)
	topic := newTopic(t, ctx, b, 1)
	const calls, per = 10, 100
	for c := range calls {
		var batch []bus.Message
		for i := range per {
			batch = append(batch, msg(topic, "", fmt.Sprint(c*per+i)))
		}
		appendAll(t, ctx, b, batch...)
	}
	sub, err := b.Subscribe(ctx, topic, 0, 0)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	defer sub.Close()
	next := 0
	for next < calls*per {
		recs, err := sub.Next(ctx)
		if err != nil {
			t.Fatalf("Next at %d: %v", next, err)
		}
		if len(recs) == 0 {
			t.Fatalf("Next at %d returned an empty batch", next)
		}
		for _, r := range recs {
			checkRecord(t, r, topic, 0, int64(next), "", fmt.Sprint(next))
			next++
		}
	}
}

func testLargeRecord(t *testing.T, b bus.Bus) {
	ctx := testContext(t)
	topic := newTopic(t, ctx, b, 1)
	value := bytes.Repeat([]byte("0123456789abcdef"), 512<<10/16)
	appendAll(t, ctx, b, bus.Message{Topic: topic, Key: []byte("k"), Value: value}, msg(topic, "", "small"))
	recs := read(t, ctx, b, topic, 0, 0, 2)
	if !bytes.Equal(recs[0].Value, value) || string(recs[1].Value) != "small" {
		t.Fatalf("large record did not round-trip")
	}
}

func testSubscriptionClose(t *testing.T, b bus.Bus) {
	ctx := testContext(t)
	topic := newTopic(t, ctx, b, 1)
	sub, err := b.Subscribe(ctx, topic, 0, 0)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := sub.Next(ctx)
		errc <- err
	}()
	if err := sub.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := sub.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := <-errc; err == nil {
		t.Fatalf("Next on a closed subscription succeeded")
	}
}

func testCloseEndsNext(t *testing.T, b bus.Bus) {
	ctx := testContext(t)
	topic := newTopic(t, ctx, b, 1)
	sub, err := b.Subscribe(ctx, topic, 0, 0)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	defer sub.Close()
	errc := make(chan error, 1)
	go func() {
		_, err := sub.Next(ctx)
		errc <- err
	}()
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-errc; !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("Next across Close: %v, want ErrClosed", err)
	}
	if err := b.Append(ctx, msg(topic, "", "late")); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("Append after Close: %v, want ErrClosed", err)
	}
}

// key identifies a record across deliveries.
type key struct {
	partition int32
	offset    int64
}

// consumeUntil runs Consume until stop (called under a lock with the
// records accepted so far, in order) returns true; the handler returns nil
// for every batch. It returns the accepted records.
func consumeUntil(t *testing.T, ctx context.Context, b bus.Bus, group, topic string, stop func(seen []bus.Record) bool) []bus.Record {
	t.Helper()
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	var seen []bus.Record
	err := b.Consume(cctx, group, topic, func(_ context.Context, batch []bus.Record) error {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, batch...)
		if stop(seen) {
			cancel()
		}
		return nil
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("Consume: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatalf("Consume: test timed out")
	}
	mu.Lock()
	defer mu.Unlock()
	return seen
}

func keys(recs []bus.Record) map[key]int {
	m := make(map[key]int)
	for _, r := range recs {
		m[key{r.Partition, r.Offset}]++
	}
	return m
}

func testConsumeCommits(t *testing.T, b bus.Bus) {
	ctx := testContext(t)
	const parts = 2
	topic := newTopic(t, ctx, b, parts)
	group := name("group")
	var batch []bus.Message
	for i := range 20 {
		batch = append(batch, msg(topic, fmt.Sprint("k", i), fmt.Sprint(i)))
	}
	appendAll(t, ctx, b, batch...)

	// A failing handler: Consume returns its error; nothing is committed.
	boom := errors.New("handler failed")
	var once sync.Once
	var failed key
	err := b.Consume(ctx, group, topic, func(_ context.Context, batch []bus.Record) error {
		once.Do(func() { failed = key{batch[0].Partition, batch[0].Offset} })
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Consume with a failing handler: %v, want the handler's error", err)
	}
	if failed.offset != 0 {
		t.Fatalf("first batch of a new group starts at offset %d, want 0", failed.offset)
	}

	// The batch comes again, and so does everything else.
	seen := consumeUntil(t, ctx, b, group, topic, func(seen []bus.Record) bool {
		return len(keys(seen)) == 20
	})
	got := keys(seen)
	if got[failed] == 0 {
		t.Fatalf("the batch refused by the handler was not delivered again")
	}
	checkOrdered(t, seen)

	// Accepted batches are committed: only new records come next.
	var more []bus.Message
	for i := range 6 {
		more = append(more, msg(topic, fmt.Sprint("k", i), fmt.Sprint(20+i)))
	}
	appendAll(t, ctx, b, more...)
	seen = consumeUntil(t, ctx, b, group, topic, func(seen []bus.Record) bool { return len(seen) >= 6 })
	if len(seen) != 6 {
		t.Fatalf("after commit, Consume delivered %d records, want the 6 new ones", len(seen))
	}
	for _, r := range seen {
		if got[key{r.Partition, r.Offset}] != 0 {
			t.Fatalf("committed record %d/%d delivered again", r.Partition, r.Offset)
		}
	}
}

// checkOrdered checks that each partition's records come in offset order
// without gaps.
func checkOrdered(t *testing.T, recs []bus.Record) {
	t.Helper()
	last := make(map[int32]int64)
	for _, r := range recs {
		if prev, ok := last[r.Partition]; ok && r.Offset != prev+1 {
			t.Fatalf("partition %d: offset %d after %d", r.Partition, r.Offset, prev)
		}
		last[r.Partition] = r.Offset
	}
}

func testConsumeGroupsIndependent(t *testing.T, b bus.Bus) {
	ctx := testContext(t)
	topic := newTopic(t, ctx, b, 2)
	var batch []bus.Message
	for i := range 10 {
		batch = append(batch, msg(topic, fmt.Sprint("k", i), fmt.Sprint(i)))
	}
	appendAll(t, ctx, b, batch...)
	for _, group := range []string{name("group"), name("group")} {
		seen := consumeUntil(t, ctx, b, group, topic, func(seen []bus.Record) bool { return len(keys(seen)) == 10 })
		if len(keys(seen)) != 10 {
			t.Fatalf("group %s saw %d records, want 10", group, len(keys(seen)))
		}
	}
}

func testConsumeExclusive(t *testing.T, b bus.Bus) {
	ctx := testContext(t)
	const parts, total = 4, 200
	topic := newTopic(t, ctx, b, parts)
	group := name("group")

	var mu sync.Mutex
	busy := make(map[int32]bool)
	seen := make(map[key]bool)
	handled := make(chan struct{}, 1)
	all := make(chan struct{})
	handle := func(_ context.Context, batch []bus.Record) error {
		p := batch[0].Partition
		mu.Lock()
		if busy[p] {
			mu.Unlock()
			return fmt.Errorf("partition %d handed to two consumers at once", p)
		}
		busy[p] = true
		mu.Unlock()
		defer func() {
			mu.Lock()
			busy[p] = false
			for _, r := range batch {
				seen[key{r.Partition, r.Offset}] = true
			}
			if len(seen) == total {
				select {
				case <-all:
				default:
					close(all)
				}
			}
			mu.Unlock()
			select {
			case handled <- struct{}{}:
			default:
			}
		}()
		for _, r := range batch {
			if r.Partition != p {
				return fmt.Errorf("batch mixes partitions %d and %d", p, r.Partition)
			}
		}
		// Hold the partition a while, giving a second reader the chance to
		// show itself.
		for range 2000 {
			runtime.Gosched()
		}
		return nil
	}

	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, 2)
	consume := func() { errs <- b.Consume(cctx, group, topic, handle) }
	go consume()
	appendAll(t, ctx, b, msg(topic, "first", "0"))
	select {
	case <-handled:
	case <-ctx.Done():
		t.Fatalf("first consumer handled nothing")
	}
	go consume()
	for i := 1; i < total; i += 9 {
		var batch []bus.Message
		for j := i; j < min(i+9, total); j++ {
			batch = append(batch, msg(topic, fmt.Sprint("k", j), fmt.Sprint(j)))
		}
		appendAll(t, ctx, b, batch...)
	}
	select {
	case <-all:
	case err := <-errs:
		t.Fatalf("Consume returned early: %v", err)
	case <-ctx.Done():
		mu.Lock()
		t.Fatalf("saw %d of %d records", len(seen), total)
	}
	cancel()
	for range 2 {
		if err := <-errs; err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("Consume: %v", err)
		}
	}
}

func testReopen(t *testing.T, b bus.Bus, reopen func(t *testing.T) bus.Bus) {
	ctx := testContext(t)
	const parts = 2
	topic := newTopic(t, ctx, b, parts)
	for i := range 50 {
		appendAll(t, ctx, b, msg(topic, fmt.Sprint("k", i), fmt.Sprint(i)), msg(topic, fmt.Sprint("k", i+1), fmt.Sprint(i)))
	}
	before := readPartitions(t, ctx, b, topic, parts)
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	b2 := reopen(t)
	after := readPartitions(t, ctx, b2, topic, parts)
	for p := range before {
		if len(before[p]) != len(after[p]) {
			t.Fatalf("partition %d: %d records before reopening, %d after", p, len(before[p]), len(after[p]))
		}
		for i, r := range before[p] {
			a := after[p][i]
			if a.Offset != r.Offset || !bytes.Equal(a.Key, r.Key) || !bytes.Equal(a.Value, r.Value) || !a.Time.Equal(r.Time) {
				t.Fatalf("partition %d record %d changed across reopen", p, i)
			}
		}
	}
	// Offsets continue where they were.
	appendAll(t, ctx, b2, msg(topic, "k0", "new"))
	var found bool
	for p := range int32(parts) {
		_, next, err := b2.Bounds(ctx, topic, p)
		if err != nil {
			t.Fatalf("Bounds: %v", err)
		}
		if next == int64(len(before[p]))+1 {
			found = true
			recs := read(t, ctx, b2, topic, p, next-1, 1)
			checkRecord(t, recs[0], topic, p, next-1, "k0", "new")
		}
	}
	if !found {
		t.Fatalf("the record appended after reopening is not at the end of a partition")
	}
}

func testConsumeResumes(t *testing.T, b bus.Bus, reopen func(t *testing.T) bus.Bus) {
	ctx := testContext(t)
	const parts, each = 2, 20
	topic := newTopic(t, ctx, b, parts)
	group := name("group")
	appendRange := func(b bus.Bus, from, to int) {
		var batch []bus.Message
		for i := from; i < to; i++ {
			batch = append(batch, msg(topic, fmt.Sprint("k", i), fmt.Sprint(i)))
		}
		appendAll(t, ctx, b, batch...)
	}
	appendRange(b, 0, each)
	first := consumeUntil(t, ctx, b, group, topic, func(seen []bus.Record) bool { return len(keys(seen)) >= each })
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	b2 := reopen(t)
	appendRange(b2, each, 2*each)
	rest := consumeUntil(t, ctx, b2, group, topic, func(seen []bus.Record) bool { return len(seen) >= each })
	a, r := keys(first), keys(rest)
	for k := range r {
		if a[k] != 0 {
			t.Fatalf("record %d/%d accepted before reopening was delivered again", k.partition, k.offset)
		}
	}
	if len(r) != each || len(rest) != each {
		t.Fatalf("after reopening, delivered %d records (%d distinct), want the %d new ones", len(rest), len(r), each)
	}
	checkOrdered(t, rest)
}

func testCommitted(t *testing.T, b bus.Bus) {
	ctx := testContext(t)
	const parts, total = 2, 12
	topic := newTopic(t, ctx, b, parts)
	group := name("group")
	for p := range int32(parts) {
		off, err := b.Committed(ctx, group, topic, p)
		if err != nil || off != -1 {
			t.Fatalf("Committed(%d) of a new group = %d, %v; want -1", p, off, err)
		}
	}
	var batch []bus.Message
	for i := range total {
		batch = append(batch, msg(topic, fmt.Sprint("k", i), fmt.Sprint(i)))
	}
	appendAll(t, ctx, b, batch...)
	consumeUntil(t, ctx, b, group, topic, func(seen []bus.Record) bool { return len(keys(seen)) == total })
	for p := range int32(parts) {
		_, next, err := b.Bounds(ctx, topic, p)
		if err != nil {
			t.Fatal(err)
		}
		off, err := b.Committed(ctx, group, topic, p)
		if err != nil {
			t.Fatalf("Committed(%d): %v", p, err)
		}
		if next > 0 && off != next || next == 0 && off != -1 {
			t.Fatalf("Committed(%d) = %d after handling every record; the partition ends at %d", p, off, next)
		}
	}
}

// appendNumbered appends n records with values from..from+n-1 to
// partition 0 of a one-partition topic.
func appendNumbered(t *testing.T, ctx context.Context, b bus.Bus, topic string, from, n int) {
	t.Helper()
	var batch []bus.Message
	for i := from; i < from+n; i++ {
		batch = append(batch, msg(topic, "", fmt.Sprint(i)))
	}
	appendAll(t, ctx, b, batch...)
}

// checkDeletedBelow checks that reading below oldest fails and reading from
// it gives the records up to next, whose values are their offsets.
func checkDeletedBelow(t *testing.T, ctx context.Context, b bus.Bus, topic string, oldest, next int64) {
	t.Helper()
	checkBounds(t, ctx, b, topic, 0, oldest, next)
	if oldest > 0 {
		sub, err := b.Subscribe(ctx, topic, 0, oldest-1)
		if err == nil {
			sub.Close()
		}
		if !errors.Is(err, bus.ErrOutOfRange) {
			t.Fatalf("Subscribe below the deleted offset %d: %v, want ErrOutOfRange", oldest, err)
		}
	}
	if next > oldest {
		for i, r := range read(t, ctx, b, topic, 0, oldest, int(next-oldest)) {
			checkRecord(t, r, topic, 0, oldest+int64(i), "", fmt.Sprint(oldest+int64(i)))
		}
	}
}

func testDeleteRecords(t *testing.T, b bus.Bus) {
	ctx := testContext(t)
	topic := newTopic(t, ctx, b, 1)
	appendNumbered(t, ctx, b, topic, 0, 10)

	if err := b.DeleteRecords(ctx, topic, 0, 4); err != nil {
		t.Fatalf("DeleteRecords(4): %v", err)
	}
	checkDeletedBelow(t, ctx, b, topic, 4, 10)

	if err := b.DeleteRecords(ctx, topic, 0, 2); err != nil {
		t.Fatalf("DeleteRecords below the oldest: %v", err)
	}
	checkDeletedBelow(t, ctx, b, topic, 4, 10)

	if err := b.DeleteRecords(ctx, topic, 0, 11); !errors.Is(err, bus.ErrOutOfRange) {
		t.Fatalf("DeleteRecords beyond the end: %v, want ErrOutOfRange", err)
	}
	checkDeletedBelow(t, ctx, b, topic, 4, 10)

	if err := b.DeleteRecords(ctx, topic, 0, 10); err != nil {
		t.Fatalf("DeleteRecords(end): %v", err)
	}
	checkDeletedBelow(t, ctx, b, topic, 10, 10)

	// The partition goes on where it was.
	appendNumbered(t, ctx, b, topic, 10, 2)
	checkDeletedBelow(t, ctx, b, topic, 10, 12)
}

func testDeleteReopen(t *testing.T, b bus.Bus, reopen func(t *testing.T) bus.Bus) {
	ctx := testContext(t)
	topic := newTopic(t, ctx, b, 1)
	appendNumbered(t, ctx, b, topic, 0, 10)
	if err := b.DeleteRecords(ctx, topic, 0, 6); err != nil {
		t.Fatalf("DeleteRecords: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	b2 := reopen(t)
	checkDeletedBelow(t, ctx, b2, topic, 6, 10)
}
