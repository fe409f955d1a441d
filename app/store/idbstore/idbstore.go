//go:build js && wasm

package idbstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall/js"

	"github.com/mutualcoop/mutual/app/store"
)

const (
	// objectStore is the one object store of the database.
	objectStore = "kv"
	// schemaVersion is the database version this package creates.
	schemaVersion = 1
)

// ErrBlocked is returned by Delete when another connection keeps the
// database open: a tab running an older client, for example. The deletion
// stays queued in the browser and completes once that connection closes;
// an Open of the same name waits for it.
var ErrBlocked = errors.New("idbstore: the database is in use by another connection")

// errUnavailable is returned when the browser offers no IndexedDB (some
// private modes, or a worker without it).
var errUnavailable = errors.New("idbstore: IndexedDB is not available")

// Store is a store.Store in one IndexedDB database.
type Store struct {
	db js.Value // IDBDatabase
	js jsEnv

	writer chan struct{} // a token held by the running Update

	mu          sync.Mutex
	closed      bool // no new transactions: Close was called, or another connection asked us to go
	closeCalled bool
	running     sync.WaitGroup // View and Update calls in progress
	idbActive   sync.WaitGroup // IndexedDB transactions not yet complete or aborted

	onVersionChange js.Func
	onClose         js.Func

	hintsMu sync.Mutex
	hints   map[hint]int // the first batch of the next scan, by bucket and direction
}

var _ store.Store = (*Store)(nil)

// jsEnv holds the browser objects the package uses, looked up once.
type jsEnv struct {
	uint8Array js.Value // the Uint8Array constructor
	keyRange   js.Value // IDBKeyRange
	// getAllOptions: IDBObjectStore.getAll takes an options argument with
	// a direction. It came with getAllRecords, whose presence tells.
	getAllOptions bool
	commit        bool // IDBTransaction.commit exists
}

func lookupEnv() jsEnv {
	g := js.Global()
	proto := func(class, method string) bool {
		c := g.Get(class)
		return c.Truthy() && c.Get("prototype").Get(method).Truthy()
	}
	return jsEnv{
		uint8Array:    g.Get("Uint8Array"),
		keyRange:      g.Get("IDBKeyRange"),
		getAllOptions: proto("IDBObjectStore", "getAllRecords"),
		commit:        proto("IDBTransaction", "commit"),
	}
}

func factory() (js.Value, error) {
	f := js.Global().Get("indexedDB")
	if !f.Truthy() {
		return js.Value{}, errUnavailable
	}
	return f, nil
}

// Open opens the database called name, creating it if needed. It waits
// for a pending deletion or upgrade of that database by another
// connection; ctx bounds the wait.
func Open(ctx context.Context, name string) (*Store, error) {
	if name == "" {
		return nil, errors.New("idbstore: open: empty database name")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	idb, err := factory()
	if err != nil {
		return nil, err
	}
	var req js.Value
	if err := catch(func() { req = idb.Call("open", name, schemaVersion) }); err != nil {
		return nil, fmt.Errorf("idbstore: open: %w", err)
	}

	type result struct {
		db  js.Value
		err error
	}
	done := make(chan result, 1)
	var abandoned atomic.Bool
	var onUpgrade, onSuccess, onError js.Func
	release := func() {
		req.Set("onupgradeneeded", js.Null())
		req.Set("onsuccess", js.Null())
		req.Set("onerror", js.Null())
		onUpgrade.Release()
		onSuccess.Release()
		onError.Release()
	}
	onUpgrade = js.FuncOf(func(js.Value, []js.Value) any {
		err := catch(func() {
			db := req.Get("result")
			if !db.Get("objectStoreNames").Call("contains", objectStore).Bool() {
				db.Call("createObjectStore", objectStore)
			}
		})
		if err != nil {
			// The request then fails with an AbortError.
			catch(func() { req.Get("transaction").Call("abort") })
		}
		return nil
	})
	onSuccess = js.FuncOf(func(js.Value, []js.Value) any {
		release()
		db := req.Get("result")
		if abandoned.Load() {
			db.Call("close")
			return nil
		}
		done <- result{db: db}
		return nil
	})
	onError = js.FuncOf(func(_ js.Value, args []js.Value) any {
		release()
		args[0].Call("preventDefault")
		done <- result{err: domError(req.Get("error"))}
		return nil
	})
	req.Set("onupgradeneeded", onUpgrade)
	req.Set("onsuccess", onSuccess)
	req.Set("onerror", onError)

	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		abandoned.Store(true)
		select {
		case r := <-done: // it opened just now
			if r.err == nil {
				r.db.Call("close")
			}
		default:
		}
		return nil, ctx.Err()
	}
	if r.err != nil {
		return nil, fmt.Errorf("idbstore: open: %w", r.err)
	}
	s := &Store{db: r.db, js: lookupEnv(), writer: make(chan struct{}, 1)}
	if !s.js.uint8Array.Truthy() || !s.js.keyRange.Truthy() {
		r.db.Call("close")
		return nil, errUnavailable
	}
	// Another connection wants to delete or upgrade the database: let it.
	s.onVersionChange = js.FuncOf(func(js.Value, []js.Value) any {
		s.markClosed()
		s.db.Call("close")
		return nil
	})
	// The browser closed the connection (storage cleared, for example).
	s.onClose = js.FuncOf(func(js.Value, []js.Value) any {
		s.markClosed()
		return nil
	})
	s.db.Set("onversionchange", s.onVersionChange)
	s.db.Set("onclose", s.onClose)
	return s, nil
}

