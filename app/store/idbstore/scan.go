//go:build js && wasm

package idbstore

import (
	"bytes"
	"slices"
	"strings"
	"syscall/js"

	"github.com/mutualcoop/mutual/app/store"
)

// Scans read in batches. The first batch of a scan is as large as the
// last scan of the same bucket in the same direction that its caller
// stopped went (a caller reading pages of 200 messages reads each page
// with one request), or larger if a scan to the end of its range went
// further, within [minBatch, maxFirstBatch]; later batches are four times
// larger each, up to maxBatch, so a long scan makes few requests.
const (
	minBatch      = 8
	defaultBatch  = 64 // first, in a bucket not scanned yet
	maxFirstBatch = 1024
	maxBatch      = 4096
	maxHints      = 256 // buckets remembered
)

// hint is what the store remembers of the scans of a bucket.
type hint struct {
	bucket  string
	reverse bool
}

// firstBatch returns the size of the first batch of a scan of bucket.
func (s *Store) firstBatch(bucket []byte, reverse bool) int {
	s.hintsMu.Lock()
	defer s.hintsMu.Unlock()
	if n, ok := s.hints[hint{string(bucket), reverse}]; ok {
		return n
	}
	return defaultBatch
}

// learn records that a scan of bucket visited n records, and whether its
// caller stopped it or it reached the end of its range.
func (s *Store) learn(bucket []byte, reverse bool, n int, stopped bool) {
	n = min(max(n, minBatch), maxFirstBatch)
	s.hintsMu.Lock()
	defer s.hintsMu.Unlock()
	if s.hints == nil || len(s.hints) >= maxHints {
		s.hints = make(map[hint]int)
	}
	h := hint{string(bucket), reverse}
	if old, ok := s.hints[h]; ok && !stopped {
		n = max(n, old)
	}
	s.hints[h] = n
}

func (t *tx) Scan(bucket, prefix []byte, fn func(k, v []byte) error) error {
	return t.scan(bucket, prefix, nil, false, fn)
}

func (t *tx) ScanBefore(bucket, prefix, before []byte, fn func(k, v []byte) error) error {
	return t.scan(bucket, prefix, before, true, fn)
}

// scan visits the keys of bucket with prefix (and, if reverse and before
// is not nil, less than before) in increasing order, or decreasing if
// reverse. It merges what IndexedDB holds with the transaction's own
// writes.
func (t *tx) scan(bucket, prefix, before []byte, reverse bool, fn func(k, v []byte) error) error {
	if err := t.check(); err != nil {
		return err
	}
	if err := store.CheckBucket(bucket); err != nil {
		return err
	}
	if len(prefix) > store.MaxKeySize || len(before) > store.MaxKeySize {
		return store.ErrInvalid
	}
	// The encoded keys wanted are those in [lo, hi); hi nil is no bound.
	lo := appendKey(nil, bucket, prefix)
	hi := prefixEnd(lo)
	if reverse && before != nil {
		if b := appendKey(nil, bucket, before); hi == nil || bytes.Compare(b, hi) < 0 {
			hi = b
		}
	}
	if hi != nil && bytes.Compare(lo, hi) >= 0 {
		return nil
	}
	pending := t.pendingIn(lo, hi, reverse)
	head := 1 + len(bucket)
	r := &reader{t: t, head: lo[:head:head], reverse: reverse, lo: lo, hi: hi, n: t.s.firstBatch(bucket, reverse)}
	visited, stopped := 0, false
	defer func() { t.s.learn(bucket, reverse, visited, stopped) }()

	// first reports whether the encoded key a is visited before b.
	first := func(a string, b []byte) bool {
		if reverse {
			return a > string(b)
		}
		return a < string(b)
	}
	var (
		ik, iv []byte // the next record from IndexedDB
		iok    bool
		need   = true // ik has been visited or overridden: read the next
	)
	for {
		if need {
			var err error
			if ik, iv, iok, err = r.next(); err != nil {
				return err
			}
			need = false
		}
		var k, v []byte
		switch {
		case !iok && len(pending) == 0:
			return nil
		case len(pending) > 0 && (!iok || first(pending[0].k, ik)):
			p := pending[0]
			pending = pending[1:]
			if p.v == nil {
				continue // deleted, and not in IndexedDB
			}
			k, v = []byte(p.k), append([]byte{}, *p.v...)
		case len(pending) > 0 && pending[0].k == string(ik):
			p := pending[0]
			pending = pending[1:]
			need = true
			if p.v == nil {
				continue // deleted by this transaction
			}
			k, v = ik, append([]byte{}, *p.v...)
		default:
			k, v = ik, iv
			need = true
		}
		visited++
		if err := fn(k[head:], v); err != nil {
			stopped = true
			return err
		}
	}
}

// pendingWrite is one of an Update's changes.
type pendingWrite struct {
	k string  // encoded key
	v *[]byte // nil for a deletion
}

// pendingIn returns the transaction's changes to keys in [lo, hi), in the
// order a scan visits them.
func (t *tx) pendingIn(lo, hi []byte, reverse bool) []pendingWrite {
	if len(t.writes) == 0 {
		return nil
	}
	var out []pendingWrite
	los, his := string(lo), string(hi)
	for k, v := range t.writes {
		if k >= los && (hi == nil || k < his) {
			out = append(out, pendingWrite{k, v})
		}
	}
	slices.SortFunc(out, func(a, b pendingWrite) int {
		if reverse {
			return strings.Compare(b.k, a.k)
		}
		return strings.Compare(a.k, b.k)
	})
	return out
}

