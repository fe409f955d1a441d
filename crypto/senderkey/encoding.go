package senderkey

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/mutualcoop/mutual/crypto/keys"
	"github.com/mutualcoop/mutual/internal/pb"
)

// FormatVersion is the version of the Record serialization that Marshal
// writes. ParseRecord accepts exactly the versions it knows (1) and
// refuses any other with ErrFormatVersion.
const FormatVersion = 1

// Field numbers of the Record serialization. They follow libsignal's
// storage.proto SenderKeyRecordStructure and SenderKeyStateStructure; 15
// is the format version.
const (
	fRecordStates = 1
	fRecordFormat = 15

	// state
	fStateChainID    = 1
	fStateChainKey   = 2
	fStateSigningKey = 3
	fStateSkipped    = 4
	// chain key and skipped key
	fKeyIteration = 1
	fKeySeed      = 2
	// signing key
	fSigningPublic  = 1
	fSigningPrivate = 2
)

// Marshal serializes the Record, secrets included: {15 format version,
// 1 states (repeated, newest first)}, each state {1 chain ID, 2 chain key
// {1 iteration, 2 key}, 3 signing key {1 public (33), 2 private (32, own
// key only)}, 4 skipped keys (repeated, ascending) {1 iteration, 2 seed}}.
// The encoding is deterministic.
func (r *Record) Marshal() []byte {
	size := 4
	for _, st := range r.states() {
		size += 120 + len(st.skipped)*(KeySize+10)
	}
	b := make([]byte, 0, size)
	b = pb.AppendVarint(b, fRecordFormat, FormatVersion)
	var sb []byte
	for _, st := range r.states() {
		sb = st.appendTo(sb[:0])
		b = pb.AppendBytes(b, fRecordStates, sb)
	}
	clear(sb)
	return b
}

func (st *state) appendTo(b []byte) []byte {
	b = pb.AppendVarint(b, fStateChainID, uint64(st.chainID))
	b = protowire.AppendTag(b, fStateChainKey, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(keyLen(st.chain.iteration)))
	b = appendKey(b, st.chain.iteration, &st.chain.key)
	sk := pb.AppendBytes(nil, fSigningPublic, st.signingKey.Bytes())
	if !st.signingPriv.IsZero() {
		priv := st.signingPriv.Bytes()
		sk = pb.AppendBytes(sk, fSigningPrivate, priv)
		clear(priv)
	}
	b = pb.AppendBytes(b, fStateSigningKey, sk)
	clear(sk)
	for i := range st.skipped {
		k := &st.skipped[i]
		b = protowire.AppendTag(b, fStateSkipped, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(keyLen(k.iteration)))
		b = appendKey(b, k.iteration, &k.seed)
	}
	return b
}

// appendKey appends the fields {1 iteration, 2 key} of a chain key or a
// skipped key; keyLen is their length.
func appendKey(b []byte, iteration uint32, key *[KeySize]byte) []byte {
	b = pb.AppendVarint(b, fKeyIteration, uint64(iteration))
	return pb.AppendBytes(b, fKeySeed, key[:])
}

func keyLen(iteration uint32) int {
	return 1 + protowire.SizeVarint(uint64(iteration)) + 1 + 1 + KeySize
}

// ParseRecord parses a Record serialized by Marshal, checking that it is
// complete and within the limits: at most MaxStates states with distinct
// chain IDs, at most MaxSkippedKeys skipped keys per state in ascending
// order below the chain's iteration, key sizes, and that a private
// signing key matches its public key. An empty b (nil included) is the
// empty Record. The Record keeps no reference to b.
func ParseRecord(b []byte) (*Record, error) {
	if len(b) == 0 {
		return &Record{}, nil
	}
	r, err := parseRecord(b)
	if err != nil {
		if errors.Is(err, ErrFormatVersion) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: record: %w", ErrMalformed, err)
	}
	return r, nil
}

