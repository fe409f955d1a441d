package session

import (
	"context"
	"fmt"
	"sync"

	"github.com/mutualcoop/mutual/crypto/keys"
	"github.com/mutualcoop/mutual/crypto/pqxdh"
)

// MemoryStore is a Store in memory, for tests and tools. It keeps every
// record serialized, so what it returns never aliases what it was given.
//
// Its trust policy is Signal's: a received identity is always accepted
// (the client shows that it changed); sending is allowed to an address
// whose identity is unknown or unchanged.
type MemoryStore struct {
	mu         sync.Mutex
	identity   pqxdh.Identity
	sessions   map[Address][]byte
	identities map[Address][]byte
	preKeys    map[uint32]pqxdh.PreKey
	signed     map[uint32]pqxdh.SignedPreKey
	kem        map[uint32]pqxdh.KEMPreKey
	kemUsed    map[kemUse]bool
}

type kemUse struct {
	kemID, signedID uint32
	baseKey         [keys.PublicKeySize]byte
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty store for the device with identity id.
func NewMemoryStore(id pqxdh.Identity) *MemoryStore {
	return &MemoryStore{
		identity:   id,
		sessions:   make(map[Address][]byte),
		identities: make(map[Address][]byte),
		preKeys:    make(map[uint32]pqxdh.PreKey),
		signed:     make(map[uint32]pqxdh.SignedPreKey),
		kem:        make(map[uint32]pqxdh.KEMPreKey),
		kemUsed:    make(map[kemUse]bool),
	}
}

// LoadSession implements Store.
func (s *MemoryStore) LoadSession(_ context.Context, addr Address) (*Record, error) {
	s.mu.Lock()
	b, ok := s.sessions[addr]
	s.mu.Unlock()
	if !ok {
		return nil, nil
	}
	return ParseRecord(b)
}

// StoreSession implements Store.
func (s *MemoryStore) StoreSession(_ context.Context, addr Address, r *Record) error {
	b, err := r.MarshalBinary()
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.sessions[addr] = b
	s.mu.Unlock()
	return nil
}

// DeleteSession forgets the record for addr.
func (s *MemoryStore) DeleteSession(addr Address) {
	s.mu.Lock()
	delete(s.sessions, addr)
	s.mu.Unlock()
}

// SessionBytes returns the serialized record for addr (nil if none): what
// tests compare to prove that a rejected message changed nothing.
func (s *MemoryStore) SessionBytes(addr Address) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.sessions[addr]...)
}

// LocalIdentity implements Store.
func (s *MemoryStore) LocalIdentity(context.Context) (pqxdh.Identity, error) {
	return s.identity, nil
}

// IsTrustedIdentity implements Store.
func (s *MemoryStore) IsTrustedIdentity(_ context.Context, addr Address, key keys.PublicKey, dir Direction) (bool, error) {
	if dir == Receiving {
		return true, nil
	}
	s.mu.Lock()
	b, ok := s.identities[addr]
	s.mu.Unlock()
	if !ok {
		return true, nil
	}
	rec, err := ParseIdentityRecord(b)
	if err != nil {
		return false, err
	}
	return rec.Key.Equal(key), nil
}

// SaveIdentity implements Store.
func (s *MemoryStore) SaveIdentity(_ context.Context, addr Address, key keys.PublicKey) error {
	b, err := IdentityRecord{Key: key}.MarshalBinary()
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.identities[addr] = b
	s.mu.Unlock()
	return nil
}

// Identity returns the identity key saved for addr.
func (s *MemoryStore) Identity(addr Address) (keys.PublicKey, bool) {
	s.mu.Lock()
	b, ok := s.identities[addr]
	s.mu.Unlock()
	if !ok {
		return keys.PublicKey{}, false
	}
	rec, err := ParseIdentityRecord(b)
	return rec.Key, err == nil
}

// StorePreKey adds one-time prekeys.
func (s *MemoryStore) StorePreKey(pks ...pqxdh.PreKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, pk := range pks {
		s.preKeys[pk.ID] = pk
	}
}

// StoreSignedPreKey adds a signed prekey.
func (s *MemoryStore) StoreSignedPreKey(pk pqxdh.SignedPreKey) {
	s.mu.Lock()
	s.signed[pk.ID] = pk
	s.mu.Unlock()
}

// StoreKEMPreKey adds a KEM prekey.
func (s *MemoryStore) StoreKEMPreKey(pk pqxdh.KEMPreKey) {
	s.mu.Lock()
	s.kem[pk.ID] = pk
	s.mu.Unlock()
}

// LoadPreKey implements Store.
func (s *MemoryStore) LoadPreKey(_ context.Context, id uint32) (pqxdh.PreKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pk, ok := s.preKeys[id]
	if !ok {
		return pqxdh.PreKey{}, fmt.Errorf("prekey %d: %w", id, ErrNotFound)
	}
	return pk, nil
}

// HasPreKey reports whether the one-time prekey id is still stored.
func (s *MemoryStore) HasPreKey(id uint32) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.preKeys[id]
	return ok
}

// RemovePreKey implements Store.
func (s *MemoryStore) RemovePreKey(_ context.Context, id uint32) error {
	s.mu.Lock()
	delete(s.preKeys, id)
	s.mu.Unlock()
	return nil
}

// LoadSignedPreKey implements Store.
func (s *MemoryStore) LoadSignedPreKey(_ context.Context, id uint32) (pqxdh.SignedPreKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pk, ok := s.signed[id]
	if !ok {
		return pqxdh.SignedPreKey{}, fmt.Errorf("signed prekey %d: %w", id, ErrNotFound)
	}
	return pk, nil
}

// LoadKEMPreKey implements Store.
func (s *MemoryStore) LoadKEMPreKey(_ context.Context, id uint32) (pqxdh.KEMPreKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pk, ok := s.kem[id]
	if !ok {
		return pqxdh.KEMPreKey{}, fmt.Errorf("kem prekey %d: %w", id, ErrNotFound)
	}
	return pk, nil
}

// HasKEMPreKey reports whether the KEM prekey id is still stored.
func (s *MemoryStore) HasKEMPreKey(id uint32) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.kem[id]
	return ok
}

// MarkKEMPreKeyUsed implements Store.
func (s *MemoryStore) MarkKEMPreKeyUsed(_ context.Context, id, signedPreKeyID uint32, baseKey keys.PublicKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	pk, ok := s.kem[id]
	if !ok {
		return fmt.Errorf("kem prekey %d: %w", id, ErrNotFound)
	}
	if !pk.LastResort {
		delete(s.kem, id)
		return nil
	}
	u := kemUse{kemID: id, signedID: signedPreKeyID}
	copy(u.baseKey[:], baseKey.Bytes())
	if s.kemUsed[u] {
		return ErrReusedBaseKey
	}
	s.kemUsed[u] = true
	return nil
}
