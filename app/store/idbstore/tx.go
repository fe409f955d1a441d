//go:build js && wasm

package idbstore

import (
	"encoding/binary"
	"fmt"
	"sync"
	"syscall/js"

	"github.com/mutualcoop/mutual/app/store"
)

// tx is one transaction. Its IndexedDB transaction starts at the first
// request (a read, or the commit of an Update).
type tx struct {
	s     *Store
	write bool
	done  bool

	// writes holds an Update's changes: encoded key to the new value, or
	// to nil for a deletion. It is nil in a View.
	writes map[string]*[]byte

	idb       js.Value // IDBTransaction once begun
	os        js.Value // its object store
	replies   chan reply
	finished  chan error // the complete (nil) or abort event
	onSuccess js.Func    // set on every request
	onError   js.Func    // set on every request
	handlers  [4]js.Func // the two above and the transaction's, released when it ends

	scratch []byte // for encoding keys that are copied at once
}

func newTx(s *Store, write bool) *tx {
	t := &tx{s: s, write: write}
	if write {
		t.writes = make(map[string]*[]byte)
	}
	return t
}

func (t *tx) end() { t.done = true }

func (t *tx) check() error {
	if t.done {
		return store.ErrTxDone
	}
	return nil
}

// begin starts the IndexedDB transaction if it has not started yet.
func (t *tx) begin() error {
	if t.replies != nil {
		return nil
	}
	mode, opts := "readonly", js.Undefined()
	if t.write {
		mode = "readwrite"
		opts = js.ValueOf(map[string]any{"durability": "strict"})
	}
	var idb js.Value
	err := catch(func() { idb = t.s.db.Call("transaction", objectStore, mode, opts) })
	if isDOM(err, "InvalidStateError") {
		return store.ErrClosed // the connection is closing
	}
	if err != nil {
		return fmt.Errorf("idbstore: begin: %w", err)
	}
	t.idb = idb
	t.os = idb.Call("objectStore", objectStore)
	t.replies = make(chan reply, 2) // fn has one request pending at a time
	t.finished = make(chan error, 1)
	release := func() {
		idb.Set("oncomplete", js.Null())
		idb.Set("onabort", js.Null())
		for _, f := range t.handlers {
			f.Release()
		}
		t.s.idbActive.Done()
	}
	finish := func(err error) {
		release()
		select {
		case t.finished <- err:
		default:
		}
	}
	t.onSuccess = js.FuncOf(func(this js.Value, _ []js.Value) any {
		t.replies <- reply{result: this.Get("result")}
		return nil
	})
	t.onError = js.FuncOf(func(this js.Value, args []js.Value) any {
		// The caller gets the error; whether the transaction goes on is
		// up to fn, as with the other stores.
		args[0].Call("preventDefault")
		args[0].Call("stopPropagation")
		t.replies <- reply{err: domError(this.Get("error"))}
		return nil
	})
	onComplete := js.FuncOf(func(js.Value, []js.Value) any {
		finish(nil)
		return nil
	})
	onAbort := js.FuncOf(func(js.Value, []js.Value) any {
		err := idb.Get("error")
		if err.IsNull() || err.IsUndefined() {
			finish(&DOMError{Name: "AbortError", Message: "the transaction was aborted"})
		} else {
			finish(domError(err))
		}
		return nil
	})
	t.handlers = [4]js.Func{t.onSuccess, t.onError, onComplete, onAbort}
	t.s.idbActive.Add(1)
	idb.Set("oncomplete", onComplete)
	idb.Set("onabort", onAbort)
	return nil
}

// abort rolls back a begun transaction. Nothing of fn's was written yet,
// so a transaction that has already ended is fine too.
func (t *tx) abort() {
	if t.replies == nil {
		return
	}
	catch(func() { t.idb.Call("abort") })
}

