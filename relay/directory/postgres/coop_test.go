//go:build postgres

package postgres

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mutualcoop/mutual/relay/coop"
	"github.com/mutualcoop/mutual/relay/coop/cooptest"
	"github.com/mutualcoop/mutual/relay/wire"
)

func TestCoopConformance(t *testing.T) {
	cooptest.Run(t, func(t *testing.T) coop.Store { return openFresh(t) })
}

// openPair opens one schema twice, as two relay processes would, each
// with a pool of conns connections.
func openPair(t *testing.T, conns int32) [2]*Directory {
	t.Helper()
	schema := freshSchema(t)
	var ds [2]*Directory
	for i := range ds {
		d, err := Open(context.Background(), Config{URL: serverURL(t), Schema: schema, MaxConns: conns})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		ds[i] = d
	}
	return ds
}

// TestCoopStreamLarge streams many rows through a pool of two
// connections while fn writes through the same directory: the stream
// holds one connection and no transaction fn's writes wait for.
func TestCoopStreamLarge(t *testing.T) {
	ds := openPair(t, 2)
	d := ds[0]
	ctx := context.Background()
	const n = 1000
	// n users in a chain, each allowing the next and the one before, and
	// every other one a paying member.
	for _, q := range []string{
		`INSERT INTO users (id, created_ns) SELECT decode(lpad(to_hex(i), 32, '0'), 'hex'), 1 FROM generate_series(1, $1::int) AS i`,
		`INSERT INTO contacts (owner, other, state, updated_ns)
			SELECT decode(lpad(to_hex(i), 32, '0'), 'hex'), decode(lpad(to_hex(i + 1), 32, '0'), 'hex'), 1, 1 FROM generate_series(1, $1::int - 1) AS i
			UNION ALL
			SELECT decode(lpad(to_hex(i + 1), 32, '0'), 'hex'), decode(lpad(to_hex(i), 32, '0'), 'hex'), 1, 1 FROM generate_series(1, $1::int - 1) AS i`,
		`INSERT INTO coop_memberships (user_id, reference, provider, plan, amount, currency, status, created_ns, updated_ns)
			SELECT decode(lpad(to_hex(i), 32, '0'), 'hex'), 'm_' || i, 'stripe', 'monthly', 1000, 'GBP', 2 + (1 - i % 2) * 3, 1, 1
			FROM generate_series(1, $1::int) AS i`,
	} {
		if _, err := d.pool.Exec(ctx, q, n); err != nil {
			t.Fatal(err)
		}
	}
	var users, paying, pairs int
	var last []byte
	if err := d.Users(ctx, func(u wire.UserID) error {
		if bytes.Compare(last, u[:]) >= 0 {
			return errors.New("users out of order")
		}
		last = bytes.Clone(u[:])
		users++
		_, err := ds[1].NoticesOff(ctx, u)
		return err
	}); err != nil || users != n {
		t.Fatalf("Users: %d users, %v; want %d", users, err, n)
	}
	if err := d.PayingMembers(ctx, func(u wire.UserID) error {
		paying++
		_, err := d.NoteYearly(ctx, u, 2026, 0)
		return err
	}); err != nil || paying != (n+1)/2 {
		t.Fatalf("PayingMembers: %d members, %v; want %d", paying, err, (n+1)/2)
	}
	var lastPair [2]wire.UserID
	if err := d.MutualContacts(ctx, func(a, b wire.UserID) error {
		if pairs > 0 {
			if c := bytes.Compare(lastPair[0][:], a[:]); c > 0 || c == 0 && bytes.Compare(lastPair[1][:], b[:]) >= 0 {
				return errors.New("pairs out of order")
			}
		}
		lastPair = [2]wire.UserID{a, b}
		pairs++
		return d.SetNoticesOff(ctx, a, true)
	}); err != nil || pairs != 2*(n-1) {
		t.Fatalf("MutualContacts: %d pairs, %v; want %d", pairs, err, 2*(n-1))
	}
}

// TestCoopTwoProcesses has two processes start at once and ask for the
// signing key, both receive one provider event, and see one user
// connect.
func TestCoopTwoProcesses(t *testing.T) {
	ds := openPair(t, 8)
	ctx := context.Background()
	const n = 8
	var (
		wg       sync.WaitGroup
		keys     [n][]byte
		errs     [3 * n]error
		applied  atomic.Int32
		firsts   atomic.Int32
		user     = wire.NewUserID()
		ev       = coop.Event{Provider: coop.GoCardless, ID: "EV1"}
		noChange = func(*coop.Membership) (bool, *coop.Dues, error) { return false, nil, nil }
	)
	for i := range n {
		d := ds[i%2]
		wg.Go(func() {
			keys[i], errs[i] = d.CoopKey(ctx, func() ([]byte, error) {
				k := make([]byte, 32)
				rand.Read(k)
				return k, nil
			})
		})
		wg.Go(func() {
			ok, err := d.ApplyEvent(ctx, ev, noChange)
			errs[n+i] = err
			if ok {
				applied.Add(1)
			}
		})
		wg.Go(func() {
			first, err := d.NoteActive(ctx, user, "2026-01")
			errs[2*n+i] = err
			if first {
				firsts.Add(1)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		t.Fatal(err)
	}
	for i := range keys {
		if !bytes.Equal(keys[i], keys[0]) {
			t.Fatalf("process %d has key %x, process 0 %x", i%2, keys[i], keys[0])
		}
	}
	if applied.Load() != 1 || firsts.Load() != 1 {
		t.Fatalf("event applied %d times, user counted %d times; want 1 and 1", applied.Load(), firsts.Load())
	}
}
