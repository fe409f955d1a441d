package limit

import (
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Hashed is a Store that keeps each key in another store under a keyed
// hash of whose it is, so that a store outside the process (the
// directory's table) holds no client network and no user ID in clear: a
// key "<what>/<scope>/<id>" is kept as "<what>/<scope>/" and the first 16
// bytes of HMAC-SHA256(id), in hex, under a subkey derived from secret.
// Keys of another form are hashed whole.
type Hashed struct {
	store Store
	key   []byte
}

// NewHashed returns a Hashed keeping its buckets in store, keyed by a
// subkey of secret (the server secret, never stored with the buckets).
func NewHashed(store Store, secret []byte) (*Hashed, error) {
	k, err := hkdf.Key(sha256.New, secret, nil, "mutual rate-limit key hash v1", sha256.Size)
	if err != nil {
		return nil, fmt.Errorf("derive rate-limit key: %w", err)
	}
	return &Hashed{store: store, key: k}, nil
}

// Take implements Store.
func (h *Hashed) Take(ctx context.Context, key string, r Rate, n int64, now time.Time) (bool, time.Duration, error) {
	return h.store.Take(ctx, h.name(key), r, n, now)
}

func (h *Hashed) name(key string) string {
	prefix, id := "", key
	if what, rest, ok := strings.Cut(key, "/"); ok {
		if scope, rest, ok := strings.Cut(rest, "/"); ok {
			prefix, id = what+"/"+scope+"/", rest
		}
	}
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte(id))
	return prefix + hex.EncodeToString(m.Sum(nil)[:16])
}
