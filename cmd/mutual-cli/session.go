package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/app/store/boltstore"
	"github.com/mutualcoop/mutual/internal/address"
	"github.com/mutualcoop/mutual/relay/wire"
)

// session is an open home: its store and client, and, once connect was
// called, the connection loop running in the background.
type session struct {
	c          *cli
	client     *client.Client
	closeStore func() error
	cancel     context.CancelFunc
	done       chan error
	names      map[wire.UserID]string
}

// open opens the home's store and client without connecting.
func (c *cli) open(ctx context.Context) (*session, error) {
	if err := os.MkdirAll(c.home, 0o700); err != nil {
		return nil, fmt.Errorf("home: %w", err)
	}
	st, err := boltstore.Open(filepath.Join(c.home, "state.db"), boltstore.Options{})
	if errors.Is(err, boltstore.ErrLocked) {
		return nil, fmt.Errorf("%s is in use by another mutual-cli", c.home)
	}
	if err != nil {
		return nil, err
	}
	url, err := wsURL(c.server)
	if err != nil {
		st.Close()
		return nil, err
	}
	cl, err := client.Open(ctx, st, client.Config{ServerURL: url, ClientName: "mutual-cli/1"})
	if err != nil {
		st.Close()
		return nil, err
	}
	return &session{c: c, client: cl, closeStore: st.Close}, nil
}

// online opens the home and connects it to the relay.
func (c *cli) online(ctx context.Context) (*session, error) {
	s, err := c.open(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.connect(ctx); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// connect starts the connection loop and waits until it is connected.
func (s *session) connect(ctx context.Context) error {
	if _, err := s.client.Account(); err != nil {
		return err
	}
	rctx, cancel := context.WithCancel(ctx)
	s.cancel = cancel
	s.done = make(chan error, 1)
	go func() { s.done <- s.client.Run(rctx) }()
	timeout := time.NewTimer(30 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case ev, ok := <-s.client.Events():
			if !ok {
				return errors.New("client closed")
			}
			switch ev := ev.(type) {
			case client.Connected:
				return nil
			case client.Disconnected:
				if errors.Is(ev.Err, client.ErrAuthFailed) || errors.Is(ev.Err, client.ErrDeviceRemoved) {
					return ev.Err
				}
			}
		case err := <-s.done:
			s.done <- err
			if err == nil {
				err = errors.New("connection loop ended")
			}
			return err
		case <-timeout.C:
			return fmt.Errorf("could not reach the relay at %s", s.c.server)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// close stops the connection loop and closes the client and its store.
func (s *session) close() {
	if s.cancel != nil {
		s.cancel()
	}
	s.client.Close()
	if s.done != nil {
		<-s.done
	}
	s.closeStore()
}

// contact finds a contact (or requester) by the address the user typed
// for them, or by user ID in hex.
func (s *session) contact(ctx context.Context, arg string) (client.Contact, error) {
	all, err := s.everyone(ctx)
	if err != nil {
		return client.Contact{}, err
	}
	for _, ct := range all {
		if (ct.VerifiedAddress != "" && sameAddress(ct.VerifiedAddress, arg)) ||
			(ct.Address != "" && sameAddress(ct.Address, arg)) {
			return ct, nil
		}
		if ct.User.String() == strings.ToLower(arg) {
			return ct, nil
		}
	}
	return client.Contact{}, fmt.Errorf("%s is not among your contacts or requests ('mutual-cli contacts list')", arg)
}

func (s *session) everyone(ctx context.Context) ([]client.Contact, error) {
	cts, err := s.client.Contacts(ctx)
	if err != nil {
		return nil, err
	}
	reqs, err := s.client.Requests(ctx)
	if err != nil {
		return nil, err
	}
	return append(cts, reqs...), nil
}

// sameAddress reports whether two addresses, as typed or stored, are one
// account's, compared as the relay compares them (package
// internal/address: with or without "email:", the local part's case
// folded, the domain in A-labels).
func sameAddress(a, b string) bool {
	x, err := address.Parse(a)
	if err != nil {
		return false
	}
	y, err := address.Parse(b)
	return err == nil && x.Same(y)
}

// displayAddress is an address as people write it: canonical, without
// "email:"; as it is if it does not parse.
func displayAddress(s string) string {
	a, err := address.Parse(s)
	if err != nil {
		return s
	}
	return a.Display()
}

// name is how a user is shown: nickname, confirmed address, or ID.
func (s *session) name(ctx context.Context, u wire.UserID) string {
	if s.names == nil {
		s.names = make(map[wire.UserID]string)
		if all, err := s.everyone(ctx); err == nil {
			for _, ct := range all {
				switch {
				case ct.Nickname != "":
					s.names[ct.User] = ct.Nickname
				case ct.VerifiedAddress != "":
					s.names[ct.User] = ct.DisplayAddress()
				}
			}
		}
	}
	if n, ok := s.names[u]; ok {
		return n
	}
	return u.String()
}

// name shows a contact in an error message: their confirmed address, or
// their ID.
func (c *cli) name(ct client.Contact) string {
	if a := ct.DisplayAddress(); a != "" {
		return a
	}
	return ct.User.String()
}

// memberName is how a group's member is shown: as a contact is (see
// name), else as the group calls them.
func (s *session) memberName(ctx context.Context, g client.Group, u wire.UserID) string {
	if n := s.name(ctx, u); n != u.String() {
		return n
	}
	for _, m := range g.Members {
		if m.User == u && m.Name != "" {
			return m.Name
		}
	}
	return u.String()
}
