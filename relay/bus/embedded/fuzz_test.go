package embedded

import (
	"bytes"
	"errors"
	"testing"
)

func FuzzDecodeFrame(f *testing.F) {
	f.Add(appendFrame(nil, 0, 1, nil, nil))
	f.Add(appendFrame(nil, 42, 1700000000000000000, []byte("key"), []byte("value")))
	f.Add(appendFrame(nil, 1, 2, []byte("k"), make([]byte, 300))[:50])
	f.Add([]byte{0, 0, 0, 20, 1, 2, 3, 4})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		fr, n, err := decodeFrame(data)
		switch {
		case err == nil:
			if n > len(data) {
				t.Fatalf("frame length %d beyond %d bytes", n, len(data))
			}
			if re := appendFrame(nil, fr.offset, fr.time, fr.key, fr.value); !bytes.Equal(re, data[:n]) {
				t.Fatalf("re-encoding differs")
			}
		case errors.Is(err, errShortFrame):
			if n <= len(data) {
				t.Fatalf("short frame needs %d bytes, have %d", n, len(data))
			}
		case !errors.Is(err, errBadFrame):
			t.Fatalf("unexpected error %v", err)
		}
	})
}

func FuzzScanSegment(f *testing.F) {
	var seg []byte
	for i := range int64(5) {
		seg = appendFrame(seg, i, i, []byte("k"), bytes.Repeat([]byte{byte(i)}, int(i*10)))
	}
	f.Add(seg)
	f.Add(seg[:len(seg)-3])
	f.Add(append(seg[:len(seg):len(seg)], 0, 0, 0, 0, 0, 0, 0, 0, 0))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := scanSegment(bytes.NewReader(data), int64(len(data)), 0, 64)
		if err != nil {
			t.Fatalf("scan: %v", err)
		}
		if res.size > int64(len(data)) || (!res.torn && res.size != int64(len(data))) {
			t.Fatalf("valid prefix %d of %d bytes (torn %v)", res.size, len(data), res.torn)
		}
		// The valid prefix scans clean to the same result.
		again, err := scanSegment(bytes.NewReader(data[:res.size]), res.size, 0, 64)
		if err != nil || again.torn || again.next != res.next || again.size != res.size || len(again.index) != len(res.index) {
			t.Fatalf("rescan of the valid prefix differs: %+v vs %+v (%v)", again, res, err)
		}
		for _, e := range res.index {
			if x := lookup(res.index, 0, int64(e.rel)); x != int64(e.pos) {
				t.Fatalf("lookup(%d) = %d, want %d", e.rel, x, e.pos)
			}
		}
	})
}

func FuzzDecodeIdx(f *testing.F) {
	f.Add(encodeIdx(idxFile{base: 3, size: 1000, next: 20, minTime: 1, maxTime: 2, lastPos: 950, index: []indexEntry{{0, 0}, {9, 500}}}))
	f.Add(encodeIdx(idxFile{}))
	f.Add([]byte(idxMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		x, err := decodeIdx(data)
		if err != nil {
			return
		}
		if !bytes.Equal(encodeIdx(x), data) {
			t.Fatalf("re-encoding differs")
		}
	})
}

func FuzzDecodeOffsets(f *testing.F) {
	f.Add(encodeOffsets([]int64{-1, 0, 42}))
	f.Add(encodeOffsets(nil))
	f.Add([]byte(offsetsMagic + "\x00\x00\x00\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		offs, err := decodeOffsets(data)
		if err != nil {
			return
		}
		if !bytes.Equal(encodeOffsets(offs), data) {
			t.Fatalf("re-encoding differs")
		}
	})
}
