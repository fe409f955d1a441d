package ratchet

import "errors"

// Errors callers branch on. Every error Decrypt returns leaves the State
// unchanged.
var (
	// ErrMalformed: the bytes are not a well-formed message or state.
	ErrMalformed = errors.New("ratchet: malformed")
	// ErrVersion: the message's protocol version is unknown, or is not the
	// session's.
	ErrVersion = errors.New("ratchet: unsupported or mismatched protocol version")
	// ErrAuth: the message does not authenticate under this session (wrong
	// session, forged or altered message).
	ErrAuth = errors.New("ratchet: message authentication failed")
	// ErrDuplicate: the message's key has already been used (a replay) or
	// was evicted from the skipped-key store.
	ErrDuplicate = errors.New("ratchet: message key already used")
	// ErrTooFarInFuture: the message would skip more than MaxForwardJumps
	// message keys.
	ErrTooFarInFuture = errors.New("ratchet: message too far in the future")
	// ErrNoSession: the State has no sending chain (it was never set up).
	ErrNoSession = errors.New("ratchet: uninitialized session state")
)
