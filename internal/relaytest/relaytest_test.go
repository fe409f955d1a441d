package relaytest_test

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/internal/relaytest"
	"github.com/mutualcoop/mutual/relay/server"
	"github.com/mutualcoop/mutual/relay/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// get returns the status and body of a GET.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// TestRegister signs two devices of one account in with the codes the
// relay mails, and authenticates the first again on a new connection.
func TestRegister(t *testing.T) {
	r := relaytest.Start(t, relaytest.Options{})
	ctx := ctxT(t)
	const alice = "email:alice@example.org"
	conn, v, err := r.Register(ctx, alice, "laptop")
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if !v.Created || len(v.Credential) == 0 {
		t.Fatalf("first device: %+v", v)
	}
	conn2, v2, err := r.Register(ctx, alice, "phone")
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close()
	if v2.Created || v2.User != v.User || v2.Device == v.Device {
		t.Fatalf("second device %+v of %+v", v2, v)
	}
	// The credential the relay gave works on a new connection.
	again, err := r.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if _, err := again.Auth(ctx, v.User, v.Device, v.Credential); err != nil {
		t.Fatalf("auth with the first device's credential: %v", err)
	}
	devs, err := transport.Call[*wire.Devices](ctx, again, &wire.ListDevices{})
	if err != nil || len(devs.Devices) != 2 {
		t.Fatalf("devices %+v, %v", devs, err)
	}

	// Both codes went by SMTP, over TLS, to Alice, from the default
	// sender.
	msgs := r.Mail().Messages()
	if len(msgs) != 2 {
		t.Fatalf("%d mails, want 2", len(msgs))
	}
	for _, m := range msgs {
		if !m.TLS || m.From != relaytest.From || !slices.Equal(m.To, []string{"alice@example.org"}) {
			t.Errorf("mail from %q to %q, TLS %v", m.From, m.To, m.TLS)
		}
	}
	if code, body := get(t, r.BaseURL()+"/healthz"); code != http.StatusOK {
		t.Errorf("healthz: %d %s", code, body)
	}
	if _, err := os.Stat(filepath.Join(r.Dir(), "mutual.db")); err != nil {
		t.Errorf("no database in the data directory: %v", err)
	}
	if want := "ws" + strings.TrimPrefix(r.BaseURL(), "http") + "/v1/ws"; r.URL() != want {
		t.Errorf("URL %q, want %q", r.URL(), want)
	}
}

// TestOptions: each option reaches the part it configures.
func TestOptions(t *testing.T) {
	teapot := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	r := relaytest.Start(t, relaytest.Options{
		From:     "bench@mutual.test",
		Config:   func(c *server.Config) { c.Web = teapot },
		Embedded: func(c *server.EmbeddedConfig) { c.Auth.NetBurst = 1 },
	})
	ctx := ctxT(t)
	if code, _ := get(t, r.BaseURL()+"/"); code != http.StatusTeapot {
		t.Errorf("web handler: status %d", code)
	}
	conn, _, err := r.Register(ctx, "email:bob@example.org", "laptop")
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if m := r.Mail().Messages(); len(m) != 1 || m[0].From != "bench@mutual.test" {
		t.Errorf("mails %+v", m)
	}
	// The network's one code is spent.
	var we *wire.Error
	if conn, _, err := r.Register(ctx, "email:carol@example.org", "laptop"); !errors.As(err, &we) || we.Code != wire.CodeRateLimited {
		if conn != nil {
			conn.Close()
		}
		t.Fatalf("second code from one network: %v", err)
	}
}

// TestClose: Close stops everything Open started, removes the directory
// Open made, and is idempotent.
func TestClose(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	ctx := ctxT(t)
	r, err := relaytest.Open(ctx, relaytest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	conn, _, err := r.Register(ctx, "email:dave@example.org", "laptop")
	if err != nil {
		r.Close(ctx)
		t.Fatal(err)
	}
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// The relay closed the connection it served.
	select {
	case <-conn.Done():
	case <-ctx.Done():
		t.Fatal("the connection outlived the relay")
	}
	conn.Close()
	if err := r.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := os.Stat(r.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("data directory after Close: %v", err)
	}
	if c, err := r.Dial(ctx); err == nil {
		c.Close()
		t.Error("dialled a closed relay")
	}
	goleak.VerifyNone(t, ignore)
}

// recorder is a TB that records what Start does with it.
type recorder struct {
	dir      string
	fatal    []any
	errors   []string
	cleanups []func()
}

func (r *recorder) Helper()                        {}
func (r *recorder) Fatal(args ...any)              { r.fatal = append(r.fatal, args...) }
func (r *recorder) Errorf(format string, _ ...any) { r.errors = append(r.errors, format) }
func (r *recorder) Cleanup(f func())               { r.cleanups = append(r.cleanups, f) }
func (r *recorder) TempDir() string                { return r.dir }

// TestStartTB: Start fails through its TB, and closes the relay in the
// cleanup it registers.
func TestStartTB(t *testing.T) {
	t.Run("cannot open", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(file, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		rec := &recorder{dir: file} // not a directory
		if r := relaytest.Start(rec, relaytest.Options{}); r != nil || len(rec.fatal) == 0 || len(rec.cleanups) != 0 {
			t.Fatalf("relay %v, fatal %v, %d cleanups", r, rec.fatal, len(rec.cleanups))
		}
	})
	t.Run("cleanup closes", func(t *testing.T) {
		rec := &recorder{dir: t.TempDir()}
		r := relaytest.Start(rec, relaytest.Options{})
		if r == nil || len(rec.fatal) != 0 || len(rec.cleanups) != 1 || r.Dir() != rec.dir {
			t.Fatalf("relay %v, fatal %v, %d cleanups", r, rec.fatal, len(rec.cleanups))
		}
		rec.cleanups[0]()
		if len(rec.errors) != 0 {
			t.Fatalf("cleanup failed: %v", rec.errors)
		}
		if c, err := r.Dial(ctxT(t)); err == nil {
			c.Close()
			t.Fatal("dialled the relay after the cleanup")
		}
	})
}

// TestMailFlags: the files MailFlags writes hold the password and trust
// the SMTP server's certificate, and the arguments name them.
func TestMailFlags(t *testing.T) {
	r := relaytest.Start(t, relaytest.Options{})
	mail := r.Mail()
	args, env, err := relaytest.MailFlags(mail, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	flags := map[string]string{}
	for i := 0; i+1 < len(args); i += 2 {
		flags[args[i]] = args[i+1]
	}
	if len(args)%2 != 0 || flags["--smtp-host"] != mail.Host() || flags["--smtp-port"] != strconv.Itoa(mail.Port()) || flags["--smtp-tls"] != "starttls" ||
		flags["--smtp-user"] != mail.Username || flags["--smtp-from"] != relaytest.From {
		t.Fatalf("arguments %q", args)
	}
	if pass, err := os.ReadFile(flags["--smtp-password-file"]); err != nil || string(pass) != mail.Password {
		t.Errorf("password file: %v", err)
	}
	if len(env) != 1 || !strings.HasPrefix(env[0], "SSL_CERT_FILE=") {
		t.Fatalf("environment %q", env)
	}
	pem, err := os.ReadFile(strings.TrimPrefix(env[0], "SSL_CERT_FILE="))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("no certificate in SSL_CERT_FILE")
	}
	if !pool.Equal(mail.RootCAs()) {
		t.Error("SSL_CERT_FILE does not trust the SMTP server's certificate")
	}
}
