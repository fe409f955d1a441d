package client

import (
	"crypto/ed25519"
	"crypto/hpke"
	"fmt"

	"github.com/mutualcoop/mutual/crypto/keys"
	"github.com/mutualcoop/mutual/relay/wire"
)

// The provision is what a device that links a new one hands it, sealed
// to the key the new device sent in Link so that the relay, which
// carries it, reads nothing: HPKE (RFC 9180) base mode with the KEM
// ML-KEM-768 + X25519, HKDF-SHA256 and AES-256-GCM, info linkInfo. The
// plaintext is a record (the package's encoding, format version 1):
//
//	{1 address (as typed when signing in), 2 user ID (16),
//	 3 the voucher's device ID, 4 the vouch's signature,
//	 5 profile name, 6 when the name was set (Unix ms),
//	 7 the history blob (HistoryBlob.Marshal), absent without history,
//	 8 the co-op's notice key the voucher pinned (Ed25519, 32 bytes),
//	 9 the voucher's identity key (33 bytes)}
//
// The new device records the voucher's identity key as trusted at once:
// the device the person linked it from raises no OwnDeviceSeen on it, and
// a relay that handed out another key for that device would be caught
// (a changed key, which holds every message).

// linkInfo is HPKE's info for the provision.
const linkInfo = "Mutual link v1"

// maxHistoryBlob bounds a provision's history blob.
const maxHistoryBlob = 1024

// provision is the plaintext of a provision.
type provision struct {
	Address     string
	User        wire.UserID
	Vouch       wire.Vouch
	ProfileName string
	ProfileAt   int64
	History     []byte
	CoopKey     []byte
	Voucher     keys.PublicKey
}

func (p *provision) marshal() []byte {
	e := newEnc()
	e.string(1, p.Address)
	e.id(2, p.User)
	e.uint(3, uint64(p.Vouch.Device))
	e.bytes(4, p.Vouch.Signature)
	e.string(5, p.ProfileName)
	e.sint(6, p.ProfileAt)
	e.bytes(7, p.History)
	e.bytes(8, p.CoopKey)
	if !p.Voucher.IsZero() {
		e.bytes(9, p.Voucher.Bytes())
	}
	return e.b
}

func parseProvision(b []byte) (*provision, error) {
	p := new(provision)
	err := decodeRecord(b, func(f field) (err error) {
		switch f.num {
		case 1:
			p.Address, err = f.string(wire.MaxAddress)
		case 2:
			err = f.id((*[16]byte)(&p.User))
		case 3:
			var d uint32
			d, err = f.uint32()
			p.Vouch.Device = wire.DeviceID(d)
		case 4:
			p.Vouch.Signature, err = f.copyBytes(wire.MaxSignature)
		case 5:
			p.ProfileName, err = f.string(MaxProfileName)
		case 6:
			p.ProfileAt, err = f.sint64()
		case 7:
			p.History, err = f.copyBytes(maxHistoryBlob)
		case 8:
			p.CoopKey, err = f.copyBytes(wire.CoopKeyLen)
		case 9:
			if err = f.wantBytes(); err == nil {
				p.Voucher, err = keys.NewPublicKey(f.b)
			}
		}
		return err
	})
	switch {
	case err != nil:
	case p.Address == "" || p.User.IsZero():
		err = fmt.Errorf("%w: no account", errMalformed)
	case p.Vouch.Device == 0 || len(p.Vouch.Signature) == 0 || p.Voucher.IsZero():
		err = fmt.Errorf("%w: no vouch", errMalformed)
	case len(p.CoopKey) != 0 && len(p.CoopKey) != ed25519.PublicKeySize:
		err = fmt.Errorf("%w: a co-op key of %d bytes", errMalformed, len(p.CoopKey))
	}
	if err != nil {
		return nil, fmt.Errorf("provision: %w", err)
	}
	return p, nil
}

// linkKEM is the KEM of the provision's HPKE suite.
func linkKEM() hpke.KEM { return hpke.MLKEM768X25519() }

// sealProvision seals p to key, the public key a new device sent in Link.
func sealProvision(key []byte, p *provision) ([]byte, error) {
	pk, err := linkKEM().NewPublicKey(key)
	if err != nil {
		return nil, fmt.Errorf("seal provision: the new device's key: %w", err)
	}
	sealed, err := hpke.Seal(pk, hpke.HKDFSHA256(), hpke.AES256GCM(), []byte(linkInfo), p.marshal())
	if err != nil {
		return nil, fmt.Errorf("seal provision: %w", err)
	}
	if len(sealed) > wire.MaxProvision {
		return nil, fmt.Errorf("seal provision: %d bytes, more than %d", len(sealed), wire.MaxProvision)
	}
	return sealed, nil
}

// openProvision opens a provision sealed to k.
func openProvision(k hpke.PrivateKey, sealed []byte) (*provision, error) {
	b, err := hpke.Open(k, hpke.HKDFSHA256(), hpke.AES256GCM(), []byte(linkInfo), sealed)
	if err != nil {
		return nil, fmt.Errorf("open provision: %w", err)
	}
	return parseProvision(b)
}
