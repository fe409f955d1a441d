package embedded

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/mutualcoop/mutual/relay/bus"
)

// filesHolding returns the files under dir whose bytes contain needle.
func filesHolding(t *testing.T, dir string, needle []byte) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(data, needle) {
			found = append(found, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// TestDeletedRecordsLeaveTheDisk checks that records deleted below the end
// of a partition are in no file of the bus once the write-ahead log is
// checkpointed, while records deleted inside a segment are only
// unreadable, until the rest of their segment goes too.
func TestDeletedRecordsLeaveTheDisk(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b := openBus(t, Config{Dir: dir})
	const topic = "u.deleted"
	if err := b.CreateTopic(ctx, topic, 1); err != nil {
		t.Fatal(err)
	}
	marker := func(i int) []byte { return fmt.Appendf(nil, "secret-metadata-%03d", i) }
	for i := range 10 {
		if err := b.Append(ctx, bus.Message{Topic: topic, Value: marker(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if got := filesHolding(t, dir, marker(0)); len(got) < 2 {
		t.Fatalf("a record is in %v; want it in its segment and in the write-ahead log", got)
	}

	// Inside the active segment: unreadable at once, on disk until the
	// segment goes.
	if err := b.DeleteRecords(ctx, topic, 0, 4); err != nil {
		t.Fatal(err)
	}
	if oldest, _, _ := b.Bounds(ctx, topic, 0); oldest != 4 {
		t.Fatalf("oldest = %d after deleting below 4", oldest)
	}

	// At the end: every record leaves the segment files, and the
	// checkpoint takes them out of the log.
	if err := b.DeleteRecords(ctx, topic, 0, 10); err != nil {
		t.Fatal(err)
	}
	if err := b.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if got := filesHolding(t, dir, marker(i)); len(got) > 0 {
			t.Fatalf("deleted record %d is still on disk in %v", i, got)
		}
	}

	// The bus goes on, and so does the log.
	if err := b.Append(ctx, bus.Message{Topic: topic, Value: marker(10)}); err != nil {
		t.Fatal(err)
	}
	closeBus(t, b)
	b = openBus(t, Config{Dir: dir})
	oldest, next, err := b.Bounds(ctx, topic, 0)
	if err != nil || oldest != 10 || next != 11 {
		t.Fatalf("after reopening, bounds = %d, %d, %v; want 10, 11", oldest, next, err)
	}
}

// TestCheckpointEmptyLog checks that a checkpoint with nothing logged
// returns at once, also before the first append.
func TestCheckpointEmptyLog(t *testing.T) {
	b := openBus(t, Config{Dir: t.TempDir()})
	for range 2 {
		if err := b.Checkpoint(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFileModes checks that every file and directory of the bus is the
// relay user's alone.
func TestFileModes(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "bus")
	b := openBus(t, Config{Dir: dir, SegmentBytes: 1 << 10})
	if err := b.CreateTopic(ctx, "u.modes", 2); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if err := b.Append(ctx, bus.Message{Topic: "u.modes", Key: fmt.Append(nil, i), Value: bytes.Repeat([]byte{'x'}, 100)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.DeleteRecords(ctx, "u.modes", 0, 3); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	b.Consume(cctx, "g", "u.modes", func(context.Context, []bus.Record) error { cancel(); return nil })
	closeBus(t, b)

	n := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if got := info.Mode().Perm(); got != want {
			t.Errorf("%s has mode %v, want %v", path, got, want)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Fatalf("only %d files and directories checked", n)
	}
}
