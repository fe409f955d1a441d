package smtp_test

import (
	"context"
	"errors"
	"net"
	"net/mail"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mutualcoop/mutual/internal/smtpcatch"
	"github.com/mutualcoop/mutual/relay/auth"
	"github.com/mutualcoop/mutual/relay/auth/smtp"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// config returns a Sender configuration for srv.
func config(srv *smtpcatch.Server) smtp.Config {
	mode := smtp.StartTLS
	switch srv.Mode() {
	case smtpcatch.ImplicitTLS:
		mode = smtp.ImplicitTLS
	case smtpcatch.Plaintext:
		mode = smtp.NoTLS
	}
	return smtp.Config{
		Host:     srv.Host(),
		Port:     srv.Port(),
		TLS:      mode,
		RootCAs:  srv.RootCAs(),
		Username: srv.Username,
		Password: srv.Password,
		From:     "codes@mutual.example",
		// Short, so that a hung server fails the test quickly.
		CommandTimeout: 5 * time.Second,
	}
}

func addr(t testing.TB, s string) auth.Address {
	t.Helper()
	a, err := auth.ParseAddress(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func send(t *testing.T, cfg smtp.Config, to string, code string) error {
	t.Helper()
	s, err := smtp.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s.Send(t.Context(), addr(t, to), auth.Message{Code: code, TTL: 10 * time.Minute})
}

func TestSend(t *testing.T) {
	tests := []struct {
		name       string
		mode       smtpcatch.Mode
		serverMech []string
		clientMech string
	}{
		{"starttls plain", smtpcatch.STARTTLS, nil, "PLAIN"},
		{"starttls login", smtpcatch.STARTTLS, nil, "LOGIN"},
		{"starttls auto picks plain", smtpcatch.STARTTLS, nil, ""},
		{"starttls auto falls back to login", smtpcatch.STARTTLS, []string{"LOGIN"}, ""},
		{"implicit plain", smtpcatch.ImplicitTLS, nil, "PLAIN"},
		{"implicit login", smtpcatch.ImplicitTLS, []string{"LOGIN"}, "LOGIN"},
		{"loopback plaintext", smtpcatch.Plaintext, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtpcatch.Start(t, smtpcatch.Options{Mode: tt.mode, Mechanisms: tt.serverMech})
			cfg := config(srv)
			cfg.Mechanism = tt.clientMech
			if err := send(t, cfg, "Alice@Bücher.example", "01234567"); err != nil {
				t.Fatalf("Send: %v", err)
			}
			code, err := srv.WaitCode(t.Context(), "email:Alice@bücher.example")
			if err != nil || code != "01234567" {
				t.Fatalf("WaitCode = %q, %v", code, err)
			}
			msgs := srv.Messages()
			if len(msgs) != 1 {
				t.Fatalf("%d messages, want 1", len(msgs))
			}
			m := msgs[0]
			if m.TLS != (tt.mode != smtpcatch.Plaintext) || m.User != srv.Username {
				t.Fatalf("received with TLS %v by %q", m.TLS, m.User)
			}
			if m.From != "codes@mutual.example" || len(m.To) != 1 || m.To[0] != "Alice@xn--bcher-kva.example" {
				t.Fatalf("envelope from %q to %q", m.From, m.To)
			}
			checkMessage(t, m)
		})
	}
}

// checkMessage checks the headers and body of a code mail.
func checkMessage(t *testing.T, m smtpcatch.Message) {
	t.Helper()
	pm, err := m.Parse()
	if err != nil {
		t.Fatal(err)
	}
	h := pm.Header
	want := map[string]string{
		"From":                      `"Mutual" <codes@mutual.example>`,
		"To":                        "<Alice@xn--bcher-kva.example>",
		"Subject":                   "Your Mutual code",
		"Mime-Version":              "1.0",
		"Content-Type":              "text/plain; charset=utf-8",
		"Content-Transfer-Encoding": "7bit",
		"Auto-Submitted":            "auto-generated",
	}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	if d, err := h.Date(); err != nil || time.Since(d) > time.Hour || time.Until(d) > time.Hour {
		t.Errorf("Date %q: %v", h.Get("Date"), err)
	}
	if id := h.Get("Message-Id"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@mutual.example>") || len(id) < 20 {
		t.Errorf("Message-ID %q", id)
	}
	if !strings.Contains(string(m.Data), "\r\n\r\n") || strings.Contains(strings.ReplaceAll(string(m.Data), "\r\n", ""), "\n") {
		t.Error("message lines do not end in CRLF")
	}
	text, err := m.Text()
	if err != nil {
		t.Fatal(err)
	}
	want1 := "Your Mutual code is 01234567.\r\n\r\nIt expires in 10 minutes. If you did not ask for it, ignore this mail.\r\n"
	if text != want1 {
		t.Errorf("body %q, want %q", text, want1)
	}
}

func TestFromNameEncoded(t *testing.T) {
	srv := smtpcatch.Start(t, smtpcatch.Options{})
	cfg := config(srv)
	cfg.FromName = "Mutual Coöp, \"Codes\""
	if err := send(t, cfg, "bob@example.org", "12345678"); err != nil {
		t.Fatal(err)
	}
	pm, err := srv.Messages()[0].Parse()
	if err != nil {
		t.Fatal(err)
	}
	from, err := pm.Header.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != cfg.FromName || from[0].Address != "codes@mutual.example" {
		t.Fatalf("From %q parses to %v, %v", pm.Header.Get("From"), from, err)
	}
}

func TestSendFailures(t *testing.T) {
	tests := []struct {
		name string
		opts smtpcatch.Options
		mod  func(*smtp.Config)
	}{
		{"wrong password", smtpcatch.Options{}, func(c *smtp.Config) { c.Password = "wrong-password" }},
		{"wrong password login", smtpcatch.Options{Mechanisms: []string{"LOGIN"}}, func(c *smtp.Config) { c.Password = "wrong-password" }},
		{"wrong user implicit", smtpcatch.Options{Mode: smtpcatch.ImplicitTLS}, func(c *smtp.Config) { c.Username = "mallory" }},
		{"no auth", smtpcatch.Options{}, func(c *smtp.Config) { c.Username, c.Password = "", "" }},
		{"mechanism not offered", smtpcatch.Options{Mechanisms: []string{"LOGIN"}}, func(c *smtp.Config) { c.Mechanism = "PLAIN" }},
		{"untrusted certificate", smtpcatch.Options{}, func(c *smtp.Config) { c.RootCAs = nil }},
		{"untrusted certificate implicit", smtpcatch.Options{Mode: smtpcatch.ImplicitTLS}, func(c *smtp.Config) { c.RootCAs = nil }},
		{"no STARTTLS offered", smtpcatch.Options{Mode: smtpcatch.Plaintext}, func(c *smtp.Config) { c.TLS = smtp.StartTLS }},
		{"TLS to a STARTTLS port", smtpcatch.Options{}, func(c *smtp.Config) { c.TLS = smtp.ImplicitTLS }},
		{"recipient rejected", smtpcatch.Options{Reject: func(string) bool { return true }}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtpcatch.Start(t, tt.opts)
			cfg := config(srv)
			if tt.mod != nil {
				tt.mod(&cfg)
			}
			err := send(t, cfg, "alice.private@secret.example", "87654321")
			t.Logf("error: %v", err)
			if !errors.Is(err, auth.ErrDelivery) {
				t.Fatalf("Send: %v, want ErrDelivery", err)
			}
			for _, s := range []string{"alice", "secret.example", "87654321", srv.Password, "wrong-password"} {
				if strings.Contains(err.Error(), s) {
					t.Fatalf("error %q contains %q", err, s)
				}
			}
			if n := len(srv.Messages()); n != 0 {
				t.Fatalf("%d messages delivered", n)
			}
		})
	}
}

func TestSendPlaintextNeverAuthenticatesInClear(t *testing.T) {
	// A server without STARTTLS, and a client that wants it: the client
	// must give up before AUTH, so the password never crosses in clear.
	srv := smtpcatch.Start(t, smtpcatch.Options{Mode: smtpcatch.Plaintext})
	cfg := config(srv)
	cfg.TLS = smtp.StartTLS
	err := send(t, cfg, "alice@example.org", "12345678")
	if !errors.Is(err, auth.ErrDelivery) || !strings.Contains(err.Error(), "starttls") {
		t.Fatalf("Send: %v, want a STARTTLS failure", err)
	}
}

func TestSendStalledServer(t *testing.T) {
	t.Run("no greeting", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		accepted := make(chan net.Conn, 1)
		go func() {
			c, err := ln.Accept()
			if err == nil {
				accepted <- c // hold it open, say nothing
			}
			close(accepted)
		}()
		t.Cleanup(func() {
			ln.Close()
			for c := range accepted {
				c.Close()
			}
		})
		a := ln.Addr().(*net.TCPAddr)
		cfg := smtp.Config{Host: "127.0.0.1", Port: a.Port, From: "codes@mutual.example", CommandTimeout: 200 * time.Millisecond}
		err = send(t, cfg, "alice@example.org", "12345678")
		t.Logf("error: %v", err)
		if !errors.Is(err, auth.ErrDelivery) || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Send: %v, want ErrDelivery after a deadline", err)
		}
	})
	t.Run("no reply to data", func(t *testing.T) {
		srv := smtpcatch.Start(t, smtpcatch.Options{StallData: true})
		cfg := config(srv)
		cfg.CommandTimeout = 300 * time.Millisecond
		err := send(t, cfg, "alice@example.org", "12345678")
		t.Logf("error: %v", err)
		if !errors.Is(err, auth.ErrDelivery) || !errors.Is(err, os.ErrDeadlineExceeded) || !strings.Contains(err.Error(), "end of data") {
			t.Fatalf("Send: %v, want ErrDelivery at the end of data after a deadline", err)
		}
	})
	t.Run("context deadline", func(t *testing.T) {
		srv := smtpcatch.Start(t, smtpcatch.Options{StallData: true})
		s, err := smtp.New(config(srv)) // command timeout 5 s
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		err = s.Send(ctx, addr(t, "alice@example.org"), auth.Message{Code: "12345678", TTL: time.Minute})
		t.Logf("error: %v", err)
		if !errors.Is(err, auth.ErrDelivery) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Send: %v, want ErrDelivery after the context's deadline", err)
		}
	})
	t.Run("context cancelled", func(t *testing.T) {
		srv := smtpcatch.Start(t, smtpcatch.Options{StallData: true})
		s, err := smtp.New(config(srv))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			done <- s.Send(ctx, addr(t, "alice@example.org"), auth.Message{Code: "12345678", TTL: time.Minute})
		}()
		if err := srv.WaitStalled(t.Context()); err != nil {
			t.Fatal(err)
		}
		cancel()
		err = <-done
		t.Logf("error: %v", err)
		if !errors.Is(err, auth.ErrDelivery) || !errors.Is(err, context.Canceled) {
			t.Fatalf("Send: %v, want ErrDelivery after cancellation", err)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	base := smtp.Config{Host: "mail.example.org", From: "codes@mutual.example"}
	tests := []struct {
		name string
		mod  func(*smtp.Config)
		ok   bool
	}{
		{"defaults", func(*smtp.Config) {}, true},
		{"no host", func(c *smtp.Config) { c.Host = "" }, false},
		{"bad port", func(c *smtp.Config) { c.Port = 70000 }, false},
		{"no TLS remote", func(c *smtp.Config) { c.TLS = smtp.NoTLS }, false},
		{"no TLS loopback", func(c *smtp.Config) { c.TLS = smtp.NoTLS; c.Host = "127.0.0.1" }, true},
		{"no TLS localhost", func(c *smtp.Config) { c.TLS = smtp.NoTLS; c.Host = "localhost" }, true},
		{"no TLS all interfaces", func(c *smtp.Config) { c.TLS = smtp.NoTLS; c.Host = "0.0.0.0" }, false},
		{"bad mode", func(c *smtp.Config) { c.TLS = 7 }, false},
		{"bad mechanism", func(c *smtp.Config) { c.Mechanism = "CRAM-MD5" }, false},
		{"password without user", func(c *smtp.Config) { c.Password = "x" }, false},
		{"no from", func(c *smtp.Config) { c.From = "" }, false},
		{"from with name", func(c *smtp.Config) { c.From = "Mutual <codes@mutual.example>" }, false},
		{"from not an address", func(c *smtp.Config) { c.From = "codes" }, false},
		{"from name with CRLF", func(c *smtp.Config) { c.FromName = "Mutual\r\nBcc: eve@example.org" }, false},
		{"helo with space", func(c *smtp.Config) { c.HeloName = "a b" }, false},
		{"host with CRLF", func(c *smtp.Config) { c.Host = "mail\r\n.example.org" }, false},
		{"negative timeout", func(c *smtp.Config) { c.CommandTimeout = -1 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			tt.mod(&c)
			err := c.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate = %v, want ok %v", err, tt.ok)
			}
			if _, err := smtp.New(c); (err == nil) != tt.ok {
				t.Fatalf("New = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

func TestParseTLSMode(t *testing.T) {
	for in, want := range map[string]smtp.TLSMode{"starttls": smtp.StartTLS, "": smtp.StartTLS, "TLS": smtp.ImplicitTLS, "implicit": smtp.ImplicitTLS, "none": smtp.NoTLS} {
		if got, err := smtp.ParseTLSMode(in); err != nil || got != want {
			t.Errorf("ParseTLSMode(%q) = %v, %v", in, got, err)
		}
		if got, _ := smtp.ParseTLSMode(want.String()); got != want {
			t.Errorf("%v does not round-trip", want)
		}
	}
	if _, err := smtp.ParseTLSMode("ssl3"); err == nil {
		t.Error("unknown mode accepted")
	}
}

func TestSendWrongScheme(t *testing.T) {
	s, err := smtp.New(smtp.Config{Host: "127.0.0.1", From: "codes@mutual.example"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(t.Context(), auth.Address{}, auth.Message{Code: "1"}); !errors.Is(err, auth.ErrDelivery) {
		t.Fatalf("Send to the zero address: %v", err)
	}
}

func TestHeaderParsesAsMail(t *testing.T) {
	// Guard: an address with every atext special still makes a To header
	// that parses back to the same mailbox.
	srv := smtpcatch.Start(t, smtpcatch.Options{})
	to := "!#$%&'*+-/=?^_`{|}~@example.org"
	if err := send(t, config(srv), to, "12345678"); err != nil {
		t.Fatal(err)
	}
	pm, err := srv.Messages()[0].Parse()
	if err != nil {
		t.Fatal(err)
	}
	got, err := mail.ParseAddress(pm.Header.Get("To"))
	if err != nil || got.Address != to {
		t.Fatalf("To %q parses to %v, %v", pm.Header.Get("To"), got, err)
	}
}

func BenchmarkSend(b *testing.B) {
	for _, mode := range []smtpcatch.Mode{smtpcatch.STARTTLS, smtpcatch.ImplicitTLS} {
		b.Run(mode.String(), func(b *testing.B) {
			srv := smtpcatch.Start(b, smtpcatch.Options{Mode: mode})
			s, err := smtp.New(config(srv))
			if err != nil {
				b.Fatal(err)
			}
			to := addr(b, "alice@example.org")
			for b.Loop() {
				if err := s.Send(b.Context(), to, auth.Message{Code: "12345678", TTL: 10 * time.Minute}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
