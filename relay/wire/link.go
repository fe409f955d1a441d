package wire

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"strings"
	"unicode"

	"github.com/mutualcoop/mutual/internal/pb"
)

// Linking a device: the new device sends Link (its HPKE public key and
// identity key) on a connection of its own and shows the code the relay
// answers with (LinkStarted); a device of the account types or scans it,
// fetches the keys with FetchLink, checks them against the code, and
// authorises the new device with LinkDevice, sealing a provisioning
// message to the key. The relay then answers the waiting Link with
// Verified, which carries the provision. docs/protocol.md "Linking a
// device" has the whole flow.

// LinkCodeLen is the length of a link's code as sent in FetchLink and
// LinkDevice: 12 characters of Crockford's base32, 60 bits.
const LinkCodeLen = 12

// LinkQRPrefix begins the text of a link's QR code, followed by the whole
// 52-character hash that LinkCode shortens.
const LinkQRPrefix = "mutual-link:"

// linkHashLabel separates the link code's hash from every other use of
// SHA-256 in Mutual.
const linkHashLabel = "Mutual link code v1\x00"

// crockford is Crockford's base32, upper case, without padding.
var crockford = base32.NewEncoding("0123456789ABCDEFGHJKMNPQRSTVWXYZ").WithPadding(base32.NoPadding)

// linkHash returns the 52-character Crockford base32 form of
// SHA-256(linkHashLabel || key || identity).
func linkHash(key, identity []byte) string {
	h := sha256.New()
	h.Write([]byte(linkHashLabel))
	h.Write(key)
	h.Write(identity)
	return crockford.EncodeToString(h.Sum(nil))
}

// LinkCode returns the code of a link for the new device's Link key and
// identity key: the first LinkCodeLen characters of LinkQR's hash. The
// relay keys the pending link by it; the linking device checks that the
// keys FetchLink returns give the code the person typed.
func LinkCode(key, identity []byte) string { return linkHash(key, identity)[:LinkCodeLen] }

// FormatLinkCode returns code as people read it: XXXX-XXXX-XXXX.
func FormatLinkCode(code string) string {
	if len(code) != LinkCodeLen {
		return code
	}
	return code[:4] + "-" + code[4:8] + "-" + code[8:]
}

// LinkQR returns the text of a link's QR code: LinkQRPrefix and the whole
// hash of key and identity, so that a device that scans it checks all 256
// bits rather than the code's 60.
func LinkQR(key, identity []byte) string { return LinkQRPrefix + linkHash(key, identity) }

// ErrBadLinkCode is returned by ParseLinkCode for text that is no link
// code.
var ErrBadLinkCode = errors.New("wire: not a link code")

// ParseLinkCode returns the code to send in FetchLink and LinkDevice from
// what a person typed (hyphens and spaces dropped, upper-cased, O read as
// 0 and I and L as 1, as Crockford's base32 allows) or from a scanned QR
// text (LinkQR), whose first LinkCodeLen characters after the prefix are
// the code.
func ParseLinkCode(typed string) (string, error) {
	if hash, ok := strings.CutPrefix(typed, LinkQRPrefix); ok {
		if !validCrockford(hash, 52) {
			return "", ErrBadLinkCode
		}
		return hash[:LinkCodeLen], nil
	}
	var b strings.Builder
	for _, r := range typed {
		switch {
		case r == '-' || unicode.IsSpace(r):
			continue
		case b.Len() == LinkCodeLen:
			return "", ErrBadLinkCode
		}
		switch r = unicode.ToUpper(r); r {
		case 'O':
			r = '0'
		case 'I', 'L':
			r = '1'
		}
		b.WriteRune(r)
	}
	code := b.String()
	if !validCrockford(code, LinkCodeLen) {
		return "", ErrBadLinkCode
	}
	return code, nil
}

// ValidLinkCode reports whether code is a link code as ParseLinkCode
// returns it: LinkCodeLen characters of Crockford's base32, upper case.
func ValidLinkCode(code string) bool { return validCrockford(code, LinkCodeLen) }

