package loadgen

import (
	"crypto/rand"
	"errors"
	"fmt"
	"sync"

	"github.com/mutualcoop/mutual/crypto/padding"
	"github.com/mutualcoop/mutual/crypto/senderkey"
)

// SenderKeys is the PayloadEncoder of a group member that encrypts end to
// end as the client does in a group: every payload is padded and
// encrypted once with the member's own sender key (crypto/senderkey), and
// each other member decrypts it with the copy of that key it was given.
// Encode ignores its recipient: one ciphertext serves the whole group.
type SenderKeys struct {
	mu     sync.Mutex
	own    *senderkey.Record
	others map[Peer]*senderkey.Record
}

// NewSenderKeys returns a member's encoder with a new sender key of its
// own.
func NewSenderKeys() (*SenderKeys, error) {
	own, err := senderkey.Generate(rand.Reader)
	if err != nil {
		return nil, err
	}
	return &SenderKeys{own: own, others: make(map[Peer]*senderkey.Record)}, nil
}

// Distribution returns the message that lets other members decrypt what
// this member sends from now on.
func (s *SenderKeys) Distribution() (*senderkey.DistributionMessage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.own.Distribution()
}

// Process takes the distribution message of another member's device, as
// a client does when it arrives over their pairwise session.
func (s *SenderKeys) Process(from Peer, m *senderkey.DistributionMessage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.others[from]
	if r == nil {
		r = new(senderkey.Record)
		s.others[from] = r
	}
	return r.Process(m)
}

// Encode pads payload and encrypts it with this member's sender key.
func (s *SenderKeys) Encode(_ Peer, payload []byte) ([]byte, error) {
	padded, err := padding.Pad(payload)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.own.Encrypt(padded, rand.Reader)
}

// Decode verifies and decrypts what member from sent, and removes the
// padding.
func (s *SenderKeys) Decode(from Peer, data []byte) ([]byte, error) {
	s.mu.Lock()
	r := s.others[from]
	var plain []byte
	err := errors.New("no sender key from this device")
	if r != nil {
		plain, err = r.Decrypt(data)
	}
	s.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return padding.Unpad(plain)
}

// distributeSenderKeys gives every member of every group the sender keys
// of the others. Like the end-to-end handshake of 1:1 runs, this happens
// in this process during setup (a client sends them over its pairwise
// sessions); everything timed crosses the relay.
func (r *run) distributeSenderKeys() error {
	for _, c := range r.all() {
		sk, err := NewSenderKeys()
		if err != nil {
			return fmt.Errorf("client %d sender key: %w", c.idx, err)
		}
		c.enc = sk
	}
	for _, c := range r.clients {
		d, err := c.enc.(*SenderKeys).Distribution()
		if err != nil {
			return fmt.Errorf("client %d distribution: %w", c.idx, err)
		}
		for _, m := range recipients(c) {
			if err := m.enc.(*SenderKeys).Process(c.self, d); err != nil {
				return fmt.Errorf("client %d takes the sender key of %d: %w", m.idx, c.idx, err)
			}
		}
	}
	return nil
}
