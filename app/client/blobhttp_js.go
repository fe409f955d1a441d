package client

import (
	"context"
	"errors"
	"io"
	"syscall/js"
)

// defaultBlobTransport is the browser's fetch.
var defaultBlobTransport BlobTransport = fetchTransport{}

// fetchTransport makes blob requests with the browser's fetch. It must be
// called from a goroutine, never from inside a JavaScript callback: it
// waits for promises.
type fetchTransport struct{}

func (fetchTransport) RoundTrip(ctx context.Context, r BlobRequest) (*BlobResponse, error) {
	abort := js.Global().Get("AbortController").New()
	stop := context.AfterFunc(ctx, func() { abort.Call("abort") })
	headers := js.Global().Get("Object").New()
	for k, v := range r.Header {
		headers.Set(k, v)
	}
	init := js.Global().Get("Object").New()
	init.Set("method", r.Method)
	init.Set("headers", headers)
	init.Set("signal", abort.Get("signal"))
	init.Set("cache", "no-store")
	if r.Body != nil {
		b := js.Global().Get("Uint8Array").New(len(r.Body))
		js.CopyBytesToJS(b, r.Body)
		init.Set("body", b)
	}
	resp, err := awaitJS(js.Global().Call("fetch", r.URL, init))
	if err != nil {
		stop()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	h := make(map[string]string, len(blobResponseHeaders))
	for _, k := range blobResponseHeaders {
		if v := resp.Get("headers").Call("get", k); v.Type() == js.TypeString {
			h[k] = v.String()
		}
	}
	body := &fetchBody{ctx: ctx, stop: stop, abort: abort}
	if b := resp.Get("body"); b.Truthy() {
		body.reader = b.Call("getReader")
	}
	return &BlobResponse{Status: resp.Get("status").Int(), Header: h, Body: body}, nil
}

// fetchBody reads a fetch response's body stream.
type fetchBody struct {
	ctx    context.Context // the request's: it ends the body too
	stop   func() bool
	abort  js.Value
	reader js.Value // undefined: no body
	buf    []byte   // received, not yet read
	done   bool
}

func (b *fetchBody) Read(p []byte) (int, error) {
	for len(b.buf) == 0 {
		if b.done || !b.reader.Truthy() {
			return 0, io.EOF
		}
		chunk, err := awaitJS(b.reader.Call("read"))
		if err != nil {
			b.done = true
			if b.ctx.Err() != nil {
				return 0, b.ctx.Err()
			}
			return 0, err
		}
		if chunk.Get("done").Bool() {
			b.done = true
			continue
		}
		v := chunk.Get("value")
		b.buf = make([]byte, v.Get("length").Int())
		js.CopyBytesToGo(b.buf, v)
	}
	n := copy(p, b.buf)
	b.buf = b.buf[n:]
	return n, nil
}

func (b *fetchBody) Close() error {
	b.stop()
	if !b.done {
		b.abort.Call("abort")
	}
	return nil
}

// awaitJS waits until the promise settles. The requests' promises settle
// when their context ends too: it aborts them (context.AfterFunc in
// RoundTrip), so the callbacks are never released before they run.
func awaitJS(p js.Value) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	ch := make(chan result, 1)
	ok := js.FuncOf(func(_ js.Value, args []js.Value) any {
		v := js.Undefined()
		if len(args) > 0 {
			v = args[0]
		}
		ch <- result{v: v}
		return nil
	})
	defer ok.Release()
	fail := js.FuncOf(func(_ js.Value, args []js.Value) any {
		err := errors.New("the request failed")
		if len(args) > 0 && args[0].Truthy() {
			if m := args[0].Get("message"); m.Type() == js.TypeString {
				err = errors.New(m.String())
			}
		}
		ch <- result{err: err}
		return nil
	})
	defer fail.Release()
	p.Call("then", ok, fail)
	r := <-ch
	return r.v, r.err
}
