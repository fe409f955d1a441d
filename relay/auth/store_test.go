package auth_test

import (
	"context"
	"sync"
	"time"

	"github.com/mutualcoop/mutual/relay/auth"
	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/wire"
)

// memStore is the directory's code and account tables in memory, with the
// semantics the Store interface documents. Several Services may share one,
// as several relays share a database.
type memStore struct {
	mu       sync.Mutex
	accounts map[string]wire.UserID
	codes    map[string]directory.Code
	requests map[string][]time.Time
}

var _ auth.Store = (*memStore)(nil)

func newMemStore() *memStore {
	return &memStore{
		accounts: make(map[string]wire.UserID),
		codes:    make(map[string]directory.Code),
		requests: make(map[string][]time.Time),
	}
}

func (m *memStore) Account(_ context.Context, h []byte) (wire.UserID, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.accounts[string(h)]
	if !ok {
		return u, directory.ErrNotFound
	}
	return u, nil
}

func (m *memStore) CreateAccount(_ context.Context, h []byte, id wire.UserID) (wire.UserID, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if u, ok := m.accounts[string(h)]; ok {
		return u, false, nil
	}
	m.accounts[string(h)] = id
	return id, true, nil
}

func (m *memStore) MoveAccount(_ context.Context, from, h []byte) (wire.UserID, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if u, ok := m.accounts[string(h)]; ok {
		return u, nil
	}
	u, ok := m.accounts[string(from)]
	if !ok {
		return u, directory.ErrNotFound
	}
	delete(m.accounts, string(from))
	m.accounts[string(h)] = u
	return u, nil
}

// codeKey is where the code for an address hash and a token hash is kept.
func codeKey(h, token []byte) string { return string(h) + "/" + string(token) }

func (m *memStore) PutCode(_ context.Context, h []byte, c directory.Code) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c.Hash = append([]byte(nil), c.Hash...)
	c.Token = append([]byte(nil), c.Token...)
	m.codes[codeKey(h, c.Token)] = c
	return nil
}

func (m *memStore) GetCode(_ context.Context, h, token []byte) (directory.Code, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.codes[codeKey(h, token)]
	if !ok {
		return c, directory.ErrNotFound
	}
	return c, nil
}

func (m *memStore) FailCode(_ context.Context, h, token []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.codes[codeKey(h, token)]
	if !ok {
		return 0, directory.ErrNotFound
	}
	c.Attempts++
	m.codes[codeKey(h, token)] = c
	return c.Attempts, nil
}

func (m *memStore) DeleteCode(_ context.Context, h, token []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.codes[codeKey(h, token)]; !ok {
		return directory.ErrNotFound
	}
	delete(m.codes, codeKey(h, token))
	return nil
}

func (m *memStore) CountCodeRequest(_ context.Context, h []byte, now time.Time, window time.Duration) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, t := range m.requests[string(h)] {
		if t.After(now.Add(-window)) {
			n++
		}
	}
	m.requests[string(h)] = append(m.requests[string(h)], now)
	return n + 1, nil
}

func (m *memStore) codeCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.codes)
}

func (m *memStore) accountCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.accounts)
}
