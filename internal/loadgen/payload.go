package loadgen

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/mutualcoop/mutual/relay/wire"
)

// Peer names one bench device.
type Peer struct {
	User   wire.UserID
	Device wire.DeviceID
}

// PayloadEncoder turns the bench payload into the bytes a recipient device
// receives as its ciphertext, and those bytes back into the payload. Each
// bench client has its own encoder (an end-to-end encrypting one keeps a
// session per peer); a client's encoder is used by its senders and its
// receiver at once, so it must be safe for concurrent use.
type PayloadEncoder interface {
	// Encode returns what self sends to device to for payload.
	Encode(to Peer, payload []byte) ([]byte, error)
	// Decode returns the payload of what device from sent to self.
	Decode(from Peer, data []byte) ([]byte, error)
}

// Opaque is the PayloadEncoder that hands the payload over unchanged: the
// relay carries it unread, as it carries ciphertext. It does not encrypt;
// it measures the relay alone, without the clients' cryptography.
type Opaque struct{}

// Encode returns payload itself.
func (Opaque) Encode(_ Peer, payload []byte) ([]byte, error) { return payload, nil }

// Decode returns data itself.
func (Opaque) Decode(_ Peer, data []byte) ([]byte, error) { return data, nil }

// Payload layout, all integers big-endian:
//
//	0   4  magic "MBv1"
//	4   8  send time: nanoseconds since the run started
//	12  8  sequence number of the message among its sender's, from 1
//	20  4  index of the sending client in the run
//	24  -  zero padding up to Config.Size
const (
	payloadMagic = "MBv1"
	// PayloadHeader is the smallest payload: the fields above without
	// padding.
	PayloadHeader = 24
)

// payload is the decoded form of a bench payload.
type payload struct {
	sent   int64 // ns since the run started
	seq    uint64
	sender uint32
}

// appendPayload appends p padded to size bytes (at least PayloadHeader).
func appendPayload(b []byte, p payload, size int) []byte {
	b = append(b, payloadMagic...)
	b = binary.BigEndian.AppendUint64(b, uint64(p.sent))
	b = binary.BigEndian.AppendUint64(b, p.seq)
	b = binary.BigEndian.AppendUint32(b, p.sender)
	if pad := size - PayloadHeader; pad > 0 {
		b = append(b, make([]byte, pad)...)
	}
	return b
}

var errNotPayload = errors.New("loadgen: not a bench payload")

// decodePayload reads the header of a bench payload; the padding is not
// checked.
func decodePayload(b []byte) (payload, error) {
	if len(b) < PayloadHeader || string(b[:4]) != payloadMagic {
		return payload{}, errNotPayload
	}
	p := payload{
		sent:   int64(binary.BigEndian.Uint64(b[4:])),
		seq:    binary.BigEndian.Uint64(b[12:]),
		sender: binary.BigEndian.Uint32(b[20:]),
	}
	if p.sent < 0 {
		return payload{}, fmt.Errorf("%w: negative send time", errNotPayload)
	}
	return p, nil
}
