//go:build !js

package boltstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/mutualcoop/mutual/app/store"
)

// ErrLocked is returned by Open when another process holds the file.
var ErrLocked = errors.New("boltstore: the store is in use by another process")

// Options tune Open. The zero value is ready to use.
type Options struct {
	// LockTimeout is how long Open waits for another process to release
	// the file. Default 1s.
	LockTimeout time.Duration
}

// Validate reports options that cannot work.
func (o Options) Validate() error {
	if o.LockTimeout < 0 {
		return errors.New("boltstore: negative lock timeout")
	}
	return nil
}

// Store is a store.Store in one bbolt file.
type Store struct {
	db *bolt.DB
}

var _ store.Store = (*Store)(nil)

// Open opens the store in the file at path, creating it (mode 0600) if
// it does not exist.
func Open(path string, opts Options) (*Store, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.LockTimeout == 0 {
		opts.LockTimeout = time.Second
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.LockTimeout})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, ErrLocked
	}
	if err != nil {
		return nil, fmt.Errorf("boltstore: open: %w", err)
	}
	return &Store{db: db}, nil
}

// View implements store.Store.
func (s *Store) View(ctx context.Context, fn func(store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return mapErr(s.db.View(func(btx *bolt.Tx) error {
		t := &tx{btx: btx}
		defer t.end()
		return fn(t)
	}))
}

// Update implements store.Store.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return mapErr(s.db.Update(func(btx *bolt.Tx) error {
		t := &tx{btx: btx}
		defer t.end()
		return fn(t)
	}))
}

// Close implements store.Store.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("boltstore: close: %w", err)
	}
	return nil
}

func mapErr(err error) error {
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return store.ErrClosed
	}
	return err
}

type tx struct {
	btx  *bolt.Tx
	done bool
}

func (t *tx) end() { t.done = true }

func (t *tx) check() error {
	if t.done {
		return store.ErrTxDone
	}
	return nil
}

func (t *tx) Get(bucket, key []byte) ([]byte, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	if err := store.CheckKey(bucket, key); err != nil {
		return nil, err
	}
	b := t.btx.Bucket(bucket)
	if b == nil {
		return nil, store.ErrNotFound
	}
	v := b.Get(key)
	if v == nil {
		return nil, store.ErrNotFound
	}
	return append([]byte{}, v...), nil
}

func (t *tx) Put(bucket, key, value []byte) error {
	if err := t.check(); err != nil {
		return err
	}
	if err := store.CheckKey(bucket, key); err != nil {
		return err
	}
	if err := store.CheckValue(value); err != nil {
		return err
	}
	if !t.btx.Writable() {
		return store.ErrReadOnly
	}
	b, err := t.btx.CreateBucketIfNotExists(bucket)
	if err != nil {
		return fmt.Errorf("boltstore: bucket: %w", err)
	}
	// bbolt keeps references to key and value until the transaction
	// ends: give it copies the caller cannot change.
	if err := b.Put(append([]byte{}, key...), append([]byte{}, value...)); err != nil {
		return fmt.Errorf("boltstore: put: %w", err)
	}
	return nil
}

func (t *tx) Delete(bucket, key []byte) error {
	if err := t.check(); err != nil {
		return err
	}
	if err := store.CheckKey(bucket, key); err != nil {
		return err
	}
	if !t.btx.Writable() {
		return store.ErrReadOnly
	}
	b := t.btx.Bucket(bucket)
	if b == nil {
		return nil
	}
	if err := b.Delete(key); err != nil {
		return fmt.Errorf("boltstore: delete: %w", err)
	}
	return nil
}

func (t *tx) Scan(bucket, prefix []byte, fn func(k, v []byte) error) error {
	if err := t.check(); err != nil {
		return err
	}
	if err := store.CheckBucket(bucket); err != nil {
		return err
	}
	if len(prefix) > store.MaxKeySize {
		return store.ErrInvalid
	}
	b := t.btx.Bucket(bucket)
	if b == nil {
		return nil
	}
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if v == nil {
			continue // a nested bucket; this package makes none
		}
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) ScanBefore(bucket, prefix, before []byte, fn func(k, v []byte) error) error {
	if err := t.check(); err != nil {
		return err
	}
	if err := store.CheckBucket(bucket); err != nil {
		return err
	}
	if len(prefix) > store.MaxKeySize || len(before) > store.MaxKeySize {
		return store.ErrInvalid
	}
	b := t.btx.Bucket(bucket)
	if b == nil {
		return nil
	}
	c := b.Cursor()
	// Start at the last key below the bound: the end of prefix's range,
	// or before if that comes first.
	bound := prefixEnd(prefix)
	if before != nil && (bound == nil || bytes.Compare(before, bound) < 0) {
		bound = before
	}
	var k, v []byte
	if bound == nil {
		k, v = c.Last()
	} else if k, v = c.Seek(bound); k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Prev() {
		if v == nil {
			continue // a nested bucket; this package makes none
		}
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}

// prefixEnd returns the least key greater than every key that starts with
// prefix, or nil if there is none (prefix is empty or all 0xff).
func prefixEnd(prefix []byte) []byte {
	end := bytes.Clone(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}
