package smtpcatch_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
	"go.uber.org/goleak"

	"github.com/mutualcoop/mutual/internal/smtpcatch"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// mail sends one message with the go-smtp client.
func mail(t *testing.T, srv *smtpcatch.Server, to, body string) {
	t.Helper()
	conf := &tls.Config{RootCAs: srv.RootCAs(), ServerName: srv.Host()}
	var (
		c   *gosmtp.Client
		err error
	)
	switch srv.Mode() {
	case smtpcatch.ImplicitTLS:
		c, err = gosmtp.DialTLS(srv.Addr(), conf)
	case smtpcatch.STARTTLS:
		c, err = gosmtp.DialStartTLS(srv.Addr(), conf)
	default:
		c, err = gosmtp.Dial(srv.Addr())
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", srv.Username, srv.Password)); err != nil {
		t.Fatal(err)
	}
	msg := "From: a@example.org\r\nTo: " + to + "\r\nSubject: x\r\n\r\n" + body + "\r\n"
	if err := c.SendMail("a@example.org", []string{to}, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	c.Quit()
}

func TestWaitCode(t *testing.T) {
	for _, mode := range []smtpcatch.Mode{smtpcatch.STARTTLS, smtpcatch.ImplicitTLS, smtpcatch.Plaintext} {
		t.Run(mode.String(), func(t *testing.T) {
			srv := smtpcatch.Start(t, smtpcatch.Options{Mode: mode})
			ctx := t.Context()

			got := make(chan string, 1)
			go func() {
				code, err := srv.WaitCode(ctx, "email:Bob@Bücher.example")
				if err != nil {
					t.Error(err)
				}
				got <- code
			}()
			mail(t, srv, "carol@example.org", "Your code is 99999999.")
			mail(t, srv, "Bob@xn--bcher-kva.example", "Your code is 11111111. Valid for 10 minutes.")
			if code := <-got; code != "11111111" {
				t.Fatalf("first code %q", code)
			}
			// Two more arrive before the next wait: the newest wins.
			mail(t, srv, "Bob@xn--bcher-kva.example", "Your code is 222222.")
			mail(t, srv, "Bob@xn--bcher-kva.example", "Your code is 3333 3333 or 33333333.")
			if code, err := srv.WaitCode(ctx, "Bob@bücher.example"); err != nil || code != "33333333" {
				t.Fatalf("newest code %q, %v", code, err)
			}
			// Nothing new: the wait ends with its context.
			short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			defer cancel()
			if code, err := srv.WaitCode(short, "Bob@bücher.example"); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("WaitCode with nothing new = %q, %v", code, err)
			}
			// The local part is matched exactly.
			if code, err := srv.WaitCode(short, "bob@bücher.example"); err == nil {
				t.Fatalf("code %q for another local part", code)
			}
			if code, err := srv.WaitCode(ctx, "carol@EXAMPLE.org"); err != nil || code != "99999999" {
				t.Fatalf("carol's code %q, %v", code, err)
			}
			msgs := srv.Messages()
			if len(msgs) != 4 {
				t.Fatalf("%d messages, want 4", len(msgs))
			}
			for _, m := range msgs {
				if m.TLS != (mode != smtpcatch.Plaintext) || m.User != srv.Username || m.From != "a@example.org" {
					t.Fatalf("message %+v", m)
				}
			}
		})
	}
}

func TestWaitCodeNoCode(t *testing.T) {
	srv := smtpcatch.Start(t, smtpcatch.Options{})
	mail(t, srv, "x@example.org", "Hello, no digits here but 12345.")
	if _, err := srv.WaitCode(t.Context(), "x@example.org"); err == nil {
		t.Fatal("a code found in a message without one")
	}
}

