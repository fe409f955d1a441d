package ratchet

import (
	"crypto/subtle"
	"sync"

	"github.com/mutualcoop/mutual/crypto/keys"
)

// KeyCache keeps the current ratchet private keys of recently used states
// ready for X25519. A State parsed from storage holds its ratchet private
// key as bytes, and making a keys.PrivateKey from bytes costs a scalar
// multiplication (its public key is recomputed); with a cache, the DH
// ratchet step of a state that was stored and loaded again since its last
// step skips it. A key is found by its public key and used only if its bytes
// are the state's; a step replaces the old key with the new one, so the
// cache holds current keys only, at most its size. Safe for concurrent use.
type KeyCache struct {
	mu    sync.Mutex
	max   int
	keys  map[[keys.RawPublicKeySize]byte]keys.PrivateKey
	order [][keys.RawPublicKeySize]byte // oldest first
}

// NewKeyCache returns a cache of at most size keys.
func NewKeyCache(size int) *KeyCache {
	return &KeyCache{max: max(size, 1), keys: make(map[[keys.RawPublicKeySize]byte]keys.PrivateKey)}
}

func cacheKey(pub keys.PublicKey) [keys.RawPublicKeySize]byte {
	return [keys.RawPublicKeySize]byte(pub.Raw())
}

// get returns the cached key for pub if its bytes are raw.
func (c *KeyCache) get(pub keys.PublicKey, raw *[keys.PrivateKeySize]byte) (keys.PrivateKey, bool) {
	c.mu.Lock()
	k, ok := c.keys[cacheKey(pub)]
	c.mu.Unlock()
	if !ok {
		return keys.PrivateKey{}, false
	}
	b := k.Bytes()
	same := subtle.ConstantTimeCompare(b, raw[:]) == 1
	clear(b)
	return k, same
}

func (c *KeyCache) put(k keys.PrivateKey) {
	id := cacheKey(k.Public())
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.keys[id]; !ok {
		c.order = append(c.order, id)
	}
	c.keys[id] = k
	for len(c.order) > c.max {
		delete(c.keys, c.order[0])
		c.order = c.order[1:]
	}
}

func (c *KeyCache) remove(pub keys.PublicKey) {
	id := cacheKey(pub)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.keys[id]; !ok {
		return
	}
	delete(c.keys, id)
	for i := range c.order {
		if c.order[i] == id {
			c.order = append(c.order[:i], c.order[i+1:]...)
			break
		}
	}
}
