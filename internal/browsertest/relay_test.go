//go:build browser

package browsertest

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/internal/relaytest"
	"github.com/mutualcoop/mutual/internal/smtpcatch"
	"github.com/mutualcoop/mutual/internal/wait"
)

// relay is `mutual serve --web` run as a child process, mailing its codes
// to a real SMTP server over STARTTLS (set up by relaytest.MailFlags). It
// keeps its port and data directory across stop and start, as a restarted
// server does.
type relay struct {
	t    *testing.T
	bin  string // the mutual binary
	web  string // the directory given to --web
	data string
	addr string // 127.0.0.1:port
	mail *smtpcatch.Server
	// mailArgs and mailEnv make the relay mail its codes to mail.
	mailArgs, mailEnv []string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	log    bytes.Buffer // standard output and error of every run
}

// startRelay starts the SMTP server and the relay, and stops both when the
// test ends. The relay serves a copy of web, which deploy may change.
func startRelay(t *testing.T, bin, web string) *relay {
	t.Helper()
	return startRelayWith(t, bin, web, nil)
}

// startRelayWith is startRelay with more arguments and environment for
// `mutual serve`, made by extra from the relay's address (127.0.0.1:port).
func startRelayWith(t *testing.T, bin, web string, extra func(addr string) (args, env []string)) *relay {
	t.Helper()
	mail := smtpcatch.Start(t, smtpcatch.Options{})
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "web"), os.DirFS(web)); err != nil {
		t.Fatal(err)
	}
	web = filepath.Join(dir, "web")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	mailArgs, mailEnv, err := relaytest.MailFlags(mail, dir)
	if err != nil {
		t.Fatal(err)
	}
	if extra != nil {
		args, env := extra(addr)
		mailArgs, mailEnv = append(mailArgs, args...), append(mailEnv, env...)
	}
	r := &relay{
		t: t, bin: bin, web: web, addr: addr, mail: mail,
		data:     filepath.Join(dir, "data"),
		mailArgs: mailArgs, mailEnv: mailEnv,
	}
	r.start()
	t.Cleanup(func() {
		r.stop()
		if t.Failed() {
			t.Logf("relay output:\n%s", r.output())
		}
	})
	return r
}

// url is the address of the app, http://127.0.0.1:port.
func (r *relay) url() string { return "http://" + r.addr }

// wsURL is the relay's WebSocket endpoint.
func (r *relay) wsURL() string { return "ws://" + r.addr + "/v1/ws" }

// deploy puts a file into the web directory (name is slash-separated,
// relative to it), as deploying a new version of the app does: the relay
// serves it from its next start, and the app's version changes with it.
func (r *relay) deploy(name string, body []byte) {
	r.t.Helper()
	path := filepath.Join(r.web, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(path, body, 0o644); err != nil {
		r.t.Fatal(err)
	}
}

// workerCacheName finds the name of the service worker's cache,
// mutual-<version>, in its script.
var workerCacheName = regexp.MustCompile(`const cacheName = "mutual-([0-9a-f]+)";`)

// appVersion is the version of the app the relay serves now, as its
// service worker names it.
func (r *relay) appVersion() string {
	r.t.Helper()
	client := &http.Client{Timeout: stepTimeout}
	resp, err := client.Get(r.url() + "/app-worker.js")
	if err != nil {
		r.t.Fatalf("get the service worker: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		r.t.Fatalf("get the service worker: %s %v", resp.Status, err)
	}
	m := workerCacheName.FindSubmatch(b)
	if m == nil {
		r.t.Fatalf("no cache name in the service worker:\n%.500s", b)
	}
	return string(m[1])
}

// start runs the relay and waits until it answers /healthz.
func (r *relay) start() {
	r.t.Helper()
	args := append([]string{"serve", "--listen", r.addr, "--metrics-addr", "", "--data", r.data, "--web", r.web, "--log-level", "warn"}, r.mailArgs...)
	cmd := exec.Command(r.bin, args...)
	cmd.Env = append(os.Environ(), r.mailEnv...)
	w := lockedWriter{mu: &r.mu, w: &r.log}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		r.t.Fatalf("start the relay: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	r.mu.Lock()
	r.cmd, r.exited = cmd, exited
	r.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	err := wait.Until(ctx, func() bool {
		select {
		case <-exited:
			return true
		default:
		}
		resp, err := client.Get(r.url() + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	select {
	case <-exited:
		r.t.Fatalf("the relay exited at start: %v\n%s", cmd.ProcessState, r.output())
	default:
	}
	if err != nil {
		r.t.Fatalf("the relay did not answer /healthz: %v\n%s", err, r.output())
	}
}

// stop ends the relay with SIGTERM and waits for it; a relay that does not
// stop within its shutdown timeout is killed and the test fails.
func (r *relay) stop() {
	r.mu.Lock()
	cmd, exited := r.cmd, r.exited
	r.mu.Unlock()
	select {
	case <-exited:
		return
	default:
	}
	cmd.Process.Signal(syscall.SIGTERM)
	grace := time.NewTimer(20 * time.Second)
	defer grace.Stop()
	select {
	case <-exited:
	case <-grace.C:
		cmd.Process.Kill()
		<-exited
		r.t.Errorf("the relay did not stop on SIGTERM")
	}
}

// output is the end of what the relay printed, for failures.
func (r *relay) output() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.log.String()
	if len(s) > 8000 {
		s = "..." + s[len(s)-8000:]
	}
	return s
}

// lockedWriter lets the process's two pipes share one buffer.
type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
