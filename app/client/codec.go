package client

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// Everything this package stores or encrypts is a protobuf message,
// hand-encoded with protowire, whose field 15 is a format version (now
// 1). Decoders refuse other versions and skip unknown fields.

const (
	formatVersion = 1
	fVersion      = 15
)

var (
	errMalformed = errors.New("malformed record")
	errVersion   = errors.New("unknown record format version")
)

type enc struct{ b []byte }

func newEnc() *enc {
	e := &enc{}
	e.uint(fVersion, formatVersion)
	return e
}

func (e *enc) uint(n protowire.Number, v uint64) {
	if v != 0 {
		e.b = protowire.AppendTag(e.b, n, protowire.VarintType)
		e.b = protowire.AppendVarint(e.b, v)
	}
}

func (e *enc) sint(n protowire.Number, v int64) {
	e.uint(n, protowire.EncodeZigZag(v))
}

func (e *enc) bool(n protowire.Number, v bool) {
	if v {
		e.uint(n, 1)
	}
}

func (e *enc) bytes(n protowire.Number, v []byte) {
	if len(v) > 0 {
		e.b = protowire.AppendTag(e.b, n, protowire.BytesType)
		e.b = protowire.AppendBytes(e.b, v)
	}
}

func (e *enc) string(n protowire.Number, s string) {
	if s != "" {
		e.b = protowire.AppendTag(e.b, n, protowire.BytesType)
		e.b = protowire.AppendString(e.b, s)
	}
}

// id writes a 16-byte identifier unless it is all zero.
func (e *enc) id(n protowire.Number, v [16]byte) {
	if v != ([16]byte{}) {
		e.bytes(n, v[:])
	}
}

// field is one decoded field: v for varints, b (aliasing the input) for
// length-delimited ones.
type field struct {
	num protowire.Number
	typ protowire.Type
	v   uint64
	b   []byte
}

// decodeRecord checks the format version and calls fn for every other
// field.
func decodeRecord(b []byte, fn func(f field) error) error {
	version := uint64(0)
	err := decodeFields(b, func(f field) error {
		if f.num != fVersion {
			return fn(f)
		}
		v, err := f.uint64()
		version = v
		return err
	})
	if err != nil {
		return err
	}
	switch version {
	case formatVersion:
		return nil
	case 0:
		return fmt.Errorf("%w: no format version", errMalformed)
	}
	return fmt.Errorf("%w %d (this build reads %d)", errVersion, version, formatVersion)
}

// decodeFields calls fn for each varint and length-delimited field of b,
// skipping fields of other wire types.
func decodeFields(b []byte, fn func(f field) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("%w: %v", errMalformed, protowire.ParseError(n))
		}
		b = b[n:]
		f := field{num: num, typ: typ}
		switch typ {
		case protowire.VarintType:
			f.v, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			f.b, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return fmt.Errorf("%w: field %d: %v", errMalformed, num, protowire.ParseError(n))
		}
		b = b[n:]
		if typ != protowire.VarintType && typ != protowire.BytesType {
			continue
		}
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}

// message appends an embedded message as field n.
func (e *enc) message(n protowire.Number, body []byte) {
	e.b = protowire.AppendTag(e.b, n, protowire.BytesType)
	e.b = protowire.AppendBytes(e.b, body)
}

func (f field) wantVarint() error {
	if f.typ != protowire.VarintType {
		return fmt.Errorf("%w: field %d is not a varint", errMalformed, f.num)
	}
	return nil
}

func (f field) wantBytes() error {
	if f.typ != protowire.BytesType {
		return fmt.Errorf("%w: field %d is not length-delimited", errMalformed, f.num)
	}
	return nil
}

func (f field) uint64() (uint64, error) { return f.v, f.wantVarint() }

func (f field) uint32() (uint32, error) {
	if err := f.wantVarint(); err != nil {
		return 0, err
	}
	if f.v > 1<<32-1 {
		return 0, fmt.Errorf("%w: field %d over 32 bits", errMalformed, f.num)
	}
	return uint32(f.v), nil
}

func (f field) sint64() (int64, error) {
	return protowire.DecodeZigZag(f.v), f.wantVarint()
}

func (f field) bool() (bool, error) { return f.v != 0, f.wantVarint() }

// copyBytes returns a copy of a length-delimited field of at most max
// bytes.
func (f field) copyBytes(max int) ([]byte, error) {
	if err := f.wantBytes(); err != nil {
		return nil, err
	}
	if len(f.b) > max {
		return nil, fmt.Errorf("%w: field %d has %d bytes, at most %d", errMalformed, f.num, len(f.b), max)
	}
	return append([]byte(nil), f.b...), nil
}

func (f field) string(max int) (string, error) {
	b, err := f.copyBytes(max)
	return string(b), err
}

// id reads a 16-byte identifier.
func (f field) id(dst *[16]byte) error {
	if err := f.wantBytes(); err != nil {
		return err
	}
	if len(f.b) != len(dst) {
		return fmt.Errorf("%w: field %d has %d bytes, want %d", errMalformed, f.num, len(f.b), len(dst))
	}
	copy(dst[:], f.b)
	return nil
}
