package pqxdh

import (
	"errors"
	"fmt"
	"github.com/mutualcoop/mutual/internal/pb"

	"github.com/mutualcoop/mutual/crypto/keys"
)

// Bundle is what a device publishes so that others can start sessions with
// it while it is offline: its identity key, a signed prekey, optionally a
// one-time prekey, and a signed ML-KEM-1024 prekey (one-time or last
// resort). A bundle without a KEM prekey can only start a version 3 (X3DH)
// session, which a client refuses.
type Bundle struct {
	RegistrationID uint32
	DeviceID       uint32
	IdentityKey    keys.PublicKey

	SignedPreKeyID        uint32
	SignedPreKey          keys.PublicKey
	SignedPreKeySignature []byte

	HasPreKey bool
	PreKeyID  uint32
	PreKey    keys.PublicKey

	KEMPreKeyID        uint32
	KEMPreKey          keys.KEMPublicKey // the zero value: no KEM prekey
	KEMPreKeySignature []byte
}

// ErrSignature is returned when a bundle's prekey signature does not verify
// under its identity key.
var ErrSignature = errors.New("pqxdh: prekey signature does not verify")

// NewBundle assembles the public bundle of a device from its records.
// preKey and kemPreKey may be nil.
func NewBundle(id Identity, deviceID uint32, signed SignedPreKey, preKey *PreKey, kemPreKey *KEMPreKey) *Bundle {
	b := &Bundle{
		RegistrationID:        id.RegistrationID,
		DeviceID:              deviceID,
		IdentityKey:           id.Key.Public(),
		SignedPreKeyID:        signed.ID,
		SignedPreKey:          signed.Key.Public(),
		SignedPreKeySignature: append([]byte(nil), signed.Signature...),
	}
	if preKey != nil {
		b.HasPreKey, b.PreKeyID, b.PreKey = true, preKey.ID, preKey.Key.Public()
	}
	if kemPreKey != nil {
		b.KEMPreKeyID = kemPreKey.ID
		b.KEMPreKey = kemPreKey.Key.Public()
		b.KEMPreKeySignature = append([]byte(nil), kemPreKey.Signature...)
	}
	return b
}

// HasKEMPreKey reports whether the bundle carries a KEM prekey, that is,
// whether it can start a version 4 (PQXDH) session.
func (b *Bundle) HasKEMPreKey() bool { return !b.KEMPreKey.IsZero() }

// Verify checks the XEdDSA signatures of the signed prekey and of the KEM
// prekey (when present) under the identity key. The signed messages are
// the keys' serializations: 0x05 || u and 0x0A || encapsulation key.
func (b *Bundle) Verify() error {
	if b.IdentityKey.IsZero() || b.SignedPreKey.IsZero() {
		return errors.New("pqxdh: bundle lacks an identity key or signed prekey")
	}
	if !b.IdentityKey.Verify(b.SignedPreKey.Bytes(), b.SignedPreKeySignature) {
		return fmt.Errorf("%w: signed prekey %d", ErrSignature, b.SignedPreKeyID)
	}
	if b.HasKEMPreKey() && !b.IdentityKey.Verify(b.KEMPreKey.Bytes(), b.KEMPreKeySignature) {
		return fmt.Errorf("%w: kem prekey %d", ErrSignature, b.KEMPreKeyID)
	}
	return nil
}

// Bundle serialization (field 15 = format version 1):
//
//	{1 registration ID, 2 device ID, 3 identity key (33),
//	 4 signed prekey ID, 5 signed prekey (33), 6 signed prekey signature (64),
//	 7 one-time prekey ID, 8 one-time prekey (33),
//	 9 KEM prekey ID, 10 KEM prekey (1569), 11 KEM prekey signature (64)}

// MarshalBinary serializes the bundle.
func (b *Bundle) MarshalBinary() ([]byte, error) {
	if b.IdentityKey.IsZero() || b.SignedPreKey.IsZero() {
		return nil, errors.New("marshal bundle: no identity key or signed prekey")
	}
	out := make([]byte, 0, 300+keys.KEMPublicKeySize)
	out = pb.AppendVarint(out, fFormat, FormatVersion)
	out = pb.AppendVarint(out, 1, uint64(b.RegistrationID))
	out = pb.AppendVarint(out, 2, uint64(b.DeviceID))
	out = pb.AppendBytes(out, 3, b.IdentityKey.Bytes())
	out = pb.AppendVarint(out, 4, uint64(b.SignedPreKeyID))
	out = pb.AppendBytes(out, 5, b.SignedPreKey.Bytes())
	out = pb.AppendBytes(out, 6, b.SignedPreKeySignature)
	if b.HasPreKey {
		out = pb.AppendVarint(out, 7, uint64(b.PreKeyID))
		out = pb.AppendBytes(out, 8, b.PreKey.Bytes())
	}
	if b.HasKEMPreKey() {
		out = pb.AppendVarint(out, 9, uint64(b.KEMPreKeyID))
		out = pb.AppendBytes(out, 10, b.KEMPreKey.Bytes())
		out = pb.AppendBytes(out, 11, b.KEMPreKeySignature)
	}
	return out, nil
}

// ParseBundle parses a bundle serialized by MarshalBinary. It checks the
// format, not the signatures: call Verify (ProcessBundle does).
func ParseBundle(raw []byte) (*Bundle, error) {
	b := &Bundle{}
	var havePreKeyID, haveKEMID bool
	err := parseRecord(raw, func(f field) error {
		var err error
		switch f.Num {
		case 1:
			b.RegistrationID, err = f.Uint32()
		case 2:
			b.DeviceID, err = f.Uint32()
		case 3:
			b.IdentityKey, err = publicKeyField(f)
		case 4:
			b.SignedPreKeyID, err = f.Uint32()
		case 5:
			b.SignedPreKey, err = publicKeyField(f)
		case 6:
			b.SignedPreKeySignature, err = signatureField(f)
		case 7:
			b.PreKeyID, err = f.Uint32()
			havePreKeyID = true
		case 8:
			b.PreKey, err = publicKeyField(f)
			b.HasPreKey = err == nil
		case 9:
			b.KEMPreKeyID, err = f.Uint32()
			haveKEMID = true
		case 10:
			var kb []byte
			if kb, err = f.ByteSlice(); err == nil {
				b.KEMPreKey, err = keys.NewKEMPublicKey(kb)
			}
		case 11:
			b.KEMPreKeySignature, err = signatureField(f)
		}
		return err
	})
	if err == nil {
		switch {
		case b.IdentityKey.IsZero() || b.SignedPreKey.IsZero() || b.SignedPreKeySignature == nil:
			err = fmt.Errorf("%w: bundle lacks its identity key or signed prekey", ErrMalformed)
		case havePreKeyID != b.HasPreKey:
			err = fmt.Errorf("%w: one-time prekey without ID or ID without key", ErrMalformed)
		case haveKEMID != b.HasKEMPreKey() || b.HasKEMPreKey() != (b.KEMPreKeySignature != nil):
			err = fmt.Errorf("%w: incomplete KEM prekey", ErrMalformed)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("parse bundle: %w", err)
	}
	return b, nil
}
