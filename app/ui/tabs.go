package ui

import (
	"context"
	"errors"
	"sync"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// ErrElsewhere: another tab or window of the browser uses this device's
// data. Only one may at a time: two clients over one store would advance
// the same sessions twice, and the relay keeps one connection per device.
var ErrElsewhere = errors.New("ui: Mutual is open in another tab")

// tabLockName names the Web Lock and the BroadcastChannel by which the
// tabs of one origin agree on which of them runs the client.
const tabLockName = "mutual-client"

// releaseMessage is what a tab that takes over sends to the one that
// holds the lock.
const releaseMessage = "release"

// ClaimTab is a Config.Claim for the browser: it holds an exclusive Web
// Lock (navigator.locks) for as long as this tab uses the device's data.
// Without take it fails at once with ErrElsewhere when another tab holds
// the lock; with take it asks that tab (over a BroadcastChannel) to let
// go and waits until it has. onLost is called when another tab takes
// over; the caller must then close the client and call release. In a
// browser without Web Locks every tab proceeds.
func ClaimTab(ctx context.Context, take bool, onLost func()) (release func(), err error) {
	win := app.Window()
	locks := win.Get("navigator").Get("locks")
	if !locks.Truthy() {
		return func() {}, nil
	}
	var channel app.Value
	if bc := win.Get("BroadcastChannel"); bc.Truthy() {
		channel = bc.New(tabLockName)
	}
	closeChannel := func() {
		if channel != nil {
			channel.Call("close")
		}
	}
	if take && channel != nil {
		channel.Call("postMessage", releaseMessage)
	}

	granted := make(chan app.Value, 1) // the lock's resolve function, or nil
	request := app.FuncOf(func(this app.Value, args []app.Value) any {
		if len(args) == 0 || args[0].IsNull() {
			granted <- nil
			return nil
		}
		// Hold the lock until the promise returned here resolves.
		var resolve app.Value
		executor := app.FuncOf(func(this app.Value, args []app.Value) any {
			resolve = args[0]
			return nil
		})
		promise := win.Get("Promise").New(executor)
		executor.Release()
		granted <- resolve
		return promise
	})
	opts := map[string]any{"mode": "exclusive", "ifAvailable": !take}
	var abort app.Value
	if take {
		if ac := win.Get("AbortController"); ac.Truthy() {
			abort = ac.New()
			opts["signal"] = abort.Get("signal")
		}
	}
	// A request aborted or refused rejects its promise: catch it so that
	// the page reports no unhandled rejection.
	noop := app.FuncOf(func(app.Value, []app.Value) any { return nil })
	locks.Call("request", tabLockName, opts, request).Call("catch", noop)

	var resolve app.Value
	select {
	case resolve = <-granted:
	case <-ctx.Done():
		if abort != nil {
			abort.Call("abort")
		}
		closeChannel()
		// The callback may still run (granted just now): release such a
		// lock at once.
		go func() {
			if r := <-granted; r != nil {
				r.Invoke()
			}
			request.Release()
			noop.Release()
		}()
		return nil, ctx.Err()
	}
	request.Release()
	noop.Release()
	if resolve == nil {
		closeChannel()
		return nil, ErrElsewhere
	}

	var onMessage app.Func
	if channel != nil {
		onMessage = app.FuncOf(func(this app.Value, args []app.Value) any {
			if len(args) > 0 && args[0].Get("data").String() == releaseMessage {
				go onLost()
			}
			return nil
		})
		channel.Set("onmessage", onMessage)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			if onMessage != nil {
				channel.Set("onmessage", nil)
				onMessage.Release()
			}
			closeChannel()
			resolve.Invoke()
		})
	}, nil
}
