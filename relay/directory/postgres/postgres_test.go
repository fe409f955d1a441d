//go:build postgres

package postgres

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/directory/dirtest"
	"github.com/mutualcoop/mutual/relay/directory/migrations"
	"github.com/mutualcoop/mutual/relay/wire"
)

// These tests need a PostgreSQL server: scripts/postgres.sh start, then
//
//	MUTUAL_TEST_POSTGRES=$(scripts/postgres.sh url) go test -tags postgres ./relay/directory/postgres/...
//
// Each test works in a schema of its own, dropped at the end.

func serverURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv("MUTUAL_TEST_POSTGRES")
	if u == "" {
		tb.Fatal("MUTUAL_TEST_POSTGRES is not set: start a server with `scripts/postgres.sh start` and set MUTUAL_TEST_POSTGRES=$(scripts/postgres.sh url)")
	}
	return u
}

// freshSchema names a new schema and drops it when the test ends.
func freshSchema(tb testing.TB) string {
	tb.Helper()
	url := serverURL(tb)
	b := make([]byte, 8)
	rand.Read(b)
	schema := "test_" + hex.EncodeToString(b)
	tb.Cleanup(func() {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			tb.Errorf("drop schema: %v", err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			tb.Errorf("drop schema: %v", err)
		}
	})
	return schema
}

func openFresh(tb testing.TB) *Directory {
	tb.Helper()
	schema := freshSchema(tb)
	d, err := Open(context.Background(), Config{URL: serverURL(tb), Schema: schema, MaxConns: 40})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Close() }) // runs before the schema is dropped
	return d
}

func TestConformance(t *testing.T) {
	dirtest.Run(t, func(t *testing.T) directory.Directory { return openFresh(t) })
}

func BenchmarkDirectory(b *testing.B) {
	dirtest.Bench(b, func(b *testing.B) directory.Directory { return openFresh(b) })
}

