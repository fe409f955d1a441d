// Package memstore is a store.Store in memory, for tests and for clients
// that keep nothing between runs. It follows the store package's model
// exactly (the storetest suite checks it), except that nothing survives
// the process.
//
// Read-write transactions stage their changes and apply them on commit;
// read-only transactions share a read lock, so they wait while one
// commits and never see half of it.
package memstore

import (
	"bytes"
	"context"
	"slices"
	"sync"

	"github.com/mutualcoop/mutual/app/store"
)

// Store is an in-memory store.Store. The zero value is not usable; call
// New.
type Store struct {
	mu      sync.RWMutex // held for reading by View, for writing by Update
	buckets map[string]map[string][]byte
	closed  bool
}

var _ store.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{buckets: make(map[string]map[string][]byte)}
}

// View implements store.Store.
func (s *Store) View(ctx context.Context, fn func(store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return store.ErrClosed
	}
	t := &tx{s: s}
	defer t.end()
	return fn(t)
}

// Update implements store.Store.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.ErrClosed
	}
	t := &tx{s: s, writes: make(map[string]map[string]*[]byte)}
	defer t.end()
	if err := fn(t); err != nil {
		return err
	}
	t.commit()
	return nil
}

// Close implements store.Store.
func (s *Store) Close() error {
	s.mu.Lock()
	s.closed = true
	s.buckets = nil
	s.mu.Unlock()
	return nil
}

// tx is one transaction. writes is nil in a read-only one; in a
// read-write one it maps bucket and key to the new value, or to nil for a
// deletion.
type tx struct {
	s      *Store
	writes map[string]map[string]*[]byte
	done   bool
}

func (t *tx) end() { t.done = true }

func (t *tx) commit() {
	for b, kv := range t.writes {
		bucket := t.s.buckets[b]
		for k, v := range kv {
			switch {
			case v != nil && bucket == nil:
				bucket = make(map[string][]byte)
				t.s.buckets[b] = bucket
				bucket[k] = *v
			case v != nil:
				bucket[k] = *v
			case bucket != nil:
				delete(bucket, k)
			}
		}
		if bucket != nil && len(bucket) == 0 {
			delete(t.s.buckets, b)
		}
	}
}

func (t *tx) check() error {
	if t.done {
		return store.ErrTxDone
	}
	return nil
}

// lookup returns the value of key as this transaction sees it.
func (t *tx) lookup(bucket, key string) ([]byte, bool) {
	if w, ok := t.writes[bucket][key]; ok {
		if w == nil {
			return nil, false
		}
		return *w, true
	}
	v, ok := t.s.buckets[bucket][key]
	return v, ok
}

func (t *tx) Get(bucket, key []byte) ([]byte, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	if err := store.CheckKey(bucket, key); err != nil {
		return nil, err
	}
	v, ok := t.lookup(string(bucket), string(key))
	if !ok {
		return nil, store.ErrNotFound
	}
	return append([]byte{}, v...), nil
}

func (t *tx) set(bucket, key []byte, v *[]byte) error {
	if err := t.check(); err != nil {
		return err
	}
	if err := store.CheckKey(bucket, key); err != nil {
		return err
	}
	if t.writes == nil {
		return store.ErrReadOnly
	}
	b := string(bucket)
	if t.writes[b] == nil {
		t.writes[b] = make(map[string]*[]byte)
	}
	t.writes[b][string(key)] = v
	return nil
}

func (t *tx) Put(bucket, key, value []byte) error {
	if err := store.CheckValue(value); err != nil {
		return err
	}
	v := append([]byte{}, value...)
	return t.set(bucket, key, &v)
}

func (t *tx) Delete(bucket, key []byte) error {
	return t.set(bucket, key, nil)
}

func (t *tx) Scan(bucket, prefix []byte, fn func(k, v []byte) error) error {
	return t.scan(bucket, prefix, nil, false, fn)
}

func (t *tx) ScanBefore(bucket, prefix, before []byte, fn func(k, v []byte) error) error {
	return t.scan(bucket, prefix, before, true, fn)
}

// scan visits the keys with prefix (and, if before is not nil, less than
// it) in increasing order, or decreasing if reverse.
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
	b := string(bucket)
	wanted := func(k string) bool {
		return hasPrefix(k, prefix) && (before == nil || k < string(before))
	}
	var keys []string
	for k := range t.s.buckets[b] {
		if _, staged := t.writes[b][k]; !staged && wanted(k) {
			keys = append(keys, k)
		}
	}
	for k, v := range t.writes[b] {
		if v != nil && wanted(k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if reverse {
		slices.Reverse(keys)
	}
	for _, k := range keys {
		v, _ := t.lookup(b, k)
		// Copies, so that fn can neither change the store through them
		// nor keep them past this call and see them change.
		if err := fn([]byte(k), append([]byte{}, v...)); err != nil {
			return err
		}
	}
	return nil
}

func hasPrefix(k string, prefix []byte) bool {
	return len(k) >= len(prefix) && bytes.Equal([]byte(k[:len(prefix)]), prefix)
}
