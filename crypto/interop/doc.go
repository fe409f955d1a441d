// Package interop tests Mutual's Double Ratchet, X3DH, safety numbers and
// Sender Keys (group messages) against an independent implementation,
// go.mau.fi/libsignal (a Go port of libsignal), at protocol version 3 —
// the version both implement. It is a
// module of its own so that go.mau.fi/libsignal (GPLv3) is a dependency of
// these tests only, never of Mutual's main module.
//
// Run: cd crypto/interop && go test ./... (benchmarks: go test -bench .).
package interop
