package pqxdh

import (
	"errors"
	"fmt"
	"github.com/mutualcoop/mutual/internal/pb"
	"io"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/mutualcoop/mutual/crypto/keys"
)

// FormatVersion is the serialization version of every record of this
// package (Identity, PreKey, SignedPreKey, KEMPreKey, Bundle): field 15 of
// each. Parsers accept exactly the versions they know (1) and refuse any
// other with ErrFormatVersion; a future version adds a migration here.
const FormatVersion = 1

const fFormat = 15

// ErrFormatVersion is returned for a record of an unknown format version.
var ErrFormatVersion = errors.New("pqxdh: unknown record format version")

// ErrMalformed is returned for bytes that are not a well-formed record.
var ErrMalformed = errors.New("pqxdh: malformed record")

// Identity is a device's long-term identity: its Curve25519 identity key
// pair and its registration ID (a random number the device picks once,
// which libsignal sends in prekey messages).
type Identity struct {
	Key            keys.PrivateKey
	RegistrationID uint32
}

// GenerateIdentity returns a new identity with a random registration ID in
// 1..16380, libsignal's range.
func GenerateIdentity(rand io.Reader) (Identity, error) {
	k, err := keys.GeneratePrivateKey(rand)
	if err != nil {
		return Identity{}, fmt.Errorf("generate identity: %w", err)
	}
	for {
		var b [2]byte
		if _, err := io.ReadFull(rand, b[:]); err != nil {
			return Identity{}, fmt.Errorf("generate registration id: %w", err)
		}
		// Uniform in 0..16383 by masking, then rejection to 0..16379.
		if r := (uint32(b[0])<<8 | uint32(b[1])) & 0x3FFF; r < 16380 {
			return Identity{Key: k, RegistrationID: r + 1}, nil
		}
	}
}

// PreKey is a one-time Curve25519 prekey, used by one session setup and
// then deleted.
type PreKey struct {
	ID  uint32
	Key keys.PrivateKey
}

// SignedPreKey is a medium-term Curve25519 prekey signed by the identity
// key (XEdDSA over its 33-byte serialization).
type SignedPreKey struct {
	ID        uint32
	Key       keys.PrivateKey
	Signature []byte
	Created   time.Time
}

// KEMPreKey is an ML-KEM-1024 prekey signed by the identity key (XEdDSA
// over its serialization, type byte 0x0A included). A one-time KEM prekey
// is deleted after use; a last-resort one stays until replaced, and the
// store refuses a second use with the same signed prekey and base key.
type KEMPreKey struct {
	ID         uint32
	Key        keys.KEMPrivateKey
	Signature  []byte
	Created    time.Time
	LastResort bool
}

// MaxKeyID is the largest prekey ID to publish: libsignal's IDs are 24-bit
// ("medium") numbers and go.mau.fi/libsignal reads ID 0 as "none", so
// Mutual uses 1..MaxKeyID.
const MaxKeyID = 0xFFFFFE

// GeneratePreKeys returns count one-time prekeys with IDs start,
// start+1, ..., wrapping from MaxKeyID to 1.
func GeneratePreKeys(rand io.Reader, start uint32, count int) ([]PreKey, error) {
	if start == 0 || start > MaxKeyID {
		return nil, fmt.Errorf("generate prekeys: start id %d out of range 1..%d", start, MaxKeyID)
	}
	out := make([]PreKey, 0, count)
	id := start
	for range count {
		k, err := keys.GeneratePrivateKey(rand)
		if err != nil {
			return nil, fmt.Errorf("generate prekeys: %w", err)
		}
		out = append(out, PreKey{ID: id, Key: k})
		if id++; id > MaxKeyID {
			id = 1
		}
	}
	return out, nil
}

// GenerateSignedPreKey returns a new signed prekey.
func GenerateSignedPreKey(rand io.Reader, identity keys.PrivateKey, id uint32, now time.Time) (SignedPreKey, error) {
	k, err := keys.GeneratePrivateKey(rand)
	if err != nil {
		return SignedPreKey{}, fmt.Errorf("generate signed prekey: %w", err)
	}
	sig, err := identity.Sign(rand, k.Public().Bytes())
	if err != nil {
		return SignedPreKey{}, fmt.Errorf("sign prekey: %w", err)
	}
	return SignedPreKey{ID: id, Key: k, Signature: sig, Created: now}, nil
}