func schemaVersion(t *testing.T, d *Directory) int {
	t.Helper()
	var v int
	if err := d.pool.QueryRow(context.Background(), `SELECT MAX(version) FROM schema_migrations`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// oldData is what a database at each earlier version holds before the
// upgrade, written with that version's tables.
var oldData = map[int][]string{
	1: {
		`INSERT INTO users (id, created_ns, last_device) VALUES ('\x000102030405060708090a0b0c0d0e0f', 1, 1)`,
		`INSERT INTO accounts (addr_hash, user_id) VALUES ('\xaa', '\x000102030405060708090a0b0c0d0e0f')`,
		`INSERT INTO devices (user_id, id, name, cred_hash, created_ns, last_seen_ns, inbox_offset)
			VALUES ('\x000102030405060708090a0b0c0d0e0f', 1, 'phone', '\xcc', 1, 2, 5)`,
	},
	2: {
		`INSERT INTO contacts (owner, other, state, updated_ns) VALUES ('\x000102030405060708090a0b0c0d0e0f', '\x0f0e0d0c0b0a09080706050403020100', 1, 3)`,
		`INSERT INTO contact_requests (from_user, to_user, at_ns) VALUES ('\x000102030405060708090a0b0c0d0e0f', '\x0f0e0d0c0b0a09080706050403020100', 1000000000)`,
	},
}

// TestMigrateFromEachVersion brings a schema to every earlier version,
// fills it, and checks that Open upgrades it to the latest version with the
// data intact.
func TestMigrateFromEachVersion(t *testing.T) {
	ms, err := migrations.List(migrations.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	latest := len(ms)
	ctx := context.Background()
	user := wire.UserID{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	other := wire.UserID{15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0}
	for v := 1; v < latest; v++ {
		t.Run(ms[v-1].Name, func(t *testing.T) {
			schema := freshSchema(t)
			pc, err := pgxpool.ParseConfig(serverURL(t))
			if err != nil {
				t.Fatal(err)
			}
			pc.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{schema}.Sanitize()
			old, err := pgxpool.NewWithConfig(ctx, pc)
			if err != nil {
				t.Fatal(err)
			}
			if err := migrate(ctx, old, schema, v); err != nil {
				old.Close()
				t.Fatal(err)
			}
			for i := 1; i <= v; i++ {
				for _, q := range oldData[i] {
					if _, err := old.Exec(ctx, q); err != nil {
						old.Close()
						t.Fatal(err)
					}
				}
			}
			old.Close()

			d, err := Open(ctx, Config{URL: serverURL(t), Schema: schema})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if got := schemaVersion(t, d); got != latest {
				t.Fatalf("version %d after Open, want %d", got, latest)
			}
			if u, err := d.Account(ctx, []byte{0xaa}); err != nil || u != user {
				t.Fatalf("Account = %v, %v", u, err)
			}
			if got, err := d.Device(ctx, user, 1); err != nil || got.Offset != 5 || !bytes.Equal(got.CredHash, []byte{0xcc}) {
				t.Fatalf("Device = %+v, %v", got, err)
			}
			if dev, err := d.AddDevice(ctx, user, "laptop", []byte{0xdd}, 0); err != nil || dev != 2 {
				t.Fatalf("AddDevice = %d, %v", dev, err)
			}
			want := directory.None
			if v >= 2 {
				want = directory.Allowed
			}
			if got, err := d.ContactState(ctx, user, other); err != nil || got != want {
				t.Fatalf("ContactState = %v, %v; want %v", got, err, want)
			}
			if _, err := d.CountCodeRequest(ctx, []byte{0xaa}, time.Now(), time.Hour); err != nil {
				t.Fatal(err)
			}
			// A request recorded before request IDs existed still counts.
			wantOK := v < 2
			if ok, err := d.NoteRequest(ctx, user, other, wire.NewMessageID(), time.Unix(1, 0).Add(time.Minute), directory.RequestLimits{PairWindow: time.Hour}); err != nil || ok != wantOK {
				t.Fatalf("NoteRequest = %v, %v; want %v", ok, err, wantOK)
			}
		})
	}
}

// TestConcurrentOpen starts several processes' worth of directories on one
// new schema at once: the migrations run once.
func TestConcurrentOpen(t *testing.T) {
	schema := freshSchema(t)
	ctx := context.Background()
	const n = 6
	ds := make([]*Directory, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ds[i], errs[i] = Open(ctx, Config{URL: serverURL(t), Schema: schema, MaxConns: 2})
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		defer ds[i].Close()
	}
	ms, err := migrations.List(migrations.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	var rows int
	if err := ds[0].pool.QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != len(ms) {
		t.Fatalf("%d migration rows, want %d", rows, len(ms))
	}
	// They share one directory.
	u, _, err := ds[1].CreateAccount(ctx, []byte("addr"), wire.NewUserID())
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ds[n-1].Account(ctx, []byte("addr")); err != nil || got != u {
		t.Fatalf("Account = %v, %v", got, err)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	d := openFresh(t)
	ctx := context.Background()
	if _, err := d.pool.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_ns) VALUES (99, 'future', 0)`); err != nil {
		t.Fatal(err)
	}
	var schema string
	if err := d.pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		t.Fatal(err)
	}
	if d2, err := Open(ctx, Config{URL: serverURL(t), Schema: schema}); err == nil {
		d2.Close()
		t.Fatal("Open accepted a schema newer than the program")
	}
}

// TestPruning checks that old request records do not pile up.
func TestPruning(t *testing.T) {
	d := openFresh(t)
	ctx := context.Background()
	count := func(table string) int {
		var n int
		if err := d.pool.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	// 250 old records of each kind, written directly in one statement.
	for _, q := range []string{
		`INSERT INTO code_requests (addr_hash, at_ns) SELECT int4send(i), $1 FROM generate_series(1, 250) AS i`,
		`INSERT INTO contact_requests (from_user, to_user, at_ns) SELECT int4send(i), int4send(i), $1 FROM generate_series(1, 250) AS i`,
	} {
		if _, err := d.pool.Exec(ctx, q, t0.UnixNano()); err != nil {
			t.Fatal(err)
		}
	}
	if n := count("code_requests"); n != 250 {
		t.Fatalf("%d code requests, want 250", n)
	}
	if n := count("contact_requests"); n != 250 {
		t.Fatalf("%d contact requests, want 250", n)
	}
	lim := directory.RequestLimits{PairWindow: time.Hour, PerSender: 10, SenderWindow: 2 * time.Hour}
	later := t0.Add(3 * time.Hour)
	for i := range 3 {
		if _, err := d.CountCodeRequest(ctx, []byte("addr"), later.Add(time.Duration(i)), time.Hour); err != nil {
			t.Fatal(err)
		}
		if _, err := d.NoteRequest(ctx, wire.NewUserID(), wire.NewUserID(), wire.NewMessageID(), later, lim); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if n := count("code_requests"); n != 250-pruneBatch+1 {
				t.Errorf("%d code requests after one call, want %d", n, 250-pruneBatch+1)
			}
		}
	}
	if n := count("code_requests"); n != 3 {
		t.Errorf("%d code requests left, want 3", n)
	}
	if n := count("contact_requests"); n != 3 {
		t.Errorf("%d contact requests left, want 3", n)
	}
}
