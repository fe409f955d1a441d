package ratchet

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"github.com/mutualcoop/mutual/internal/pb"

	"github.com/mutualcoop/mutual/crypto/keys"
)

// Protocol versions. A session's version is fixed when it is set up and
// every message of the session carries it.
const (
	// Version3 is X3DH, libsignal's pre-quantum protocol version, kept to
	// prove the ratchet against libsignal; clients refuse it for new
	// sessions.
	Version3 = 3
	// Version4 is PQXDH with ML-KEM-1024: every new Mutual session.
	Version4 = 4

	// MACSize is the size of the truncated HMAC-SHA256 that ends a
	// SignalMessage.
	MACSize = 8

	// lowNibble is the low four bits of the version byte: (version<<4)|3.
	lowNibble = 3
)

// MessageType tells a PreKeySignalMessage from a SignalMessage, with
// libsignal's numbers.
type MessageType uint8

// Message types.
const (
	// TypeSignal is a SignalMessage ("whisper" message).
	TypeSignal MessageType = 2
	// TypePreKey is a PreKeySignalMessage: the first messages of a
	// session, sent until the other side answers.
	TypePreKey MessageType = 3
)

func (t MessageType) String() string {
	switch t {
	case TypeSignal:
		return "signal"
	case TypePreKey:
		return "prekey"
	}
	return fmt.Sprintf("MessageType(%d)", uint8(t))
}

// Ciphertext is one encrypted message, ready to send: its type and its
// serialization.
type Ciphertext struct {
	Type MessageType
	Body []byte
}

// versionByte is the first byte of every message: the message version in
// the high nibble and 3 in the low nibble.
func versionByte(version int) byte { return byte(version)<<4 | lowNibble }

// parseVersion reads the version byte. As libsignal, it looks at the high
// nibble only.
func parseVersion(b byte) (int, error) {
	v := int(b >> 4)
	if v != Version3 && v != Version4 {
		return 0, fmt.Errorf("%w: message version %d", ErrVersion, v)
	}
	return v, nil
}

// SignalMessage is a parsed SignalMessage. It keeps the bytes it was parsed
// from: the MAC covers them exactly.
type SignalMessage struct {
	version         int
	ratchetKey      keys.PublicKey
	counter         uint32
	previousCounter uint32
	ciphertext      []byte
	serialized      []byte // version byte || protobuf || MAC
}

