//go:build postgres

package coop_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mutualcoop/mutual/relay/coop/coopharness"
	"github.com/mutualcoop/mutual/relay/directory/postgres"
)

// These tests need a PostgreSQL server: scripts/postgres.sh start, then
//
//	MUTUAL_TEST_POSTGRES=$(scripts/postgres.sh url) go test -tags postgres -run Postgres ./relay/coop/
//
// Each test works in a schema of its own, dropped at the end.

func openPostgres(t *testing.T, now func() time.Time) coopharness.Directory {
	t.Helper()
	url := os.Getenv("MUTUAL_TEST_POSTGRES")
	if url == "" {
		t.Fatal("MUTUAL_TEST_POSTGRES is not set: start a server with `scripts/postgres.sh start` and set MUTUAL_TEST_POSTGRES=$(scripts/postgres.sh url)")
	}
	b := make([]byte, 8)
	rand.Read(b)
	schema := "test_" + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Errorf("drop schema: %v", err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	})
	d, err := postgres.Open(context.Background(), postgres.Config{URL: url, Schema: schema, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() }) // before the schema is dropped
	return d
}

func TestYearlyPostgres(t *testing.T) { testYearly(t, openPostgres) }

func TestYearlyRestartPostgres(t *testing.T) { testYearlyRestart(t, openPostgres) }

func TestYearlyDayPostgres(t *testing.T) { testYearlyDay(t, openPostgres) }
