package session

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/mutualcoop/mutual/crypto/keys"
	"github.com/mutualcoop/mutual/crypto/pqxdh"
	"github.com/mutualcoop/mutual/crypto/ratchet"
)

// Errors callers branch on (besides those of packages ratchet and pqxdh,
// which the Manager's errors wrap: ratchet.ErrDuplicate, ratchet.ErrAuth,
// pqxdh.ErrX3DHRefused, pqxdh.ErrSignature, ...).
var (
	// ErrNoSession: there is no session with the address; fetch its bundle
	// and call ProcessBundle.
	ErrNoSession = errors.New("session: no session with this device")
	// ErrUntrusted: the Store does not trust the remote identity key.
	ErrUntrusted = errors.New("session: untrusted identity key")
)

// Config configures a Manager. The zero value is what a client uses, and
// every value is valid: there is nothing to validate.
type Config struct {
	// Rand is the source of new keys; nil means crypto/rand.Reader.
	Rand io.Reader
	// AllowX3DH permits protocol version 3 (X3DH) sessions, to test
	// against libsignal. When false (the default), the Manager neither
	// starts version 3 sessions nor accepts version 3 messages of any kind.
	AllowX3DH bool
	// KeyCache keeps ratchet private keys ready between calls (see
	// ratchet.KeyCache); nil means one of the Manager's own. Managers of
	// one device over different Stores (one per store transaction, say)
	// share one so that a key cached by one is found by the next.
	KeyCache *ratchet.KeyCache
}

// Manager encrypts to and decrypts from remote devices, keeping one Record
// per device in its Store. Its methods are safe for concurrent use; they
// run one at a time.
type Manager struct {
	mu    sync.Mutex
	store Store
	cfg   Config
	keys  *ratchet.KeyCache
}

// keyCacheSize bounds the ratchet private keys a Manager keeps ready (one
// per state it has recently stepped).
const keyCacheSize = 256

// New returns a Manager over store.
func New(store Store, cfg Config) (*Manager, error) {
	if store == nil {
		return nil, errors.New("session: nil store")
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	kc := cfg.KeyCache
	if kc == nil {
		kc = ratchet.NewKeyCache(keyCacheSize)
	}
	return &Manager{store: store, cfg: cfg, keys: kc}, nil
}

func (m *Manager) pqxdhOptions() pqxdh.Options {
	return pqxdh.Options{Rand: m.cfg.Rand, AllowX3DH: m.cfg.AllowX3DH}
}

// ProcessBundle starts a new session with the device addr from its
// published bundle (PQXDH; X3DH only with Config.AllowX3DH) and makes it
// the current one. The bundle's signatures are verified first. The next
// messages to addr are PreKeySignalMessages until it answers.
func (m *Manager) ProcessBundle(ctx context.Context, addr Address, b *pqxdh.Bundle) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if b.DeviceID != addr.DeviceID {
		return fmt.Errorf("process bundle: bundle of device %d for device %d", b.DeviceID, addr.DeviceID)
	}
	trusted, err := m.store.IsTrustedIdentity(ctx, addr, b.IdentityKey, Sending)
	if err != nil {
		return fmt.Errorf("process bundle: %w", err)
	}
	if !trusted {
		return ErrUntrusted
	}
	local, err := m.store.LocalIdentity(ctx)
	if err != nil {
		return fmt.Errorf("process bundle: %w", err)
	}
	st, err := pqxdh.ProcessBundle(m.pqxdhOptions(), local, b)
	if err != nil {
		return fmt.Errorf("process bundle: %w", err)
	}
	rec, err := m.loadOrNew(ctx, addr)
	if err != nil {
		return err
	}
	if err := rec.promote(st); err != nil {
		return err
	}
	if err := m.store.SaveIdentity(ctx, addr, b.IdentityKey); err != nil {
		return fmt.Errorf("process bundle: %w", err)
	}
	if err := m.store.StoreSession(ctx, addr, rec); err != nil {
		return fmt.Errorf("process bundle: %w", err)
	}
	return nil
}

// HasSession reports whether there is a current session with addr.
func (m *Manager) HasSession(ctx context.Context, addr Address) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, err := m.store.LoadSession(ctx, addr)
	if err != nil {
		return false, fmt.Errorf("load session: %w", err)
	}
	return rec != nil && rec.HasCurrent(), nil
}

