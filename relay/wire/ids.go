package wire

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
)

// UserID is a user's opaque identity on the relay: 16 random bytes chosen
// at registration. It never encodes an address, so it may appear in topic
// names, logs and metrics.
type UserID [16]byte

// NewUserID returns a fresh random user ID.
func NewUserID() UserID {
	var u UserID
	rand.Read(u[:]) // never fails (crypto/rand, Go 1.24+)
	return u
}

// String returns the lower-case hex form used in topic names and logs.
func (u UserID) String() string { return hex.EncodeToString(u[:]) }

// IsZero reports whether u is the zero ID, which names no user.
func (u UserID) IsZero() bool { return u == UserID{} }

// ParseUserID parses the 32-character hex form produced by String.
func ParseUserID(s string) (UserID, error) {
	var u UserID
	if len(s) != 2*len(u) {
		return u, fmt.Errorf("user id: want %d hex digits, got %d", 2*len(u), len(s))
	}
	if _, err := hex.Decode(u[:], []byte(s)); err != nil {
		return u, errors.New("user id: not hex")
	}
	return u, nil
}

// DeviceID numbers a device within its user's account, starting at 1.
// Zero names no device.
type DeviceID uint32

// MessageID is chosen by the sending client at random; receivers drop
// duplicates by it.
type MessageID [16]byte

// NewMessageID returns a fresh random message ID.
func NewMessageID() MessageID {
	var m MessageID
	rand.Read(m[:])
	return m
}

func (m MessageID) String() string { return hex.EncodeToString(m[:]) }

// ConversationID names a conversation; chosen by clients, opaque to the relay.
type ConversationID [16]byte

func (c ConversationID) String() string { return hex.EncodeToString(c[:]) }

// BlobID names an attachment's encrypted blob: 16 random bytes chosen by
// the relay when the upload is granted, unguessable, so that knowing the
// ID is what lets a device download the blob (its content stays sealed
// with a key only the message carries).
type BlobID [16]byte

// NewBlobID returns a fresh random blob ID.
func NewBlobID() BlobID {
	var b BlobID
	rand.Read(b[:])
	return b
}

// String returns the lower-case hex form used in blob URLs.
func (b BlobID) String() string { return hex.EncodeToString(b[:]) }

// IsZero reports whether b is the zero ID, which names no blob.
func (b BlobID) IsZero() bool { return b == BlobID{} }

// ParseBlobID parses the 32-character hex form produced by String.
func ParseBlobID(s string) (BlobID, error) {
	var b BlobID
	if len(s) != 2*len(b) {
		return b, fmt.Errorf("blob id: want %d hex digits, got %d", 2*len(b), len(s))
	}
	if _, err := hex.Decode(b[:], []byte(s)); err != nil {
		return b, errors.New("blob id: not hex")
	}
	return b, nil
}
