package embedded

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/mutualcoop/mutual/internal/wait"
	"github.com/mutualcoop/mutual/relay/bus"
)

// abandon stops b as a power cut would leave it: no checkpoint of the
// current log file, no index files; the segment files hold whatever the
// page cache had.
func (b *Bus) abandon() {
	b.closeMu.Lock()
	b.closed = true
	close(b.done)
	b.closeMu.Unlock()
	b.wg.Wait()
	close(b.ckpts)
	b.ckptWG.Wait()
	if b.wal != nil {
		b.wal.f.Close()
	}
	b.files.close()
	b.lock.Close()
}

type walTopic struct {
	name       string
	partitions int32
}

var walTopics = []walTopic{{"a", 1}, {"b", 3}, {"u.c", 1}}

// fillForCrash appends records of varying sizes to walTopics, in calls of
// various shapes, and returns what a reader sees afterwards.
func fillForCrash(t *testing.T, b *Bus, rounds int) map[string][]bus.Record {
	t.Helper()
	for _, tp := range walTopics {
		createTopic(t, b, tp.name, tp.partitions)
	}
	for i := range rounds {
		var msgs []bus.Message
		for j := range 1 + i%5 {
			tp := walTopics[(i+j)%len(walTopics)]
			v := bytes.Repeat([]byte{byte(i)}, 10+(i*j*37)%1000)
			msgs = append(msgs, bus.Message{Topic: tp.name, Key: fmt.Append(nil, "k", i*7+j), Value: v})
		}
		if err := b.Append(t.Context(), msgs...); err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
	return readAllPartitions(t, b)
}

func readAllPartitions(t *testing.T, b *Bus) map[string][]bus.Record {
	t.Helper()
	out := make(map[string][]bus.Record)
	for _, tp := range walTopics {
		for p := range tp.partitions {
			key := fmt.Sprint(tp.name, "/", p)
			oldest, next, err := b.Bounds(t.Context(), tp.name, p)
			if err != nil {
				t.Fatalf("Bounds %s: %v", key, err)
			}
			if oldest != 0 {
				t.Fatalf("%s: oldest %d", key, oldest)
			}
			sub, err := b.Subscribe(t.Context(), tp.name, p, 0)
			if err != nil {
				t.Fatal(err)
			}
			for int64(len(out[key])) < next {
				recs, err := sub.Next(t.Context())
				if err != nil {
					t.Fatalf("Next %s: %v", key, err)
				}
				out[key] = append(out[key], recs...)
			}
			sub.Close()
		}
	}
	return out
}

func sameRecords(t *testing.T, got, want map[string][]bus.Record) {
	t.Helper()
	for key, w := range want {
		g := got[key]
		if len(g) != len(w) {
			t.Fatalf("%s: %d records, want %d", key, len(g), len(w))
		}
		for i := range w {
			if g[i].Offset != w[i].Offset || !bytes.Equal(g[i].Key, w[i].Key) || !bytes.Equal(g[i].Value, w[i].Value) || !g[i].Time.Equal(w[i].Time) {
				t.Fatalf("%s: record %d differs", key, i)
			}
		}
	}
}

// loggedFrom returns, per partition directory, the lowest offset in the log
// files: from there on, the segment files were never synced.
func loggedFrom(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	walDir := filepath.Join(dir, "wal")
	seqs, err := listWAL(walDir)
	if err != nil {
		t.Fatal(err)
	}
	from := make(map[string]int64)
	err = forEachWALEntry(walDir, seqs, func(e walEntry) error {
		f, _, err := decodeFrame(e.frames)
		if err != nil {
			return err
		}
		pdir := partitionDir(dir, e.topic, int(e.partition))
		if m, ok := from[pdir]; !ok || f.offset < m {
			from[pdir] = f.offset
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return from
}

// damage applies a lost-page-cache scenario to every byte of the segment
// files of pdir that holds offset from or later.
type damage func(t *testing.T, path string, pos int64)

func damageUnsynced(t *testing.T, dir string, hurt damage) {
	t.Helper()
	for pdir, m := range loggedFrom(t, dir) {
		bases, err := listSegments(pdir)
		if err != nil {
			t.Fatal(err)
		}
		for _, base := range bases {
			path := filepath.Join(pdir, segmentName(base, logSuffix))
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			res, err := scanSegment(bytes.NewReader(data), int64(len(data)), base, 1)
			if err != nil {
				t.Fatal(err)
			}
			if res.next <= m {
				continue // all synced
			}
			pos := int64(0)
			if base < m {
				pos = int64(lookup(res.index, base, m))
			}
			hurt(t, path, pos)
		}
	}
}

func TestReplayAfterPowerLoss(t *testing.T) {
	damages := []struct {
		name string
		hurt damage
	}{
		{"none", func(*testing.T, string, int64) {}},
		{"unsynced bytes lost", func(t *testing.T, path string, pos int64) {
			if err := os.Truncate(path, pos); err != nil {
				t.Fatal(err)
			}
		}},
		{"unsynced pages zeroed", func(t *testing.T, path string, pos int64) {
			data, _ := os.ReadFile(path)
			clear(data[pos:])
			os.WriteFile(path, data, 0o644)
		}},
		{"half of the unsynced bytes written", func(t *testing.T, path string, pos int64) {
			data, _ := os.ReadFile(path)
			os.WriteFile(path, data[:pos+(int64(len(data))-pos)/2], 0o644)
		}},
		{"garbage", func(t *testing.T, path string, pos int64) {
			data, _ := os.ReadFile(path)
			for i := pos; i < int64(len(data)); i++ {
				data[i] = byte(i * 131)
			}
			os.WriteFile(path, data, 0o644)
		}},
	}
	for _, walBytes := range []int64{DefaultWALBytes, 64 << 10} {
		for _, d := range damages {
			t.Run(fmt.Sprintf("wal%dK/%s", walBytes>>10, d.name), func(t *testing.T) {
				dir := t.TempDir()
				cfg := Config{Dir: dir, SegmentBytes: 4 << 10, IndexIntervalBytes: 256, WALBytes: walBytes}
				b := openBus(t, cfg)
				want := fillForCrash(t, b, 120)
				b.abandon()
				if seqs, _ := listWAL(filepath.Join(dir, "wal")); len(seqs) == 0 {
					t.Fatalf("no log file to replay")
				}
				damageUnsynced(t, dir, d.hurt)

				b = openBus(t, cfg)
				sameRecords(t, readAllPartitions(t, b), want)
				if seqs, _ := listWAL(filepath.Join(dir, "wal")); len(seqs) != 0 {
					t.Fatalf("%d log files left after replay", len(seqs))
				}
				// Appending goes on where it stopped.
				if err := b.Append(t.Context(), bus.Message{Topic: "a", Value: []byte("after")}); err != nil {
					t.Fatal(err)
				}
				if _, next, _ := b.Bounds(t.Context(), "a", 0); next != int64(len(want["a/0"]))+1 {
					t.Fatalf("next = %d after one more append to %d records", next, len(want["a/0"]))
				}
			})
		}
	}
}

// A crash during replay leaves the logs in place; replaying again works.
func TestReplayTwice(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir, SegmentBytes: 4 << 10}
	b := openBus(t, cfg)
	want := fillForCrash(t, b, 100)
	b.abandon()
	saved := copyDir(t, filepath.Join(dir, "wal"))
	b = openBus(t, cfg)
	b.abandon()
	restoreDir(t, filepath.Join(dir, "wal"), saved)
	damageUnsynced(t, dir, func(t *testing.T, path string, pos int64) { os.Truncate(path, pos) })
	b = openBus(t, cfg)
	sameRecords(t, readAllPartitions(t, b), want)
}

func copyDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string][]byte)
	for _, e := range entries {
		out[e.Name()], _ = os.ReadFile(filepath.Join(dir, e.Name()))
	}
	return out
}

