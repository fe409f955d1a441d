//go:build postgres

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mutualcoop/mutual/relay/directory/postgres"
	"github.com/mutualcoop/mutual/relay/server"
	"github.com/mutualcoop/mutual/relay/wire"
)

// TestCoopOnPostgres: with --db, `mutual coop` works on a cluster's
// directory in PostgreSQL (its --db-schema), finding accounts with the
// cluster's --secret-file. It needs a PostgreSQL server:
//
//	scripts/postgres.sh start
//	MUTUAL_TEST_POSTGRES=$(scripts/postgres.sh url) go test -tags postgres -run Postgres ./cmd/mutual
func TestCoopOnPostgres(t *testing.T) {
	url := os.Getenv("MUTUAL_TEST_POSTGRES")
	if url == "" {
		t.Fatal("MUTUAL_TEST_POSTGRES is not set: start a server with `scripts/postgres.sh start` and set MUTUAL_TEST_POSTGRES=$(scripts/postgres.sh url)")
	}
	ctx := context.Background()
	b := make([]byte, 8)
	rand.Read(b)
	schema := "test_" + hex.EncodeToString(b)
	t.Cleanup(func() {
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
	secretFile := filepath.Join(t.TempDir(), "secret")
	secret, err := server.LoadSecret(secretFile)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := postgres.Open(ctx, postgres.Config{URL: url, Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	users := register(t, secret, dir, "email:alice@example.org")

	coop := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := run(append(append([]string{"coop"}, args...), "--db", url, "--db-schema", schema, "--secret-file", secretFile), &out, &errb)
		return code, out.String() + errb.String()
	}
	if code, out := coop("grant", "operator", "email:alice@example.org"); code != 0 || !strings.Contains(out, "is now an operator") {
		t.Fatalf("grant: exit %d, %s", code, out)
	}
	ops, err := dir.RoleHolders(ctx, wire.RoleOperator)
	if err != nil || len(ops) != 1 || ops[0].User != users["email:alice@example.org"] {
		t.Fatalf("operators %+v, %v", ops, err)
	}
	if code, out := coop("costs", "set", "2026-01", "infrastructure", "12000"); code != 0 {
		t.Fatalf("costs set: exit %d, %s", code, out)
	}
	costs, err := dir.Costs(ctx, "2026-01", "2026-01")
	if err != nil || len(costs) != 1 || costs[0].Amount != 12000 {
		t.Fatalf("costs %+v, %v", costs, err)
	}

	var out, errb bytes.Buffer
	if code := run([]string{"coop", "costs", "list", "--db", url}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "--secret-file") {
		t.Fatalf("--db without --secret-file: exit %d, %s", code, errb.String())
	}
}
