//go:build browser

package browsertest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/app/store/memstore"
	"github.com/mutualcoop/mutual/internal/wait"
	"github.com/mutualcoop/mutual/relay/wire"
)

// seeder is a user on the native client (app/client over an in-memory
// store) who writes to a browser user through the real relay: the honest
// way to fill a conversation with thousands of messages that the browser
// receives, decrypts and stores one by one.
type seeder struct {
	t    *testing.T
	c    *client.Client
	me   wire.UserID
	peer wire.UserID
	last wire.MessageID
}

// newSeeder registers address with the code from the mail and keeps the
// client connected until the test ends.
func newSeeder(t *testing.T, r *relay, address string) *seeder {
	t.Helper()
	return startSeeder(t, r, address, nil)
}

// startSeeder is newSeeder with the device's clock (nil: the system's).
func startSeeder(t *testing.T, r *relay, address string, now func() time.Time) *seeder {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), messageTimeout)
	defer cancel()
	c, err := client.Open(ctx, memstore.New(), client.Config{ServerURL: r.wsURL(), ClientName: "browsertest-seeder/1", Now: now})
	if err != nil {
		t.Fatalf("seeder: open: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	token, err := register(ctx, c, address)
	if err != nil {
		t.Fatalf("seeder: register: %v", err)
	}
	code, err := r.mail.WaitCode(ctx, address)
	if err != nil {
		t.Fatalf("seeder: %v", err)
	}
	acct, err := c.Verify(ctx, address, code, token, "seeder")
	if err != nil {
		t.Fatalf("seeder: verify: %v", err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, client.ErrClosed) {
			t.Errorf("seeder: run: %v", err)
		}
	})
	if err := waitConnected(ctx, c); err != nil {
		t.Fatalf("seeder: not connected: %v", err)
	}
	return &seeder{t: t, c: c, me: acct.User}
}

// register asks the relay for a code for address. A second device of the
// same address asks soon after the first: the relay then says how long
// to wait (rate_limited), and it asks again after that wait, within ctx.
func register(ctx context.Context, c *client.Client, address string) ([]byte, error) {
	for {
		token, err := c.Register(ctx, address)
		var we *wire.Error
		if !errors.As(err, &we) || we.Code != wire.CodeRateLimited {
			return token, err
		}
		retry := time.NewTimer(time.Duration(we.RetryAfterMS) * time.Millisecond)
		select {
		case <-retry.C:
		case <-ctx.Done():
			retry.Stop()
			return nil, err
		}
	}
}

// waitConnected waits for Run's first connection, which the calls that
// need the relay use. The events after it are left unread: the client
// drops the oldest, and the store, which waitDelivered reads, is the
// truth.
func waitConnected(ctx context.Context, c *client.Client) error {
	for {
		select {
		case ev := <-c.Events():
			if _, ok := ev.(client.Connected); ok {
				return nil
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// greet adds address as a contact and writes to them: a contact request
// the browser user answers.
func (s *seeder) greet(address, text string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), messageTimeout)
	defer cancel()
	ct, err := s.c.AddContact(ctx, address)
	if err != nil {
		s.t.Fatalf("seeder: add contact: %v", err)
	}
	s.peer = ct.User
	if s.last, err = s.c.Send(ctx, s.peer, text); err != nil {
		s.t.Fatalf("seeder: send: %v", err)
	}
}

// seed sends n numbered messages, "Message 1" to "Message n", and returns
// how long the client took to queue them.
func (s *seeder) seed(n int) time.Duration {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), messageTimeout)
	defer cancel()
	start := time.Now()
	for i := 1; i <= n; i++ {
		id, err := s.c.Send(ctx, s.peer, fmt.Sprintf("Message %d", i))
		if err != nil {
			s.t.Fatalf("seeder: send %d: %v", i, err)
		}
		s.last = id
	}
	return time.Since(start)
}

// waitDelivered waits until the last message sent is delivered (or read):
// the browser has stored it.
func (s *seeder) waitDelivered(timeout time.Duration) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var state client.MessageState
	err := wait.Until(ctx, func() bool {
		m, err := s.c.Message(ctx, s.me, s.last)
		if err != nil {
			return false
		}
		state = m.State
		return state == client.StateDelivered || state == client.StateRead
	})
	if err != nil {
		s.t.Fatalf("seeder: the last message is %v, not delivered: %v", state, err)
	}
}
