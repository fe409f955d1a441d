package senderkey

import (
	"fmt"

	"github.com/mutualcoop/mutual/crypto/keys"
	"github.com/mutualcoop/mutual/internal/pb"
)

// DistributionMessage gives a sender's key to the other members of a
// group: its chain ID, the chain key at Iteration and the public signing
// key. Whoever holds it can decrypt the sender's messages from Iteration
// on, so it travels only inside the pairwise sessions, and it must be kept
// as secret as the messages. It comes from Record.Distribution or
// ParseDistributionMessage; it prints without its chain key.
type DistributionMessage struct {
	ChainID, Iteration uint32

	// chainKey lives two pointers deep, so that printing a struct holding
	// a DistributionMessage in an unexported field shows an address.
	chainKey   *sealedKey
	signingKey keys.PublicKey
}

// SigningKey returns the sender's public signing key.
func (m *DistributionMessage) SigningKey() keys.PublicKey { return m.signingKey }

// Marshal returns the SenderKeyDistributionMessage: the version byte 0x33
// and the protobuf {1 id, 2 iteration, 3 chainKey, 4 signingKey}.
func (m *DistributionMessage) Marshal() []byte {
	var ck []byte
	if m.chainKey != nil {
		ck = m.chainKey.key[:]
	}
	b := make([]byte, 0, 1+2*6+2+KeySize+2+keys.PublicKeySize)
	b = append(b, versionByte)
	b = pb.AppendVarint(b, fID, uint64(m.ChainID))
	b = pb.AppendVarint(b, fIteration, uint64(m.Iteration))
	b = pb.AppendBytes(b, fChainKey, ck)
	return pb.AppendBytes(b, fSigningKey, m.signingKey.Bytes())
}

// ParseDistributionMessage parses a SenderKeyDistributionMessage, checking
// that every field is there, the chain key is 32 bytes and the signing key
// a valid public key. The message keeps no reference to b.
func ParseDistributionMessage(b []byte) (*DistributionMessage, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty distribution message", ErrMalformed)
	}
	if err := checkVersion(b[0]); err != nil {
		return nil, err
	}
	m := &DistributionMessage{chainKey: &sealedKey{key: new([KeySize]byte)}}
	var haveID, haveIteration, haveChainKey, haveSigningKey bool
	err := pb.ForEach(b[1:], func(f pb.Field) error {
		var err error
		switch f.Num {
		case fID:
			m.ChainID, err = f.Uint32()
			haveID = true
		case fIteration:
			m.Iteration, err = f.Uint32()
			haveIteration = true
		case fChainKey:
			err = f.FixedBytes(m.chainKey.key[:])
			haveChainKey = true
		case fSigningKey:
			var raw []byte
			if raw, err = f.ByteSlice(); err == nil {
				m.signingKey, err = keys.NewPublicKey(raw)
				haveSigningKey = true
			}
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%w: distribution message: %w", ErrMalformed, err)
	}
	if !haveID || !haveIteration || !haveChainKey || !haveSigningKey {
		return nil, fmt.Errorf("%w: distribution message lacks its id, iteration, chain key or signing key", ErrMalformed)
	}
	return m, nil
}

// Format prints the chain ID and iteration only, whatever the verb: the
// chain key never shows.
func (m DistributionMessage) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "senderkey.DistributionMessage{chain %d, iteration %d, chain key redacted}", m.ChainID, m.Iteration)
}