// GenerateKEMPreKey returns a new signed ML-KEM-1024 prekey. Its 64-byte
// seed (d || z of FIPS 203 ML-KEM.KeyGen) is read from rand.
func GenerateKEMPreKey(rand io.Reader, identity keys.PrivateKey, id uint32, lastResort bool, now time.Time) (KEMPreKey, error) {
	seed := make([]byte, keys.KEMSeedSize)
	if _, err := io.ReadFull(rand, seed); err != nil {
		return KEMPreKey{}, fmt.Errorf("generate kem prekey: %w", err)
	}
	k, err := keys.NewKEMPrivateKeyFromSeed(seed)
	clear(seed)
	if err != nil {
		return KEMPreKey{}, fmt.Errorf("generate kem prekey: %w", err)
	}
	sig, err := identity.Sign(rand, k.Public().Bytes())
	if err != nil {
		return KEMPreKey{}, fmt.Errorf("sign kem prekey: %w", err)
	}
	return KEMPreKey{ID: id, Key: k, Signature: sig, Created: now, LastResort: lastResort}, nil
}

// Serialization. Every record: field 15 = format version (1).
//
//	Identity     {1 public key (33), 2 private key (32), 3 registration ID}
//	PreKey       {1 ID, 2 public key (33), 3 private key (32)}
//	SignedPreKey {1 ID, 2 public key, 3 private key, 4 signature (64), 5 created (fixed64 ms)}
//	KEMPreKey    {1 ID, 2 public key (1569), 3 seed (64), 4 signature, 5 created, 6 last resort}

// MarshalBinary serializes the identity, private key included.
func (id Identity) MarshalBinary() ([]byte, error) {
	if id.Key.IsZero() {
		return nil, errors.New("marshal identity: zero key")
	}
	b := pb.AppendVarint(nil, fFormat, FormatVersion)
	b = pb.AppendBytes(b, 1, id.Key.Public().Bytes())
	priv := id.Key.Bytes()
	b = pb.AppendBytes(b, 2, priv)
	clear(priv)
	return pb.AppendVarint(b, 3, uint64(id.RegistrationID)), nil
}

// ParseIdentity parses an Identity serialized by MarshalBinary.
func ParseIdentity(b []byte) (Identity, error) {
	var (
		id   Identity
		pub  keys.PublicKey
		have bool
	)
	err := parseRecord(b, func(f field) error {
		var err error
		switch f.Num {
		case 1:
			pub, err = publicKeyField(f)
		case 2:
			id.Key, err = privateKeyField(f)
			have = true
		case 3:
			id.RegistrationID, err = f.Uint32()
		}
		return err
	})
	if err == nil && (!have || !id.Key.Public().Equal(pub)) {
		err = fmt.Errorf("%w: identity key pair missing or inconsistent", ErrMalformed)
	}
	if err != nil {
		return Identity{}, fmt.Errorf("parse identity: %w", err)
	}
	return id, nil
}

// MarshalBinary serializes the prekey, private key included.
func (p PreKey) MarshalBinary() ([]byte, error) {
	if p.Key.IsZero() {
		return nil, errors.New("marshal prekey: zero key")
	}
	b := pb.AppendVarint(nil, fFormat, FormatVersion)
	b = pb.AppendVarint(b, 1, uint64(p.ID))
	b = pb.AppendBytes(b, 2, p.Key.Public().Bytes())
	priv := p.Key.Bytes()
	b = pb.AppendBytes(b, 3, priv)
	clear(priv)
	return b, nil
}

// ParsePreKey parses a PreKey serialized by MarshalBinary.
func ParsePreKey(b []byte) (PreKey, error) {
	var (
		p    PreKey
		pub  keys.PublicKey
		have bool
	)
	err := parseRecord(b, func(f field) error {
		var err error
		switch f.Num {
		case 1:
			p.ID, err = f.Uint32()
		case 2:
			pub, err = publicKeyField(f)
		case 3:
			p.Key, err = privateKeyField(f)
			have = true
		}
		return err
	})
	if err == nil && (!have || !p.Key.Public().Equal(pub)) {
		err = fmt.Errorf("%w: prekey pair missing or inconsistent", ErrMalformed)
	}
	if err != nil {
		return PreKey{}, fmt.Errorf("parse prekey: %w", err)
	}
	return p, nil
}

// MarshalBinary serializes the signed prekey, private key included.
func (p SignedPreKey) MarshalBinary() ([]byte, error) {
	if p.Key.IsZero() {
		return nil, errors.New("marshal signed prekey: zero key")
	}
	b := pb.AppendVarint(nil, fFormat, FormatVersion)
	b = pb.AppendVarint(b, 1, uint64(p.ID))
	b = pb.AppendBytes(b, 2, p.Key.Public().Bytes())
	priv := p.Key.Bytes()
	b = pb.AppendBytes(b, 3, priv)
	clear(priv)
	b = pb.AppendBytes(b, 4, p.Signature)
	return appendTime(b, 5, p.Created), nil
}