func validCrockford(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune("0123456789ABCDEFGHJKMNPQRSTVWXYZ", rune(s[i])) {
			return false
		}
	}
	return true
}

// CheckLink reports whether key and identity, as FetchLink returned them,
// are the ones codeOrQR names: all of the hash for a scanned QR text, the
// code's 60 bits for a typed code. The comparison takes the same time
// whatever the content.
func CheckLink(codeOrQR string, key, identity []byte) bool {
	hash := linkHash(key, identity)
	if qr, ok := strings.CutPrefix(codeOrQR, LinkQRPrefix); ok {
		return subtle.ConstantTimeCompare([]byte(qr), []byte(hash)) == 1
	}
	code, err := ParseLinkCode(codeOrQR)
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(code), []byte(hash[:LinkCodeLen])) == 1
}

// Link, the first frame of a connection of a device that is not signed
// in, asks to be linked to an account by one of its devices. Key is the
// new device's HPKE public key (ML-KEM-768 + X25519), Identity its
// identity public key, DeviceName what the account's devices will list.
// Answer: LinkStarted with the code to show; later, once a device of the
// account sent LinkDevice, Verified with the provision (the connection is
// then authenticated as the new device), or Error (exists, rate_limited,
// code_expired when no device linked it in time).
type Link struct {
	Key        []byte // at most MaxLinkKey bytes
	Identity   []byte // at most MaxKey bytes
	DeviceName string
}

func (*Link) Type() Type { return TypeLink }

func (m *Link) appendTo(b []byte) []byte {
	e := pb.Encoder(b)
	e.Bytes(1, m.Key)
	e.Bytes(2, m.Identity)
	e.String(3, m.DeviceName)
	return e
}

func (m *Link) decode(b []byte) error {
	return pb.ForEach(b, func(f pb.Field) (err error) {
		switch f.Num {
		case 1:
			m.Key, err = f.Bytes(MaxLinkKey)
		case 2:
			m.Identity, err = f.Bytes(MaxKey)
		case 3:
			m.DeviceName, err = f.String(MaxDeviceName)
		}
		return err
	})
}

// LinkStarted answers Link (frame link_code): the link's code, as
// LinkCode computes it, and when it expires (Unix ms, the relay's clock).
type LinkStarted struct {
	Code      string
	ExpiresMS int64
}

func (*LinkStarted) Type() Type { return TypeLinkCode }

func (m *LinkStarted) appendTo(b []byte) []byte {
	e := pb.Encoder(b)
	e.String(1, m.Code)
	e.Sint(2, m.ExpiresMS)
	return e
}

func (m *LinkStarted) decode(b []byte) error {
	return pb.ForEach(b, func(f pb.Field) (err error) {
		switch f.Num {
		case 1:
			m.Code, err = f.String(LinkCodeLen)
		case 2:
			m.ExpiresMS, err = f.Sint64()
		}
		return err
	})
}

// FetchLink looks up the link a new device started, by its code (exactly
// LinkCodeLen characters, as ParseLinkCode returns them). Answer:
// LinkKeys, or Error (not_found for an unknown, expired or used code,
// rate_limited, device_pending).
type FetchLink struct {
	Code string
}

func (*FetchLink) Type() Type { return TypeFetchLink }

func (m *FetchLink) appendTo(b []byte) []byte {
	e := pb.Encoder(b)
	e.String(1, m.Code)
	return e
}

func (m *FetchLink) decode(b []byte) error {
	return pb.ForEach(b, func(f pb.Field) (err error) {
		if f.Num == 1 {
			m.Code, err = f.String(LinkCodeLen)
		}
		return err
	})
}

// LinkKeys answers FetchLink: the keys and name the new device sent in
// Link. The linking device checks them with CheckLink before it seals
// anything to Key.
type LinkKeys struct {
	Key        []byte
	Identity   []byte
	DeviceName string
	ExpiresMS  int64
}

func (*LinkKeys) Type() Type { return TypeLinkKeys }

