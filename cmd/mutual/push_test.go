package main

import (
	"bytes"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

func parsePushFlags(t *testing.T, args ...string) *pushFlags {
	t.Helper()
	var p pushFlags
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	p.register(fs)
	if err := parseFlags(fs, args, io.Discard); err != nil {
		t.Fatal(err)
	}
	return &p
}

// TestPushFlags: without a subject the relay pushes nothing; with one,
// the VAPID key is made at first start in the data directory, mode 0600,
// and kept.
func TestPushFlags(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	data := filepath.Join(t.TempDir(), "data")
	if cfg, err := parsePushFlags(t).config(data, log); err != nil || cfg != nil {
		t.Fatalf("no subject: %+v, %v", cfg, err)
	}
	if _, err := os.Stat(filepath.Join(data, "push-vapid.key")); !os.IsNotExist(err) {
		t.Fatalf("a key was made for a relay that does not push: %v", err)
	}
	p := parsePushFlags(t, "--push-subject", "mailto:ops@example.org", "--push-hosts", "fcm.googleapis.com, *.push.apple.com")
	cfg, err := p.config(data, log)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Subject != "mailto:ops@example.org" || len(cfg.Hosts) != 2 || cfg.Hosts[1] != "*.push.apple.com" {
		t.Fatalf("config %+v", cfg)
	}
	st, err := os.Stat(filepath.Join(data, "push-vapid.key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v", st, err)
	}
	again, err := p.config(data, log)
	if err != nil || !bytes.Equal(again.Key.PublicKey(), cfg.Key.PublicKey()) {
		t.Fatalf("second start: another key (%v)", err)
	}
	keyFile := filepath.Join(t.TempDir(), "shared.key")
	shared, err := parsePushFlags(t, "--push-subject", "https://example.org", "--push-key-file", keyFile).config(data, log)
	if err != nil || bytes.Equal(shared.Key.PublicKey(), cfg.Key.PublicKey()) {
		t.Fatalf("--push-key-file: %v", err)
	}
	for _, bad := range [][]string{
		{"--push-subject", "ops@example.org"},
		{"--push-subject", "mailto:ops@example.org", "--push-hosts", "*.example:8443"},
	} {
		if _, err := parsePushFlags(t, bad...).config(data, log); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
