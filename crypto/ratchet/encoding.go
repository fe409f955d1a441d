package ratchet

import (
	"errors"
	"fmt"
	"github.com/mutualcoop/mutual/internal/pb"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/mutualcoop/mutual/crypto/keys"
)

// FormatVersion is the version of the State serialization that
// MarshalBinary writes. ParseState accepts exactly the versions it knows
// (1) and refuses any other with ErrFormatVersion; a future version adds
// a migration from the older ones here.
const FormatVersion = 1

// ErrFormatVersion is returned for a serialization of an unknown format
// version.
var ErrFormatVersion = errors.New("ratchet: unknown state format version")

// Field numbers of the State serialization. They follow libsignal's
// storage.proto SessionStructure; 15 is the format version.
const (
	fVersion         = 1
	fLocalIdentity   = 2
	fRemoteIdentity  = 3
	fRootKey         = 4
	fPreviousCounter = 5
	fSenderChain     = 6
	fReceiverChains  = 7
	fPendingPreKey   = 9
	fRemoteRegID     = 10
	fLocalRegID      = 11
	fBaseKey         = 13
	fPendingKEM      = 14
	fFormat          = 15

	// Chain
	fChainRatchetKey  = 1
	fChainPrivateKey  = 2
	fChainKey         = 3
	fChainMessageKeys = 4
	// Chain.ChainKey and Chain.MessageKey
	fIndex = 1
	fKey   = 2
	fSeed  = 5
	// PendingPreKey
	fPendingPreKeyID = 1
	fPendingBaseKey  = 2
	fPendingSigned   = 3
	// PendingKEM
	fKEMID         = 1
	fKEMCiphertext = 2
)

// MarshalBinary serializes the State, secrets included: store it as
// carefully as a private key. The encoding is deterministic.
func (s *State) MarshalBinary() ([]byte, error) {
	if !s.initialized() {
		return nil, ErrNoSession
	}
	size := 200 + 2*keys.PublicKeySize
	for _, rc := range s.receivers {
		size += 80 + len(rc.skipped)*(KeySize+10)
	}
	if s.pending != nil {
		size += 100 + len(s.pending.KEMCiphertext)
	}
	b := make([]byte, 0, size)
	b = pb.AppendVarint(b, fFormat, FormatVersion)
	b = pb.AppendVarint(b, fVersion, uint64(s.version))
	b = pb.AppendBytes(b, fLocalIdentity, s.localIdentity.Bytes())
	b = pb.AppendBytes(b, fRemoteIdentity, s.remoteIdentity.Bytes())
	b = pb.AppendBytes(b, fRootKey, s.rootKey[:])
	b = pb.AppendVarint(b, fPreviousCounter, uint64(s.previousCounter))

	b = protowire.AppendTag(b, fSenderChain, protowire.BytesType)
	b = protowire.AppendBytes(b, appendChain(nil, s.sender.pub, s.sender.raw[:], s.sender.ck, nil))
	for _, rc := range s.receivers {
		b = protowire.AppendTag(b, fReceiverChains, protowire.BytesType)
		b = protowire.AppendBytes(b, appendChain(nil, rc.ratchetKey, nil, rc.ck, rc.skipped))
	}
	if p := s.pending; p != nil {
		var pending []byte
		if p.HasPreKeyID {
			pending = pb.AppendVarint(pending, fPendingPreKeyID, uint64(p.PreKeyID))
		}
		pending = pb.AppendBytes(pending, fPendingBaseKey, p.BaseKey.Bytes())
		pending = pb.AppendVarint(pending, fPendingSigned, uint64(p.SignedPreKeyID))
		b = pb.AppendBytes(b, fPendingPreKey, pending)
		if p.KEMCiphertext != nil {
			kb := pb.AppendVarint(nil, fKEMID, uint64(p.KEMPreKeyID))
			kb = pb.AppendBytes(kb, fKEMCiphertext, p.KEMCiphertext)
			b = pb.AppendBytes(b, fPendingKEM, kb)
		}
	}
	b = pb.AppendVarint(b, fRemoteRegID, uint64(s.remoteRegID))
	b = pb.AppendVarint(b, fLocalRegID, uint64(s.localRegID))
	b = pb.AppendBytes(b, fBaseKey, s.baseKey.Bytes())
	return b, nil
}

