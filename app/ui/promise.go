package ui

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// The browser answers reading files, decoding images and encoding canvases
// with promises and events. The helpers here wait for them from a
// goroutine of Context.Async: they block, and must never run on the UI
// goroutine or in a JavaScript callback.

// errNoBrowser: what was asked of the browser has no browser to run in
// (the server, native tests).
var errNoBrowser = errors.New("ui: not in a browser")

// await waits until the promise settles and returns its value, or an
// error with the reason it was rejected.
func await(p app.Value) (app.Value, error) {
	if app.IsServer || p == nil || !p.Truthy() || !p.Get("then").Truthy() {
		return nil, errNoBrowser
	}
	type result struct {
		v   app.Value
		err error
	}
	ch := make(chan result, 1)
	ok := app.FuncOf(func(_ app.Value, args []app.Value) any {
		ch <- result{v: firstArg(args)}
		return nil
	})
	defer ok.Release()
	fail := app.FuncOf(func(_ app.Value, args []app.Value) any {
		ch <- result{err: jsError(firstArg(args))}
		return nil
	})
	defer fail.Release()
	p.Call("then", ok, fail)
	r := <-ch
	return r.v, r.err
}

// firstArg is a callback's first argument, or undefined.
func firstArg(args []app.Value) app.Value {
	if len(args) == 0 {
		return app.Undefined()
	}
	return args[0]
}

// jsError turns a rejection's reason into an error.
func jsError(reason app.Value) error {
	if reason == nil || !reason.Truthy() {
		return errors.New("the browser refused")
	}
	if m := reason.Get("message"); m.Truthy() {
		return errors.New(m.String())
	}
	return errors.New(reason.String())
}

// newPromise makes a JavaScript promise settled by executor, which is
// called at once with its resolve and reject functions.
func newPromise(executor func(resolve, reject app.Value)) app.Value {
	f := app.FuncOf(func(_ app.Value, args []app.Value) any {
		if len(args) >= 2 {
			executor(args[0], args[1])
		}
		return nil
	})
	defer f.Release()
	return app.Window().Get("Promise").New(f)
}

// eventWaiter starts listening to target for the event ok (and fail, which
// ends the wait with an error) and returns the function that waits for
// either, or for ctx to end. It listens before the caller starts what
// fires the event, so that none is missed.
func eventWaiter(target app.Value, ok, fail string) func(ctx context.Context) error {
	ch := make(chan error, 1)
	var onOK, onFail app.Func
	onOK = app.FuncOf(func(app.Value, []app.Value) any {
		select {
		case ch <- nil:
		default:
		}
		return nil
	})
	onFail = app.FuncOf(func(app.Value, []app.Value) any {
		select {
		case ch <- fmt.Errorf("%s: %s", ok, fail):
		default:
		}
		return nil
	})
	target.Call("addEventListener", ok, onOK)
	target.Call("addEventListener", fail, onFail)
	return func(ctx context.Context) error {
		defer func() {
			target.Call("removeEventListener", ok, onOK)
			target.Call("removeEventListener", fail, onFail)
			onOK.Release()
			onFail.Release()
		}()
		select {
		case err := <-ch:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// blobBytes reads a whole Blob, a small one (a thumbnail).
func blobBytes(blob app.Value) ([]byte, error) {
	ab, err := await(blob.Call("arrayBuffer"))
	if err != nil {
		return nil, err
	}
	arr := app.Window().Get("Uint8Array").New(ab)
	b := make([]byte, arr.Length())
	app.CopyBytesToGo(b, arr)
	return b, nil
}

// blobSlice is how much of a Blob a blobReader asks the browser for at a
// time.
const blobSlice = 1 << 20

// blobReader reads a Blob (a File) of size bytes a slice at a time
// (blob.slice(a, b).arrayBuffer()), so that a large file is never whole
// in the WebAssembly memory.
type blobReader struct {
	blob app.Value
	size int64
	off  int64 // where the next slice starts
	buf  []byte
	pos  int // what of buf was read
}

// newBlobReader reads blob, whose size is size.
func newBlobReader(blob app.Value, size int64) *blobReader {
	return &blobReader{blob: blob, size: size}
}

// Read reads the next bytes, asking the browser for the next slice when
// the last one is used up.
func (r *blobReader) Read(p []byte) (int, error) {
	if r.pos == len(r.buf) {
		if r.off >= r.size {
			return 0, io.EOF
		}
		end := min(r.off+blobSlice, r.size)
		ab, err := await(r.blob.Call("slice", r.off, end).Call("arrayBuffer"))
		if err != nil {
			return 0, fmt.Errorf("read the file: %w", err)
		}
		arr := app.Window().Get("Uint8Array").New(ab)
		n := arr.Length()
		if n == 0 {
			return 0, fmt.Errorf("read the file: %w", io.ErrUnexpectedEOF)
		}
		if cap(r.buf) < n {
			r.buf = make([]byte, n)
		}
		r.buf = r.buf[:n]
		app.CopyBytesToGo(r.buf, arr)
		r.pos = 0
		r.off += int64(n)
	}
	n := copy(p, r.buf[r.pos:])
	r.pos += n
	return n, nil
}