// ParseSignalMessage parses a SignalMessage. It checks the format only;
// Decrypt checks the MAC.
func ParseSignalMessage(b []byte) (*SignalMessage, error) {
	if len(b) < 1+MACSize {
		return nil, fmt.Errorf("%w: signal message of %d bytes", ErrMalformed, len(b))
	}
	version, err := parseVersion(b[0])
	if err != nil {
		return nil, err
	}
	m := &SignalMessage{version: version, serialized: append([]byte(nil), b...)}
	var haveKey, haveCounter, haveCiphertext bool
	err = forEachField(m.serialized[1:len(b)-MACSize], func(f field) error {
		var err error
		switch f.Num {
		case 1:
			var raw []byte
			if raw, err = f.ByteSlice(); err == nil {
				m.ratchetKey, err = keys.NewPublicKey(raw)
				haveKey = true
			}
		case 2:
			m.counter, err = f.Uint32()
			haveCounter = true
		case 3:
			m.previousCounter, err = f.Uint32()
		case 4:
			m.ciphertext, err = f.ByteSlice()
			haveCiphertext = true
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%w: signal message: %w", ErrMalformed, err)
	}
	if !haveKey || !haveCounter || !haveCiphertext {
		return nil, fmt.Errorf("%w: signal message lacks a ratchet key, counter or ciphertext", ErrMalformed)
	}
	return m, nil
}

// Version returns the protocol version of the message.
func (m *SignalMessage) Version() int { return m.version }

// RatchetKey returns the sender's ratchet public key.
func (m *SignalMessage) RatchetKey() keys.PublicKey { return m.ratchetKey }

// Counter returns the message's index in its sending chain.
func (m *SignalMessage) Counter() uint32 { return m.counter }

// PreviousCounter returns the length of the sender's previous sending
// chain, less one (informational: nothing relies on it).
func (m *SignalMessage) PreviousCounter() uint32 { return m.previousCounter }

// Ciphertext returns the AES-CBC ciphertext (not a copy: do not modify).
func (m *SignalMessage) Ciphertext() []byte { return m.ciphertext }

// Bytes returns the serialization (not a copy: do not modify).
func (m *SignalMessage) Bytes() []byte { return m.serialized }

// verifyMAC checks the truncated MAC in constant time.
func (m *SignalMessage) verifyMAC(sender, receiver keys.PublicKey, macKey *[macKeySize]byte) bool {
	n := len(m.serialized) - MACSize
	want := computeMAC(macKey, sender, receiver, m.serialized[:n])
	return hmac.Equal(want[:], m.serialized[n:])
}

func computeMAC(macKey *[macKeySize]byte, sender, receiver keys.PublicKey, data []byte) [MACSize]byte {
	h := hmac.New(sha256.New, macKey[:])
	h.Write(sender.Bytes())
	h.Write(receiver.Bytes())
	h.Write(data)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	var mac [MACSize]byte
	copy(mac[:], sum[:MACSize])
	return mac
}

// newSignalMessage builds and MACs a SignalMessage.
func newSignalMessage(version int, macKey *[macKeySize]byte, ratchetKey keys.PublicKey, counter, previousCounter uint32,
	ciphertext []byte, sender, receiver keys.PublicKey) *SignalMessage {
	b := make([]byte, 0, 1+2+keys.PublicKeySize+2*6+4+len(ciphertext)+MACSize)
	b = append(b, versionByte(version))
	b = pb.AppendBytes(b, 1, ratchetKey.Bytes())
	b = pb.AppendVarint(b, 2, uint64(counter))
	b = pb.AppendVarint(b, 3, uint64(previousCounter))
	b = pb.AppendBytes(b, 4, ciphertext)
	mac := computeMAC(macKey, sender, receiver, b)
	b = append(b, mac[:]...)
	return &SignalMessage{
		version:         version,
		ratchetKey:      ratchetKey,
		counter:         counter,
		previousCounter: previousCounter,
		ciphertext:      b[len(b)-MACSize-len(ciphertext) : len(b)-MACSize],
		serialized:      b,
	}
}

// PreKeySignalMessage is a parsed PreKeySignalMessage: the first messages
// of a session, which carry what the recipient needs to set it up.
type PreKeySignalMessage struct {
	version        int
	registrationID uint32
	preKeyID       uint32
	hasPreKeyID    bool
	signedPreKeyID uint32
	kemPreKeyID    uint32
	kemCiphertext  []byte // bare ML-KEM ciphertext, nil for version 3
	baseKey        keys.PublicKey
	identityKey    keys.PublicKey
	message        *SignalMessage
	serialized     []byte
}

// ParsePreKeySignalMessage parses a PreKeySignalMessage and the
// SignalMessage inside it. A version 4 message must carry a KEM prekey ID
// and a KEM ciphertext (type byte 0x0A and 1568 bytes); a version 3 message
// must carry neither.
func ParsePreKeySignalMessage(b []byte) (*PreKeySignalMessage, error) {
	if len(b) < 1 {
		return nil, fmt.Errorf("%w: empty prekey message", ErrMalformed)
	}
	version, err := parseVersion(b[0])
	if err != nil {
		return nil, err
	}
	m := &PreKeySignalMessage{version: version, serialized: append([]byte(nil), b...)}
	var haveSigned, haveBase, haveIdentity, haveKEMID bool
	var inner, kemct []byte
	err = forEachField(m.serialized[1:], func(f field) error {
		var err error
		var raw []byte
		switch f.Num {
		case 1:
			m.preKeyID, err = f.Uint32()
			m.hasPreKeyID = true
		case 2:
			if raw, err = f.ByteSlice(); err == nil {
				m.baseKey, err = keys.NewPublicKey(raw)
				haveBase = true
			}
		case 3:
			if raw, err = f.ByteSlice(); err == nil {
				m.identityKey, err = keys.NewPublicKey(raw)
				haveIdentity = true
			}
		case 4:
			inner, err = f.ByteSlice()
		case 5:
			m.registrationID, err = f.Uint32()
		case 6:
			m.signedPreKeyID, err = f.Uint32()
			haveSigned = true
		case 7:
			m.kemPreKeyID, err = f.Uint32()
			haveKEMID = true
		case 8:
			kemct, err = f.ByteSlice()
			if kemct == nil {
				kemct = []byte{}
			}
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%w: prekey message: %w", ErrMalformed, err)
	}
	if !haveSigned || !haveBase || !haveIdentity || inner == nil {
		return nil, fmt.Errorf("%w: prekey message lacks a signed prekey ID, base key, identity key or message", ErrMalformed)
	}
	switch version {
	case Version3:
		if haveKEMID || kemct != nil {
			return nil, fmt.Errorf("%w: version 3 prekey message carries a KEM prekey", ErrMalformed)
		}
	case Version4:
		if !haveKEMID || kemct == nil {
			return nil, fmt.Errorf("%w: version 4 prekey message lacks its KEM prekey ID or ciphertext", ErrMalformed)
		}
		if len(kemct) != 1+keys.KEMCiphertextSize || kemct[0] != keys.KEMKeyType {
			return nil, fmt.Errorf("%w: KEM ciphertext of %d bytes or wrong type", ErrMalformed, len(kemct))
		}
		m.kemCiphertext = kemct[1:]
	}
	if m.message, err = ParseSignalMessage(inner); err != nil {
		return nil, fmt.Errorf("prekey message: %w", err)
	}
	if m.message.version != version {
		return nil, fmt.Errorf("%w: prekey message version %d wraps a version %d message", ErrMalformed, version, m.message.version)
	}
	return m, nil
}

// Version returns the protocol version.
func (m *PreKeySignalMessage) Version() int { return m.version }

// RegistrationID returns the sender's registration ID.
func (m *PreKeySignalMessage) RegistrationID() uint32 { return m.registrationID }

// PreKeyID returns the ID of the one-time prekey used, if any.
func (m *PreKeySignalMessage) PreKeyID() (uint32, bool) { return m.preKeyID, m.hasPreKeyID }

// SignedPreKeyID returns the ID of the signed prekey used.
func (m *PreKeySignalMessage) SignedPreKeyID() uint32 { return m.signedPreKeyID }

// KEMPreKeyID returns the ID of the KEM prekey used (version 4).
func (m *PreKeySignalMessage) KEMPreKeyID() uint32 { return m.kemPreKeyID }

// KEMCiphertext returns the bare ML-KEM-1024 ciphertext (version 4), nil
// for version 3. Not a copy: do not modify.
func (m *PreKeySignalMessage) KEMCiphertext() []byte { return m.kemCiphertext }

// BaseKey returns the sender's ephemeral base key.
func (m *PreKeySignalMessage) BaseKey() keys.PublicKey { return m.baseKey }

// IdentityKey returns the sender's identity key.
func (m *PreKeySignalMessage) IdentityKey() keys.PublicKey { return m.identityKey }

// Message returns the SignalMessage inside.
func (m *PreKeySignalMessage) Message() *SignalMessage { return m.message }

// Bytes returns the serialization (not a copy: do not modify).
func (m *PreKeySignalMessage) Bytes() []byte { return m.serialized }

// newPreKeySignalMessage wraps msg with the session's pending prekey data.
func newPreKeySignalMessage(version int, registrationID uint32, p *PendingPreKey, identity keys.PublicKey, msg *SignalMessage) []byte {
	b := make([]byte, 0, 1+6*6+2*(2+keys.PublicKeySize)+4+len(msg.serialized)+4+len(p.KEMCiphertext))
	b = append(b, versionByte(version))
	if p.HasPreKeyID {
		b = pb.AppendVarint(b, 1, uint64(p.PreKeyID))
	}
	b = pb.AppendBytes(b, 2, p.BaseKey.Bytes())
	b = pb.AppendBytes(b, 3, identity.Bytes())
	b = pb.AppendBytes(b, 4, msg.serialized)
	b = pb.AppendVarint(b, 5, uint64(registrationID))
	b = pb.AppendVarint(b, 6, uint64(p.SignedPreKeyID))
	if version >= Version4 {
		b = pb.AppendVarint(b, 7, uint64(p.KEMPreKeyID))
		ct := make([]byte, 0, 1+len(p.KEMCiphertext))
		ct = append(append(ct, keys.KEMKeyType), p.KEMCiphertext...)
		b = pb.AppendBytes(b, 8, ct)
	}
	return b
}
