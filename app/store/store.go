// Package store is the client's local storage: one small interface, a
// transactional key-value store with buckets, that every platform
// implements. The browser build keeps it in IndexedDB (package idbstore);
// natively it is a file (package boltstore); tests use memory (package
// memstore). Package storetest is the conformance suite each
// implementation passes.
//
// The model:
//
//   - A bucket is a named, ordered map from keys to values. Buckets exist
//     implicitly: Put creates one, reading a bucket nobody wrote to finds
//     nothing.
//   - Keys are 1 to MaxKeySize bytes, compared as bytes (Scan visits them
//     in that order). Values are 0 to MaxValueSize bytes; an empty value is
//     a value, distinct from a missing key.
//   - Update runs a read-write transaction: every change of fn commits
//     together, or none does (when fn returns an error or panics). Update
//     returns only once the changes are durable, so what it committed
//     survives a crash of the process or the machine.
//   - View runs a read-only transaction over a consistent snapshot.
//   - Transactions do not nest: fn must not call View or Update on the same
//     Store, or it may deadlock. Read-write transactions run one at a time.
//   - A Tx is valid only inside fn, on fn's goroutine.
package store

import (
	"context"
	"errors"
)

// Limits every implementation accepts. They are small enough for
// IndexedDB and bbolt alike.
const (
	MaxBucketName = 255
	MaxKeySize    = 1024
	MaxValueSize  = 16 << 20
)

// Errors callers branch on.
var (
	// ErrNotFound is returned by Tx.Get for a missing key.
	ErrNotFound = errors.New("store: not found")
	// ErrReadOnly is returned by Put and Delete inside View.
	ErrReadOnly = errors.New("store: read-only transaction")
	// ErrClosed is returned by View and Update after Close.
	ErrClosed = errors.New("store: closed")
	// ErrTxDone is returned by a Tx used after its transaction ended.
	ErrTxDone = errors.New("store: transaction has ended")
	// ErrInvalid is returned for an empty or oversized bucket name or key,
	// or an oversized value.
	ErrInvalid = errors.New("store: invalid bucket, key or value")
)

// Store is a transactional key-value store with buckets.
type Store interface {
	// View runs fn in a read-only transaction. If ctx is done before the
	// transaction starts, View returns ctx.Err() without calling fn.
	View(ctx context.Context, fn func(Tx) error) error
	// Update runs fn in a read-write transaction and commits its changes
	// if fn returns nil; it returns once they are durable. If fn returns
	// an error or panics, nothing fn did is kept and the error (or panic)
	// is passed on. If ctx is done before the transaction starts, Update
	// returns ctx.Err() without calling fn.
	Update(ctx context.Context, fn func(Tx) error) error
	// Close releases the store. Transactions already running finish first.
	Close() error
}

// Tx reads and writes inside one transaction.
type Tx interface {
	// Get returns a copy of the value of key in bucket, or ErrNotFound.
	// It sees the transaction's own earlier writes.
	Get(bucket, key []byte) ([]byte, error)
	// Put sets key to value in bucket, creating the bucket if needed. The
	// store keeps its own copies of key and value.
	Put(bucket, key, value []byte) error
	// Delete removes key from bucket; a missing key is not an error.
	Delete(bucket, key []byte) error
	// Scan calls fn for each key in bucket that starts with prefix (every
	// key if prefix is empty), in increasing key order, until fn returns
	// an error, which Scan returns. k and v are valid only until fn
	// returns, and fn must not modify bucket: collect keys and change them
	// after Scan.
	Scan(bucket, prefix []byte, fn func(k, v []byte) error) error
	// ScanBefore calls fn for each key in bucket that starts with prefix
	// and is less than before (every such key if before is nil), in
	// decreasing key order, until fn returns an error, which ScanBefore
	// returns. It is how a caller pages backwards, for example through
	// the newest messages of a conversation: each page starts before
	// the last key of the previous one. The rules for k, v and fn are
	// those of Scan.
	ScanBefore(bucket, prefix, before []byte, fn func(k, v []byte) error) error
}

// CheckBucket reports whether a bucket name is acceptable to every
// implementation.
func CheckBucket(bucket []byte) error {
	if len(bucket) == 0 || len(bucket) > MaxBucketName {
		return ErrInvalid
	}
	return nil
}

// CheckKey reports whether bucket and key are acceptable to every
// implementation.
func CheckKey(bucket, key []byte) error {
	if len(key) == 0 || len(key) > MaxKeySize {
		return ErrInvalid
	}
	return CheckBucket(bucket)
}

// CheckValue reports whether value is acceptable to every implementation.
func CheckValue(value []byte) error {
	if len(value) > MaxValueSize {
		return ErrInvalid
	}
	return nil
}
