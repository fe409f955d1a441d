package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/internal/relaytest"
)

// TestDeviceNameSaysNothingOfTheMachine: the relay lists a device by a
// name that does not identify the machine, unless its user chose one.
func TestDeviceNameSaysNothingOfTheMachine(t *testing.T) {
	r := relaytest.Start(t, relaytest.Options{})
	alice := newHome(t, r, "email:alice@example.org")
	alice.register()
	out := alice.must("devices", "--json")
	if !strings.Contains(out, `"Mutual CLI"`) {
		t.Fatalf("devices: %s, want the device listed as Mutual CLI", out)
	}
	if host, err := os.Hostname(); err == nil && host != "" && strings.Contains(out, host) {
		t.Fatalf("devices: %s names the machine %q", out, host)
	}

	// A second device, named by its user.
	laptop := newHome(t, r, alice.addr)
	laptop.must("register", laptop.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code, err := r.WaitCode(ctx, laptop.addr)
	if err != nil {
		t.Fatal(err)
	}
	if c, _, errs := laptop.cli("", "verify", code, strings.Repeat("x", 65)); c == 0 || !strings.Contains(errs, "at most 64 bytes") {
		t.Fatalf("a 65-byte device name: exit %d, %s", c, errs)
	}
	laptop.must("verify", code, "work laptop")
	if out := laptop.must("devices", "--json"); !strings.Contains(out, `"work laptop"`) {
		t.Fatalf("devices: %s, want the chosen name", out)
	}
}
