package pb

import (
	"errors"
	"fmt"
	"math"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
)

var (
	// ErrMalformed is wrapped by every error of this package.
	ErrMalformed = errors.New("malformed")
	// ErrWireType is wrapped, besides ErrMalformed, by every error about a
	// field of the wrong wire type.
	ErrWireType = errors.New("wrong wire type")
)

func malformed(n Number, format string, args ...any) error {
	return fmt.Errorf("%w: field %d: %s", ErrMalformed, n, fmt.Sprintf(format, args...))
}

// Field is one decoded field: varint and fixed-size values in Value,
// length-delimited ones behind ByteSlice, Bytes and String.
type Field struct {
	Num   Number
	Type  protowire.Type
	Value uint64
	raw   []byte // a length-delimited value, aliasing the input
}

// Next decodes the field at the start of b and returns it with the number
// of bytes it took. A group is consumed whole and returned with nothing
// readable in it.
func Next(b []byte) (Field, int, error) {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 {
		return Field{}, 0, fmt.Errorf("%w: tag: %v", ErrMalformed, protowire.ParseError(n))
	}
	f := Field{Num: num, Type: typ}
	var m int
	switch typ {
	case protowire.VarintType:
		f.Value, m = protowire.ConsumeVarint(b[n:])
	case protowire.Fixed32Type:
		var v uint32
		v, m = protowire.ConsumeFixed32(b[n:])
		f.Value = uint64(v)
	case protowire.Fixed64Type:
		f.Value, m = protowire.ConsumeFixed64(b[n:])
	case protowire.BytesType:
		f.raw, m = protowire.ConsumeBytes(b[n:])
	default:
		m = protowire.ConsumeFieldValue(num, typ, b[n:])
	}
	if m < 0 {
		return Field{}, 0, malformed(num, "%v", protowire.ParseError(m))
	}
	return f, n + m, nil
}

// ForEach calls fn for every field of the message b, in order, and stops
// at the first error.
func ForEach(b []byte, fn func(f Field) error) error {
	for len(b) > 0 {
		f, n, err := Next(b)
		if err != nil {
			return err
		}
		if err := fn(f); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

func (f Field) want(t protowire.Type) error {
	if f.Type != t {
		return fmt.Errorf("%w: field %d: %w", ErrMalformed, f.Num, ErrWireType)
	}
	return nil
}

// Uint64 returns a varint field.
func (f Field) Uint64() (uint64, error) {
	if err := f.want(protowire.VarintType); err != nil {
		return 0, err
	}
	return f.Value, nil
}

// Uint32 returns a varint field that fits in 32 bits.
func (f Field) Uint32() (uint32, error) {
	v, err := f.Uint64()
	if err != nil {
		return 0, err
	}
	if v > math.MaxUint32 {
		return 0, malformed(f.Num, "%d overflows uint32", v)
	}
	return uint32(v), nil
}

// Sint64 returns a zig-zag varint field (sint64).
func (f Field) Sint64() (int64, error) {
	v, err := f.Uint64()
	return protowire.DecodeZigZag(v), err
}

// Bool returns a varint field as a boolean: anything but 0 is true.
func (f Field) Bool() (bool, error) {
	v, err := f.Uint64()
	return v != 0, err
}

// Fixed64 returns a fixed64 field.
func (f Field) Fixed64() (uint64, error) {
	if err := f.want(protowire.Fixed64Type); err != nil {
		return 0, err
	}
	return f.Value, nil
}

// Varints calls fn for each value of a repeated varint field, which
// proto3 parsers accept packed (one length-delimited field) or not (this
// varint field is one value of it).
func (f Field) Varints(fn func(v uint64) error) error {
	if f.Type == protowire.VarintType {
		return fn(f.Value)
	}
	b, err := f.ByteSlice()
	if err != nil {
		return err
	}
	for len(b) > 0 {
		v, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return malformed(f.Num, "packed: %v", protowire.ParseError(n))
		}
		if err := fn(v); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// ByteSlice returns a length-delimited field, aliasing the input, for
// values used at once (a nested message to decode, a key to parse).
func (f Field) ByteSlice() ([]byte, error) {
	if err := f.want(protowire.BytesType); err != nil {
		return nil, err
	}
	return f.raw, nil
}

// Bytes returns a copy of a length-delimited field of at most max bytes;
// nil if it is empty.
func (f Field) Bytes(max int) ([]byte, error) {
	b, err := f.bounded(max)
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), b...), nil
}

// String returns a length-delimited field of at most max bytes of UTF-8.
func (f Field) String(max int) (string, error) {
	b, err := f.bounded(max)
	if err != nil {
		return "", err
	}
	if !utf8.Valid(b) {
		return "", malformed(f.Num, "not UTF-8")
	}
	return string(b), nil
}

func (f Field) bounded(max int) ([]byte, error) {
	b, err := f.ByteSlice()
	if err != nil {
		return nil, err
	}
	if len(b) > max {
		return nil, malformed(f.Num, "%d bytes, limit %d", len(b), max)
	}
	return b, nil
}

// FixedBytes copies a length-delimited field of exactly len(dst) bytes
// (an identifier, a key) into dst.
func (f Field) FixedBytes(dst []byte) error {
	b, err := f.ByteSlice()
	if err != nil {
		return err
	}
	if len(b) != len(dst) {
		return malformed(f.Num, "%d bytes, want %d", len(b), len(dst))
	}
	copy(dst, b)
	return nil
}
