// Package safety computes safety numbers: the fingerprints two people
// compare, by reading digits aloud or by scanning a QR code, to make sure
// no one sits between them.
//
// It follows libsignal's NumericFingerprintGenerator exactly, so that the
// same identity keys and identifiers give the same 60 digits and the same
// scannable bytes as libsignal:
//
//   - Each side's fingerprint is iterated SHA-512: first
//     SHA-512(0x0000 || key || id || key), where 0x0000 is the two-byte
//     fingerprint format version 0 and key is the 33-byte serialized identity
//     key (0x05 || u); then 5,199 more rounds of SHA-512(previous || key).
//   - The displayable number takes the first 30 bytes of each side's hash,
//     reads them as six 5-byte big-endian integers, reduces each modulo
//     100,000 and writes it as five digits: 30 digits per side. The two
//     halves are concatenated in ascending order, so both people see the
//     same 60 digits.
//   - The scannable payload is the protobuf CombinedFingerprints
//     {version = 1: uint32, localFingerprint = 2: {content = 1: bytes},
//     remoteFingerprint = 3: {content = 1: bytes}} carrying the first 32
//     bytes of each hash. Scanning the other person's code succeeds when
//     their local fingerprint is our remote one and the other way round;
//     the comparison runs in constant time.
package safety

import (
	"crypto/sha512"
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/mutualcoop/mutual/crypto/keys"
	"github.com/mutualcoop/mutual/internal/pb"
)

const (
	// Iterations is the number of SHA-512 rounds per side.
	Iterations = 5200
	// FormatVersion is the fingerprint format version hashed in front of
	// every fingerprint (two bytes, big-endian).
	FormatVersion = 0
	// ScannableVersion is the version Mutual puts in its scannable
	// payloads. libsignal uses 1 for phone-number identifiers and 2 for
	// service identifiers; Mutual's identifiers are opaque, stable user IDs,
	// the role of the latter, so it uses 2.
	ScannableVersion = 2
	// DisplayDigits is the length of the displayable safety number.
	DisplayDigits = 60
	// MaxScannedSize bounds the payload ParseScanned accepts; a real one
	// is 74 bytes.
	MaxScannedSize = 256

	hashSize      = sha512.Size
	displayBytes  = 30 // bytes of each hash turned into digits
	scannableSize = 32 // bytes of each hash in the scannable payload
)

var (
	// ErrVersionMismatch means the scanned code was made with another
	// scannable version: the other person must update (or has an older
	// app), which is not evidence of an attack.
	ErrVersionMismatch = errors.New("safety: scanned code has a different version")
	// ErrMalformed means the scanned bytes are not a safety-number code.
	ErrMalformed = errors.New("safety: scanned code is malformed")
)

// Fingerprint is the safety number of one conversation, seen from the local
// side. It is comparable by its methods only.
type Fingerprint struct {
	_       [0]func() // incomparable
	version uint32
	local   [hashSize]byte
	remote  [hashSize]byte
}

// New computes the safety number between the local identity (localID, the
// local user's stable identifier, and localKey, their identity key) and the
// remote one. version is the scannable payload's version: ScannableVersion
// for Mutual; libsignal's test vectors use 1 and 2.
func New(version uint32, localID []byte, localKey keys.PublicKey, remoteID []byte, remoteKey keys.PublicKey) Fingerprint {
	return Fingerprint{
		version: version,
		local:   iterate(localID, localKey),
		remote:  iterate(remoteID, remoteKey),
	}
}

// iterate is libsignal's getFingerprint: iterated SHA-512 over the key.
func iterate(id []byte, key keys.PublicKey) [hashSize]byte {
	k := key.Bytes()
	d := sha512.New()
	d.Write([]byte{FormatVersion >> 8, FormatVersion & 0xFF})
	d.Write(k)
	d.Write(id)
	d.Write(k)
	var buf [hashSize]byte
	d.Sum(buf[:0])
	for i := 1; i < Iterations; i++ {
		d.Reset()
		d.Write(buf[:])
		d.Write(k)
		d.Sum(buf[:0])
	}
	return buf
}

// digits encodes the first 30 bytes of h as 30 decimal digits.
func digits(h *[hashSize]byte) string {
	out := make([]byte, 0, displayBytes)
	for i := 0; i < displayBytes; i += 5 {
		var x uint64
		for _, b := range h[i : i+5] {
			x = x<<8 | uint64(b)
		}
		out = fmt.Appendf(out, "%05d", x%100000)
	}
	return string(out)
}

