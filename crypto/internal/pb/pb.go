// Package pb reads Protocol Buffers fields for the crypto packages' hand-
// written encodings (libsignal's message layout and Mutual's state
// records), with protowire and without generated code.
package pb

import (
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// Field is one decoded field: varint and fixed values in Value,
// length-delimited values in Bytes (aliasing the input).
type Field struct {
	Num   protowire.Number
	Type  protowire.Type
	Value uint64
	Bytes []byte
}

// ErrWireType is wrapped by every error about a field of the wrong type.
var ErrWireType = errors.New("wrong wire type")

// Next decodes the field at the start of b and returns it with the number
// of bytes it took. Groups are refused: no Mutual message uses them.
func Next(b []byte) (Field, int, error) {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 {
		return Field{}, 0, fmt.Errorf("protobuf tag: %w", protowire.ParseError(n))
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
		f.Bytes, m = protowire.ConsumeBytes(b[n:])
	default:
		return Field{}, 0, fmt.Errorf("protobuf field %d: unsupported wire type %d", num, typ)
	}
	if m < 0 {
		return Field{}, 0, fmt.Errorf("protobuf field %d: %w", num, protowire.ParseError(m))
	}
	return f, n + m, nil
}

// ForEach calls fn for every field of the protobuf message b.
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

// Uint32 returns a varint field that fits in 32 bits.
func (f Field) Uint32() (uint32, error) {
	if f.Type != protowire.VarintType {
		return 0, fmt.Errorf("field %d: %w", f.Num, ErrWireType)
	}
	if f.Value > math.MaxUint32 {
		return 0, fmt.Errorf("field %d: value %d overflows uint32", f.Num, f.Value)
	}
	return uint32(f.Value), nil
}

// Bool returns a varint field as a boolean.
func (f Field) Bool() (bool, error) {
	if f.Type != protowire.VarintType {
		return false, fmt.Errorf("field %d: %w", f.Num, ErrWireType)
	}
	return f.Value != 0, nil
}

// Fixed64 returns a fixed64 field.
func (f Field) Fixed64() (uint64, error) {
	if f.Type != protowire.Fixed64Type {
		return 0, fmt.Errorf("field %d: %w", f.Num, ErrWireType)
	}
	return f.Value, nil
}

// ByteSlice returns a length-delimited field, aliasing the input.
func (f Field) ByteSlice() ([]byte, error) {
	if f.Type != protowire.BytesType {
		return nil, fmt.Errorf("field %d: %w", f.Num, ErrWireType)
	}
	return f.Bytes, nil
}

// FixedBytes copies a length-delimited field of exactly len(dst) bytes.
func (f Field) FixedBytes(dst []byte) error {
	b, err := f.ByteSlice()
	if err != nil {
		return err
	}
	if len(b) != len(dst) {
		return fmt.Errorf("field %d: %d bytes, want %d", f.Num, len(b), len(dst))
	}
	copy(dst, b)
	return nil
}

// AppendBytes appends a length-delimited field.
func AppendBytes(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

// AppendVarint appends a varint field.
func AppendVarint(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}
