package embedded

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/mutualcoop/mutual/internal/wait"
	"github.com/mutualcoop/mutual/relay/bus"
)

// After a failed write to a segment file the bus refuses appends (reads go
// on) until it is reopened; recovery then replays from the write-ahead log
// what the segment lacks.
func TestWriteFailureIsSticky(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir}
	b := openBus(t, cfg)
	createTopic(t, b, "t", 1)
	appendValues(t, b, "t", "a", "b")

	// Swap the cached descriptor of the active segment for a read-only one.
	path := filepath.Join(partitionDir(dir, "t", 0), segmentName(0, logSuffix))
	cf, err := b.files.acquire(path)
	if err != nil {
		t.Fatal(err)
	}
	ro, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	rw := cf.f
	b.files.mu.Lock()
	cf.f = ro
	b.files.mu.Unlock()
	b.files.release(cf)
	rw.Close()

	for range 2 {
		if err := b.Append(t.Context(), bus.Message{Topic: "t", Value: []byte("c")}); err == nil {
			t.Fatalf("Append through a read-only descriptor succeeded")
		}
	}
	checkValues(t, readRange(t, b, "t", 0), 0, []string{"a", "b"})
	closeBus(t, b)

	b = openBus(t, cfg)
	checkValues(t, readRange(t, b, "t", 0), 0, []string{"a", "b", "c"})
	appendValues(t, b, "t", "d")
	checkValues(t, readRange(t, b, "t", 0), 0, []string{"a", "b", "c", "d"})
}

// An Append whose context ends while it is queued is withdrawn: it returns
// the context's error and stores nothing.
func TestAppendWithdrawnOnCancel(t *testing.T) {
	b := openBus(t, Config{Dir: t.TempDir()})
	createTopic(t, b, "t", 1)
	ps, err := b.topicPartitions("t")
	if err != nil {
		t.Fatal(err)
	}
	p := ps[0]
	p.wmu.Lock() // the writer blocks on its first flush
	first := make(chan error, 1)
	go func() { first <- b.Append(t.Context(), bus.Message{Topic: "t", Value: []byte("a")}) }()
	wait.For(t, "the condition", func() bool {
		b.qmu.Lock()
		defer b.qmu.Unlock()
		return b.writing && len(b.queue) == 0
	})
	ctx, cancel := context.WithCancel(t.Context())
	second := make(chan error, 1)
	go func() { second <- b.Append(ctx, bus.Message{Topic: "t", Value: []byte("b")}) }()
	wait.For(t, "the condition", func() bool {
		b.qmu.Lock()
		defer b.qmu.Unlock()
		return len(b.queue) == 1
	})
	cancel()
	if err := <-second; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Append: %v", err)
	}
	p.wmu.Unlock()
	if err := <-first; err != nil {
		t.Fatalf("Append: %v", err)
	}
	checkValues(t, readRange(t, b, "t", 0), 0, []string{"a"})
}
