package sqlite

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/directory/dirtest"
	"github.com/mutualcoop/mutual/relay/directory/migrations"
	"github.com/mutualcoop/mutual/relay/wire"
)

func openTemp(tb testing.TB) *Directory {
	tb.Helper()
	d, err := Open(context.Background(), Config{Path: filepath.Join(tb.TempDir(), "directory.db")})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := d.Close(); err != nil {
			tb.Error(err)
		}
	})
	return d
}

func TestConformance(t *testing.T) {
	dirtest.Run(t, func(t *testing.T) directory.Directory { return openTemp(t) })
}

func BenchmarkDirectory(b *testing.B) {
	dirtest.Bench(b, func(b *testing.B) directory.Directory { return openTemp(b) })
}

// TestPingClosed: a closed directory does not pass for a healthy one.
func TestPingClosed(t *testing.T) {
	d, err := Open(context.Background(), Config{Path: filepath.Join(t.TempDir(), "directory.db")})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Ping(context.Background()); err != nil {
		t.Fatalf("Ping = %v", err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Ping(context.Background()); err == nil {
		t.Fatal("Ping succeeded after Close")
	}
}

func TestPragmas(t *testing.T) {
	d := openTemp(t)
	ctx := context.Background()
	checks := []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"synchronous", "2"}, // FULL
		{"foreign_keys", "1"},
		{"busy_timeout", "5000"},
	}
	for _, c := range checks {
		t.Run(c.pragma, func(t *testing.T) {
			var got string
			if err := d.w.QueryRowContext(ctx, "PRAGMA "+c.pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Fatalf("PRAGMA %s = %s, want %s", c.pragma, got, c.want)
			}
		})
	}
	// The read pool cannot write.
	if _, err := d.r.ExecContext(ctx, `DELETE FROM users`); err == nil {
		t.Fatal("write through the read pool succeeded")
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"defaults", Config{Path: "/var/lib/mutual/directory.db"}, true},
		{"no path", Config{}, false},
		{"memory", Config{Path: ":memory:"}, false},
		{"uri", Config{Path: "file:x.db"}, false},
		{"query in path", Config{Path: "x.db?mode=ro"}, false},
		{"negative pool", Config{Path: "x.db", ReadConns: -1}, false},
		{"negative busy timeout", Config{Path: "x.db", BusyTimeout: -time.Second}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(); (err == nil) != tt.ok {
				t.Fatalf("Validate = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func schemaVersion(t *testing.T, d *Directory) int {
	t.Helper()
	var v int
	if err := d.w.QueryRow(`SELECT MAX(version) FROM schema_migrations`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// oldData is what a database at each earlier version holds before the
// upgrade, written with that version's tables.
var oldData = map[int][]string{
	1: {
		`INSERT INTO users (id, created_ns, last_device) VALUES (x'000102030405060708090a0b0c0d0e0f', 1, 1)`,
		`INSERT INTO accounts (addr_hash, user_id) VALUES (x'aa', x'000102030405060708090a0b0c0d0e0f')`,
		`INSERT INTO devices (user_id, id, name, cred_hash, created_ns, last_seen_ns, inbox_offset)
			VALUES (x'000102030405060708090a0b0c0d0e0f', 1, 'phone', x'cc', 1, 2, 5)`,
	},
	2: {
		`INSERT INTO contacts (owner, other, state, updated_ns) VALUES (x'000102030405060708090a0b0c0d0e0f', x'0f0e0d0c0b0a09080706050403020100', 1, 3)`,
		`INSERT INTO contact_requests (from_user, to_user, at_ns) VALUES (x'000102030405060708090a0b0c0d0e0f', x'0f0e0d0c0b0a09080706050403020100', 1000000000)`,
	},
}

// TestMigrateFromEachVersion brings a database to every earlier version,
// fills it, and checks that Open upgrades it to the latest version with the
// data intact.
func TestMigrateFromEachVersion(t *testing.T) {
	ms, err := migrations.List(migrations.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	latest := len(ms)
	ctx := context.Background()
	user := wire.UserID{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	other := wire.UserID{15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0}
	for v := 1; v < latest; v++ {
		t.Run(ms[v-1].Name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "directory.db")
			old, err := openPool(path, url.Values{"_txlock": {"immediate"}}, 1)
			if err != nil {
				t.Fatal(err)
			}
			if err := migrate(ctx, old, v); err != nil {
				t.Fatal(err)
			}
			for i := 1; i <= v; i++ {
				for _, q := range oldData[i] {
					if _, err := old.Exec(q); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := old.Close(); err != nil {
				t.Fatal(err)
			}

			d, err := Open(ctx, Config{Path: path})
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

func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "directory.db")
	d, err := Open(ctx, Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	user, _, err := d.CreateAccount(ctx, []byte("addr"), wire.NewUserID())
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	ms, err := migrations.List(migrations.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	// Opening again applies nothing and finds the data.
	for range 2 {
		d, err := Open(ctx, Config{Path: path})
		if err != nil {
			t.Fatal(err)
		}
		if got := schemaVersion(t, d); got != len(ms) {
			t.Errorf("version %d, want %d", got, len(ms))
		}
		if u, err := d.Account(ctx, []byte("addr")); err != nil || u != user {
			t.Fatalf("Account = %v, %v", u, err)
		}
		d.Close()
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "directory.db")
	d, err := Open(ctx, Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.w.Exec(`INSERT INTO schema_migrations (version, name, applied_ns) VALUES (99, 'future', 0)`); err != nil {
		t.Fatal(err)
	}
	d.Close()
	if d, err := Open(ctx, Config{Path: path}); err == nil {
		d.Close()
		t.Fatal("Open accepted a schema newer than the program")
	}
}

// TestTwoProcesses opens the same file twice, as two relay processes on one
// machine would, and has both claim from one pool.
func TestTwoProcesses(t *testing.T) {
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
	user, _, err := ds[0].CreateAccount(ctx, []byte("addr"), wire.NewUserID())
	if err != nil {
		t.Fatal(err)
	}
	dev, err := ds[0].AddDevice(ctx, user, "phone", []byte("cred"), 0)
	if err != nil {
		t.Fatal(err)
	}
	signed := directory.Prekey{ID: 1, Public: []byte("signed"), Signature: []byte("sig")}
	var pool []directory.Prekey
	for i := range 100 {
		pool = append(pool, directory.Prekey{ID: uint32(i + 1), Public: []byte{byte(i)}})
	}
	if err := ds[1].PublishKeys(ctx, user, dev, directory.Keys{Identity: []byte("id"), Signed: &signed, KEMLastResort: &signed, OneTime: pool}); err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		seen = map[uint32]bool{}
		errs []error
		wg   sync.WaitGroup
	)
	for i := range 8 {
		wg.Go(func() {
			for range 20 {
				b, err := ds[i%2].ClaimBundle(ctx, user, dev)
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else if b.OneTime != nil {
					if seen[b.OneTime.ID] {
						errs = append(errs, errors.New("key handed out twice"))
					}
					seen[b.OneTime.ID] = true
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if len(seen) != len(pool) {
		t.Fatalf("%d keys handed out, want %d", len(seen), len(pool))
	}
}

// TestPruning checks that old request records do not pile up.
func TestPruning(t *testing.T) {
	d := openTemp(t)
	ctx := context.Background()
	count := func(table string) int {
		var n int
		if err := d.r.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	// 250 old records of each kind, written directly in one statement.
	for _, q := range []string{
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 250)
			INSERT INTO code_requests (addr_hash, at_ns) SELECT randomblob(32), ? FROM n`,
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 250)
			INSERT INTO contact_requests (from_user, to_user, at_ns) SELECT randomblob(16), randomblob(16), ? FROM n`,
	} {
		if _, err := d.w.ExecContext(ctx, q, t0.UnixNano()); err != nil {
			t.Fatal(err)
		}
	}
	if n := count("code_requests"); n != 250 {
		t.Fatalf("%d code requests, want 250", n)
	}
	if n := count("contact_requests"); n != 250 {
		t.Fatalf("%d contact requests, want 250", n)
	}
	// Each later call removes up to pruneBatch expired records.
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

// TestFileModes: the database and its -wal and -shm files are the relay
// user's alone.
func TestFileModes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "directory.db")
	d, err := Open(context.Background(), Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	u := wire.NewUserID()
	if _, _, err := d.CreateAccount(context.Background(), bytes.Repeat([]byte{1}, 32), u); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", filepath.Base(p), st.Mode().Perm())
		}
	}
}
