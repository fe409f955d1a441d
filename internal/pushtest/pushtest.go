// Package pushtest is a Web Push service stand-in for tests: an HTTPS
// server on 127.0.0.1 (httptest's certificate, which the relay under test
// trusts through RootCAs) that takes pushes as Firefox's, Google's or
// Apple's push service would, and checks them as strictly as a browser
// would read them:
//
//   - the VAPID token (RFC 8292): "vapid t=<JWT>, k=<key>", the JWT
//     ES256-signed by k, its aud the origin this server serves, its exp in
//     the future and at most 24 hours away, its sub a mailto: or https:
//     URL;
//   - the body (RFC 8291 with RFC 8188's aes128gcm), decrypted with the
//     subscriber's private key by this package's own code (Decrypt), the
//     receiving side, written apart from the relay's sender.
//
// A push that passes is answered 201 and recorded (Pushes, Wait); one that
// does not is answered 400 or 401 and recorded with its error. An
// endpoint a test marks gone (Gone) is answered 404 or 410.
package pushtest

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Push is one request the stand-in took, or refused (Err).
type Push struct {
	Endpoint  string
	Plaintext []byte // the decrypted payload, without its padding
	BodySize  int    // bytes of the encrypted body
	TTL       string
	Urgency   string
	Topic     string
	Subject   string // the JWT's sub
	Key       []byte // the VAPID public key (k)
	Err       error  // why it was refused; nil when answered 201
}

// Subscriber is a browser's side of one subscription: the endpoint and
// keys it would hand to the relay, and its private key.
type Subscriber struct {
	Endpoint string
	P256dh   []byte // 65 bytes, uncompressed
	Auth     []byte // 16 bytes
	Private  *ecdh.PrivateKey
}

// Server is the stand-in. Its methods are safe for concurrent use.
type Server struct {
	srv    *httptest.Server
	origin string
	now    func() time.Time

	mu     sync.Mutex
	subs   map[string]*Subscriber // by path
	gone   map[string]int         // path -> status
	pushes []Push
	added  chan struct{} // closed and replaced when a push is recorded
}

// New starts a stand-in, closed when the test ends.
func New(t testing.TB) *Server {
	s := &Server{subs: make(map[string]*Subscriber), gone: make(map[string]int), added: make(chan struct{}), now: time.Now}
	s.srv = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	s.origin = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// Host is the stand-in's "127.0.0.1:port", for the relay's allowed list.
func (s *Server) Host() string { return strings.TrimPrefix(s.origin, "https://") }

// Origin is "https://127.0.0.1:port", the aud pushes must name.
func (s *Server) Origin() string { return s.origin }

// RootCAs trusts the stand-in's certificate.
func (s *Server) RootCAs() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(s.srv.Certificate())
	return pool
}

// CertificatePEM is the stand-in's certificate in PEM, for clients that
// read their trusted certificates from a file (NODE_EXTRA_CA_CERTS).
func (s *Server) CertificatePEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
}

// Subscribe makes a new subscription, as a browser's PushManager would.
func (s *Server) Subscribe(t testing.TB) *Subscriber {
	t.Helper()
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 16)
	rand.Read(id)
	auth := make([]byte, 16)
	rand.Read(auth)
	path := "/push/" + hex.EncodeToString(id)
	sub := &Subscriber{Endpoint: s.origin + path, P256dh: priv.PublicKey().Bytes(), Auth: auth, Private: priv}
	s.mu.Lock()
	s.subs[path] = sub
	s.mu.Unlock()
	return sub
}

// Gone makes the stand-in answer status (404 or 410) to pushes to
// endpoint from now on.
func (s *Server) Gone(endpoint string, status int) {
	u, err := url.Parse(endpoint)
	if err != nil {
		panic(err)
	}
	s.mu.Lock()
	s.gone[u.Path] = status
	s.mu.Unlock()
}

// Pushes returns what the stand-in has received so far.
func (s *Server) Pushes() []Push {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Push(nil), s.pushes...)
}

// Wait waits until the stand-in has received at least n requests and
// returns them all; it fails t after a minute.
func (s *Server) Wait(t testing.TB, n int) []Push {
	t.Helper()
	deadline := time.NewTimer(time.Minute)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		if len(s.pushes) >= n {
			out := append([]Push(nil), s.pushes...)
			s.mu.Unlock()
			return out
		}
		added := s.added
		s.mu.Unlock()
		select {
		case <-added:
		case <-deadline.C:
			t.Fatalf("pushtest: %d pushes after a minute, want %d", len(s.Pushes()), n)
		}
	}
}