func appendChain(b []byte, pub keys.PublicKey, priv []byte, ck chainKey, skipped []skippedKey) []byte {
	b = pb.AppendBytes(b, fChainRatchetKey, pub.Bytes())
	if priv != nil {
		b = pb.AppendBytes(b, fChainPrivateKey, priv)
	}
	cb := pb.AppendVarint(nil, fIndex, uint64(ck.index))
	cb = pb.AppendBytes(cb, fKey, ck.key[:])
	b = pb.AppendBytes(b, fChainKey, cb)
	var mb []byte
	for i := range skipped {
		mb = pb.AppendVarint(mb[:0], fIndex, uint64(skipped[i].index))
		mb = pb.AppendBytes(mb, fSeed, skipped[i].seed[:])
		b = pb.AppendBytes(b, fChainMessageKeys, mb)
	}
	return b
}

// ParseState parses a State serialized by MarshalBinary, checking that it
// is complete and within the limits. The State keeps no reference to b.
func ParseState(b []byte) (*State, error) {
	s, err := parseState(b)
	if err != nil {
		if errors.Is(err, ErrFormatVersion) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: session state: %w", ErrMalformed, err)
	}
	return s, nil
}

func parseState(b []byte) (*State, error) {
	s := &State{}
	var (
		format                         uint64
		haveFormat, haveRoot, haveSend bool
		senderRaw                      []byte
		pending                        *PendingPreKey
		kemID                          uint32
		kemCT                          []byte
	)
	// The format version decides how the rest reads: find it first.
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
		return nil, err
	}
	if !haveFormat {
		return nil, errors.New("no format version")
	}
	if format != FormatVersion {
		return nil, fmt.Errorf("%w %d (this build reads %d)", ErrFormatVersion, format, FormatVersion)
	}
	err = forEachField(b, func(f field) error {
		var err error
		switch f.Num {
		case fVersion:
			var v uint32
			v, err = f.Uint32()
			s.version = int(v)
		case fLocalIdentity:
			s.localIdentity, err = publicKeyField(f)
		case fRemoteIdentity:
			s.remoteIdentity, err = publicKeyField(f)
		case fRootKey:
			err = f.FixedBytes(s.rootKey[:])
			haveRoot = true
		case fPreviousCounter:
			s.previousCounter, err = f.Uint32()
		case fSenderChain:
			senderRaw, err = f.ByteSlice()
			haveSend = true
		case fReceiverChains:
			var raw []byte
			if raw, err = f.ByteSlice(); err != nil {
				return err
			}
			if len(s.receivers) == MaxReceiverChains {
				return fmt.Errorf("more than %d receiver chains", MaxReceiverChains)
			}
			var rc *receiverChain
			if rc, _, err = parseChain(raw, false); err == nil {
				s.receivers = append(s.receivers, rc)
			}
		case fPendingPreKey:
			var raw []byte
			if raw, err = f.ByteSlice(); err == nil {
				pending, err = parsePending(raw)
			}
		case fPendingKEM:
			var raw []byte
			if raw, err = f.ByteSlice(); err == nil {
				kemID, kemCT, err = parsePendingKEM(raw)
			}
		case fRemoteRegID:
			s.remoteRegID, err = f.Uint32()
		case fLocalRegID:
			s.localRegID, err = f.Uint32()
		case fBaseKey:
			s.baseKey, err = publicKeyField(f)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if s.version != Version3 && s.version != Version4 {
		return nil, fmt.Errorf("session version %d", s.version)
	}
	if s.localIdentity.IsZero() || s.remoteIdentity.IsZero() || s.baseKey.IsZero() || !haveRoot || !haveSend {
		return nil, errors.New("incomplete state")
	}
	rc, priv, err := parseChain(senderRaw, true)
	if err != nil {
		return nil, fmt.Errorf("sender chain: %w", err)
	}
	if len(rc.skipped) != 0 {
		return nil, errors.New("sender chain with message keys")
	}
	s.sender = senderChain{raw: priv, pub: rc.ratchetKey, ck: rc.ck}
	if pending != nil {
		if (s.version >= Version4) != (kemCT != nil) {
			return nil, errors.New("pending KEM prekey does not match the session version")
		}
		pending.KEMPreKeyID, pending.KEMCiphertext = kemID, kemCT
		s.pending = pending
	} else if kemCT != nil {
		return nil, errors.New("pending KEM prekey without a pending prekey")
	}
	return s, nil
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

// parseChain parses a Chain; withPrivate requires the private key and
// checks it against the public one.
func parseChain(b []byte, withPrivate bool) (*receiverChain, [keys.PrivateKeySize]byte, error) {
	rc := &receiverChain{}
	var (
		priv              [keys.PrivateKeySize]byte
		haveKey, haveCK   bool
		havePriv          bool
		lastIndex         uint32
		haveLastSkipIndex bool
	)
	err := forEachField(b, func(f field) error {
		var err error
		switch f.Num {
		case fChainRatchetKey:
			rc.ratchetKey, err = publicKeyField(f)
			haveKey = true
		case fChainPrivateKey:
			err = f.FixedBytes(priv[:])
			havePriv = true
		case fChainKey:
			var raw []byte
			if raw, err = f.ByteSlice(); err == nil {
				rc.ck, err = parseChainKey(raw)
				haveCK = true
			}
		case fChainMessageKeys:
			var raw []byte
			if raw, err = f.ByteSlice(); err != nil {
				return err
			}
			if len(rc.skipped) == MaxMessageKeys {
				return fmt.Errorf("more than %d skipped message keys", MaxMessageKeys)
			}
			var sk skippedKey
			if sk, err = parseSkipped(raw); err != nil {
				return err
			}
			if haveLastSkipIndex && sk.index <= lastIndex {
				return errors.New("skipped message keys out of order")
			}
			lastIndex, haveLastSkipIndex = sk.index, true
			rc.skipped = append(rc.skipped, sk)
		}
		return err
	})
	if err != nil {
		return nil, priv, err
	}
	if !haveKey || !haveCK {
		return nil, priv, errors.New("incomplete chain")
	}
	if haveLastSkipIndex && lastIndex >= rc.ck.index {
		return nil, priv, errors.New("skipped message key at or past the chain key")
	}
	// The pair's consistency is checked when a ratchet step first needs
	// the private key (senderChain.private).
	if withPrivate {
		if !havePriv {
			return nil, priv, errors.New("sender ratchet private key missing")
		}
	} else if havePriv {
		return nil, priv, errors.New("receiver chain with a private key")
	}
	return rc, priv, nil
}

func parseChainKey(b []byte) (chainKey, error) {
	var ck chainKey
	var haveKey bool
	err := forEachField(b, func(f field) error {
		var err error
		switch f.Num {
		case fIndex:
			ck.index, err = f.Uint32()
		case fKey:
			err = f.FixedBytes(ck.key[:])
			haveKey = true
		}
		return err
	})
	if err == nil && !haveKey {
		err = errors.New("chain key without key")
	}
	return ck, err
}

func parseSkipped(b []byte) (skippedKey, error) {
	var sk skippedKey
	var haveSeed bool
	err := forEachField(b, func(f field) error {
		var err error
		switch f.Num {
		case fIndex:
			sk.index, err = f.Uint32()
		case fSeed:
			err = f.FixedBytes(sk.seed[:])
			haveSeed = true
		}
		return err
	})
	if err == nil && !haveSeed {
		err = errors.New("message key without seed")
	}
	return sk, err
}

func parsePending(b []byte) (*PendingPreKey, error) {
	p := &PendingPreKey{}
	var haveSigned bool
	err := forEachField(b, func(f field) error {
		var err error
		switch f.Num {
		case fPendingPreKeyID:
			p.PreKeyID, err = f.Uint32()
			p.HasPreKeyID = true
		case fPendingBaseKey:
			p.BaseKey, err = publicKeyField(f)
		case fPendingSigned:
			p.SignedPreKeyID, err = f.Uint32()
			haveSigned = true
		}
		return err
	})
	if err == nil && (p.BaseKey.IsZero() || !haveSigned) {
		err = errors.New("incomplete pending prekey")
	}
	return p, err
}

func parsePendingKEM(b []byte) (uint32, []byte, error) {
	var (
		id   uint32
		ct   []byte
		know bool
	)
	err := forEachField(b, func(f field) error {
		var err error
		switch f.Num {
		case fKEMID:
			id, err = f.Uint32()
			know = true
		case fKEMCiphertext:
			var raw []byte
			if raw, err = f.ByteSlice(); err == nil {
				if len(raw) != keys.KEMCiphertextSize {
					return fmt.Errorf("KEM ciphertext of %d bytes", len(raw))
				}
				ct = append([]byte(nil), raw...)
			}
		}
		return err
	})
	if err == nil && (!know || ct == nil) {
		err = errors.New("incomplete pending KEM prekey")
	}
	return id, ct, err
}
