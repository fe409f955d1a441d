package push

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"time"
)

// Key is the relay's VAPID key pair (RFC 8292): push services see its
// public key in every request, and browsers bind each subscription to it
// (applicationServerKey), so that only this relay can push to them. Its
// private half never leaves the key file and this value.
type Key struct {
	priv *ecdsa.PrivateKey
	pub  []byte // uncompressed P-256 point, 65 bytes
}

// GenerateKey makes a new key pair.
func GenerateKey() (*Key, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("push: generate key: %w", err)
	}
	return newKey(priv)
}

func newKey(priv *ecdsa.PrivateKey) (*Key, error) {
	pub, err := priv.PublicKey.ECDH()
	if err != nil {
		return nil, fmt.Errorf("push: key: %w", err)
	}
	return &Key{priv: priv, pub: pub.Bytes()}, nil
}

// PublicKey is the key's public half as browsers take it: the 65-byte
// uncompressed point (Welcome.push_key, PushManager.subscribe's
// applicationServerKey).
func (k *Key) PublicKey() []byte { return k.pub }

// MarshalPEM encodes the private key as a PKCS#8 PEM block.
func (k *Key) MarshalPEM() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k.priv)
	if err != nil {
		return nil, fmt.Errorf("push: encode key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParseKey decodes a PKCS#8 PEM block holding a P-256 private key.
func ParseKey(b []byte) (*Key, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("push: key: no PKCS#8 PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("push: key: %w", err)
	}
	priv, ok := k.(*ecdsa.PrivateKey)
	if !ok || priv.Curve != elliptic.P256() {
		return nil, errors.New("push: key: not a P-256 key")
	}
	return newKey(priv)
}

// LoadKey reads the key pair from path, first creating the file with a
// new key pair, in mode 0600, if it does not exist. Every process of a
// relay that pushes must use the same key: browsers' subscriptions are
// bound to it, and a new key means every device subscribes again.
func LoadKey(path string) (*Key, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case errors.Is(err, os.ErrExist):
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("push: read key: %w", err)
		}
		return ParseKey(b)
	case err != nil:
		return nil, fmt.Errorf("push: create key: %w", err)
	}
	k, err := GenerateKey()
	var b []byte
	if err == nil {
		b, err = k.MarshalPEM()
	}
	if err == nil {
		_, err = f.Write(b)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("push: write key: %w", err)
	}
	return k, nil
}

// b64 is the base64url encoding without padding that JWTs and VAPID use.
var b64 = base64.RawURLEncoding

// Authorization is the value of the Authorization header of a push to
// audience (an endpoint's origin, "https://host[:port]"): "vapid t=<JWT>,
// k=<public key>", the JWT an ES256 signature over {aud, exp, sub}.
func (k *Key) Authorization(audience, subject string, expires time.Time) (string, error) {
	claims, err := json.Marshal(struct {
		Aud string `json:"aud"`
		Exp int64  `json:"exp"`
		Sub string `json:"sub"`
	}{audience, expires.Unix(), subject})
	if err != nil {
		return "", err
	}
	signed := b64.EncodeToString([]byte(`{"typ":"JWT","alg":"ES256"}`)) + "." + b64.EncodeToString(claims)
	h := sha256.Sum256([]byte(signed))
	r, s, err := ecdsa.Sign(rand.Reader, k.priv, h[:])
	if err != nil {
		return "", fmt.Errorf("push: sign: %w", err)
	}
	sig := make([]byte, 64) // JWS: r and s, 32 bytes each
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return "vapid t=" + signed + "." + b64.EncodeToString(sig) + ", k=" + b64.EncodeToString(k.pub), nil
}