// Encrypt encrypts plaintext for the device addr with its current session
// and stores the advanced session before it returns the ciphertext, so
// that a crash can never make it use a message key twice.
func (m *Manager) Encrypt(ctx context.Context, addr Address, plaintext []byte) (ratchet.Ciphertext, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, err := m.store.LoadSession(ctx, addr)
	if err != nil {
		return ratchet.Ciphertext{}, fmt.Errorf("encrypt: %w", err)
	}
	if rec == nil || !rec.HasCurrent() {
		return ratchet.Ciphertext{}, ErrNoSession
	}
	st := rec.current
	if st.Version() == ratchet.Version3 && !m.cfg.AllowX3DH {
		return ratchet.Ciphertext{}, fmt.Errorf("encrypt: %w", pqxdh.ErrX3DHRefused)
	}
	trusted, err := m.store.IsTrustedIdentity(ctx, addr, st.RemoteIdentity(), Sending)
	if err != nil {
		return ratchet.Ciphertext{}, fmt.Errorf("encrypt: %w", err)
	}
	if !trusted {
		return ratchet.Ciphertext{}, ErrUntrusted
	}
	ct, err := st.Encrypt(plaintext)
	if err != nil {
		return ratchet.Ciphertext{}, fmt.Errorf("encrypt: %w", err)
	}
	if err := m.store.StoreSession(ctx, addr, rec); err != nil {
		return ratchet.Ciphertext{}, fmt.Errorf("encrypt: %w", err)
	}
	return ct, nil
}

// Decrypt authenticates and decrypts a message from the device addr. A
// PreKeySignalMessage sets up the session it carries (or finds it, if it
// was set up already) and uses its prekeys; a SignalMessage is tried with
// the current state, then the archived ones, and the one that decrypts it
// becomes current. The current state accepts what libsignal accepts; the
// archived states together derive at most ArchivedChainKeys chain keys and
// compute at most ArchivedNewChains DHs for one message, and are not tried
// with a message beyond what is left of that. Nothing is stored, and no
// prekey is used up, unless the message authenticates: a forged, replayed
// or truncated message leaves the store as it was.
func (m *Manager) Decrypt(ctx context.Context, addr Address, msg ratchet.Ciphertext) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch msg.Type {
	case ratchet.TypePreKey:
		return m.decryptPreKey(ctx, addr, msg.Body)
	case ratchet.TypeSignal:
		return m.decryptSignal(ctx, addr, msg.Body)
	}
	return nil, fmt.Errorf("decrypt: %w: message type %d", ratchet.ErrMalformed, msg.Type)
}

