//go:build js && wasm

package idbstore

// WithoutGetAllDirection makes s read as it does in browsers whose getAll
// has no direction option, so that the tests cover both ways.
func WithoutGetAllDirection(s *Store) { s.js.getAllOptions = false }

// HasGetAllDirection reports whether the browser's getAll takes a direction.
func HasGetAllDirection(s *Store) bool { return s.js.getAllOptions }
