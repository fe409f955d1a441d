package embedded

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// A segment is one file of a partition's log, named by the offset of its
// first record. Only the last segment of a partition (the active one) is
// written; the others are sealed and never change until retention removes
// them whole.
type segment struct {
	base int64
	// Fields of the active segment are written with both partition.wmu and
	// partition.mu held, so the writer reads them under wmu and readers under mu.
	sealed  bool
	size    int64        // bytes of durable records (active), or -1 if not yet known (sealed)
	next    int64        // offset after the last record
	minTime int64        // append time of the first record, 0 if unknown or empty
	maxTime int64        // latest append time, 0 if unknown or empty
	lastPos int64        // position of the last frame, -1 if empty
	lastIdx int64        // position of the last index entry
	index   []indexEntry // sparse index (active segment only; sealed ones keep it in a file)
}

// An indexEntry maps the record at offset base+rel to its file position.
type indexEntry struct {
	rel uint32
	pos uint32
}

const (
	logSuffix = ".log"
	idxSuffix = ".idx"
)

func segmentName(base int64, suffix string) string {
	return fmt.Sprintf("%020d%s", base, suffix)
}

// parseSegmentName returns the base offset of a segment file name.
func parseSegmentName(name string) (int64, bool) {
	s, ok := strings.CutSuffix(name, logSuffix)
	if !ok || len(s) != 20 {
		return 0, false
	}
	base, err := strconv.ParseInt(s, 10, 64)
	if err != nil || base < 0 {
		return 0, false
	}
	return base, true
}

// listSegments returns the base offsets of the segment files in dir, in order.
func listSegments(dir string) ([]int64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var bases []int64
	for _, e := range entries {
		if base, ok := parseSegmentName(e.Name()); ok {
			bases = append(bases, base)
		}
	}
	sort.Slice(bases, func(i, j int) bool { return bases[i] < bases[j] })
	return bases, nil
}

// lookup returns the position to start reading from to find offset: the
// greatest indexed position at or before it.
func lookup(index []indexEntry, base, offset int64) int64 {
	rel := offset - base
	i := sort.Search(len(index), func(i int) bool { return int64(index[i].rel) > rel })
	if i == 0 {
		return 0
	}
	return int64(index[i-1].pos)
}

// scanResult describes the valid prefix of a segment file.
type scanResult struct {
	size    int64
	next    int64
	minTime int64
	maxTime int64
	lastPos int64
	lastIdx int64
	index   []indexEntry
	torn    bool // bytes after size are not valid records
}

// scanSegment reads a whole segment, checking every frame, and builds its
// sparse index. The valid prefix ends at the first frame that is incomplete,
// fails its CRC or does not carry the next offset.
func scanSegment(r io.ReaderAt, fileSize, base int64, interval int) (scanResult, error) {
	res := scanResult{next: base, lastPos: -1}
	fr := newFrameReader(r, 0, fileSize, 1<<20, false)
	for {
		f, at, err := fr.next()
		if errors.Is(err, io.EOF) {
			return res, nil
		}
		if errors.Is(err, errTornFrame) || (err == nil && f.offset != res.next) {
			res.torn = true
			return res, nil
		}
		if err != nil {
			return res, err
		}
		if at == 0 || at-res.lastIdx >= int64(interval) {
			res.index = append(res.index, indexEntry{rel: uint32(f.offset - base), pos: uint32(at)})
			res.lastIdx = at
		}
		if res.minTime == 0 {
			res.minTime = f.time
		}
		res.maxTime = max(res.maxTime, f.time)
		res.lastPos = at
		res.next++
		res.size = fr.pos
	}
}

// An index file (<base>.idx) caches what a scan of a segment would find: its
// size, next offset, times and sparse index. It is written without fsync
// when a segment is sealed (and for the active segment at Close) and is
// trusted only if its checksums hold and it matches the segment file; any
// doubt means the segment is scanned again.
//
//	0   4  magic "MIX1"
//	4   8  base offset
//	12  8  segment size
//	20  8  next offset
//	28  8  min time
//	36  8  max time
//	44  8  last frame position
//	52  4  entry count N
//	56  4  CRC-32C of the entries
//	60  4  CRC-32C of bytes 0..59
//	64     N entries of (rel uint32, pos uint32)
const (
	idxMagic  = "MIX1"
	idxHeader = 64
)

type idxFile struct {
	base, size, next, minTime, maxTime, lastPos int64
	index                                       []indexEntry
}