// reader reads the records of IndexedDB whose keys are in a range, in
// batches, in increasing key order or, if reverse, decreasing.
type reader struct {
	t       *tx
	head    []byte // the IndexedDB key's part before the key: the bucket
	reverse bool
	lo      []byte // lower bound, excluded if loOpen
	loOpen  bool
	hi      []byte // upper bound, always excluded; nil: none
	n       int    // size of the next batch

	keys, vals [][]byte // the current batch, in visiting order; keys are IndexedDB keys
	pos        int
	last       bool // no batch after the current one
}

// next returns the next record, or ok false after the last.
func (r *reader) next() (k, v []byte, ok bool, err error) {
	for r.pos == len(r.keys) {
		if r.last {
			return nil, nil, false, nil
		}
		if err := r.fetch(); err != nil {
			return nil, nil, false, err
		}
	}
	k, v = r.keys[r.pos], r.vals[r.pos]
	r.pos++
	return k, v, true, nil
}

// fetch reads the next batch and moves the range past it.
func (r *reader) fetch() error {
	r.keys, r.vals, r.pos = r.keys[:0], r.vals[:0], 0
	if r.hi != nil && bytes.Compare(r.lo, r.hi) >= 0 {
		r.last = true
		return nil
	}
	n := r.n
	r.n = min(4*r.n, maxBatch)
	var err error
	switch {
	case r.t.s.js.getAllOptions:
		err = r.fetchDirection(n)
	case r.reverse:
		err = r.fetchBackward(n)
	default:
		err = r.fetchForward(n)
	}
	if err != nil {
		return err
	}
	switch {
	case len(r.keys) < n:
		r.last = true
	case r.reverse:
		r.hi = r.keys[len(r.keys)-1]
	default:
		r.lo, r.loOpen = r.keys[len(r.keys)-1], true
	}
	return nil
}

// keyRange returns the IDBKeyRange from lo to hi.
func (r *reader) keyRange(lo []byte, loOpen bool, hi []byte) js.Value {
	s := r.t.s
	if hi == nil {
		return s.js.keyRange.Call("lowerBound", s.bytesToJS(lo), loOpen)
	}
	return s.js.keyRange.Call("bound", s.bytesToJS(lo), s.bytesToJS(hi), loOpen, true)
}

// fetchDirection reads a batch with one getAll request, in either
// direction (getAll's options argument, which came with getAllRecords).
func (r *reader) fetchDirection(n int) error {
	direction := "next"
	if r.reverse {
		direction = "prev"
	}
	res, err := r.t.issue("getAll", func(os js.Value) []js.Value {
		opts := js.ValueOf(map[string]any{
			"query":     r.keyRange(r.lo, r.loOpen, r.hi),
			"count":     n,
			"direction": direction,
		})
		return []js.Value{os.Call("getAll", opts)}
	})
	if err != nil {
		return err
	}
	return r.addAll(res[0], false)
}

// fetchForward reads a batch with one getAll request.
func (r *reader) fetchForward(n int) error {
	res, err := r.t.issue("getAll", func(os js.Value) []js.Value {
		return []js.Value{os.Call("getAll", r.keyRange(r.lo, r.loOpen, r.hi), n)}
	})
	if err != nil {
		return err
	}
	return r.addAll(res[0], false)
}

// fetchBackward reads the last n records of the range where getAll has no
// direction: a key cursor going back finds the n-th last key, then getAll
// reads from there to the end of the range.
func (r *reader) fetchBackward(n int) error {
	var req js.Value
	res, err := r.t.issue("openKeyCursor", func(os js.Value) []js.Value {
		req = os.Call("openKeyCursor", r.keyRange(r.lo, r.loOpen, r.hi), "prev")
		return []js.Value{req}
	})
	if err != nil {
		return err
	}
	cursor := res[0]
	if cursor.IsNull() {
		return nil // the range is empty
	}
	if n > 1 {
		// The cursor's request fires again when the cursor has moved.
		res, err = r.t.issue("advance", func(js.Value) []js.Value {
			cursor.Call("advance", n-1)
			return []js.Value{req}
		})
		if err != nil {
			return err
		}
		cursor = res[0]
	}
	lo, loOpen := r.lo, r.loOpen
	if !cursor.IsNull() {
		var err error
		if lo, err = r.t.s.keyToGo(cursor.Get("key")); err != nil {
			return err
		}
		loOpen = false
	} // else fewer than n records are left: read them all
	res, err = r.t.issue("getAll", func(os js.Value) []js.Value {
		return []js.Value{os.Call("getAll", r.keyRange(lo, loOpen, r.hi))}
	})
	if err != nil {
		return err
	}
	return r.addAll(res[0], true)
}

// addAll adds the records of an array that getAll returned, from the last
// if backwards.
func (r *reader) addAll(records js.Value, backwards bool) error {
	l := records.Length()
	for j := range l {
		i := j
		if backwards {
			i = l - 1 - j
		}
		rec, err := r.t.recordToGo(records.Index(i))
		if err != nil {
			return err
		}
		key, value, err := parseRecord(rec)
		if err != nil {
			return err
		}
		k := make([]byte, 0, len(r.head)+len(key))
		r.keys = append(r.keys, append(append(k, r.head...), key...))
		r.vals = append(r.vals, value)
	}
	return nil
}
