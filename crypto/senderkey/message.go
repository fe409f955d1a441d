package senderkey

import (
	"fmt"

	"github.com/mutualcoop/mutual/crypto/keys"
	"github.com/mutualcoop/mutual/internal/pb"
)

const (
	// Version is the Sender Keys message version, libsignal's
	// SENDERKEY_MESSAGE_CURRENT_VERSION.
	Version = 3
	// versionByte starts every message: (Version << 4) | Version, the byte
	// libsignal-protocol-java and go.mau.fi/libsignal write.
	versionByte = Version<<4 | Version

	// SignatureSize is the size of the XEdDSA signature that ends a
	// SenderKeyMessage.
	SignatureSize = keys.SignatureSize
)

// Field numbers of SenderKeyMessage and SenderKeyDistributionMessage in
// libsignal's WhisperTextProtocol.proto (the layout before the
// distribution UUID).
const (
	fID         = 1
	fIteration  = 2
	fCiphertext = 3 // SenderKeyMessage
	fChainKey   = 3 // SenderKeyDistributionMessage
	fSigningKey = 4 // SenderKeyDistributionMessage
)

// checkVersion reads a version byte. As libsignal, it looks at the high
// nibble only.
func checkVersion(b byte) error {
	if v := b >> 4; v != Version {
		return fmt.Errorf("%w: message version %d, want %d", ErrMalformed, v, Version)
	}
	return nil
}

// message is a parsed SenderKeyMessage.
type message struct {
	chainID    uint32
	iteration  uint32
	ciphertext []byte // aliases the input
	signed     []byte // version byte || protobuf: what the signature covers
	signature  []byte
}

// appendMessageBody appends the signed part of a SenderKeyMessage: the
// version byte and the protobuf, every field written.
func appendMessageBody(b []byte, chainID, iteration uint32, ciphertext []byte) []byte {
	b = append(b, versionByte)
	b = pb.AppendVarint(b, fID, uint64(chainID))
	b = pb.AppendVarint(b, fIteration, uint64(iteration))
	return pb.AppendBytes(b, fCiphertext, ciphertext)
}

// parseMessage parses a SenderKeyMessage. It checks the format only; the
// caller checks the signature. The message aliases b.
func parseMessage(b []byte) (*message, error) {
	if len(b) < 1+SignatureSize {
		return nil, fmt.Errorf("%w: sender key message of %d bytes", ErrMalformed, len(b))
	}
	if err := checkVersion(b[0]); err != nil {
		return nil, err
	}
	n := len(b) - SignatureSize
	m := &message{signed: b[:n:n], signature: b[n:]}
	var haveID, haveIteration, haveCiphertext bool
	err := pb.ForEach(b[1:n], func(f pb.Field) error {
		var err error
		switch f.Num {
		case fID:
			m.chainID, err = f.Uint32()
			haveID = true
		case fIteration:
			m.iteration, err = f.Uint32()
			haveIteration = true
		case fCiphertext:
			m.ciphertext, err = f.ByteSlice()
			haveCiphertext = true
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%w: sender key message: %w", ErrMalformed, err)
	}
	if !haveID || !haveIteration || !haveCiphertext {
		return nil, fmt.Errorf("%w: sender key message lacks its id, iteration or ciphertext", ErrMalformed)
	}
	return m, nil
}
