package session

import (
	"context"
	"errors"

	"github.com/mutualcoop/mutual/crypto/keys"
	"github.com/mutualcoop/mutual/crypto/pqxdh"
)

// Address names one remote device: a user and one of their devices.
// It has no String method on purpose: addresses are not logged.
type Address struct {
	Name     string
	DeviceID uint32
}

// Direction tells a Store why an identity is being checked.
type Direction int

// Directions.
const (
	Sending Direction = iota + 1
	Receiving
)

// ErrNotFound is returned by a Store for a prekey it does not have.
var ErrNotFound = errors.New("session: not found")

// ErrReusedBaseKey is returned by a Store's MarkKEMPreKeyUsed when a
// last-resort KEM prekey has already been used with the same signed
// prekey and base key: a replayed session setup.
var ErrReusedBaseKey = errors.New("session: last-resort prekey reused with the same base key")

// Store is what the Manager keeps and reads. Implementations persist
// records durably (the Manager stores a record before it returns a
// ciphertext, so a crash never reuses a message key) and protect them: they
// hold private keys.
type Store interface {
	// LoadSession returns the record for addr, or nil and no error when
	// there is none. The Manager modifies the returned record; a Store
	// must not share it with other callers.
	LoadSession(ctx context.Context, addr Address) (*Record, error)
	// StoreSession persists the record for addr.
	StoreSession(ctx context.Context, addr Address, r *Record) error

	// LocalIdentity returns this device's identity.
	LocalIdentity(ctx context.Context) (pqxdh.Identity, error)
	// IsTrustedIdentity tells whether key may be used with addr.
	IsTrustedIdentity(ctx context.Context, addr Address, key keys.PublicKey, dir Direction) (bool, error)
	// SaveIdentity records key as addr's identity key.
	SaveIdentity(ctx context.Context, addr Address, key keys.PublicKey) error

	// LoadPreKey returns the one-time prekey id, or ErrNotFound.
	LoadPreKey(ctx context.Context, id uint32) (pqxdh.PreKey, error)
	// RemovePreKey deletes a used one-time prekey.
	RemovePreKey(ctx context.Context, id uint32) error
	// LoadSignedPreKey returns the signed prekey id, or ErrNotFound.
	LoadSignedPreKey(ctx context.Context, id uint32) (pqxdh.SignedPreKey, error)
	// LoadKEMPreKey returns the KEM prekey id, or ErrNotFound.
	LoadKEMPreKey(ctx context.Context, id uint32) (pqxdh.KEMPreKey, error)
	// MarkKEMPreKeyUsed is called once a session set up with KEM prekey id
	// has authenticated its first message. A one-time KEM prekey is
	// deleted; for a last-resort one the store remembers (signed prekey
	// ID, base key) and returns ErrReusedBaseKey if it has seen them
	// before.
	MarkKEMPreKeyUsed(ctx context.Context, id, signedPreKeyID uint32, baseKey keys.PublicKey) error
}
