package embedded

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/internal/wait"
	"github.com/mutualcoop/mutual/relay/bus"
)

func TestRetention(t *testing.T) {
	dir := t.TempDir()
	clock := newFakeClock()
	cfg := Config{Dir: dir, Retention: time.Hour, SegmentBytes: 1 << 10, RetentionInterval: 24 * time.Hour, Now: clock.Now}
	b := openBus(t, cfg)
	createTopic(t, b, "t", 1)
	old := seq("old-", 0, 100)
	appendValues(t, b, "t", old...)
	clock.Advance(40 * time.Minute)
	recent := seq("recent-", 0, 100)
	appendValues(t, b, "t", recent...)
	pdir := partitionDir(dir, "t", 0)
	before := len(segmentFiles(t, pdir, logSuffix))

	// A subscription parked on an old record.
	parked, err := b.Subscribe(t.Context(), "t", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer parked.Close()

	// Nothing has expired yet.
	if err := b.enforceRetention(); err != nil {
		t.Fatal(err)
	}
	if oldest, _, _ := b.Bounds(t.Context(), "t", 0); oldest != 0 {
		t.Fatalf("oldest = %d before anything expired", oldest)
	}

	// The old records expire; segments holding a recent one stay.
	clock.Advance(21 * time.Minute)
	if err := b.enforceRetention(); err != nil {
		t.Fatal(err)
	}
	oldest, next, err := b.Bounds(t.Context(), "t", 0)
	if err != nil {
		t.Fatal(err)
	}
	if oldest == 0 || oldest > 100 || next != 200 {
		t.Fatalf("after expiry Bounds = %d, %d; want oldest in (0, 100], next 200", oldest, next)
	}
	if after := len(segmentFiles(t, pdir, logSuffix)); after >= before {
		t.Fatalf("%d segment files after retention, %d before", after, before)
	}
	if _, err := b.Subscribe(t.Context(), "t", 0, 0); !errors.Is(err, bus.ErrOutOfRange) {
		t.Fatalf("Subscribe below the oldest offset: %v, want ErrOutOfRange", err)
	}
	if _, err := parked.Next(t.Context()); !errors.Is(err, bus.ErrOutOfRange) {
		t.Fatalf("Next on an expired position: %v, want ErrOutOfRange", err)
	}
	all := append(old, recent...)
	checkValues(t, readRange(t, b, "t", oldest), oldest, all[oldest:])

	// Later everything expires, the active segment too; offsets go on.
	clock.Advance(time.Hour)
	if err := b.enforceRetention(); err != nil {
		t.Fatal(err)
	}
	if oldest, next, _ := b.Bounds(t.Context(), "t", 0); oldest != 200 || next != 200 {
		t.Fatalf("after full expiry Bounds = %d, %d; want 200, 200", oldest, next)
	}
	appendValues(t, b, "t", "new")
	checkValues(t, readRange(t, b, "t", 200), 200, []string{"new"})
	closeBus(t, b)

	b = openBus(t, cfg)
	if oldest, next, _ := b.Bounds(t.Context(), "t", 0); oldest != 200 || next != 201 {
		t.Fatalf("after reopening Bounds = %d, %d; want 200, 201", oldest, next)
	}
}

// Retention of segments loaded from disk reads their times from index
// files, or scans them when those are missing.
func TestRetentionAfterReopen(t *testing.T) {
	dir := t.TempDir()
	clock := newFakeClock()
	cfg := Config{Dir: dir, Retention: time.Hour, SegmentBytes: 1 << 10, RetentionInterval: 24 * time.Hour, Now: clock.Now}
	b := openBus(t, cfg)
	createTopic(t, b, "t", 1)
	appendValues(t, b, "t", seq("old-", 0, 100)...)
	clock.Advance(50 * time.Minute)
	appendValues(t, b, "t", seq("recent-", 0, 100)...)
	closeBus(t, b)
	for i, f := range segmentFiles(t, partitionDir(dir, "t", 0), idxSuffix) {
		if i%2 == 0 {
			removeFile(t, f)
		}
	}
	clock.Advance(20 * time.Minute)
	b = openBus(t, cfg)
	if err := b.enforceRetention(); err != nil {
		t.Fatal(err)
	}
	if oldest, next, _ := b.Bounds(t.Context(), "t", 0); oldest == 0 || oldest > 100 || next != 200 {
		t.Fatalf("Bounds = %d, %d; want oldest in (0, 100], next 200", oldest, next)
	}
}

func TestJanitorRuns(t *testing.T) {
	clock := newFakeClock()
	b := openBus(t, Config{Dir: t.TempDir(), Retention: time.Hour, RetentionInterval: time.Millisecond, Now: clock.Now})
	createTopic(t, b, "t", 1)
	appendValues(t, b, "t", "a", "b")
	clock.Advance(2 * time.Hour)
	wait.For(t, "the condition", func() bool {
		oldest, _, _ := b.Bounds(t.Context(), "t", 0)
		return oldest == 2
	})
}

func TestSegmentAge(t *testing.T) {
	dir := t.TempDir()
	clock := newFakeClock()
	b := openBus(t, Config{Dir: dir, SegmentAge: time.Hour, Now: clock.Now})
	createTopic(t, b, "t", 1)
	appendValues(t, b, "t", "a", "b")
	clock.Advance(59 * time.Minute)
	appendValues(t, b, "t", "c")
	pdir := partitionDir(dir, "t", 0)
	if n := len(segmentFiles(t, pdir, logSuffix)); n != 1 {
		t.Fatalf("%d segments before the first record is an hour old, want 1", n)
	}
	clock.Advance(time.Minute)
	appendValues(t, b, "t", "d")
	if n := len(segmentFiles(t, pdir, logSuffix)); n != 2 {
		t.Fatalf("%d segments after the first record is an hour old, want 2", n)
	}
	checkValues(t, readRange(t, b, "t", 0), 0, []string{"a", "b", "c", "d"})
}

// A group whose position retention has passed resumes at the oldest record.
func TestConsumeAfterRetention(t *testing.T) {
	clock := newFakeClock()
	b := openBus(t, Config{Dir: t.TempDir(), Retention: time.Hour, SegmentBytes: 1 << 10, RetentionInterval: 24 * time.Hour, Now: clock.Now})
	createTopic(t, b, "t", 1)
	appendValues(t, b, "t", seq("old-", 0, 100)...)

	ctx, cancel := context.WithCancel(t.Context())
	err := b.Consume(ctx, "g", "t", func(_ context.Context, batch []bus.Record) error {
		cancel() // accept the first batch only
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Consume: %v", err)
	}
	clock.Advance(2 * time.Hour)
	appendValues(t, b, "t", "fresh")
	if err := b.enforceRetention(); err != nil {
		t.Fatal(err)
	}
	oldest, _, _ := b.Bounds(t.Context(), "t", 0)
	if oldest < 10 {
		t.Fatalf("oldest = %d; the test needs the group's position expired", oldest)
	}

	ctx, cancel = context.WithCancel(t.Context())
	defer cancel()
	var mu sync.Mutex
	var first int64 = -1
	err = b.Consume(ctx, "g", "t", func(_ context.Context, batch []bus.Record) error {
		mu.Lock()
		defer mu.Unlock()
		first = batch[0].Offset
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Consume: %v", err)
	}
	if first != oldest {
		t.Fatalf("resumed at %d, want the oldest offset %d", first, oldest)
	}
}
