package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/wire"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Config configures a Directory.
type Config struct {
	// Path is the database file, created if missing with mode 0600 (the
	// relay user's alone). Its directory must exist. The WAL (-wal, -shm)
	// files live beside it and take its mode.
	Path string
	// ReadConns is the size of the read pool. Default 4.
	ReadConns int
	// BusyTimeout is how long a statement waits for a lock held by another
	// process before failing. Default 5s.
	BusyTimeout time.Duration
	// Now is the clock for creation, last-seen and update times. Default
	// time.Now.
	Now func() time.Time
}

func (c *Config) setDefaults() {
	if c.ReadConns == 0 {
		c.ReadConns = 4
	}
	if c.BusyTimeout == 0 {
		c.BusyTimeout = 5 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Validate reports whether the configuration (with defaults filled in) can
// be used.
func (c Config) Validate() error {
	c.setDefaults()
	switch {
	case c.Path == "":
		return errors.New("sqlite directory: no database path")
	case c.Path == ":memory:" || strings.HasPrefix(c.Path, "file:"):
		return fmt.Errorf("sqlite directory: path %q: want a plain file path", c.Path)
	case strings.ContainsRune(c.Path, '?'):
		return fmt.Errorf("sqlite directory: path %q contains '?'", c.Path)
	case c.ReadConns < 1:
		return fmt.Errorf("sqlite directory: read pool of %d connections", c.ReadConns)
	case c.BusyTimeout < time.Millisecond:
		return fmt.Errorf("sqlite directory: busy timeout %v", c.BusyTimeout)
	}
	return nil
}

// Directory is a directory.Directory on SQLite.
type Directory struct {
	w   *sql.DB // exactly one connection: every write goes through it
	r   *sql.DB // query-only pool
	now func() time.Time

	// Statements prepared once: the hot read (the router asks for every
	// message) on the read pool, and the frequent writes on the writer.
	contactState *sql.Stmt // r
	deviceKeys   *sql.Stmt // w
	claimOne     *sql.Stmt // w
	commitOffset *sql.Stmt // w
}

var _ directory.Directory = (*Directory)(nil)

// Open opens (creating if needed) the database at cfg.Path and brings its
// schema to the latest version.
func Open(ctx context.Context, cfg Config) (*Directory, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	busy := strconv.FormatInt(cfg.BusyTimeout.Milliseconds(), 10)
	// SQLite would create the file 0644, and its -wal and -shm files
	// with the same mode.
	f, err := os.OpenFile(cfg.Path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open sqlite directory: %w", err)
	}
	f.Close()

	wq := url.Values{}
	wq.Set("_txlock", "immediate")
	wq.Add("_pragma", "busy_timeout("+busy+")")
	wq.Add("_pragma", "foreign_keys(1)")
	wq.Add("_pragma", "journal_mode(WAL)")
	wq.Add("_pragma", "synchronous(FULL)")
	w, err := openPool(cfg.Path, wq, 1)
	if err != nil {
		return nil, fmt.Errorf("open sqlite directory: %w", err)
	}
	d := &Directory{w: w, now: cfg.Now}
	if err := d.init(ctx, cfg, busy); err != nil {
		d.Close()
		return nil, fmt.Errorf("open sqlite directory: %w", err)
	}
	return d, nil
}

// openPool opens a pool of n connections that are kept open.
func openPool(path string, q url.Values, n int) (*sql.DB, error) {
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	return db, nil
}

func (d *Directory) init(ctx context.Context, cfg Config, busy string) error {
	var mode string
	if err := d.w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return err
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("journal mode is %q, not wal (does the file system support shared memory?)", mode)
	}
	if err := migrate(ctx, d.w, -1); err != nil {
		return err
	}

	rq := url.Values{}
	rq.Add("_pragma", "busy_timeout("+busy+")")
	rq.Add("_pragma", "query_only(1)")
	r, err := openPool(cfg.Path, rq, cfg.ReadConns)
	if err != nil {
		return err
	}
	d.r = r

	prepare := []struct {
		db    *sql.DB
		stmt  **sql.Stmt
		query string
	}{
		{d.r, &d.contactState, contactStateQuery},
		{d.w, &d.deviceKeys, deviceKeysQuery},
		{d.w, &d.claimOne, claimOneQuery},
		{d.w, &d.commitOffset, commitOffsetQuery},
	}
	for _, p := range prepare {
		if *p.stmt, err = p.db.PrepareContext(ctx, p.query); err != nil {
			return err
		}
	}
	return nil
}

// Ping checks that the writer and the read pool each answer a query.
func (d *Directory) Ping(ctx context.Context) error {
	if err := d.w.PingContext(ctx); err != nil {
		return fmt.Errorf("ping writer: %w", err)
	}
	if err := d.r.PingContext(ctx); err != nil {
		return fmt.Errorf("ping readers: %w", err)
	}
	return nil
}

// Close closes the database.
func (d *Directory) Close() error {
	var errs []error
	for _, s := range []*sql.Stmt{d.contactState, d.deviceKeys, d.claimOne, d.commitOffset} {
		if s != nil {
			errs = append(errs, s.Close())
		}
	}
	if d.r != nil {
		errs = append(errs, d.r.Close())
	}
	errs = append(errs, d.w.Close())
	return errors.Join(errs...)
}

// write runs fn in a write transaction (BEGIN IMMEDIATE) and commits it when
// fn returns nil.
func (d *Directory) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// ns converts a time to the stored form: Unix nanoseconds, 0 for the zero
// time.
func ns(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNS(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func userID(b []byte) (wire.UserID, error) {
	var u wire.UserID
	if len(b) != len(u) {
		return u, fmt.Errorf("stored user id of %d bytes", len(b))
	}
	copy(u[:], b)
	return u, nil
}

// notFound maps sql.ErrNoRows to directory.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return directory.ErrNotFound
	}
	return err
}
