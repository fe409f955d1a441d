package push

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// The request's fixed parts.
const (
	// ttl is how long a push service keeps a push for a device that is
	// offline: two days.
	ttl = 2 * 24 * time.Hour
	// topic replaces an undelivered push with the next: a push service
	// keeps at most one per device.
	topic = "inbox"
	// tokenLife is the exp of the VAPID JWT (RFC 8292 allows 24 hours at
	// most); a token is signed again after tokenReuse.
	tokenLife  = 12 * time.Hour
	tokenReuse = time.Hour
	// maxBody is how much of a push service's answer is read.
	maxBody = 4 << 10
	// maxTokens bounds the cached tokens (one per push service origin).
	maxTokens = 256
)

// ErrGone is returned by Client.Send when the push service says the
// subscription no longer exists (404 or 410): delete it.
var ErrGone = errors.New("push: subscription gone")

// Subscription is where and how a device is pushed: its endpoint and the
// keys its browser gave (PushSubscription.getKey: p256dh and auth).
type Subscription struct {
	Endpoint string
	P256dh   []byte // 65 bytes
	Auth     []byte // 16 bytes
}

// Client sends single pushes. It is safe for concurrent use.
type Client struct {
	key     *Key
	subject string
	hosts   Hosts
	http    *http.Client
	now     func() time.Time

	mu     sync.Mutex
	tokens map[string]token // by audience
}

type token struct {
	header string
	made   time.Time
}

// ClientConfig configures a Client.
type ClientConfig struct {
	Key     *Key
	Subject string // mailto: or https: contact of the relay's operator
	Hosts   Hosts
	Timeout time.Duration // per request; default 10s
	// RootCAs are the certificates trusted for push services' TLS; nil:
	// the system's.
	RootCAs *x509.CertPool
	Now     func() time.Time
}

// NewClient returns a client.
func NewClient(cfg ClientConfig) (*Client, error) {
	if cfg.Key == nil {
		return nil, errors.New("push: no key")
	}
	if err := CheckSubject(cfg.Subject); err != nil {
		return nil, err
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	dialer := &net.Dialer{Timeout: cfg.Timeout, Control: cfg.Hosts.control}
	transport := &http.Transport{
		Proxy:               nil, // a proxy would connect where control cannot see
		DialContext:         dialer.DialContext,
		TLSClientConfig:     &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: cfg.Timeout,
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
	}
	return &Client{
		key: cfg.Key, subject: cfg.Subject, hosts: cfg.Hosts, now: cfg.Now,
		http: &http.Client{
			Transport: transport,
			Timeout:   cfg.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse // an endpoint never moves
			},
		},
		tokens: make(map[string]token),
	}, nil
}

// CheckSubject reports whether s can be VAPID's sub claim: a mailto: or
// https: URL, which push services use to reach the relay's operator.
func CheckSubject(s string) error {
	if len(s) > 8 && (s[:7] == "mailto:" || s[:8] == "https://") {
		return nil
	}
	return fmt.Errorf("push: subject %q: want mailto:someone@example.org or https://example.org", s)
}

// Send encrypts payload to s and posts it to s's push service. It
// returns nil once the service took it (201, or 200 and 202 that some
// send), ErrGone when the subscription no longer exists, and another
// error otherwise.
func (c *Client) Send(ctx context.Context, s Subscription, payload []byte) error {
	u, err := c.hosts.Check(s.Endpoint)
	if err != nil {
		return err
	}
	body, err := Encrypt(payload, s.P256dh, s.Auth)
	if err != nil {
		return err
	}
	auth, err := c.authorization(u.Scheme + "://" + u.Host)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("push: request: %w", err)
	}
	req.Header.Set("Authorization", auth)
	req.Header.Set("Content-Encoding", "aes128gcm")
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("TTL", strconv.Itoa(int(ttl.Seconds())))
	req.Header.Set("Urgency", "high")
	req.Header.Set("Topic", topic)
	resp, err := c.http.Do(req)
	if err != nil {
		// Without the URL, which names the device at its push service.
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("push: post: %w", err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusCreated, http.StatusOK, http.StatusAccepted:
		return nil
	case http.StatusNotFound, http.StatusGone:
		return ErrGone
	}
	return fmt.Errorf("push: push service answered %d", resp.StatusCode)
}

// authorization returns the header for audience, signing a token when the
// cached one is older than tokenReuse.
func (c *Client) authorization(audience string) (string, error) {
	now := c.now()
	c.mu.Lock()
	t, ok := c.tokens[audience]
	c.mu.Unlock()
	if ok && now.Sub(t.made) < tokenReuse && !now.Before(t.made) {
		return t.header, nil
	}
	h, err := c.key.Authorization(audience, c.subject, now.Add(tokenLife))
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	if len(c.tokens) >= maxTokens {
		clear(c.tokens)
	}
	c.tokens[audience] = token{header: h, made: now}
	c.mu.Unlock()
	return h, nil
}
