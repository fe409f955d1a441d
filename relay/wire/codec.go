package wire

import (
	"errors"
	"fmt"
	"math"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
)

// The frame and record formats are Protocol Buffers (proto3) messages,
// written and read with protowire rather than generated code so that the
// client's WebAssembly build stays small. docs/protocol.md has the schema.

// ErrMalformed wraps every decoding error.
var ErrMalformed = errors.New("wire: malformed")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

type num = protowire.Number

// enc appends fields; zero values are omitted, as proto3 does.
type enc struct{ b []byte }

func (e *enc) uint(n num, v uint64) {
	if v == 0 {
		return
	}
	e.b = protowire.AppendTag(e.b, n, protowire.VarintType)
	e.b = protowire.AppendVarint(e.b, v)
}

func (e *enc) int(n num, v int64) {
	if v == 0 {
		return
	}
	e.b = protowire.AppendTag(e.b, n, protowire.VarintType)
	e.b = protowire.AppendVarint(e.b, protowire.EncodeZigZag(v))
}

func (e *enc) bool(n num, v bool) {
	if v {
		e.uint(n, 1)
	}
}

func (e *enc) bytes(n num, v []byte) {
	if len(v) == 0 {
		return
	}
	e.b = protowire.AppendTag(e.b, n, protowire.BytesType)
	e.b = protowire.AppendBytes(e.b, v)
}

func (e *enc) string(n num, v string) {
	if v == "" {
		return
	}
	e.b = protowire.AppendTag(e.b, n, protowire.BytesType)
	e.b = protowire.AppendString(e.b, v)
}

// message appends a nested message, even an empty one (presence matters
// for the frame body).
func (e *enc) message(n num, m interface{ appendTo([]byte) []byte }) {
	e.b = protowire.AppendTag(e.b, n, protowire.BytesType)
	// Reserve one length byte, encode, then shift if the length needs more.
	at := len(e.b)
	e.b = append(e.b, 0)
	e.b = m.appendTo(e.b)
	size := len(e.b) - at - 1
	if w := protowire.SizeVarint(uint64(size)); w == 1 {
		e.b[at] = byte(size)
	} else {
		e.b = append(e.b, make([]byte, w-1)...)
		copy(e.b[at+w:], e.b[at+1:at+1+size])
		protowire.AppendVarint(e.b[at:at], uint64(size))
	}
}

// field is one decoded field: a varint or a length-delimited value.
type field struct {
	num    num
	typ    protowire.Type
	varint uint64
	bytes  []byte
}

// fields calls fn for each field of b. Fixed32/64 and group fields are
// skipped as unknown; fn decides what to do with unknown numbers.
func fields(b []byte, fn func(f field) error) error {
	for len(b) > 0 {
		n, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return malformed("bad tag")
		}
		b = b[l:]
		f := field{num: n, typ: typ}
		switch typ {
		case protowire.VarintType:
			v, l := protowire.ConsumeVarint(b)
			if l < 0 {
				return malformed("bad varint in field %d", n)
			}
			f.varint, b = v, b[l:]
		case protowire.BytesType:
			v, l := protowire.ConsumeBytes(b)
			if l < 0 {
				return malformed("bad length in field %d", n)
			}
			f.bytes, b = v, b[l:]
		default:
			l := protowire.ConsumeFieldValue(n, typ, b)
			if l < 0 {
				return malformed("bad value in field %d", n)
			}
			b = b[l:]
			continue
		}
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}

func (f field) wantVarint() error {
	if f.typ != protowire.VarintType {
		return malformed("field %d: want varint", f.num)
	}
	return nil
}

func (f field) wantBytes() error {
	if f.typ != protowire.BytesType {
		return malformed("field %d: want bytes", f.num)
	}
	return nil
}

func (f field) uint32() (uint32, error) {
	if err := f.wantVarint(); err != nil {
		return 0, err
	}
	if f.varint > math.MaxUint32 {
		return 0, malformed("field %d: out of range", f.num)
	}
	return uint32(f.varint), nil
}

func (f field) uint64() (uint64, error) {
	return f.varint, f.wantVarint()
}

func (f field) sint64() (int64, error) {
	return protowire.DecodeZigZag(f.varint), f.wantVarint()
}

func (f field) bool() (bool, error) {
	return f.varint != 0, f.wantVarint()
}

// copyBytes returns a copy of a bytes field no longer than max.
func (f field) copyBytes(max int) ([]byte, error) {
	if err := f.wantBytes(); err != nil {
		return nil, err
	}
	if len(f.bytes) > max {
		return nil, malformed("field %d: %d bytes, limit %d", f.num, len(f.bytes), max)
	}
	return append([]byte(nil), f.bytes...), nil
}

// text returns a valid UTF-8 string no longer than max bytes.
func (f field) text(max int) (string, error) {
	if err := f.wantBytes(); err != nil {
		return "", err
	}
	if len(f.bytes) > max {
		return "", malformed("field %d: %d bytes, limit %d", f.num, len(f.bytes), max)
	}
	if !utf8.Valid(f.bytes) {
		return "", malformed("field %d: not UTF-8", f.num)
	}
	return string(f.bytes), nil
}

// fixed copies a bytes field of exactly len(dst) bytes into dst.
func (f field) fixed(dst []byte) error {
	if err := f.wantBytes(); err != nil {
		return err
	}
	if len(f.bytes) != len(dst) {
		return malformed("field %d: want %d bytes, got %d", f.num, len(dst), len(f.bytes))
	}
	copy(dst, f.bytes)
	return nil
}
