package auth_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/internal/smtpcatch"
	"github.com/mutualcoop/mutual/relay/auth"
	"github.com/mutualcoop/mutual/relay/auth/smtp"
)

func smtpSender(t *testing.T, srv *smtpcatch.Server, mod func(*smtp.Config)) *smtp.Sender {
	t.Helper()
	cfg := smtp.Config{
		Host:     srv.Host(),
		Port:     srv.Port(),
		RootCAs:  srv.RootCAs(),
		Username: srv.Username,
		Password: srv.Password,
		From:     "codes@mutual.example",
	}
	if srv.Mode() == smtpcatch.ImplicitTLS {
		cfg.TLS = smtp.ImplicitTLS
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := smtp.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestEndToEndSMTP(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts smtpcatch.Options
		mech string
	}{
		{"starttls plain", smtpcatch.Options{}, "PLAIN"},
		{"implicit tls login", smtpcatch.Options{Mode: smtpcatch.ImplicitTLS, Mechanisms: []string{"LOGIN"}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := smtpcatch.Start(t, tc.opts)
			st := newMemStore()
			svc, err := auth.New(auth.Config{Secret: testSecret}, st, auth.Senders{
				auth.SchemeEmail: smtpSender(t, srv, func(c *smtp.Config) { c.Mechanism = tc.mech }),
			})
			if err != nil {
				t.Fatal(err)
			}
			ctx := t.Context()
			if _, err := svc.Request(ctx, "Zoë.Example@Straße.example", "192.0.2.1"); !errors.Is(err, auth.ErrBadAddress) {
				t.Fatalf("non-ASCII local part: %v", err)
			}
			tok, err := svc.Request(ctx, "zoe@Straße.example", "192.0.2.1")
			if err != nil {
				t.Fatal(err)
			}
			code, err := srv.WaitCode(ctx, "email:zoe@straße.example")
			if err != nil {
				t.Fatal(err)
			}
			user, created, err := svc.Verify(ctx, "zoe@xn--strae-oqa.example", code, tok, "192.0.2.1")
			if err != nil || !created {
				t.Fatalf("Verify = %v, %v, %v", user, created, err)
			}
			if got, err := svc.Lookup(ctx, "email:zoe@STRASSE.example"); err == nil {
				t.Fatalf("ß and ss are different domains, but Lookup found %v", got)
			}
			if got, err := svc.Lookup(ctx, "email:zoe@straße.example"); err != nil || got != user {
				t.Fatalf("Lookup = %v, %v", got, err)
			}
		})
	}
}

func TestEndToEndSMTPWrongPassword(t *testing.T) {
	srv := smtpcatch.Start(t, smtpcatch.Options{})
	st := newMemStore()
	svc, err := auth.New(auth.Config{Secret: testSecret}, st, auth.Senders{
		auth.SchemeEmail: smtpSender(t, srv, func(c *smtp.Config) { c.Password = "not the password" }),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Request(t.Context(), "alice@example.org", "192.0.2.1"); !errors.Is(err, auth.ErrDelivery) {
		t.Fatalf("Request: %v, want ErrDelivery", err)
	}
	if st.codeCount() != 0 || len(srv.Messages()) != 0 {
		t.Fatal("a code was kept or delivered")
	}
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestNoSecretsInLogs runs every path, logging what the Service logs and
// every error it returns (as the gateway would), and then looks for the
// addresses, the codes and the SMTP password in the output.
func TestNoSecretsInLogs(t *testing.T) {
	var out syncBuffer
	log := slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := smtpcatch.Start(t, smtpcatch.Options{Reject: func(rcpt string) bool { return strings.HasPrefix(rcpt, "rejected") }})
	clk := newClock()
	st := newMemStore()
	svc, err := auth.New(auth.Config{Secret: testSecret, Now: clk.Now, Logger: log}, st, auth.Senders{
		auth.SchemeEmail: smtpSender(t, srv, nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	var codes []string
	var tokens [][]byte
	logErr := func(op string, err error) {
		if err != nil {
			log.Error("request failed", "op", op, "err", err)
		}
	}
	request := func(addr string) []byte {
		tok, err := svc.Request(ctx, addr, "192.0.2.1")
		logErr("request", err)
		tokens = append(tokens, tok)
		return tok
	}
	const alice = "Alice.Secretname@Hidden-Domain.example"
	const bob = "bob.othername@bücher-geheim.example"

	// Success, twice (account created, then found).
	for range 2 {
		tok := request(alice)
		code, err := srv.WaitCode(ctx, alice)
		if err != nil {
			t.Fatal(err)
		}
		codes = append(codes, code)
		_, _, err = svc.Verify(ctx, alice, code, tok, "192.0.2.1")
		logErr("verify", err)
		if err != nil {
			t.Fatal(err)
		}
		clk.Add(time.Minute)
	}
	// Wrong codes up to the limit, a wrong token, a rate limit, an
	// expired code.
	tok := request(bob)
	code, err := srv.WaitCode(ctx, bob)
	if err != nil {
		t.Fatal(err)
	}
	codes = append(codes, code)
	request(bob)
	_, _, err = svc.Verify(ctx, bob, code, make([]byte, auth.TokenLen), "192.0.2.1")
	logErr("verify", err)
	for i := range 6 {
		_, _, err := svc.Verify(ctx, bob, wrong(code, i), tok, "192.0.2.1")
		logErr("verify", err)
	}
	clk.Add(time.Minute)
	tok = request(bob)
	if code, err = srv.WaitCode(ctx, bob); err != nil {
		t.Fatal(err)
	}
	codes = append(codes, code)
	clk.Add(11 * time.Minute)
	_, _, err = svc.Verify(ctx, bob, code, tok, "192.0.2.1")
	logErr("verify", err)
	if !errors.Is(err, auth.ErrCodeExpired) {
		t.Fatalf("expired: %v", err)
	}
	// A delivery refused by a server that quotes the recipient.
	_, err = svc.Request(ctx, "rejected.person@refusing.example", "192.0.2.1")
	logErr("request", err)
	if !errors.Is(err, auth.ErrDelivery) {
		t.Fatalf("rejected: %v", err)
	}
	_, err = svc.Lookup(ctx, alice)
	logErr("lookup", err)
	_, err = svc.Lookup(ctx, "nobody.here@hidden-domain.example")
	logErr("lookup", err)
	request("tel:+447700900123")
	request("bad address@x")

	logs := out.String()
	for _, want := range []string{"code sent", "account created", "code delivery failed", "rate limited", "expired"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q: the test did not reach every path", want)
		}
	}
	secrets := []string{
		"Secretname", "secretname", "Hidden-Domain", "hidden-domain", "othername", "bücher", "geheim",
		"xn--bcher-geheim", "rejected.person", "refusing", "nobody.here", "447700900123", srv.Password,
	}
	secrets = append(secrets, codes...)
	for _, tok := range tokens {
		if tok != nil {
			secrets = append(secrets, hex.EncodeToString(tok), base64.StdEncoding.EncodeToString(tok))
		}
	}
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("logs contain %q:\n%s", s, logs)
		}
	}
}