func encodeIdx(x idxFile) []byte {
	b := make([]byte, idxHeader, idxHeader+8*len(x.index))
	copy(b, idxMagic)
	be := binary.BigEndian
	be.PutUint64(b[4:], uint64(x.base))
	be.PutUint64(b[12:], uint64(x.size))
	be.PutUint64(b[20:], uint64(x.next))
	be.PutUint64(b[28:], uint64(x.minTime))
	be.PutUint64(b[36:], uint64(x.maxTime))
	be.PutUint64(b[44:], uint64(x.lastPos))
	be.PutUint32(b[52:], uint32(len(x.index)))
	for _, e := range x.index {
		b = be.AppendUint32(b, e.rel)
		b = be.AppendUint32(b, e.pos)
	}
	be.PutUint32(b[56:], crc32.Checksum(b[idxHeader:], castagnoli))
	be.PutUint32(b[60:], crc32.Checksum(b[:60], castagnoli))
	return b
}

var errBadIdx = errors.New("bad index file")

// decodeIdxHeader decodes the header of an index file; entries are not read.
func decodeIdxHeader(b []byte) (idxFile, int, error) {
	be := binary.BigEndian
	if len(b) < idxHeader || string(b[:4]) != idxMagic ||
		crc32.Checksum(b[:60], castagnoli) != be.Uint32(b[60:]) {
		return idxFile{}, 0, errBadIdx
	}
	x := idxFile{
		base:    int64(be.Uint64(b[4:])),
		size:    int64(be.Uint64(b[12:])),
		next:    int64(be.Uint64(b[20:])),
		minTime: int64(be.Uint64(b[28:])),
		maxTime: int64(be.Uint64(b[36:])),
		lastPos: int64(be.Uint64(b[44:])),
	}
	n := be.Uint32(b[52:])
	if x.size < 0 || x.next < x.base || n > uint32(x.size/frameOverhead)+1 {
		return idxFile{}, 0, errBadIdx
	}
	return x, int(n), nil
}

// decodeIdx decodes a whole index file.
func decodeIdx(b []byte) (idxFile, error) {
	x, n, err := decodeIdxHeader(b)
	if err != nil {
		return idxFile{}, err
	}
	entries := b[idxHeader:]
	if len(entries) != 8*n || crc32.Checksum(entries, castagnoli) != binary.BigEndian.Uint32(b[56:]) {
		return idxFile{}, errBadIdx
	}
	x.index = make([]indexEntry, n)
	for i := range x.index {
		x.index[i] = indexEntry{
			rel: binary.BigEndian.Uint32(entries[8*i:]),
			pos: binary.BigEndian.Uint32(entries[8*i+4:]),
		}
	}
	return x, nil
}

// writeIdx writes an index file through a temporary name and rename, so a
// reader never sees half of one. It is a cache: no fsync.
func writeIdx(dir string, x idxFile) error {
	path := filepath.Join(dir, segmentName(x.base, idxSuffix))
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, encodeIdx(x), fileMode); err != nil {
		return fmt.Errorf("write index: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write index: %w", err)
	}
	return nil
}

// readIdx reads and checks the index file of the segment at base, whose log
// file has size fileSize.
func readIdx(dir string, base, fileSize int64) (idxFile, error) {
	b, err := os.ReadFile(filepath.Join(dir, segmentName(base, idxSuffix)))
	if err != nil {
		return idxFile{}, err
	}
	x, err := decodeIdx(b)
	if err != nil {
		return idxFile{}, err
	}
	if x.base != base || x.size != fileSize {
		return idxFile{}, errBadIdx
	}
	return x, nil
}

// readIdxHeader reads the header of the index file of the segment at base.
func readIdxHeader(dir string, base, fileSize int64) (idxFile, error) {
	f, err := os.Open(filepath.Join(dir, segmentName(base, idxSuffix)))
	if err != nil {
		return idxFile{}, err
	}
	defer f.Close()
	var b [idxHeader]byte
	if _, err := io.ReadFull(f, b[:]); err != nil {
		return idxFile{}, errBadIdx
	}
	x, _, err := decodeIdxHeader(b[:])
	if err != nil {
		return idxFile{}, err
	}
	if x.base != base || x.size != fileSize {
		return idxFile{}, errBadIdx
	}
	return x, nil
}

// checkLastFrame reports whether the frame at pos in r is valid, ends at
// size and carries offset.
func checkLastFrame(r io.ReaderAt, pos, size, offset int64) bool {
	if pos < 0 || pos >= size || size-pos > frameOverhead+maxFrameBody {
		return false
	}
	b := make([]byte, size-pos)
	if _, err := r.ReadAt(b, pos); err != nil {
		return false
	}
	f, n, err := decodeFrame(b)
	return err == nil && n == len(b) && f.offset == offset
}
