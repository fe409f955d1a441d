package embedded

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/mutualcoop/mutual/relay/bus"
)

func TestRecoverTornTail(t *testing.T) {
	const n = 10
	frameAt := func(off int64, value string) []byte { return appendFrame(nil, off, 1, nil, []byte(value)) }
	badCRC := frameAt(n, "x")
	badCRC[len(badCRC)-1] ^= 1
	tests := []struct {
		name string
		cut  int64  // bytes removed from the end of the file first
		tail []byte // bytes then appended
		want []string
	}{
		{"partial header", 0, []byte{0, 0, 1}, seq("v", 0, n)},
		{"partial body", 0, frameAt(n, "torn")[:frameOverhead+2], seq("v", 0, n)},
		{"bad checksum", 0, badCRC, seq("v", 0, n)},
		{"offset gap", 0, frameAt(n+5, "x"), seq("v", 0, n)},
		{"repeated offset", 0, frameAt(n-1, "x"), seq("v", 0, n)},
		{"zeros", 0, make([]byte, 4096), seq("v", 0, n)},
		{"huge length", 0, []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1, 2, 3}, seq("v", 0, n)},
		{"last record cut", 3, nil, seq("v", 0, n-1)},
		{"whole record then garbage", 0, append(frameAt(n, "extra"), 0xde, 0xad), append(seq("v", 0, n), "extra")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := Config{Dir: dir}
			b := openBus(t, cfg)
			createTopic(t, b, "t", 1)
			appendValues(t, b, "t", seq("v", 0, n)...)
			closeBus(t, b)

			path := filepath.Join(partitionDir(dir, "t", 0), segmentName(0, logSuffix))
			size := fileSize(t, path)
			if err := os.Truncate(path, size-tc.cut); err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write(tc.tail)
			f.Close()

			b = openBus(t, cfg)
			want := int64(len(tc.want))
			oldest, next, err := b.Bounds(t.Context(), "t", 0)
			if err != nil || oldest != 0 || next != want {
				t.Fatalf("Bounds after recovery = %d, %d, %v; want 0, %d", oldest, next, err, want)
			}
			checkValues(t, readRange(t, b, "t", 0), 0, tc.want)
			// The torn tail is gone from the file, not just ignored.
			var valid int64
			for _, v := range tc.want {
				valid += int64(frameLen(0, len(v)))
			}
			if got := fileSize(t, path); got != valid {
				t.Fatalf("segment is %d bytes after recovery, want %d", got, valid)
			}
			appendValues(t, b, "t", "after")
			closeBus(t, b)

			b = openBus(t, cfg)
			checkValues(t, readRange(t, b, "t", 0), 0, append(tc.want, "after"))
		})
	}
}

