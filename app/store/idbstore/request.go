//go:build js && wasm

package idbstore

import (
	"errors"
	"fmt"
	"syscall/js"
)

// errEnded is returned by a Tx whose IndexedDB transaction ended before
// fn did: fn waited on something other than the store.
var errEnded = errors.New("idbstore: the IndexedDB transaction ended while fn waited on something other than the store")

// errMismatch is returned if getAllKeys and getAll over one range disagree,
// which IndexedDB's ordering of requests rules out.
var errMismatch = errors.New("idbstore: getAllKeys and getAll returned different counts")

// catch runs f and returns the JavaScript exception it threw, if any, as
// an error. Other panics go on.
func catch(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			je, ok := r.(js.Error)
			if !ok {
				panic(r)
			}
			err = domError(je.Value)
		}
	}()
	f()
	return nil
}

// DOMError is an exception or request error from the browser, such as a
// QuotaExceededError when the origin's storage is full.
type DOMError struct {
	Name    string // the DOMException's name, for example "QuotaExceededError"
	Message string
}

func (e *DOMError) Error() string {
	if e.Message == "" {
		return e.Name
	}
	return e.Name + ": " + e.Message
}

// domError converts a DOMException (or any thrown value) to an error.
func domError(v js.Value) error {
	if v.Type() != js.TypeObject {
		if v.IsNull() || v.IsUndefined() {
			return &DOMError{Name: "UnknownError"}
		}
		return &DOMError{Name: "Error", Message: v.String()}
	}
	e := &DOMError{Name: "Error"}
	if n := v.Get("name"); n.Type() == js.TypeString {
		e.Name = n.String()
	}
	if m := v.Get("message"); m.Type() == js.TypeString {
		e.Message = m.String()
	}
	return e
}

// isDOM reports whether err is a DOMError called name.
func isDOM(err error, name string) bool {
	var d *DOMError
	return errors.As(err, &d) && d.Name == name
}

// reply is the outcome of one request.
type reply struct {
	result js.Value
	err    error
}

// issue sends the requests that call makes (on the transaction's object
// store) and waits for their replies, in order. While it waits a request is
// pending, so the transaction stays alive; the replies wake fn's goroutine
// inside the browser's success event, where the transaction is active and
// fn can place its next request.
func (t *tx) issue(op string, call func(os js.Value) []js.Value) ([]js.Value, error) {
	if err := t.begin(); err != nil {
		return nil, err
	}
	var reqs []js.Value
	if err := catch(func() { reqs = call(t.os) }); err != nil {
		return nil, t.requestErr(op, err)
	}
	for _, r := range reqs {
		r.Set("onsuccess", t.onSuccess)
		r.Set("onerror", t.onError)
	}
	out := make([]js.Value, len(reqs))
	var first error
	for i := range reqs {
		r := <-t.replies
		out[i] = r.result
		if r.err != nil && first == nil {
			first = r.err
		}
	}
	if first != nil {
		return nil, t.requestErr(op, first)
	}
	return out, nil
}

func (t *tx) requestErr(op string, err error) error {
	if isDOM(err, "TransactionInactiveError") {
		return errEnded
	}
	return fmt.Errorf("idbstore: %s: %w", op, err)
}
