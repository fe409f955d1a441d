package pqxdh

import (
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// field is one decoded protobuf field: varint and fixed values in num,
// length-delimited values in bytes (aliasing the input).
type field struct {
	num   protowire.Number
	typ   protowire.Type
	value uint64
	bytes []byte
}

// nextField decodes the field at the start of b and returns it with the
// number of bytes it took. Groups are refused: no Mutual message uses them.
func nextField(b []byte) (field, int, error) {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 {
		return field{}, 0, fmt.Errorf("protobuf tag: %w", protowire.ParseError(n))
	}
	f := field{num: num, typ: typ}
	var m int
	switch typ {
	case protowire.VarintType:
		f.value, m = protowire.ConsumeVarint(b[n:])
	case protowire.Fixed32Type:
		var v uint32
		v, m = protowire.ConsumeFixed32(b[n:])
		f.value = uint64(v)
	case protowire.Fixed64Type:
		f.value, m = protowire.ConsumeFixed64(b[n:])
	case protowire.BytesType:
		f.bytes, m = protowire.ConsumeBytes(b[n:])
	default:
		return field{}, 0, fmt.Errorf("protobuf field %d: unsupported wire type %d", num, typ)
	}
	if m < 0 {
		return field{}, 0, fmt.Errorf("protobuf field %d: %w", num, protowire.ParseError(m))
	}
	return f, n + m, nil
}

// forEachField calls fn for every field of the protobuf message b.
func forEachField(b []byte, fn func(f field) error) error {
	for len(b) > 0 {
		f, n, err := nextField(b)
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

var errWireType = errors.New("wrong wire type")

func (f field) uint32() (uint32, error) {
	if f.typ != protowire.VarintType {
		return 0, fmt.Errorf("field %d: %w", f.num, errWireType)
	}
	if f.value > math.MaxUint32 {
		return 0, fmt.Errorf("field %d: value %d overflows uint32", f.num, f.value)
	}
	return uint32(f.value), nil
}

func (f field) bool() (bool, error) {
	if f.typ != protowire.VarintType {
		return false, fmt.Errorf("field %d: %w", f.num, errWireType)
	}
	return f.value != 0, nil
}

func (f field) fixed64() (uint64, error) {
	if f.typ != protowire.Fixed64Type {
		return 0, fmt.Errorf("field %d: %w", f.num, errWireType)
	}
	return f.value, nil
}

func (f field) byteSlice() ([]byte, error) {
	if f.typ != protowire.BytesType {
		return nil, fmt.Errorf("field %d: %w", f.num, errWireType)
	}
	return f.bytes, nil
}

func appendBytesField(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func appendVarintField(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}
