package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// webDir writes a stand-in app.wasm into a new directory.
func webDir(t *testing.T) (dir string, wasm []byte) {
	t.Helper()
	dir = t.TempDir()
	wasm = bytes.Repeat([]byte("\x00asm\x01\x00\x00\x00 stand-in for the app "), 2048)
	if err := os.WriteFile(filepath.Join(dir, "app.wasm"), wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, wasm
}

func TestBundle(t *testing.T) {
	dir, wasm := webDir(t)
	t.Run("usage", func(t *testing.T) {
		for _, args := range [][]string{
			{"bundle", "--web", dir},
			{"bundle", "--web", dir, "a", "b"},
			{"bundle", "--prepare-only", "--web", dir, "out"},
		} {
			var out, errb bytes.Buffer
			if code := run(args, &out, &errb); code != 2 || !strings.Contains(errb.String(), "usage: mutual bundle") {
				t.Errorf("%q: exit %d, stderr %q", args, code, errb.String())
			}
		}
	})
	t.Run("no app", func(t *testing.T) {
		var out, errb bytes.Buffer
		if code := run([]string{"bundle", "--web", t.TempDir(), filepath.Join(t.TempDir(), "site")}, &out, &errb); code != 1 {
			t.Fatalf("exit %d", code)
		}
		if !strings.Contains(errb.String(), "app.wasm") {
			t.Fatalf("stderr %q does not name app.wasm", errb.String())
		}
	})
	t.Run("prepare only", func(t *testing.T) {
		var out, errb bytes.Buffer
		if code := run([]string{"bundle", "--prepare-only", "--web", dir}, &out, &errb); code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
		for _, name := range []string{"app.wasm.br", "app.wasm.gz"} {
			if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
				t.Errorf("no %s: %v", name, err)
			}
		}
		if !strings.Contains(errb.String(), "compressed the web app") {
			t.Errorf("stderr %q", errb.String())
		}
	})
	t.Run("site", func(t *testing.T) {
		site := filepath.Join(t.TempDir(), "site")
		var out, errb bytes.Buffer
		if code := run([]string{"bundle", "--web", dir, site}, &out, &errb); code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
		if !strings.Contains(out.String(), "wrote the web app, version ") {
			t.Errorf("stdout %q", out.String())
		}
		for _, name := range []string{
			"index.html", "welcome.html", "contacts.html", "settings.html",
			"app.js", "app-worker.js", "wasm_exec.js", "app.css", "manifest.webmanifest", "README.md",
			"web/app.wasm", "web/app.wasm.br", "web/app.wasm.gz",
			"web/icons/icon-192.png", "web/icons/icon-512.png", "web/icons/icon-maskable-512.png", "web/icons/icon.svg",
		} {
			if _, err := os.Stat(filepath.Join(site, filepath.FromSlash(name))); err != nil {
				t.Errorf("the bundle has no %s", name)
			}
		}
		got, err := os.ReadFile(filepath.Join(site, "web", "app.wasm"))
		if err != nil || !bytes.Equal(got, wasm) {
			t.Errorf("web/app.wasm is not the app: %v", err)
		}
		index, err := os.ReadFile(filepath.Join(site, "index.html"))
		if err != nil || !bytes.Contains(index, []byte(`href="/manifest.webmanifest"`)) {
			t.Errorf("index.html is not the app's page: %v", err)
		}
	})
}

// TestServeWeb runs the real binary with and without --web.
func TestServeWeb(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "mutual")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	dir, wasm := webDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer client.CloseIdleConnections()
	fetch := func(url, accept string) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		if accept != "" {
			req.Header.Set("Accept-Encoding", accept)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res, body
	}

	t.Run("with --web", func(t *testing.T) {
		addr, log := startServe(t, ctx, bin, "--web", dir)
		base := "http://" + addr
		if !regexp.MustCompile(`"msg":"serving the web app".*"app_version":"[0-9a-f]{24}"`).MatchString(log.String()) {
			t.Errorf("no web app line in the log:\n%s", log.String())
		}
		res, body := fetch(base+"/", "")
		if res.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`href="/manifest.webmanifest"`)) {
			t.Fatalf("GET /: %d\n%s", res.StatusCode, body)
		}
		res, body = fetch(base+"/chat/00112233445566778899aabbccddeeff", "")
		if res.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`src="/app.js"`)) {
			t.Fatalf("deep link: %d", res.StatusCode)
		}
		// A path the app does not have: its own not-found page, status 404.
		res, body = fetch(base+"/no-such-page", "")
		if res.StatusCode != http.StatusNotFound || !bytes.Contains(body, []byte("Page not found")) || !bytes.Contains(body, []byte(`src="/app.js"`)) {
			t.Fatalf("GET /no-such-page: %d\n%s", res.StatusCode, body)
		}
		res, body = fetch(base+"/web/app.wasm", "br, gzip")
		if res.StatusCode != http.StatusOK || res.Header.Get("Content-Encoding") != "br" ||
			res.Header.Get("Content-Type") != "application/wasm" || len(body) >= len(wasm) {
			t.Fatalf("app.wasm: %d %v, %d bytes", res.StatusCode, res.Header, len(body))
		}
		// The relay's own endpoints are still the relay's.
		if res, body := fetch(base+"/healthz", ""); res.StatusCode != http.StatusOK || string(body) != "ok\n" {
			t.Fatalf("/healthz: %d %q", res.StatusCode, body)
		}
		// Metrics are on their own listener, never the public one.
		if res, _ := fetch(base+"/metrics", ""); res.StatusCode == http.StatusOK {
			t.Fatalf("/metrics on the public listener: %d", res.StatusCode)
		}
		metrics := waitForLog(ctx, t, &log.syncBuffer, regexp.MustCompile(`"metrics_url":"([^"]+)"`))
		if res, body := fetch(metrics, ""); res.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("mutual_gateway_connections")) {
			t.Fatalf("/metrics: %d", res.StatusCode)
		}
		if res, body := fetch(base+"/v1/ws", ""); bytes.Contains(body, []byte("<html")) || res.StatusCode == http.StatusOK {
			t.Fatalf("/v1/ws without an upgrade: %d, the app's page", res.StatusCode)
		}
		stopServe(t, log)
	})

	t.Run("without --web", func(t *testing.T) {
		addr, log := startServe(t, ctx, bin)
		if res, _ := fetch("http://"+addr+"/", ""); res.StatusCode != http.StatusNotFound {
			t.Fatalf("GET / without --web: %d", res.StatusCode)
		}
		if n := strings.Count(log.String(), "serving the API only"); n != 1 {
			t.Fatalf("%d lines about serving the API only:\n%s", n, log.String())
		}
		stopServe(t, log)
	})
}

// serveLog is the standard error of a running relay.
type serveLog struct {
	syncBuffer
	cmd *exec.Cmd
}

// startServe starts the relay in dev mode with extra flags and returns
// its address.
func startServe(t *testing.T, ctx context.Context, bin string, flags ...string) (string, *serveLog) {
	t.Helper()
	args := append([]string{"serve", "--dev", "--listen", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--data", t.TempDir(), "--log-format", "json"}, flags...)
	log := &serveLog{cmd: exec.Command(bin, args...)}
	log.cmd.Stderr = log
	if err := log.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.cmd.Process.Kill(); log.cmd.Wait() })
	return waitForLog(ctx, t, &log.syncBuffer, regexp.MustCompile(`"addr":"http://([^"]+)"`)), log
}

// stopServe stops the relay with SIGTERM and checks it exits 0.
func stopServe(t *testing.T, log *serveLog) {
	t.Helper()
	if err := log.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := log.cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, log.String())
	}
}
