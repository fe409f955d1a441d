// Package padding pads plaintexts to a few fixed sizes before encryption,
// so that the relay, which sees every ciphertext's length, learns only a
// coarse size class and not how long a message is.
//
// # Format
//
// A padded plaintext is the message, one 0x80 byte, then zero bytes up to
// the bucket size (ISO/IEC 7816-4 padding, the scheme Signal's clients use
// for message bodies). The marker makes the padding unambiguous for any
// message, including one that ends in zero bytes.
//
// # Buckets
//
// The bucket sizes are the powers of two from 256 bytes to 64 KiB:
//
//	256, 512, 1 KiB, 2 KiB, 4 KiB, 8 KiB, 16 KiB, 32 KiB, 64 KiB
//
// A message of n bytes goes into the smallest bucket of at least n + 1
// bytes. Why these:
//
//   - 256 bytes as the smallest bucket holds nearly every text message,
//     receipt, typing notice and reaction, so the bulk of traffic is one
//     size and its lengths reveal nothing at all.
//   - Doubling buckets bound the cost — a padded message is less than twice
//     as long as the message plus marker — while leaking at most which of
//     nine classes a message belongs to. Finer steps above 4 KiB (Signal's
//     multiples of 160 bytes, or Padmé) would waste less but tell an
//     observer more about the long messages, which are the most
//     identifiable ones.
//   - 64 KiB as the largest bucket keeps a padded message, once encrypted
//     and wrapped in a PQXDH prekey message (about 1.8 KiB of keys and
//     headers, 16 bytes of CBC padding), well inside the relay's 96 KiB
//     limit on one device's ciphertext. Larger content (files, images)
//     travels as separately encrypted attachments, not in messages.
//
// # Unpadding
//
// Unpad accepts only what Pad produces: a length that is exactly one of the
// bucket sizes, a 0x80 marker, nothing but zero bytes after it, and a
// message long enough to need that bucket (a 10-byte message padded to
// 512 bytes is refused). Any
// other input is ErrMalformed. Unpad is applied to plaintext that has
// already been authenticated (the MAC is checked before decryption), so its
// errors are no padding oracle; it runs in time that depends only on the
// input length all the same.
package padding

import (
	"crypto/subtle"
	"errors"
	"fmt"
)

const (
	// MinBucket is the smallest padded size.
	MinBucket = 256
	// MaxBucket is the largest padded size.
	MaxBucket = 64 << 10
	// MaxPlaintext is the longest message Pad accepts.
	MaxPlaintext = MaxBucket - 1

	marker = 0x80
)

var (
	// ErrTooLarge means the message does not fit in the largest bucket.
	ErrTooLarge = errors.New("padding: message too large")
	// ErrMalformed means the input is not a padded plaintext.
	ErrMalformed = errors.New("padding: malformed padding")
)

// Buckets returns the bucket sizes in increasing order.
func Buckets() []int {
	var b []int
	for s := MinBucket; s <= MaxBucket; s *= 2 {
		b = append(b, s)
	}
	return b
}

// Size returns the padded size of an n-byte message.
func Size(n int) (int, error) {
	if n < 0 || n > MaxPlaintext {
		return 0, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, n, MaxPlaintext)
	}
	s := MinBucket
	for s < n+1 {
		s *= 2
	}
	return s, nil
}

// isBucket reports whether n is one of the bucket sizes.
func isBucket(n int) bool {
	return n >= MinBucket && n <= MaxBucket && n&(n-1) == 0
}

// Pad returns msg padded to its bucket, in a new slice.
func Pad(msg []byte) ([]byte, error) {
	size, err := Size(len(msg))
	if err != nil {
		return nil, err
	}
	out := make([]byte, size)
	copy(out, msg)
	out[len(msg)] = marker
	return out, nil
}

// Unpad returns the message inside padded. The result shares padded's
// memory.
func Unpad(padded []byte) ([]byte, error) {
	if !isBucket(len(padded)) {
		return nil, fmt.Errorf("%w: length %d is not a bucket size", ErrMalformed, len(padded))
	}
	// Scan every byte from the end: while still in the zero run (inZeros),
	// the first non-zero byte must be the marker; its index is the
	// message length.
	inZeros := 1
	found := 0
	length := 0
	for i := len(padded) - 1; i >= 0; i-- {
		b := padded[i]
		isZero := subtle.ConstantTimeByteEq(b, 0)
		isMarker := subtle.ConstantTimeByteEq(b, marker)
		// At the first non-zero byte: record it if it is the marker.
		here := inZeros & (1 ^ isZero)
		found |= here & isMarker
		length = subtle.ConstantTimeSelect(here, i, length)
		inZeros &= isZero
	}
	if found != 1 {
		return nil, fmt.Errorf("%w: no marker after the message", ErrMalformed)
	}
	if size, _ := Size(length); size != len(padded) {
		return nil, fmt.Errorf("%w: %d-byte message in a %d-byte bucket", ErrMalformed, length, len(padded))
	}
	return padded[:length:length], nil
}