// commit writes an Update's changes and waits until they are durable.
func (t *tx) commit() error {
	if len(t.writes) == 0 {
		return nil // a transaction begun by reads ends by itself
	}
	if err := t.begin(); err != nil {
		return err
	}
	// Keys and records go to JavaScript in one copy. A key can be a view
	// of it (IndexedDB copies a key's bytes); a record must own its buffer,
	// or IndexedDB would store all of it, so each is a slice.
	type op struct{ k0, k1, v0, v1 int }
	ops := make([]op, 0, len(t.writes))
	size := 0
	for k, v := range t.writes {
		size += 2*len(k) + binary.MaxVarintLen64
		if v != nil {
			size += len(*v)
		}
	}
	buf := make([]byte, 0, size)
	for k, v := range t.writes {
		o := op{k0: len(buf), v0: -1}
		buf = append(buf, k...)
		o.k1 = len(buf)
		if v != nil {
			o.v0 = len(buf)
			buf = appendRecord(buf, k, *v)
			o.v1 = len(buf)
		}
		ops = append(ops, o)
	}
	err := catch(func() {
		all := t.s.bytesToJS(buf)
		for _, o := range ops {
			key := all.Call("subarray", o.k0, o.k1)
			if o.v0 < 0 {
				t.os.Call("delete", key)
			} else {
				t.os.Call("put", all.Call("slice", o.v0, o.v1), key)
			}
		}
		if t.s.js.commit {
			t.idb.Call("commit")
		}
	})
	if err != nil {
		t.abort()
		if isDOM(err, "TransactionInactiveError") {
			return errEnded
		}
		return fmt.Errorf("idbstore: commit: %w", err)
	}
	if err := <-t.finished; err != nil {
		return fmt.Errorf("idbstore: commit: %w", err)
	}
	return nil
}

// encode returns the IndexedDB key of key in bucket. The result is valid
// until the next call.
func (t *tx) encode(bucket, key []byte) []byte {
	t.scratch = appendKey(t.scratch[:0], bucket, key)
	return t.scratch
}

func (t *tx) Get(bucket, key []byte) ([]byte, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	if err := store.CheckKey(bucket, key); err != nil {
		return nil, err
	}
	k := t.encode(bucket, key)
	if w, ok := t.writes[string(k)]; ok {
		if w == nil {
			return nil, store.ErrNotFound
		}
		return append([]byte{}, *w...), nil
	}
	jsKey := t.s.bytesToJS(k)
	res, err := t.issue("get", func(os js.Value) []js.Value {
		return []js.Value{os.Call("get", jsKey)}
	})
	if err != nil {
		return nil, err
	}
	if res[0].IsUndefined() {
		return nil, store.ErrNotFound
	}
	rec, err := t.recordToGo(res[0])
	if err != nil {
		return nil, err
	}
	_, v, err := parseRecord(rec)
	return v, err
}

func (t *tx) set(bucket, key []byte, v *[]byte) error {
	if err := t.check(); err != nil {
		return err
	}
	if err := store.CheckKey(bucket, key); err != nil {
		return err
	}
	if !t.write {
		return store.ErrReadOnly
	}
	t.writes[string(t.encode(bucket, key))] = v
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

// bytesToJS returns a new Uint8Array holding a copy of b.
func (s *Store) bytesToJS(b []byte) js.Value {
	a := s.js.uint8Array.New(len(b))
	js.CopyBytesToJS(a, b)
	return a
}

// keyToGo copies a binary key (an ArrayBuffer) to Go.
func (s *Store) keyToGo(k js.Value) (b []byte, err error) {
	if k.Type() != js.TypeObject {
		return nil, errNotRecord
	}
	defer func() {
		if recover() != nil { // CopyBytesToGo: not binary
			b, err = nil, errNotRecord
		}
	}()
	a := s.js.uint8Array.New(k)
	b = make([]byte, a.Get("length").Int())
	js.CopyBytesToGo(b, a)
	return b, nil
}

// scratch is the buffer a record is first copied into: records that fit
// (nearly all) need no call to ask their length.
var scratch = sync.Pool{New: func() any { return new([16 << 10]byte) }}

// recordToGo copies a stored record (a Uint8Array) to Go, in a new slice.
func (t *tx) recordToGo(v js.Value) (rec []byte, err error) {
	defer func() {
		if recover() != nil { // CopyBytesToGo: not a Uint8Array
			rec, err = nil, errNotRecord
		}
	}()
	if v.Type() != js.TypeObject {
		return nil, errNotRecord
	}
	buf := scratch.Get().(*[16 << 10]byte)
	defer scratch.Put(buf)
	if n := js.CopyBytesToGo(buf[:], v); n < len(buf) {
		return append([]byte(nil), buf[:n]...), nil
	}
	rec = make([]byte, v.Get("length").Int())
	js.CopyBytesToGo(rec, v)
	return rec, nil
}
