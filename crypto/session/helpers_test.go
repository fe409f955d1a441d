package session

import (
	"context"
	"crypto/rand"
	"io"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/crypto/pqxdh"
	"github.com/mutualcoop/mutual/crypto/ratchet"
)

// peer is one device under test: its Manager, its store and what it
// publishes. The directory side is simulated by bundle().
type peer struct {
	t       testing.TB
	addr    Address
	store   *MemoryStore
	m       *Manager
	rand    io.Reader
	signed  pqxdh.SignedPreKey
	preKeys []pqxdh.PreKey    // published, not yet handed out
	kemKeys []pqxdh.KEMPreKey // one-time, published, not yet handed out
	lastKEM pqxdh.KEMPreKey   // last resort
	nextID  uint32
}

func newPeer(t testing.TB, name string, device uint32, r io.Reader, cfg Config) *peer {
	t.Helper()
	if r == nil {
		r = rand.Reader
	}
	id, err := pqxdh.GenerateIdentity(r)
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{t: t, addr: Address{Name: name, DeviceID: device}, store: NewMemoryStore(id), rand: r, nextID: 1}
	cfg.Rand = r
	if p.m, err = New(p.store, cfg); err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	if p.signed, err = pqxdh.GenerateSignedPreKey(r, id.Key, 1, now); err != nil {
		t.Fatal(err)
	}
	p.store.StoreSignedPreKey(p.signed)
	if p.lastKEM, err = pqxdh.GenerateKEMPreKey(r, id.Key, 1000, true, now); err != nil {
		t.Fatal(err)
	}
	p.store.StoreKEMPreKey(p.lastKEM)
	return p
}

// publish adds n one-time prekeys and n one-time KEM prekeys.
func (p *peer) publish(n int) {
	p.t.Helper()
	pks, err := pqxdh.GeneratePreKeys(p.rand, p.nextID, n)
	if err != nil {
		p.t.Fatal(err)
	}
	p.store.StorePreKey(pks...)
	p.preKeys = append(p.preKeys, pks...)
	for i := range n {
		k, err := pqxdh.GenerateKEMPreKey(p.rand, p.store.identity.Key, 2000+p.nextID+uint32(i), false, time.Unix(1_700_000_000, 0))
		if err != nil {
			p.t.Fatal(err)
		}
		p.store.StoreKEMPreKey(k)
		p.kemKeys = append(p.kemKeys, k)
	}
	p.nextID += uint32(n)
}

// bundle hands out a bundle as the directory would: one one-time prekey
// and one one-time KEM prekey while any are left, then the last-resort KEM
// prekey and no one-time prekey.
func (p *peer) bundle(withKEM bool) *pqxdh.Bundle {
	var pk *pqxdh.PreKey
	if len(p.preKeys) > 0 {
		pk = &p.preKeys[0]
		p.preKeys = p.preKeys[1:]
	}
	var kk *pqxdh.KEMPreKey
	if withKEM {
		kk = &p.lastKEM
		if len(p.kemKeys) > 0 {
			kk = &p.kemKeys[0]
			p.kemKeys = p.kemKeys[1:]
		}
	}
	return pqxdh.NewBundle(p.store.identity, p.addr.DeviceID, p.signed, pk, kk)
}

func (p *peer) connect(to *peer) {
	p.t.Helper()
	if err := p.m.ProcessBundle(context.Background(), to.addr, to.bundle(true)); err != nil {
		p.t.Fatal(err)
	}
}

func (p *peer) send(to *peer, msg string) ratchet.Ciphertext {
	p.t.Helper()
	ct, err := p.m.Encrypt(context.Background(), to.addr, []byte(msg))
	if err != nil {
		p.t.Fatal(err)
	}
	return ct
}

func (p *peer) recv(from *peer, ct ratchet.Ciphertext, want string) {
	p.t.Helper()
	pt, err := p.m.Decrypt(context.Background(), from.addr, ct)
	if err != nil {
		p.t.Fatalf("%s decrypting from %s: %v", p.addr.Name, from.addr.Name, err)
	}
	if string(pt) != want {
		p.t.Fatalf("%s got %q, want %q", p.addr.Name, pt, want)
	}
}
