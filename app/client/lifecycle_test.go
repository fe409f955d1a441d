//go:build !js

package client_test

import (
	"context"
	"errors"
	"testing"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/app/store/memstore"
	"github.com/mutualcoop/mutual/relay/wire"
)

// TestLifecycle: what each call says before registration, offline, while
// running and after Close; a client on the memory store.
func TestLifecycle(t *testing.T) {
	r := startRelay(t)
	ctx := ctxT(t)
	st := memstore.New()
	defer st.Close()
	if _, err := client.Open(ctx, st, client.Config{}); err == nil {
		t.Fatal("opened without a server URL")
	}
	c, err := client.Open(ctx, st, r.config())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Run(ctx); !errors.Is(err, client.ErrNotRegistered) {
		t.Fatalf("run before registering: %v", err)
	}
	if _, err := c.AddContact(ctx, "email:bob@example.org"); !errors.Is(err, client.ErrNotRegistered) {
		t.Fatalf("add contact before registering: %v", err)
	}
	var we *wire.Error
	if _, err := c.Register(ctx, "not an address"); !errors.As(err, &we) || we.Code != wire.CodeBadAddress {
		t.Fatalf("register a bad address: %v", err)
	}
	token, err := c.Register(ctx, "email:erin@example.org")
	if err != nil {
		t.Fatal(err)
	}
	code, err := r.WaitCode(ctx, "email:erin@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Verify(ctx, "email:erin@example.org", "000000"+code[:0], token, "laptop"); !errors.As(err, &we) || we.Code != wire.CodeBadCode {
		t.Fatalf("verify a wrong code: %v", err)
	}
	acct, err := c.Verify(ctx, "email:erin@example.org", code, token, "laptop")
	if err != nil || acct.Device == 0 || acct.Address != "email:erin@example.org" {
		t.Fatalf("verify: %+v %v", acct, err)
	}
	if _, err := c.Verify(ctx, "email:erin@example.org", code, token, "laptop"); !errors.Is(err, client.ErrRegistered) {
		t.Fatalf("verify twice: %v", err)
	}
	if _, err := c.AddContact(ctx, "email:bob@example.org"); !errors.Is(err, client.ErrOffline) {
		t.Fatalf("add contact offline: %v", err)
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Run(runCtx) }()
	for ev := range c.Events() {
		if _, ok := ev.(client.Connected); ok {
			break
		}
	}
	if err := c.Run(ctx); !errors.Is(err, client.ErrRunning) {
		t.Fatalf("second run: %v", err)
	}
	if devs, err := c.Devices(ctx); err != nil || len(devs) != 1 || devs[0].Name != "laptop" {
		t.Fatalf("devices: %+v %v", devs, err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, client.ErrClosed) {
		t.Fatalf("run after close: %v", err)
	}
	for range c.Events() {
	}
	if err := c.Run(ctx); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("run on a closed client: %v", err)
	}

	// The same store opens as the same device.
	again, err := client.Open(ctx, st, r.config())
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if got, err := again.Account(); err != nil || got != acct {
		t.Fatalf("reopened: %+v %v, want %+v", got, err, acct)
	}
	if on, err := again.ReadReceipts(ctx); err != nil || !on {
		t.Fatalf("read receipts by default: %v %v", on, err)
	}
}
