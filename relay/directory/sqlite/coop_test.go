package sqlite

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mutualcoop/mutual/relay/coop"
	"github.com/mutualcoop/mutual/relay/coop/cooptest"
	"github.com/mutualcoop/mutual/relay/wire"
)

func TestCoopConformance(t *testing.T) {
	cooptest.Run(t, func(t *testing.T) coop.Store { return openTemp(t) })
}

// TestCoopStreamPages streams more rows than a page holds: every row
// comes once, in order.
func TestCoopStreamPages(t *testing.T) {
	d := openTemp(t)
	ctx := context.Background()
	const n = 2*streamPage + 17
	// n users, each allowing the next and the one before (a chain), and
	// every other one a paying member; written directly in a few
	// statements.
	for _, q := range []string{
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
			INSERT INTO users (id, created_ns) SELECT unhex(printf('%032x', i)), 1 FROM n`,
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
			INSERT INTO contacts (owner, other, state, updated_ns)
			SELECT unhex(printf('%032x', i)), unhex(printf('%032x', i + 1)), 1, 1 FROM n WHERE i < ?1
			UNION ALL SELECT unhex(printf('%032x', i + 1)), unhex(printf('%032x', i)), 1, 1 FROM n WHERE i < ?1`,
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
			INSERT INTO coop_memberships (user_id, reference, provider, plan, amount, currency, status, created_ns, updated_ns)
			SELECT unhex(printf('%032x', i)), 'm_' || i, 'stripe', 'monthly', 1000, 'GBP', 2 + (1 - i % 2) * 3, 1, 1 FROM n`,
	} {
		if _, err := d.w.ExecContext(ctx, q, n); err != nil {
			t.Fatal(err)
		}
	}
	var users []wire.UserID
	if err := d.Users(ctx, func(u wire.UserID) error { users = append(users, u); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(users) != n {
		t.Fatalf("Users gave %d users, want %d", len(users), n)
	}
	for i := 1; i < len(users); i++ {
		if bytes.Compare(users[i-1][:], users[i][:]) >= 0 {
			t.Fatalf("Users out of order at %d", i)
		}
	}
	var paying int
	if err := d.PayingMembers(ctx, func(wire.UserID) error { paying++; return nil }); err != nil {
		t.Fatal(err)
	}
	if paying != (n+1)/2 {
		t.Fatalf("PayingMembers gave %d, want %d", paying, (n+1)/2)
	}
	var pairs [][2]wire.UserID
	if err := d.MutualContacts(ctx, func(a, b wire.UserID) error { pairs = append(pairs, [2]wire.UserID{a, b}); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(pairs) != 2*(n-1) {
		t.Fatalf("MutualContacts gave %d pairs, want %d", len(pairs), 2*(n-1))
	}
	for i := 1; i < len(pairs); i++ {
		p, q := pairs[i-1], pairs[i]
		if c := bytes.Compare(p[0][:], q[0][:]); c > 0 || c == 0 && bytes.Compare(p[1][:], q[1][:]) >= 0 {
			t.Fatalf("MutualContacts out of order at %d", i)
		}
	}
}

// TestCoopTwoProcesses opens one file twice, as two relay processes on
// one machine would: both start at once and ask for the signing key,
// both receive one provider event and see one user connect.
func TestCoopTwoProcesses(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "directory.db")
	var ds [2]*Directory
	for i := range ds {
		d, err := Open(ctx, Config{Path: path})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		ds[i] = d
	}
	const n = 8
	var (
		wg       sync.WaitGroup
		keys     [n][]byte
		errs     [3 * n]error
		applied  atomic.Int32
		firsts   atomic.Int32
		user     = wire.NewUserID()
		ev       = coop.Event{Provider: coop.Stripe, ID: "evt_1"}
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
