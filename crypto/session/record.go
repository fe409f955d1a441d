package session

import (
	"errors"
	"fmt"
	"github.com/mutualcoop/mutual/internal/pb"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/mutualcoop/mutual/crypto/keys"
	"github.com/mutualcoop/mutual/crypto/ratchet"
)

// MaxArchivedStates is the most archived states a Record keeps besides
// the current one, libsignal's ARCHIVED_STATES_MAX_LENGTH; the oldest is
// dropped first.
const MaxArchivedStates = 40

// FormatVersion is the serialization version of Record and
// IdentityRecord (field 15 of each). Parsers accept exactly the versions
// they know (1) and refuse any other with ErrFormatVersion; a future
// version adds a migration here.
const FormatVersion = 1

const fFormat = 15

// Errors of this package's decoders.
var (
	ErrFormatVersion = errors.New("session: unknown record format version")
	ErrMalformed     = errors.New("session: malformed record")
)

// Record holds every session state with one remote device, Sesame-style:
// the current state, used to send, and up to MaxArchivedStates archived
// ones, newest first, kept because messages may still arrive on them (both
// sides may have started a session at once, or the other side restarted
// one). An archived state that decrypts a message becomes current again.
//
// Archived states stay serialized until a message needs them. A Record
// owns the bytes of its archived states (ParseRecord copies them) and
// clears those of a state it drops or makes current again.
type Record struct {
	current  *ratchet.State
	previous [][]byte
}

// NewRecord returns an empty record.
func NewRecord() *Record { return &Record{} }

// HasCurrent reports whether the record has a current state to send with.
func (r *Record) HasCurrent() bool { return r.current != nil }

// Current returns the current state, nil if there is none.
func (r *Record) Current() *ratchet.State { return r.current }

// ArchivedStates returns how many archived states the record holds.
func (r *Record) ArchivedStates() int { return len(r.previous) }

// promote makes st the current state, archiving the current one.
func (r *Record) promote(st *ratchet.State) error {
	if r.current != nil {
		r.current.ClearPending()
		b, err := r.current.MarshalBinary()
		if err != nil {
			return fmt.Errorf("archive session state: %w", err)
		}
		if len(r.previous) >= MaxArchivedStates {
			for _, dropped := range r.previous[MaxArchivedStates-1:] {
				clear(dropped) // best effort, as in package ratchet
			}
			r.previous = r.previous[:MaxArchivedStates-1]
		}
		r.previous = append(r.previous, nil)
		copy(r.previous[1:], r.previous)
		r.previous[0] = b
	}
	r.current = st
	return nil
}

// promoteArchived removes archived state i and makes st (its updated form)
// current. The serialized form is cleared: st holds no reference to it.
func (r *Record) promoteArchived(i int, st *ratchet.State) error {
	clear(r.previous[i])
	r.previous = append(r.previous[:i:i], r.previous[i+1:]...)
	return r.promote(st)
}

// archived parses archived state i.
func (r *Record) archived(i int) (*ratchet.State, error) {
	return ratchet.ParseState(r.previous[i])
}

// promoteMatching makes current the state with the given version and base
// key, if the record has one, and reports whether it did.
func (r *Record) promoteMatching(version int, baseKey keys.PublicKey) (bool, error) {
	if r.current != nil && r.current.Version() == version && r.current.BaseKey().Equal(baseKey) {
		return true, nil
	}
	for i := range r.previous {
		st, err := r.archived(i)
		if err != nil {
			continue // an unreadable archived state matches nothing
		}
		if st.Version() == version && st.BaseKey().Equal(baseKey) {
			return true, r.promoteArchived(i, st)
		}
	}
	return false, nil
}

// Record serialization (protowire):
//
//	{15 format version (1), 1 current state (ratchet.State serialization),
//	 2 archived states (repeated, each a ratchet.State serialization, newest first)}

// MarshalBinary serializes the record, secrets included.
func (r *Record) MarshalBinary() ([]byte, error) {
	b := pb.AppendVarint(nil, fFormat, FormatVersion)
	if r.current != nil {
		cur, err := r.current.MarshalBinary()
		if err != nil {
			return nil, fmt.Errorf("marshal session record: %w", err)
		}
		b = pb.AppendBytes(b, 1, cur)
	}
	for _, p := range r.previous {
		b = pb.AppendBytes(b, 2, p)
	}
	return b, nil
}

// ParseRecord parses a record serialized by MarshalBinary. The current
// state is parsed and checked now; archived states when a message needs
// them (one that fails then is skipped).
func ParseRecord(b []byte) (*Record, error) {
	r := &Record{}
	err := parseRecord(b, func(f field) error {
		switch f.Num {
		case 1:
			raw, err := f.ByteSlice()
			if err != nil {
				return err
			}
			if r.current, err = ratchet.ParseState(raw); err != nil {
				return err
			}
		case 2:
			raw, err := f.ByteSlice()
			if err != nil {
				return err
			}
			if len(r.previous) == MaxArchivedStates {
				return fmt.Errorf("more than %d archived states", MaxArchivedStates)
			}
			r.previous = append(r.previous, append([]byte(nil), raw...))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("parse session record: %w", err)
	}
	return r, nil
}

// IdentityRecord is what a store keeps about a remote address's identity
// key.
type IdentityRecord struct {
	Key keys.PublicKey
}

// IdentityRecord serialization: {15 format version (1), 1 identity key (33)}.

// MarshalBinary serializes the identity record.
func (r IdentityRecord) MarshalBinary() ([]byte, error) {
	if r.Key.IsZero() {
		return nil, errors.New("marshal identity record: zero key")
	}
	b := pb.AppendVarint(nil, fFormat, FormatVersion)
	return pb.AppendBytes(b, 1, r.Key.Bytes()), nil
}

// ParseIdentityRecord parses an IdentityRecord serialized by MarshalBinary.
func ParseIdentityRecord(b []byte) (IdentityRecord, error) {
	var r IdentityRecord
	err := parseRecord(b, func(f field) error {
		if f.Num != 1 {
			return nil
		}
		raw, err := f.ByteSlice()
		if err != nil {
			return err
		}
		r.Key, err = keys.NewPublicKey(raw)
		return err
	})
	if err == nil && r.Key.IsZero() {
		err = fmt.Errorf("%w: no identity key", ErrMalformed)
	}
	if err != nil {
		return IdentityRecord{}, fmt.Errorf("parse identity record: %w", err)
	}
	return r, nil
}

// parseRecord checks the format version and calls fn for every field.
func parseRecord(b []byte, fn func(f field) error) error {
	var (
		format     uint64
		haveFormat bool
	)
	err := forEachField(b, func(f field) error {
		if f.Num == fFormat {
			if f.Type != protowire.VarintType {
				return fmt.Errorf("field %d: %w", f.Num, errWireType)
			}
			format, haveFormat = f.Value, true
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if !haveFormat {
		return fmt.Errorf("%w: no format version", ErrMalformed)
	}
	if format != FormatVersion {
		return fmt.Errorf("%w %d (this build reads %d)", ErrFormatVersion, format, FormatVersion)
	}
	if err := forEachField(b, fn); err != nil {
		if errors.Is(err, ratchet.ErrFormatVersion) {
			return err
		}
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return nil
}