func parseRecord(b []byte) (*Record, error) {
	var (
		format     uint64
		haveFormat bool
	)
	// The format version decides how the rest reads: find it first.
	err := pb.ForEach(b, func(f pb.Field) error {
		if f.Num == fRecordFormat {
			var err error
			format, err = f.Uint64()
			haveFormat = true
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !haveFormat {
		return nil, errors.New("no format version")
	}
	if format != FormatVersion {
		return nil, fmt.Errorf("%w %d (this build reads %d)", ErrFormatVersion, format, FormatVersion)
	}
	list := &stateList{}
	r := &Record{p: list}
	err = pb.ForEach(b, func(f pb.Field) error {
		if f.Num != fRecordStates {
			return nil
		}
		raw, err := f.ByteSlice()
		if err != nil {
			return err
		}
		if len(list.states) == MaxStates {
			return fmt.Errorf("more than %d states", MaxStates)
		}
		st, err := parseState(raw)
		if err != nil {
			return err
		}
		if r.find(st.chainID) != nil {
			return fmt.Errorf("two states for chain %d", st.chainID)
		}
		list.states = append(list.states, st)
		return nil
	})
	if err != nil {
		for _, st := range list.states {
			st.wipe()
		}
		return nil, err
	}
	return r, nil
}

func parseState(b []byte) (*state, error) {
	st := &state{}
	var haveID, haveChain, haveSigning bool
	err := pb.ForEach(b, func(f pb.Field) error {
		var err error
		switch f.Num {
		case fStateChainID:
			st.chainID, err = f.Uint32()
			haveID = true
		case fStateChainKey:
			var raw []byte
			if raw, err = f.ByteSlice(); err == nil {
				st.chain.iteration, err = parseKey(raw, &st.chain.key)
				haveChain = true
			}
		case fStateSigningKey:
			var raw []byte
			if raw, err = f.ByteSlice(); err == nil {
				err = st.parseSigningKey(raw)
				haveSigning = true
			}
		case fStateSkipped:
			var raw []byte
			if raw, err = f.ByteSlice(); err != nil {
				return err
			}
			if len(st.skipped) == MaxSkippedKeys {
				return fmt.Errorf("more than %d skipped keys", MaxSkippedKeys)
			}
			var k skippedKey
			if k.iteration, err = parseKey(raw, &k.seed); err != nil {
				return err
			}
			if n := len(st.skipped); n > 0 && k.iteration <= st.skipped[n-1].iteration {
				return errors.New("skipped keys out of order")
			}
			st.skipped = append(st.skipped, k)
		}
		return err
	})
	if err == nil && (!haveID || !haveChain || !haveSigning) {
		err = errors.New("incomplete state")
	}
	if err == nil && len(st.skipped) > 0 && st.skipped[len(st.skipped)-1].iteration >= st.chain.iteration {
		err = errors.New("skipped key at or past the chain key")
	}
	if err != nil {
		st.wipe()
		return nil, err
	}
	return st, nil
}

// parseKey parses {1 iteration, 2 key (32)}.
func parseKey(b []byte, key *[KeySize]byte) (uint32, error) {
	var (
		iteration uint32
		haveKey   bool
	)
	err := pb.ForEach(b, func(f pb.Field) error {
		var err error
		switch f.Num {
		case fKeyIteration:
			iteration, err = f.Uint32()
		case fKeySeed:
			err = f.FixedBytes(key[:])
			haveKey = true
		}
		return err
	})
	if err == nil && !haveKey {
		err = errors.New("key without its bytes")
	}
	return iteration, err
}

// parseSigningKey parses {1 public, 2 private} and checks the pair.
func (st *state) parseSigningKey(b []byte) error {
	var priv []byte
	err := pb.ForEach(b, func(f pb.Field) error {
		var err error
		switch f.Num {
		case fSigningPublic:
			var raw []byte
			if raw, err = f.ByteSlice(); err == nil {
				st.signingKey, err = keys.NewPublicKey(raw)
			}
		case fSigningPrivate:
			priv, err = f.ByteSlice()
		}
		return err
	})
	if err != nil {
		return err
	}
	if st.signingKey.IsZero() {
		return errors.New("no public signing key")
	}
	if priv != nil {
		if st.signingPriv, err = keys.NewPrivateKey(priv); err != nil {
			return err
		}
		if !st.signingPriv.Public().Equal(st.signingKey) {
			return errors.New("private signing key does not match the public key")
		}
	}
	return nil
}