func restoreDir(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReplayTornLog(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir}
	b := openBus(t, cfg)
	want := fillForCrash(t, b, 50)
	b.abandon()
	seqs, _ := listWAL(filepath.Join(dir, "wal"))
	last := filepath.Join(dir, "wal", walName(seqs[len(seqs)-1]))
	// A cycle cut short: the start of an entry.
	entry := appendWALHeader(nil, "a", 0)
	entry = appendFrame(entry, 1000, 1, nil, []byte("never acknowledged"))
	finishWALEntry(entry)
	f, err := os.OpenFile(last, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(entry[:len(entry)-5])
	f.Close()
	b = openBus(t, cfg)
	sameRecords(t, readAllPartitions(t, b), want)
}

func TestReplayCorruptLog(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir}
	b := openBus(t, cfg)
	fillForCrash(t, b, 50)
	b.abandon()
	walDir := filepath.Join(dir, "wal")
	seqs, _ := listWAL(walDir)
	first := filepath.Join(walDir, walName(seqs[0]))
	data, _ := os.ReadFile(first)
	// A later log file exists, so damage in this one is not a torn tail.
	os.WriteFile(filepath.Join(walDir, walName(seqs[len(seqs)-1]+1)), nil, 0o644)
	data[len(data)/2] ^= 0xff
	os.WriteFile(first, data, 0o644)
	if b, err := Open(cfg); err == nil {
		b.Close()
		t.Fatalf("Open over a corrupt log succeeded")
	}
}

// Log files are checkpointed and deleted as they fill, and Close leaves
// none behind.
func TestCheckpoint(t *testing.T) {
	dir := t.TempDir()
	walDir := filepath.Join(dir, "wal")
	cfg := Config{Dir: dir, WALBytes: 64 << 10, SegmentBytes: 16 << 10}
	b := openBus(t, cfg)
	want := fillForCrash(t, b, 400)
	if total := dirBytes(t, filepath.Join(dir, "topics")); total < 4*cfg.WALBytes {
		t.Fatalf("only %d bytes appended; the test needs several log files", total)
	}
	wait.For(t, "the condition", func() bool {
		seqs, _ := listWAL(walDir)
		return len(seqs) <= 1
	})
	closeBus(t, b)
	if seqs, _ := listWAL(walDir); len(seqs) != 0 {
		t.Fatalf("%d log files after Close", len(seqs))
	}
	b = openBus(t, cfg)
	sameRecords(t, readAllPartitions(t, b), want)
}

func dirBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var total int64
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				total += info.Size()
			}
		}
		return nil
	})
	return total
}

func FuzzDecodeWALEntry(f *testing.F) {
	e := appendWALHeader(nil, "u.0123", 3)
	e = appendFrame(e, 5, 6, []byte("k"), []byte("v"))
	finishWALEntry(e)
	f.Add(e)
	f.Add(e[:len(e)-1])
	f.Add([]byte{0, 0, 0, 6, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		e, n, err := decodeWALEntry(data)
		switch {
		case err == nil:
			re := appendWALHeader(nil, e.topic, e.partition)
			re = append(re, e.frames...)
			finishWALEntry(re)
			if !bytes.Equal(re, data[:n]) {
				t.Fatalf("re-encoding differs")
			}
		case !errors.Is(err, errShortFrame) && !errors.Is(err, errBadWAL):
			t.Fatalf("unexpected error %v", err)
		}
	})
}
