package pb

import "google.golang.org/protobuf/encoding/protowire"

// Number is a field number.
type Number = protowire.Number

// Encoder appends fields to itself, leaving out zero values as proto3
// does: start one from a buffer with Encoder(b), write fields, and use it
// as the []byte it is.
type Encoder []byte

// Uint appends a varint field unless v is zero.
func (e *Encoder) Uint(n Number, v uint64) {
	if v == 0 {
		return
	}
	*e = protowire.AppendTag(*e, n, protowire.VarintType)
	*e = protowire.AppendVarint(*e, v)
}

// Sint appends a zig-zag varint field (sint32, sint64) unless v is zero.
func (e *Encoder) Sint(n Number, v int64) {
	e.Uint(n, protowire.EncodeZigZag(v))
}

// Bool appends a varint field of 1 if v is true.
func (e *Encoder) Bool(n Number, v bool) {
	if v {
		e.Uint(n, 1)
	}
}

// Bytes appends a length-delimited field unless v is empty.
func (e *Encoder) Bytes(n Number, v []byte) {
	if len(v) == 0 {
		return
	}
	*e = protowire.AppendTag(*e, n, protowire.BytesType)
	*e = protowire.AppendBytes(*e, v)
}

// String appends a length-delimited field unless v is empty.
func (e *Encoder) String(n Number, v string) {
	if v == "" {
		return
	}
	*e = protowire.AppendTag(*e, n, protowire.BytesType)
	*e = protowire.AppendString(*e, v)
}

// ID appends a 16-byte identifier as a length-delimited field unless it is
// all zero.
func (e *Encoder) ID(n Number, v [16]byte) {
	if v != ([16]byte{}) {
		e.Bytes(n, v[:])
	}
}

// Message appends a nested message written by appendTo, even an empty one
// (its presence may matter). The message is written in place: no copy
// unless its length needs more than one byte.
func (e *Encoder) Message(n Number, appendTo func(b []byte) []byte) {
	b := protowire.AppendTag(*e, n, protowire.BytesType)
	// Reserve one length byte, encode, then shift if the length needs more.
	at := len(b)
	b = appendTo(append(b, 0))
	size := len(b) - at - 1
	if w := protowire.SizeVarint(uint64(size)); w == 1 {
		b[at] = byte(size)
	} else {
		b = append(b, make([]byte, w-1)...)
		copy(b[at+w:], b[at+1:at+1+size])
		protowire.AppendVarint(b[at:at], uint64(size))
	}
	*e = b
}

// Packed appends a packed repeated varint field (proto3's encoding of
// repeated integers) unless vs is empty.
func Packed[T ~uint32 | ~uint64](e *Encoder, n Number, vs []T) {
	if len(vs) == 0 {
		return
	}
	e.Message(n, func(b []byte) []byte {
		for _, v := range vs {
			b = protowire.AppendVarint(b, uint64(v))
		}
		return b
	})
}

// AppendVarint appends a varint field to b, even a zero one.
func AppendVarint(b []byte, n Number, v uint64) []byte {
	b = protowire.AppendTag(b, n, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

// AppendBytes appends a length-delimited field to b, even an empty one.
func AppendBytes(b []byte, n Number, v []byte) []byte {
	b = protowire.AppendTag(b, n, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}