// Displayable returns the 60-digit safety number, the same on both sides.
func (f Fingerprint) Displayable() string {
	l, r := digits(&f.local), digits(&f.remote)
	if l < r {
		return l + r
	}
	return r + l
}

// Groups returns the 60 digits in twelve groups of five, the way they are
// shown to people.
func (f Fingerprint) Groups() []string {
	s := f.Displayable()
	g := make([]string, 0, DisplayDigits/5)
	for i := 0; i < len(s); i += 5 {
		g = append(g, s[i:i+5])
	}
	return g
}

// Version returns the scannable version f was made with.
func (f Fingerprint) Version() uint32 { return f.version }

// Scannable returns the payload to show as a QR code: libsignal's
// CombinedFingerprints protobuf with the local fingerprint first.
func (f Fingerprint) Scannable() []byte {
	return encodeScanned(f.version, f.local[:scannableSize], f.remote[:scannableSize])
}

func encodeScanned(version uint32, local, remote []byte) []byte {
	b := make([]byte, 0, 80)
	b = pb.AppendVarint(b, 1, uint64(version))
	b = pb.AppendBytes(b, 2, pb.AppendBytes(nil, 1, local))
	return pb.AppendBytes(b, 3, pb.AppendBytes(nil, 1, remote))
}

// CompareScanned reports whether scanned, the payload read from the other
// person's QR code, matches f: their local fingerprint must be our remote
// one and their remote fingerprint our local one. Both halves are compared
// in constant time. It returns ErrVersionMismatch when the versions differ
// and ErrMalformed when scanned cannot be parsed; a false result with a nil
// error means the safety numbers differ.
func (f Fingerprint) CompareScanned(scanned []byte) (bool, error) {
	s, err := ParseScanned(scanned)
	if err != nil {
		return false, err
	}
	if s.Version != f.version {
		return false, fmt.Errorf("%w: theirs %d, ours %d", ErrVersionMismatch, s.Version, f.version)
	}
	same1 := subtle.ConstantTimeCompare(s.Local, f.remote[:scannableSize])
	same2 := subtle.ConstantTimeCompare(s.Remote, f.local[:scannableSize])
	return same1&same2 == 1, nil
}

// Scanned is a parsed scannable payload.
type Scanned struct {
	Version uint32
	Local   []byte // the scanning side's remote fingerprint, if all is well
	Remote  []byte
}

// ParseScanned decodes a CombinedFingerprints payload. As in libsignal, a
// missing version reads as 0 and both fingerprints must be present. It is
// stricter than a general protobuf decoder: each fingerprint must be 32
// bytes, no field may appear twice, a scalar must have the expected wire
// type, and the payload is at most MaxScannedSize bytes. Unknown fields are
// skipped, as protobuf requires.
func ParseScanned(b []byte) (Scanned, error) {
	if len(b) > MaxScannedSize {
		return Scanned{}, fmt.Errorf("%w: %d bytes", ErrMalformed, len(b))
	}
	var s Scanned
	var seen [4]bool
	err := pb.ForEach(b, func(f pb.Field) (err error) {
		if f.Num < 1 || f.Num > 3 {
			return nil // unknown
		}
		if seen[f.Num] {
			return fmt.Errorf("field %d repeated", f.Num)
		}
		seen[f.Num] = true
		switch f.Num {
		case 1:
			s.Version, err = f.Uint32()
		case 2:
			s.Local, err = parseLogical(f)
		case 3:
			s.Remote, err = parseLogical(f)
		}
		return err
	})
	if err != nil {
		return Scanned{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if s.Local == nil || s.Remote == nil {
		return Scanned{}, fmt.Errorf("%w: fingerprint missing", ErrMalformed)
	}
	return s, nil
}

// parseLogical decodes the LogicalFingerprint {content = 1: bytes} in f.
func parseLogical(f pb.Field) ([]byte, error) {
	msg, err := f.ByteSlice()
	if err != nil {
		return nil, err
	}
	var content []byte
	err = pb.ForEach(msg, func(g pb.Field) error {
		if g.Num != 1 {
			return nil // unknown
		}
		if content != nil {
			return errors.New("content repeated")
		}
		content = make([]byte, scannableSize)
		return g.FixedBytes(content)
	})
	if err == nil && content == nil {
		err = errors.New("content missing")
	}
	if err != nil {
		return nil, fmt.Errorf("fingerprint: %w", err)
	}
	return content, nil
}
