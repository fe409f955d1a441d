package wire

import (
	"fmt"

	"github.com/mutualcoop/mutual/internal/pb"
)

// Frames are Protocol Buffers (proto3) messages, written and read with
// internal/pb rather than generated code so that the client's WebAssembly
// build stays small. docs/protocol.md has the schema.

// ErrMalformed is wrapped by every decoding error.
var ErrMalformed = pb.ErrMalformed

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// decoder is a message of this package: it decodes itself.
type decoder interface{ decode(b []byte) error }

// decodeNested decodes a field holding one message into m.
func decodeNested(f pb.Field, m decoder) error {
	b, err := f.ByteSlice()
	if err != nil {
		return err
	}
	return m.decode(b)
}

// nested decodes a field holding one message of type T.
func nested[T any, P interface {
	*T
	decoder
}](f pb.Field) (*T, error) {
	m := new(T)
	return m, decodeNested(f, P(m))
}

// appendNested decodes a field holding one more element of a repeated
// message field, and refuses more than max elements (what names them).
func appendNested[T any, P interface {
	*T
	decoder
}](list []T, f pb.Field, max int, what string) ([]T, error) {
	if len(list) == max {
		return list, malformed("more than %d %s", max, what)
	}
	var zero T
	list = append(list, zero) // decoded in place: no copy, no allocation
	if err := decodeNested(f, P(&list[len(list)-1])); err != nil {
		return list[:len(list)-1], err
	}
	return list, nil
}

// ignore decodes an empty message: it checks the encoding and skips every
// field, as a later revision may add some.
func ignore(b []byte) error {
	return pb.ForEach(b, func(pb.Field) error { return nil })
}