func TestAuthRequired(t *testing.T) {
	for _, tc := range []struct {
		name, user, pass string
		mechs            []string
		mech             func(u, p string) sasl.Client
	}{
		{"plain wrong password", "mutual", "nope", nil, func(u, p string) sasl.Client { return sasl.NewPlainClient("", u, p) }},
		{"login wrong user", "eve", "", nil, func(u, p string) sasl.Client { return sasl.NewLoginClient(u, p) }},
		{"plain not offered", "mutual", "", []string{"LOGIN"}, func(u, p string) sasl.Client { return sasl.NewPlainClient("", u, p) }},
		{"plain other identity", "mutual", "", nil, func(u, p string) sasl.Client { return sasl.NewPlainClient("root", u, p) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := smtpcatch.Start(t, smtpcatch.Options{Mechanisms: tc.mechs})
			pass := tc.pass
			if pass == "" {
				pass = srv.Password
			}
			c, err := gosmtp.DialStartTLS(srv.Addr(), &tls.Config{RootCAs: srv.RootCAs()})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Auth(tc.mech(tc.user, pass)); err == nil {
				t.Fatal("authenticated with bad credentials")
			}
			err = c.SendMail("a@example.org", []string{"b@example.org"}, strings.NewReader("Subject: x\r\n\r\n12345678\r\n"))
			var se *gosmtp.SMTPError
			if !errors.As(err, &se) || se.Code != 502 {
				t.Fatalf("unauthenticated mail: %v, want 502", err)
			}
			if len(srv.Messages()) != 0 {
				t.Fatal("mail accepted without authentication")
			}
		})
	}
}

func TestAuthNeedsTLS(t *testing.T) {
	srv := smtpcatch.Start(t, smtpcatch.Options{})
	c, err := gosmtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", srv.Username, srv.Password)); err == nil {
		t.Fatal("authenticated without TLS")
	}
}

// TestLoginChallenges speaks LOGIN by hand without an initial response, as
// older clients do.
func TestLoginChallenges(t *testing.T) {
	srv := smtpcatch.Start(t, smtpcatch.Options{Mode: smtpcatch.Plaintext, Mechanisms: []string{"LOGIN"}})
	conn, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	tc := textproto.NewConn(conn)
	defer tc.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	expect := func(code int, want string) {
		t.Helper()
		_, msg, err := tc.ReadResponse(code)
		if err != nil {
			t.Fatal(err)
		}
		if want != "" && msg != want {
			t.Fatalf("reply %q, want %q", msg, want)
		}
	}
	b64 := base64.StdEncoding.EncodeToString
	expect(220, "")
	tc.PrintfLine("EHLO client.example")
	expect(250, "")
	tc.PrintfLine("AUTH LOGIN")
	expect(334, b64([]byte("Username:")))
	tc.PrintfLine("%s", b64([]byte(srv.Username)))
	expect(334, b64([]byte("Password:")))
	tc.PrintfLine("%s", b64([]byte(srv.Password)))
	expect(235, "")
	tc.PrintfLine("QUIT")
	expect(221, "")
}

func TestCloseReleasesStalledSessions(t *testing.T) {
	srv, err := smtpcatch.New(smtpcatch.Options{StallData: true})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for i := range 3 {
		wg.Go(func() {
			c, err := gosmtp.DialStartTLS(srv.Addr(), &tls.Config{RootCAs: srv.RootCAs()})
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			if err := c.Auth(sasl.NewPlainClient("", srv.Username, srv.Password)); err != nil {
				errs <- err
				return
			}
			errs <- c.SendMail("a@example.org", []string{fmt.Sprintf("u%d@example.org", i)}, strings.NewReader("Subject: x\r\n\r\n12345678\r\n"))
		})
	}
	if err := srv.WaitStalled(t.Context()); err != nil {
		t.Fatal(err)
	}
	// An idle connection that never says anything is closed too.
	idle, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err == nil {
			t.Fatal("a stalled mail was accepted")
		}
	}
	if err := srv.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := srv.WaitCode(t.Context(), "u0@example.org"); err == nil {
		t.Fatal("WaitCode on a closed server")
	}
	if _, err := net.Dial("tcp", srv.Addr()); err == nil {
		t.Fatal("closed server still accepts")
	}
}

