package embedded

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/bus"
	"github.com/mutualcoop/mutual/relay/wire"
)

func TestTopicNames(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"in", true},
		{bus.InboxTopic(wire.NewUserID()), true},
		{"A-b_c.9", true},
		{"..a", true},
		{strings.Repeat("a", 249), true},
		{"", false},
		{".", false},
		{"..", false},
		{strings.Repeat("a", 250), false},
		{"a/b", false},
		{"a b", false},
		{"a~", false},
		{"é", false},
		{"a\x00", false},
	}
	b := openBus(t, Config{Dir: t.TempDir()})
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%.20q", tc.name), func(t *testing.T) {
			err := b.CreateTopic(t.Context(), tc.name, 1)
			if (err == nil) != tc.ok {
				t.Fatalf("CreateTopic(%q): %v, want ok=%v", tc.name, err, tc.ok)
			}
			err = b.Consume(t.Context(), tc.name, "no-such-topic", nil)
			if tc.ok != errors.Is(err, bus.ErrUnknownTopic) {
				t.Fatalf("Consume with group %q: %v, want ok=%v", tc.name, err, tc.ok)
			}
		})
	}
}

func TestPartitionCount(t *testing.T) {
	b := openBus(t, Config{Dir: t.TempDir()})
	for _, n := range []int32{0, -1, maxPartitions + 1} {
		if err := b.CreateTopic(t.Context(), "t", n); err == nil {
			t.Fatalf("CreateTopic with %d partitions succeeded", n)
		}
	}
}

func TestRecordTooLarge(t *testing.T) {
	b := openBus(t, Config{Dir: t.TempDir(), MaxRecordBytes: 100})
	createTopic(t, b, "t", 1)
	ok := bus.Message{Topic: "t", Key: make([]byte, 40), Value: make([]byte, 60)}
	if err := b.Append(t.Context(), ok); err != nil {
		t.Fatalf("Append at the limit: %v", err)
	}
	big := bus.Message{Topic: "t", Key: make([]byte, 40), Value: make([]byte, 61)}
	err := b.Append(t.Context(), ok, big)
	if !errors.Is(err, ErrRecordTooLarge) || !strings.Contains(err.Error(), "101 bytes, limit 100") {
		t.Fatalf("Append over the limit: %v", err)
	}
	if _, next, _ := b.Bounds(t.Context(), "t", 0); next != 1 {
		t.Fatalf("a rejected call stored records: next = %d", next)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"defaults", Config{Dir: "x"}, true},
		{"no dir", Config{}, false},
		{"negative retention", Config{Dir: "x", Retention: -time.Second}, false},
		{"tiny segments", Config{Dir: "x", SegmentBytes: 100}, false},
		{"huge segments", Config{Dir: "x", SegmentBytes: 2 << 30}, false},
		{"huge records", Config{Dir: "x", MaxRecordBytes: hardMaxRecordBytes + 1}, false},
		{"negative batch", Config{Dir: "x", MaxBatchRecords: -1}, false},
		{"negative files", Config{Dir: "x", MaxOpenFiles: -1}, false},
		{"tiny log files", Config{Dir: "x", WALBytes: 1 << 10}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate: %v, want ok=%v", err, tc.ok)
			}
		})
	}
	if _, err := Open(Config{}); err == nil {
		t.Fatalf("Open with an invalid config succeeded")
	}
}

// Many topics, few descriptors.
func TestOpenFilesBounded(t *testing.T) {
	const maxFiles, topics = 4, 40
	dir := t.TempDir()
	cfg := Config{Dir: dir, MaxOpenFiles: maxFiles, SegmentBytes: 1 << 10}
	b := openBus(t, cfg)
	for i := range topics {
		topic := fmt.Sprint("u.", i)
		createTopic(t, b, topic, 1)
		appendValues(t, b, topic, seq(topic+"-", 0, 40)...)
		if n := b.openFiles(); n > maxFiles {
			t.Fatalf("%d files open, limit %d", n, maxFiles)
		}
	}
	for i := range topics {
		topic := fmt.Sprint("u.", i)
		checkValues(t, readRange(t, b, topic, 0), 0, seq(topic+"-", 0, 40))
	}
	if n := b.openFiles(); n > maxFiles {
		t.Fatalf("%d files open, limit %d", n, maxFiles)
	}
	closeBus(t, b)
	b = openBus(t, cfg)
	for i := range topics {
		topic := fmt.Sprint("u.", i)
		checkValues(t, readRange(t, b, topic, 17), 17, seq(topic+"-", 17, 40))
	}
}

func (b *Bus) openFiles() int {
	b.files.mu.Lock()
	defer b.files.mu.Unlock()
	return len(b.files.files)
}

func TestCloseEndsConsume(t *testing.T) {
	b := openBus(t, Config{Dir: t.TempDir()})
	createTopic(t, b, "t", 2)
	appendValues(t, b, "t", "a")
	handled := make(chan struct{}, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- b.Consume(t.Context(), "g", "t", func(context.Context, []bus.Record) error {
			select {
			case handled <- struct{}{}:
			default:
			}
			return nil
		})
	}()
	<-handled
	closeBus(t, b)
	if err := <-errc; !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("Consume across Close: %v, want ErrClosed", err)
	}
	if err := b.Consume(t.Context(), "g", "t", nil); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("Consume after Close: %v, want ErrClosed", err)
	}
	if _, err := b.Subscribe(t.Context(), "t", 0, 0); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("Subscribe after Close: %v, want ErrClosed", err)
	}
	if err := b.CreateTopic(t.Context(), "t2", 1); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("CreateTopic after Close: %v, want ErrClosed", err)
	}
}

func TestAppendContext(t *testing.T) {
	b := openBus(t, Config{Dir: t.TempDir()})
	createTopic(t, b, "t", 1)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := b.Append(ctx, bus.Message{Topic: "t"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Append with a cancelled context: %v", err)
	}
}

// Records of one call may go to several partitions and several topics.
func TestAppendAcrossTopics(t *testing.T) {
	b := openBus(t, Config{Dir: t.TempDir()})
	createTopic(t, b, "a", 1)
	createTopic(t, b, "b", 1)
	var msgs []bus.Message
	for i := range 10 {
		msgs = append(msgs, bus.Message{Topic: []string{"a", "b"}[i%2], Value: fmt.Append(nil, i)})
	}
	if err := b.Append(t.Context(), msgs...); err != nil {
		t.Fatal(err)
	}
	checkValues(t, readRange(t, b, "a", 0), 0, []string{"0", "2", "4", "6", "8"})
	checkValues(t, readRange(t, b, "b", 0), 0, []string{"1", "3", "5", "7", "9"})
}
