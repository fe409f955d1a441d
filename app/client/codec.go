package client

import (
	"errors"
	"fmt"

	"github.com/mutualcoop/mutual/internal/pb"
)

// Everything this package stores or encrypts is a protobuf message,
// written and read with internal/pb, whose field 15 is a format version
// (now 1). Decoders refuse other versions and skip unknown fields. The
// names below adapt internal/pb to this package's decoders; they add no
// encoding of their own.

const (
	formatVersion = 1
	fVersion      = 15
)

var (
	errMalformed = pb.ErrMalformed
	errVersion   = errors.New("unknown record format version")
)

// enc writes a record, leaving out zero values.
type enc struct{ b pb.Encoder }

// newEnc starts a record with its format version.
func newEnc() *enc {
	e := &enc{}
	e.uint(fVersion, formatVersion)
	return e
}

func (e *enc) uint(n pb.Number, v uint64)   { e.b.Uint(n, v) }
func (e *enc) sint(n pb.Number, v int64)    { e.b.Sint(n, v) }
func (e *enc) bool(n pb.Number, v bool)     { e.b.Bool(n, v) }
func (e *enc) bytes(n pb.Number, v []byte)  { e.b.Bytes(n, v) }
func (e *enc) string(n pb.Number, s string) { e.b.String(n, s) }

// id writes a 16-byte identifier unless it is all zero.
func (e *enc) id(n pb.Number, v [16]byte) { e.b.ID(n, v) }

// message appends an embedded message as field n, even an empty one.
func (e *enc) message(n pb.Number, body []byte) { e.b = pb.AppendBytes(e.b, n, body) }

// field is one decoded field: num, and b (aliasing the input) for
// length-delimited ones.
type field struct {
	pb.Field
	num pb.Number
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

// decodeFields calls fn for each field of b.
func decodeFields(b []byte, fn func(f field) error) error {
	return pb.ForEach(b, func(f pb.Field) error {
		raw, _ := f.ByteSlice() // nil unless length-delimited
		return fn(field{Field: f, num: f.Num, b: raw})
	})
}

func (f field) wantBytes() error {
	_, err := f.ByteSlice()
	return err
}

func (f field) uint64() (uint64, error) { return f.Uint64() }
func (f field) uint32() (uint32, error) { return f.Uint32() }
func (f field) sint64() (int64, error)  { return f.Sint64() }
func (f field) bool() (bool, error)     { return f.Bool() }

// copyBytes returns a copy of a length-delimited field of at most max
// bytes.
func (f field) copyBytes(max int) ([]byte, error) { return f.Bytes(max) }

// string returns a length-delimited field of at most max bytes as it is,
// UTF-8 or not: records stored before may hold any bytes, and must still
// read. (parseContent checks what a peer sends.)
func (f field) string(max int) (string, error) {
	b, err := f.Bytes(max)
	return string(b), err
}

// id reads a 16-byte identifier.
func (f field) id(dst *[16]byte) error { return f.FixedBytes(dst[:]) }