// Delete deletes the database called name and everything in it. Stores
// of this package open on it, in this page or another, close themselves
// and let it happen (their running transactions finish first). If another
// connection does not close, Delete returns ErrBlocked at once, and the
// browser deletes the database when that connection closes. ctx bounds
// the wait.
func Delete(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	idb, err := factory()
	if err != nil {
		return err
	}
	var req js.Value
	if err := catch(func() { req = idb.Call("deleteDatabase", name) }); err != nil {
		return fmt.Errorf("idbstore: delete: %w", err)
	}
	done := make(chan error, 2) // blocked, then success or error
	var onSuccess, onError, onBlocked js.Func
	release := func() {
		req.Set("onsuccess", js.Null())
		req.Set("onerror", js.Null())
		req.Set("onblocked", js.Null())
		onSuccess.Release()
		onError.Release()
		onBlocked.Release()
	}
	send := func(err error) {
		select {
		case done <- err:
		default:
		}
	}
	onSuccess = js.FuncOf(func(js.Value, []js.Value) any {
		release()
		send(nil)
		return nil
	})
	onError = js.FuncOf(func(_ js.Value, args []js.Value) any {
		release()
		args[0].Call("preventDefault")
		send(domError(req.Get("error")))
		return nil
	})
	onBlocked = js.FuncOf(func(js.Value, []js.Value) any {
		send(ErrBlocked)
		return nil
	})
	req.Set("onsuccess", onSuccess)
	req.Set("onerror", onError)
	req.Set("onblocked", onBlocked)
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("idbstore: delete: %w", err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// markClosed stops new transactions.
func (s *Store) markClosed() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
}

// enter registers a View or Update, or reports that the store is closed.
func (s *Store) enter() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.ErrClosed
	}
	s.running.Add(1)
	return nil
}

// View implements store.Store.
func (s *Store) View(ctx context.Context, fn func(store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.running.Done()
	t := newTx(s, false)
	defer t.end()
	return fn(t)
}

// Update implements store.Store.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.running.Done()
	select {
	case s.writer <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.writer }()

	t := newTx(s, true)
	committed := false
	defer func() {
		if !committed {
			t.abort() // fn failed or panicked: the panic goes on from here
		}
		t.end()
	}()
	if err := fn(t); err != nil {
		return err
	}
	committed = true
	return t.commit()
}

// Close implements store.Store. It waits for running transactions, then
// closes the connection. Closing twice is not an error.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closeCalled {
		s.mu.Unlock()
		return nil
	}
	s.closeCalled, s.closed = true, true
	s.mu.Unlock()
	s.running.Wait()
	s.idbActive.Wait()
	s.db.Set("onversionchange", js.Null())
	s.db.Set("onclose", js.Null())
	s.onVersionChange.Release()
	s.onClose.Release()
	s.db.Call("close")
	return nil
}
