package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mutualcoop/mutual/relay/directory/migrations"
)

// migrationLock is the advisory lock (two-key form, apart from the
// one-key locks NoteRequest takes) that serializes migrators.
const migrationLock = `SELECT pg_advisory_xact_lock(1836413036, 1)` // 'mutl'

// migrate brings the schema to version target (-1: the latest) in one
// transaction. Running it again is harmless; a database newer than this
// binary is refused.
func migrate(ctx context.Context, pool *pgxpool.Pool, schema string, target int) error {
	ms, err := migrations.List(migrations.Postgres)
	if err != nil {
		return err
	}
	if target < 0 || target > len(ms) {
		target = len(ms)
	}
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, migrationLock); err != nil {
			return err
		}
		if schema != "" {
			if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{schema}.Sanitize()); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT    NOT NULL,
			applied_ns BIGINT  NOT NULL
		)`); err != nil {
			return err
		}
		var cur int
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&cur); err != nil {
			return err
		}
		if cur > len(ms) {
			return fmt.Errorf("database schema is at version %d, newer than this program's %d", cur, len(ms))
		}
		for _, m := range ms[min(cur, target):target] {
			// No arguments: the simple protocol, which runs several statements.
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("to %d (%s): %w", m.Version, m.Name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_ns) VALUES ($1, $2, $3)`,
				m.Version, m.Name, time.Now().UnixNano()); err != nil {
				return fmt.Errorf("to %d: %w", m.Version, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}
