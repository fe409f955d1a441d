package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// buildProg builds testdata/prog for js/wasm.
func buildProg(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "prog.wasm")
	cmd := exec.Command("go", "build", "-o", out, "./testdata/prog")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, msg)
	}
	return out
}

// TestRun runs a program in Chromium the way go test -exec does.
func TestRun(t *testing.T) {
	if defaultChromium(os.Getenv) == "" {
		t.Fatal("no Chromium found: install it with scripts/deps.sh test (make test runs it first) or set WASMBROWSER_CHROMIUM")
	}
	prog := buildProg(t)
	allBytes := make([]byte, 256)
	for i := range allBytes {
		allBytes[i] = byte(i)
	}
	tests := []struct {
		name       string
		flags      []string
		args       []string
		wantCode   int
		wantStdout []byte // exactly, unless nil
		wantStderr string // a part of it
	}{
		{
			name:       "exit code, arguments and environment",
			args:       []string{"exit", "3", "-test.v"},
			wantCode:   3,
			wantStdout: []byte("args: [exit 3 -test.v]\n"),
			wantStderr: "env: from the runner\n",
		},
		{name: "binary output", args: []string{"bytes"}, wantStdout: allBytes},
		{name: "browser APIs", args: []string{"browser"}, wantStdout: []byte("indexedDB: object\n")},
		{name: "panic", args: []string{"panic"}, wantCode: 2, wantStderr: "panic: boom"},
		{
			name:       "deadline",
			flags:      []string{"-timeout", "3s"},
			args:       []string{"hang"},
			wantCode:   1,
			wantStderr: "prog.wasm did not exit within 3s",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			getenv := func(k string) string { return os.Getenv(k) }
			environ := append(os.Environ(), "WASMBROWSER_TEST_VALUE=from the runner")
			args := append(append(tc.flags, prog), tc.args...)
			code := run(context.Background(), args, getenv, environ, &stdout, &stderr)
			if code != tc.wantCode {
				t.Errorf("exit code %d, want %d\nstderr: %s", code, tc.wantCode, stderr.String())
			}
			if tc.wantStdout != nil && !bytes.Equal(stdout.Bytes(), tc.wantStdout) {
				t.Errorf("stdout %q, want %q", stdout.Bytes(), tc.wantStdout)
			}
			if !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("stderr %q, want it to contain %q", stderr.String(), tc.wantStderr)
			}
		})
	}
}

// TestUsage: bad invocations fail with a message and code 2, before any
// browser starts.
func TestUsage(t *testing.T) {
	getenv := func(k string) string {
		if k == "WASMBROWSER_TIMEOUT" {
			return "soon"
		}
		return ""
	}
	tests := []struct {
		name   string
		args   []string
		getenv func(string) string
		want   string
	}{
		{"no program", nil, os.Getenv, "no program to run"},
		{"missing program", []string{filepath.Join(t.TempDir(), "nothing.wasm")}, os.Getenv, "no such file"},
		{"bad timeout", []string{"-timeout", "0s", "x.wasm"}, os.Getenv, "timeout 0s is not positive"},
		{"bad environment", []string{"x.wasm"}, getenv, "WASMBROWSER_TIMEOUT"},
		{"missing browser", []string{"-chromium", filepath.Join(t.TempDir(), "chromium"), os.Args[0]}, os.Getenv, "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), tc.args, tc.getenv, nil, &stdout, &stderr); code != 2 {
				t.Errorf("exit code %d, want 2", code)
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr %q, want it to contain %q", stderr.String(), tc.want)
			}
		})
	}
}
