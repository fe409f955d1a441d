//go:build linux

package embedded

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/mutualcoop/mutual/internal/tinyfs"
	"github.com/mutualcoop/mutual/relay/bus"
)

// On a filesystem that is really full, appends fail with ENOSPC and store
// nothing that a reader sees or a reopen brings back; the bus stays
// usable, and appends succeed again once space is freed. Both with the
// floor (the bus stops before the disk is full) and without it (the log
// write itself fails and is cut back).
func TestDiskFull(t *testing.T) {
	for _, floor := range []int64{1 << 20, -1} {
		t.Run(fmt.Sprintf("floor %d", floor), func(t *testing.T) {
			fs := tinyfs.Mount(t, 8<<20)
			cfg := Config{Dir: filepath.Join(fs, "bus"), MinFreeBytes: floor, WALBytes: 64 << 10}
			b := openBus(t, cfg)
			createTopic(t, b, "t", 1)
			value := func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, 20<<10) }
			var stored int
			spare := tinyfs.Fill(t, fs, 2<<20) // room for a few records
			for i := 0; ; i++ {
				if i > 1000 {
					t.Fatal("the disk never filled")
				}
				err := b.Append(t.Context(), bus.Message{Topic: "t", Value: value(stored)})
				if errors.Is(err, syscall.ENOSPC) {
					break
				}
				if err != nil {
					t.Fatalf("append %d: %v", i, err)
				}
				stored++
			}
			if floor < 0 {
				// The floor was off: now take every byte left. The log
				// frees space of its own as it rotates its files, so an
				// append may still fit; take that space too, until three
				// appends in a row fail.
				var releases []func()
				for i, failures := 0, 0; failures < 3; i++ {
					if i > 100 {
						t.Fatal("appends never failed on a full disk")
					}
					releases = append(releases, tinyfs.Fill(t, fs, 0))
					err := b.Append(t.Context(), bus.Message{Topic: "t", Value: value(stored)})
					switch {
					case errors.Is(err, syscall.ENOSPC):
						failures++
					case err == nil:
						stored++
						failures = 0
					default:
						t.Fatalf("append to a full disk: %v, want ENOSPC", err)
					}
				}
				for _, release := range releases {
					release()
				}
			}
			if b.failed != nil {
				t.Fatalf("the bus stopped: %v", b.failed)
			}
			check := func(b *Bus) {
				t.Helper()
				recs := readRange(t, b, "t", 0)
				if len(recs) != stored {
					t.Fatalf("%d records readable, %d acknowledged", len(recs), stored)
				}
				for i, r := range recs {
					if r.Offset != int64(i) || !bytes.Equal(r.Value, value(i)) {
						t.Fatalf("record %d: offset %d, value %d bytes of %d", i, r.Offset, len(r.Value), r.Value[0])
					}
				}
			}
			check(b)

			spare()
			for range 3 {
				if err := b.Append(t.Context(), bus.Message{Topic: "t", Value: value(stored)}); err != nil {
					t.Fatalf("append once space is back: %v", err)
				}
				stored++
			}
			check(b)
			closeBus(t, b)
			check(openBus(t, cfg))
		})
	}
}

// A write to the log that finds the disk full is cut back, and the bus
// goes on once there is space: here the log's own filesystem fills while
// the segments still have room.
func TestLogWriteFindsDiskFull(t *testing.T) {
	dir := t.TempDir()
	walFS := filepath.Join(dir, "wal")
	if err := os.Mkdir(walFS, 0o755); err != nil {
		t.Fatal(err)
	}
	tinyfs.MountOn(t, walFS, 128<<10)
	cfg := Config{Dir: dir, MinFreeBytes: -1, WALBytes: 1 << 20}
	b := openBus(t, cfg)
	createTopic(t, b, "t", 1)
	var want []string
	var full error
	for i := range 100 {
		v := fmt.Sprintf("%d:%s", i, bytes.Repeat([]byte{'x'}, 10<<10))
		if full = b.Append(t.Context(), bus.Message{Topic: "t", Value: []byte(v)}); full != nil {
			break
		}
		want = append(want, v)
	}
	if !errors.Is(full, syscall.ENOSPC) {
		t.Fatalf("append to a full log: %v, want ENOSPC", full)
	}
	if b.failed != nil {
		t.Fatalf("the bus stopped: %v", b.failed)
	}
	checkValues(t, readRange(t, b, "t", 0), 0, want)
	tinyfs.Resize(t, walFS, 4<<20)
	appendValues(t, b, "t", "after")
	want = append(want, "after")
	checkValues(t, readRange(t, b, "t", 0), 0, want)
	closeBus(t, b)
	checkValues(t, readRange(t, openBus(t, cfg), "t", 0), 0, want)
}
