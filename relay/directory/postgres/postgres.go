package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Config configures a Directory.
type Config struct {
	// URL is the connection string, e.g.
	// postgres://mutual@db.internal:5432/mutual?sslmode=verify-full. It may
	// hold a password: read it from the environment or a file.
	URL string
	// Schema, if set, holds the directory's tables; it is created if
	// missing and put first on the search path of every connection.
	Schema string
	// MaxConns bounds the pool. Default 16.
	MaxConns int32
	// Now is the clock for creation, last-seen and update times. Default
	// time.Now.
	Now func() time.Time
}

func (c *Config) setDefaults() {
	if c.MaxConns == 0 {
		c.MaxConns = 16
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Validate reports whether the configuration (with defaults filled in) can
// be used.
func (c Config) Validate() error {
	c.setDefaults()
	if c.URL == "" {
		return errors.New("postgres directory: no URL")
	}
	if _, err := pgxpool.ParseConfig(c.URL); err != nil {
		// pgx's message may quote the URL, password included: say less.
		return errors.New("postgres directory: the URL does not parse")
	}
	if c.MaxConns < 1 {
		return fmt.Errorf("postgres directory: pool of %d connections", c.MaxConns)
	}
	return nil
}

// Directory is a directory.Directory on PostgreSQL.
type Directory struct {
	pool *pgxpool.Pool
	now  func() time.Time
}

var _ directory.Directory = (*Directory)(nil)

// Open connects to the database and brings its schema to the latest
// version.
func Open(ctx context.Context, cfg Config) (*Directory, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	pc, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, errors.New("open postgres directory: the URL does not parse")
	}
	pc.MaxConns = cfg.MaxConns
	if cfg.Schema != "" {
		pc.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{cfg.Schema}.Sanitize()
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("open postgres directory: %w", err)
	}
	if err := migrate(ctx, pool, cfg.Schema, -1); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres directory: %w", err)
	}
	return &Directory{pool: pool, now: cfg.Now}, nil
}

// Ping checks that a connection of the pool answers.
func (d *Directory) Ping(ctx context.Context) error {
	if err := d.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	return nil
}

// Close closes the pool's connections.
func (d *Directory) Close() error {
	d.pool.Close()
	return nil
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

// notFound maps pgx.ErrNoRows to directory.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return directory.ErrNotFound
	}
	return err
}
