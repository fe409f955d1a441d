// Package boltstore is the native client's durable store.Store: one file,
// kept with go.etcd.io/bbolt (a B+tree with copy-on-write pages and one
// writer at a time). Every Update is fsynced before it returns, so a
// committed transaction survives a crash of the process or of the
// machine; a transaction that did not commit leaves no trace.
//
// The file is locked while open: a second process opening it waits up to
// Options.LockTimeout, then fails with ErrLocked. Buckets of the store
// package are bbolt buckets, keys and values are stored as given.
//
// The package builds for every platform but the browser (GOOS=js), whose
// store is IndexedDB.
package boltstore