func TestSealedSegments(t *testing.T) {
	const n = 400
	values := seq("value-", 0, n)
	tests := []struct {
		name   string
		damage func(t *testing.T, pdir string)
	}{
		{"clean", func(*testing.T, string) {}},
		{"index files missing", func(t *testing.T, pdir string) {
			for _, f := range segmentFiles(t, pdir, idxSuffix) {
				os.Remove(f)
			}
		}},
		{"index files corrupt", func(t *testing.T, pdir string) {
			for _, f := range segmentFiles(t, pdir, idxSuffix) {
				data, _ := os.ReadFile(f)
				data[len(data)-1] ^= 0xff
				os.WriteFile(f, data, 0o644)
			}
		}},
		{"index files truncated", func(t *testing.T, pdir string) {
			for _, f := range segmentFiles(t, pdir, idxSuffix) {
				os.Truncate(f, 10)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := Config{Dir: dir, SegmentBytes: 1 << 10, IndexIntervalBytes: 128}
			b := openBus(t, cfg)
			createTopic(t, b, "t", 1)
			appendValues(t, b, "t", values...)
			closeBus(t, b)
			pdir := partitionDir(dir, "t", 0)
			if segs := segmentFiles(t, pdir, logSuffix); len(segs) < 10 {
				t.Fatalf("%d segments, want many", len(segs))
			}
			tc.damage(t, pdir)

			b = openBus(t, cfg)
			for _, off := range []int64{0, 1, 23, 24, 25, 200, 333, n - 1} {
				sub, err := b.Subscribe(t.Context(), "t", 0, off)
				if err != nil {
					t.Fatalf("Subscribe at %d: %v", off, err)
				}
				recs, err := sub.Next(t.Context())
				sub.Close()
				if err != nil {
					t.Fatalf("Next at %d: %v", off, err)
				}
				if recs[0].Offset != off || string(recs[0].Value) != values[off] {
					t.Fatalf("Next at %d = %d %q", off, recs[0].Offset, recs[0].Value)
				}
			}
			checkValues(t, readRange(t, b, "t", 0), 0, values)
			appendValues(t, b, "t", "more")
			checkValues(t, readRange(t, b, "t", n), n, []string{"more"})
		})
	}
}

// A sealed segment that lost records is reported, not skipped over.
func TestSealedSegmentDamage(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir, SegmentBytes: 1 << 10}
	b := openBus(t, cfg)
	createTopic(t, b, "t", 1)
	appendValues(t, b, "t", seq("value-", 0, 100)...)
	closeBus(t, b)
	pdir := partitionDir(dir, "t", 0)
	first := filepath.Join(pdir, segmentName(0, logSuffix))
	data, err := os.ReadFile(first)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(first, data[:len(data)/2], 0o644)

	b = openBus(t, cfg)
	sub, err := b.Subscribe(t.Context(), "t", 0, 0)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	defer sub.Close()
	for {
		_, err := sub.Next(t.Context())
		if err != nil {
			if !errors.Is(err, errBadFrame) {
				t.Fatalf("Next over a damaged segment: %v, want a corruption error", err)
			}
			return
		}
	}
}

func TestOpenLocksDir(t *testing.T) {
	dir := t.TempDir()
	b := openBus(t, Config{Dir: dir})
	if b2, err := Open(Config{Dir: dir}); err == nil {
		b2.Close()
		t.Fatalf("a second Open of the same directory succeeded")
	}
	closeBus(t, b)
	b = openBus(t, Config{Dir: dir})
	closeBus(t, b)
}

// Topics created before a crash exist after it; a half-built one does not.
func TestCreateTopicAtomic(t *testing.T) {
	dir := t.TempDir()
	b := openBus(t, Config{Dir: dir})
	createTopic(t, b, "t", 3)
	closeBus(t, b)
	// A crash while building a topic leaves it under tmp/.
	if err := os.MkdirAll(filepath.Join(dir, "tmp", "topic-123", "0"), 0o755); err != nil {
		t.Fatal(err)
	}
	b = openBus(t, Config{Dir: dir})
	for p := range int32(3) {
		if _, _, err := b.Bounds(t.Context(), "t", p); err != nil {
			t.Fatalf("Bounds of partition %d: %v", p, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "tmp", "topic-123")); !os.IsNotExist(err) {
		t.Fatalf("staging directory left after open: %v", err)
	}
	if err := b.Append(t.Context(), bus.Message{Topic: "topic-123"}); !errors.Is(err, bus.ErrUnknownTopic) {
		t.Fatalf("Append to a half-built topic: %v", err)
	}
}

func TestIndexFileRoundTrip(t *testing.T) {
	x := idxFile{base: 7, size: 999, next: 30, minTime: 5, maxTime: 6, lastPos: 900,
		index: []indexEntry{{0, 0}, {10, 300}, {20, 600}}}
	got, err := decodeIdx(encodeIdx(x))
	if err != nil {
		t.Fatal(err)
	}
	if got.base != x.base || got.size != x.size || got.next != x.next || got.lastPos != x.lastPos || len(got.index) != 3 || got.index[2] != x.index[2] {
		t.Fatalf("index round trip: %+v", got)
	}
	if !bytes.Equal(encodeIdx(got), encodeIdx(x)) {
		t.Fatalf("index re-encoding differs")
	}
}