func (s *Server) record(p Push) {
	s.mu.Lock()
	s.pushes = append(s.pushes, p)
	close(s.added)
	s.added = make(chan struct{})
	s.mu.Unlock()
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	sub := s.subs[r.URL.Path]
	status, gone := s.gone[r.URL.Path]
	s.mu.Unlock()
	p := Push{Endpoint: s.origin + r.URL.Path, TTL: r.Header.Get("TTL"), Urgency: r.Header.Get("Urgency"), Topic: r.Header.Get("Topic")}
	refuse := func(code int, err error) {
		p.Err = err
		s.record(p)
		http.Error(w, err.Error(), code)
	}
	switch {
	case r.Method != http.MethodPost:
		refuse(http.StatusMethodNotAllowed, fmt.Errorf("method %s", r.Method))
		return
	case sub == nil:
		refuse(http.StatusNotFound, errors.New("no such subscription"))
		return
	case gone:
		p.Err = fmt.Errorf("gone (%d)", status)
		s.record(p)
		w.WriteHeader(status)
		return
	}
	var err error
	if p.Subject, p.Key, err = CheckVAPID(r.Header.Get("Authorization"), s.origin, s.now()); err != nil {
		refuse(http.StatusUnauthorized, err)
		return
	}
	if ce := r.Header.Get("Content-Encoding"); ce != "aes128gcm" {
		refuse(http.StatusBadRequest, fmt.Errorf("Content-Encoding %q", ce))
		return
	}
	if p.TTL == "" {
		refuse(http.StatusBadRequest, errors.New("no TTL"))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 4097))
	if err != nil || len(body) > 4096 {
		refuse(http.StatusRequestEntityTooLarge, errors.New("body larger than 4096 bytes"))
		return
	}
	p.BodySize = len(body)
	if p.Plaintext, err = Decrypt(body, sub.Private, sub.Auth); err != nil {
		refuse(http.StatusBadRequest, err)
		return
	}
	s.record(p)
	w.Header().Set("Location", p.Endpoint)
	w.WriteHeader(http.StatusCreated)
}

// CheckVAPID checks an Authorization header as RFC 8292 says, for a push
// service at origin at now, and returns the JWT's sub and the key k.
func CheckVAPID(header, origin string, now time.Time) (subject string, key []byte, err error) {
	rest, ok := strings.CutPrefix(header, "vapid ")
	if !ok {
		return "", nil, errors.New("vapid: not a vapid Authorization")
	}
	var t, k string
	for _, part := range strings.Split(rest, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch name {
		case "t":
			t = value
		case "k":
			k = value
		}
	}
	b64 := base64.RawURLEncoding
	key, err = b64.DecodeString(k)
	if err != nil {
		return "", nil, errors.New("vapid: k is not base64url")
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), key)
	if err != nil {
		return "", nil, fmt.Errorf("vapid: k: %w", err)
	}
	parts := strings.Split(t, ".")
	if len(parts) != 3 {
		return "", nil, errors.New("vapid: t is not a JWT")
	}
	var head struct {
		Alg string `json:"alg"`
	}
	var claims struct {
		Aud string `json:"aud"`
		Exp int64  `json:"exp"`
		Sub string `json:"sub"`
	}
	for i, v := range []any{&head, &claims} {
		raw, err := b64.DecodeString(parts[i])
		if err != nil {
			return "", nil, errors.New("vapid: JWT part is not base64url")
		}
		if err := json.Unmarshal(raw, v); err != nil {
			return "", nil, fmt.Errorf("vapid: JWT part: %w", err)
		}
	}
	sig, err := b64.DecodeString(parts[2])
	switch {
	case head.Alg != "ES256":
		return "", nil, fmt.Errorf("vapid: alg %q", head.Alg)
	case err != nil || len(sig) != 64:
		return "", nil, errors.New("vapid: signature is not 64 bytes")
	case claims.Aud != origin:
		return "", nil, fmt.Errorf("vapid: aud %q, want %q", claims.Aud, origin)
	case claims.Exp <= now.Unix():
		return "", nil, errors.New("vapid: expired")
	case claims.Exp > now.Add(24*time.Hour).Unix():
		return "", nil, errors.New("vapid: exp more than 24 hours away")
	case !strings.HasPrefix(claims.Sub, "mailto:") && !strings.HasPrefix(claims.Sub, "https:"):
		return "", nil, fmt.Errorf("vapid: sub %q", claims.Sub)
	}
	h := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(pub, h[:], r, s) {
		return "", nil, errors.New("vapid: bad signature")
	}
	return claims.Sub, key, nil
}