func (m *Manager) decryptSignal(ctx context.Context, addr Address, body []byte) ([]byte, error) {
	sm, err := ratchet.ParseSignalMessage(body)
	if err != nil {
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	if sm.Version() == ratchet.Version3 && !m.cfg.AllowX3DH {
		return nil, fmt.Errorf("decrypt: %w", pqxdh.ErrX3DHRefused)
	}
	rec, err := m.store.LoadSession(ctx, addr)
	if err != nil {
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	if rec == nil {
		return nil, ErrNoSession
	}
	var firstErr error
	var plaintext []byte
	decrypted := false
	if rec.current != nil {
		rec.current.UseKeyCache(m.keys)
		plaintext, err = rec.current.Decrypt(m.cfg.Rand, sm)
		switch {
		case err == nil:
			decrypted = true
		case errors.Is(err, ratchet.ErrDuplicate):
			return nil, fmt.Errorf("decrypt: %w", err)
		default:
			firstErr = err
		}
	}
	left := archivedBudget()
	for i := 0; !decrypted && i < len(rec.previous); i++ {
		st, perr := rec.archived(i)
		if perr != nil {
			continue
		}
		if !left.spend(st.DecryptCost(sm)) {
			if firstErr == nil {
				firstErr = errArchivedBudget
			}
			continue
		}
		st.UseKeyCache(m.keys)
		plaintext, err = st.Decrypt(m.cfg.Rand, sm)
		switch {
		case err == nil:
			if err := rec.promoteArchived(i, st); err != nil {
				return nil, err
			}
			decrypted = true
		case errors.Is(err, ratchet.ErrDuplicate):
			return nil, fmt.Errorf("decrypt: %w", err)
		case firstErr == nil:
			firstErr = err
		}
	}
	if !decrypted {
		if firstErr == nil {
			firstErr = ErrNoSession
		}
		return nil, fmt.Errorf("decrypt: %w", firstErr)
	}
	if err := m.checkAndSaveIdentity(ctx, addr, rec); err != nil {
		return nil, err
	}
	if err := m.store.StoreSession(ctx, addr, rec); err != nil {
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	return plaintext, nil
}

func (m *Manager) checkAndSaveIdentity(ctx context.Context, addr Address, rec *Record) error {
	remote, err := m.trustedIdentity(ctx, addr, rec)
	if err != nil {
		return err
	}
	if err := m.store.SaveIdentity(ctx, addr, remote); err != nil {
		return fmt.Errorf("decrypt: %w", err)
	}
	return nil
}

// trustedIdentity returns the remote identity of rec's current state if
// the Store trusts it for receiving from addr.
func (m *Manager) trustedIdentity(ctx context.Context, addr Address, rec *Record) (keys.PublicKey, error) {
	remote := rec.current.RemoteIdentity()
	trusted, err := m.store.IsTrustedIdentity(ctx, addr, remote, Receiving)
	if err != nil {
		return keys.PublicKey{}, fmt.Errorf("decrypt: %w", err)
	}
	if !trusted {
		return keys.PublicKey{}, ErrUntrusted
	}
	return remote, nil
}

func (m *Manager) decryptPreKey(ctx context.Context, addr Address, body []byte) ([]byte, error) {
	pm, err := ratchet.ParsePreKeySignalMessage(body)
	if err != nil {
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	if pm.Version() == ratchet.Version3 && !m.cfg.AllowX3DH {
		return nil, fmt.Errorf("decrypt: %w", pqxdh.ErrX3DHRefused)
	}
	trusted, err := m.store.IsTrustedIdentity(ctx, addr, pm.IdentityKey(), Receiving)
	if err != nil {
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	if !trusted {
		return nil, ErrUntrusted
	}
	rec, err := m.loadOrNew(ctx, addr)
	if err != nil {
		return nil, err
	}
	found, err := rec.promoteMatching(pm.Version(), pm.BaseKey())
	if err != nil {
		return nil, err
	}
	if !found {
		st, err := m.acceptPreKey(ctx, pm)
		if err != nil {
			return nil, err
		}
		if err := rec.promote(st); err != nil {
			return nil, err
		}
	}
	// A prekey message sets up its session and is decrypted by it alone.
	rec.current.UseKeyCache(m.keys)
	plaintext, err := rec.current.Decrypt(m.cfg.Rand, pm.Message())
	if err != nil {
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	remote, err := m.trustedIdentity(ctx, addr, rec)
	if err != nil {
		return nil, err
	}
	// A replayed session setup on a last-resort KEM prekey is refused
	// here: before anything, the sender's identity included, is saved.
	if !found && pm.Version() >= ratchet.Version4 {
		if err := m.store.MarkKEMPreKeyUsed(ctx, pm.KEMPreKeyID(), pm.SignedPreKeyID(), pm.BaseKey()); err != nil {
			return nil, fmt.Errorf("decrypt: %w", err)
		}
	}
	if err := m.store.SaveIdentity(ctx, addr, remote); err != nil {
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	if !found {
		if id, ok := pm.PreKeyID(); ok {
			if err := m.store.RemovePreKey(ctx, id); err != nil {
				return nil, fmt.Errorf("decrypt: %w", err)
			}
		}
	}
	if err := m.store.StoreSession(ctx, addr, rec); err != nil {
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	return plaintext, nil
}

// acceptPreKey looks up the prekeys a prekey message names and runs the
// responder's key agreement.
func (m *Manager) acceptPreKey(ctx context.Context, pm *ratchet.PreKeySignalMessage) (*ratchet.State, error) {
	local, err := m.store.LocalIdentity(ctx)
	if err != nil {
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	signed, err := m.store.LoadSignedPreKey(ctx, pm.SignedPreKeyID())
	if err != nil {
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	k := pqxdh.ResponderKeys{SignedPreKey: signed.Key}
	if id, ok := pm.PreKeyID(); ok {
		pk, err := m.store.LoadPreKey(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("decrypt: %w", err)
		}
		k.PreKey = pk.Key
	}
	if pm.Version() >= ratchet.Version4 {
		kp, err := m.store.LoadKEMPreKey(ctx, pm.KEMPreKeyID())
		if err != nil {
			return nil, fmt.Errorf("decrypt: %w", err)
		}
		k.KEMPreKey = kp.Key
	}
	st, err := pqxdh.ProcessPreKeyMessage(m.pqxdhOptions(), local, pm, k)
	if err != nil {
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	return st, nil
}

func (m *Manager) loadOrNew(ctx context.Context, addr Address) (*Record, error) {
	rec, err := m.store.LoadSession(ctx, addr)
	if err != nil {
		return nil, fmt.Errorf("load session: %w", err)
	}
	if rec == nil {
		rec = NewRecord()
	}
	return rec, nil
}