func (m *LinkKeys) appendTo(b []byte) []byte {
	e := pb.Encoder(b)
	e.Bytes(1, m.Key)
	e.Bytes(2, m.Identity)
	e.String(3, m.DeviceName)
	e.Sint(4, m.ExpiresMS)
	return e
}

func (m *LinkKeys) decode(b []byte) error {
	return pb.ForEach(b, func(f pb.Field) (err error) {
		switch f.Num {
		case 1:
			m.Key, err = f.Bytes(MaxLinkKey)
		case 2:
			m.Identity, err = f.Bytes(MaxKey)
		case 3:
			m.DeviceName, err = f.String(MaxDeviceName)
		case 4:
			m.ExpiresMS, err = f.Sint64()
		}
		return err
	})
}

// LinkDevice adds the device waiting on the link Code to this account
// and hands it Provision, a message sealed to its Link key that the relay
// cannot read (at most MaxProvision bytes). The new device is never held.
// Answer: Linked, or Error (not_found for an unknown, expired or used
// code, too_large when the account has MaxDevices devices,
// rate_limited, device_pending).
type LinkDevice struct {
	Code      string
	Provision []byte
}

func (*LinkDevice) Type() Type { return TypeLinkDevice }

func (m *LinkDevice) appendTo(b []byte) []byte {
	e := pb.Encoder(b)
	e.String(1, m.Code)
	e.Bytes(2, m.Provision)
	return e
}

func (m *LinkDevice) decode(b []byte) error {
	return pb.ForEach(b, func(f pb.Field) (err error) {
		switch f.Num {
		case 1:
			m.Code, err = f.String(LinkCodeLen)
		case 2:
			m.Provision, err = f.Bytes(MaxProvision)
		}
		return err
	})
}

// Linked answers LinkDevice: the new device's ID in the account.
type Linked struct {
	Device DeviceID
}

func (*Linked) Type() Type { return TypeLinked }

func (m *Linked) appendTo(b []byte) []byte {
	e := pb.Encoder(b)
	e.Uint(1, uint64(m.Device))
	return e
}

func (m *Linked) decode(b []byte) error {
	return pb.ForEach(b, func(f pb.Field) error {
		if f.Num == 1 {
			d, err := f.Uint32()
			m.Device = DeviceID(d)
			return err
		}
		return nil
	})
}

// ApproveDevice approves a device of this account that the relay holds
// (see CodeDevicePending): it is delivered to from then on. Refusing it
// is RemoveDevice. Answer: OK, or Error (not_found when no such device is
// held, device_pending when this device is held itself, rate_limited).
type ApproveDevice struct {
	Device DeviceID
}

func (*ApproveDevice) Type() Type { return TypeApproveDevice }

func (m *ApproveDevice) appendTo(b []byte) []byte {
	e := pb.Encoder(b)
	e.Uint(1, uint64(m.Device))
	return e
}

func (m *ApproveDevice) decode(b []byte) error {
	return pb.ForEach(b, func(f pb.Field) error {
		if f.Num == 1 {
			d, err := f.Uint32()
			m.Device = DeviceID(d)
			return err
		}
		return nil
	})
}

// Vouch is a device's word for a sibling's identity key: Signature is the
// XEdDSA signature by Device's identity key over "Mutual device vouch
// v1\x00" || the user ID || the vouched identity key. The relay keeps it
// opaque, with the identity key it was published with.
type Vouch struct {
	Device    DeviceID
	Signature []byte // at most MaxSignature bytes
}

func (m *Vouch) appendTo(b []byte) []byte {
	e := pb.Encoder(b)
	e.Uint(1, uint64(m.Device))
	e.Bytes(2, m.Signature)
	return e
}

func (m *Vouch) decode(b []byte) error {
	return pb.ForEach(b, func(f pb.Field) (err error) {
		switch f.Num {
		case 1:
			var d uint32
			d, err = f.Uint32()
			m.Device = DeviceID(d)
		case 2:
			m.Signature, err = f.Bytes(MaxSignature)
		}
		return err
	})
}
