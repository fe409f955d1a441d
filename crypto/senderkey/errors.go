package senderkey

import "errors"

// Errors callers branch on; the errors returned wrap them with detail.
// Every error Decrypt and Process return leaves the Record unchanged.
var (
	// ErrNoState: the Record has no state for the message's chain ID (no
	// distribution message from this sender, or one for another chain, or
	// the state was dropped as the oldest of more than MaxStates).
	ErrNoState = errors.New("senderkey: no sender key state for this chain")
	// ErrDuplicate: the message's key has already been used (a replay) or
	// was dropped from the skipped keys.
	ErrDuplicate = errors.New("senderkey: message key already used or dropped")
	// ErrTooFarAhead: the message would skip more than MaxForwardJumps
	// iterations (or lies past the chain's last iteration).
	ErrTooFarAhead = errors.New("senderkey: message too far ahead in its chain")
	// ErrBadSignature: the message's signature does not verify under the
	// state's signing key (forged or altered).
	ErrBadSignature = errors.New("senderkey: bad message signature")
	// ErrMalformed: the bytes are not a well-formed message, distribution
	// message or record, or a signed message does not decrypt.
	ErrMalformed = errors.New("senderkey: malformed")
	// ErrNotSender: the Record holds a key received from another sender (no
	// private signing key): it cannot encrypt or distribute.
	ErrNotSender = errors.New("senderkey: not this device's own sender key")
	// ErrFormatVersion: a serialized Record of an unknown format version.
	ErrFormatVersion = errors.New("senderkey: unknown record format version")
)