func TestOptions(t *testing.T) {
	if _, err := smtpcatch.New(smtpcatch.Options{Mechanisms: []string{"CRAM-MD5"}}); err == nil {
		t.Fatal("unknown mechanism accepted")
	}
	if _, err := smtpcatch.New(smtpcatch.Options{Mode: 9}); err == nil {
		t.Fatal("unknown mode accepted")
	}
	srv := smtpcatch.Start(t, smtpcatch.Options{Username: "u", Password: "p"})
	if srv.Username != "u" || srv.Password != "p" || srv.Host() != "127.0.0.1" || srv.Port() == 0 ||
		srv.Addr() != fmt.Sprintf("127.0.0.1:%d", srv.Port()) || srv.RootCAs() == nil {
		t.Fatalf("server %+v", srv)
	}
	other := smtpcatch.Start(t, smtpcatch.Options{})
	if other.Password == "" || other.Password == srv.Password || other.Username != "mutual" {
		t.Fatal("default credentials")
	}
}

// TestCertificatePEM: the PEM certificate alone is enough to verify the
// server over STARTTLS, as a program given it in SSL_CERT_FILE does.
func TestCertificatePEM(t *testing.T) {
	srv := smtpcatch.Start(t, smtpcatch.Options{})
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(srv.CertificatePEM()) {
		t.Fatalf("no certificate in %q", srv.CertificatePEM())
	}
	c, err := gosmtp.DialStartTLS(srv.Addr(), &tls.Config{RootCAs: pool, ServerName: srv.Host()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", srv.Username, srv.Password)); err != nil {
		t.Fatalf("auth over the verified connection: %v", err)
	}
	// Another server's certificate does not verify this one.
	other := smtpcatch.Start(t, smtpcatch.Options{})
	wrong := x509.NewCertPool()
	wrong.AppendCertsFromPEM(other.CertificatePEM())
	c2, err := gosmtp.DialStartTLS(srv.Addr(), &tls.Config{RootCAs: wrong, ServerName: srv.Host()})
	if err == nil {
		defer c2.Close()
		err = c2.Noop() // the first command over TLS runs the handshake
	}
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("STARTTLS against another server's certificate: %v", err)
	}
}

// recorder is a TB that records what Start does with it.
type recorder struct {
	fatal    []any
	cleanups []func()
}

func (r *recorder) Helper()           {}
func (r *recorder) Fatal(args ...any) { r.fatal = append(r.fatal, args...) }
func (r *recorder) Cleanup(f func())  { r.cleanups = append(r.cleanups, f) }

// TestStartTB: Start fails through its TB, and closes the server in the
// cleanup it registers.
func TestStartTB(t *testing.T) {
	t.Run("bad options", func(t *testing.T) {
		var r recorder
		if srv := smtpcatch.Start(&r, smtpcatch.Options{Mechanisms: []string{"CRAM-MD5"}}); srv != nil || len(r.fatal) == 0 || len(r.cleanups) != 0 {
			t.Fatalf("server %v, fatal %v, %d cleanups", srv, r.fatal, len(r.cleanups))
		}
	})
	t.Run("cleanup closes", func(t *testing.T) {
		var r recorder
		srv := smtpcatch.Start(&r, smtpcatch.Options{})
		if srv == nil || len(r.fatal) != 0 || len(r.cleanups) != 1 {
			t.Fatalf("server %v, fatal %v, %d cleanups", srv, r.fatal, len(r.cleanups))
		}
		r.cleanups[0]()
		if _, err := net.Dial("tcp", srv.Addr()); err == nil {
			t.Fatal("the server still accepts connections after the cleanup")
		}
		if _, err := srv.WaitCode(context.Background(), "alice@example.org"); err == nil {
			t.Fatal("WaitCode on a closed server succeeded")
		}
	})
}
