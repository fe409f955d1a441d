package embedded

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/bus"
)

func openBus(t testing.TB, cfg Config) *Bus {
	t.Helper()
	b, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func closeBus(t testing.TB, b *Bus) {
	t.Helper()
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func createTopic(t testing.TB, b *Bus, topic string, partitions int32) {
	t.Helper()
	if err := b.CreateTopic(t.Context(), topic, partitions); err != nil {
		t.Fatalf("CreateTopic: %v", err)
	}
}

// appendValues appends one record per value, in one call.
func appendValues(t testing.TB, b *Bus, topic string, values ...string) {
	t.Helper()
	msgs := make([]bus.Message, len(values))
	for i, v := range values {
		msgs[i] = bus.Message{Topic: topic, Value: []byte(v)}
	}
	if err := b.Append(context.Background(), msgs...); err != nil {
		t.Fatalf("Append: %v", err)
	}
}

func seq(prefix string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprint(prefix, i))
	}
	return out
}

// readRange reads partition 0 of topic from offset from to the end.
func readRange(t *testing.T, b *Bus, topic string, from int64) []bus.Record {
	t.Helper()
	_, next, err := b.Bounds(t.Context(), topic, 0)
	if err != nil {
		t.Fatalf("Bounds: %v", err)
	}
	sub, err := b.Subscribe(t.Context(), topic, 0, from)
	if err != nil {
		t.Fatalf("Subscribe at %d: %v", from, err)
	}
	defer sub.Close()
	var out []bus.Record
	for int64(len(out)) < next-from {
		recs, err := sub.Next(t.Context())
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		out = append(out, recs...)
	}
	return out
}

func checkValues(t *testing.T, recs []bus.Record, from int64, values []string) {
	t.Helper()
	if len(recs) != len(values) {
		t.Fatalf("read %d records, want %d", len(recs), len(values))
	}
	for i, r := range recs {
		if r.Offset != from+int64(i) || string(r.Value) != values[i] {
			t.Fatalf("record %d = offset %d value %q, want offset %d value %q", i, r.Offset, r.Value, from+int64(i), values[i])
		}
	}
}

func partitionDir(dir, topic string, p int) string {
	return filepath.Join(dir, "topics", topic, fmt.Sprint(p))
}

func segmentFiles(t *testing.T, dir, suffix string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+suffix))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// fakeClock is a settable clock for Config.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

func removeFile(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}