// ParseSignedPreKey parses a SignedPreKey serialized by MarshalBinary.
func ParseSignedPreKey(b []byte) (SignedPreKey, error) {
	var (
		p    SignedPreKey
		pub  keys.PublicKey
		have bool
	)
	err := parseRecord(b, func(f field) error {
		var err error
		switch f.Num {
		case 1:
			p.ID, err = f.Uint32()
		case 2:
			pub, err = publicKeyField(f)
		case 3:
			p.Key, err = privateKeyField(f)
			have = true
		case 4:
			p.Signature, err = signatureField(f)
		case 5:
			p.Created, err = timeField(f)
		}
		return err
	})
	if err == nil && (!have || !p.Key.Public().Equal(pub)) {
		err = fmt.Errorf("%w: signed prekey pair missing or inconsistent", ErrMalformed)
	}
	if err != nil {
		return SignedPreKey{}, fmt.Errorf("parse signed prekey: %w", err)
	}
	return p, nil
}

// MarshalBinary serializes the KEM prekey, private seed included.
func (p KEMPreKey) MarshalBinary() ([]byte, error) {
	if p.Key.IsZero() {
		return nil, errors.New("marshal kem prekey: zero key")
	}
	b := pb.AppendVarint(nil, fFormat, FormatVersion)
	b = pb.AppendVarint(b, 1, uint64(p.ID))
	b = pb.AppendBytes(b, 2, p.Key.Public().Bytes())
	seed := p.Key.Seed()
	b = pb.AppendBytes(b, 3, seed)
	clear(seed)
	b = pb.AppendBytes(b, 4, p.Signature)
	b = appendTime(b, 5, p.Created)
	if p.LastResort {
		b = pb.AppendVarint(b, 6, 1)
	}
	return b, nil
}

// ParseKEMPreKey parses a KEMPreKey serialized by MarshalBinary.
func ParseKEMPreKey(b []byte) (KEMPreKey, error) {
	var (
		p    KEMPreKey
		pub  []byte
		have bool
	)
	err := parseRecord(b, func(f field) error {
		var err error
		switch f.Num {
		case 1:
			p.ID, err = f.Uint32()
		case 2:
			pub, err = f.ByteSlice()
		case 3:
			var seed []byte
			if seed, err = f.ByteSlice(); err == nil {
				p.Key, err = keys.NewKEMPrivateKeyFromSeed(seed)
				have = true
			}
		case 4:
			p.Signature, err = signatureField(f)
		case 5:
			p.Created, err = timeField(f)
		case 6:
			p.LastResort, err = f.Bool()
		}
		return err
	})
	if err == nil && (!have || string(p.Key.Public().Bytes()) != string(pub)) {
		err = fmt.Errorf("%w: kem prekey pair missing or inconsistent", ErrMalformed)
	}
	if err != nil {
		return KEMPreKey{}, fmt.Errorf("parse kem prekey: %w", err)
	}
	return p, nil
}

// parseRecord checks the format version and calls fn for every field.
func parseRecord(b []byte, fn func(f field) error) error {
	var (
		format     uint64
		haveFormat bool
	)
	err := forEachField(b, func(f field) error {
		if f.Num == fFormat {
			if f.Type != protowire.VarintType {
				return fmt.Errorf("field %d: %w", f.Num, errWireType)
			}
			format, haveFormat = f.Value, true
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if !haveFormat {
		return fmt.Errorf("%w: no format version", ErrMalformed)
	}
	if format != FormatVersion {
		return fmt.Errorf("%w %d (this build reads %d)", ErrFormatVersion, format, FormatVersion)
	}
	if err := forEachField(b, fn); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return nil
}

func publicKeyField(f field) (keys.PublicKey, error) {
	raw, err := f.ByteSlice()
	if err != nil {
		return keys.PublicKey{}, err
	}
	k, err := keys.NewPublicKey(raw)
	if err != nil {
		return keys.PublicKey{}, fmt.Errorf("field %d: %w", f.Num, err)
	}
	return k, nil
}

func privateKeyField(f field) (keys.PrivateKey, error) {
	raw, err := f.ByteSlice()
	if err != nil {
		return keys.PrivateKey{}, err
	}
	k, err := keys.NewPrivateKey(raw)
	if err != nil {
		return keys.PrivateKey{}, fmt.Errorf("field %d: %w", f.Num, err)
	}
	return k, nil
}

func signatureField(f field) ([]byte, error) {
	raw, err := f.ByteSlice()
	if err != nil {
		return nil, err
	}
	if len(raw) != keys.SignatureSize {
		return nil, fmt.Errorf("field %d: signature of %d bytes", f.Num, len(raw))
	}
	return append([]byte(nil), raw...), nil
}

func appendTime(b []byte, num protowire.Number, t time.Time) []byte {
	if t.IsZero() {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.Fixed64Type)
	return protowire.AppendFixed64(b, uint64(t.UnixMilli()))
}

func timeField(f field) (time.Time, error) {
	v, err := f.Fixed64()
	if err != nil {
		return time.Time{}, err
	}
	return time.UnixMilli(int64(v)).UTC(), nil
}
