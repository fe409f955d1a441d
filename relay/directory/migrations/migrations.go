package migrations

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Engine names a SQL dialect with its own set of migration files.
type Engine string

// The engines with migrations.
const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

// Migration is one step of the schema history.
type Migration struct {
	Version int    // 1, 2, 3, ... without gaps
	Name    string // from the file name, e.g. "accounts"
	SQL     string // one or more statements
}

//go:embed sqlite/*.sql postgres/*.sql
var files embed.FS

// List returns the engine's migrations in version order.
func List(e Engine) ([]Migration, error) {
	switch e {
	case SQLite, Postgres:
	default:
		return nil, fmt.Errorf("migrations: unknown engine %q", e)
	}
	entries, err := fs.ReadDir(files, string(e))
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	var ms []Migration
	for _, ent := range entries {
		m, err := parseName(ent.Name())
		if err != nil {
			return nil, err
		}
		b, err := fs.ReadFile(files, path.Join(string(e), ent.Name()))
		if err != nil {
			return nil, fmt.Errorf("migrations: %w", err)
		}
		m.SQL = string(b)
		ms = append(ms, m)
	}
	slices.SortFunc(ms, func(a, b Migration) int { return a.Version - b.Version })
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migrations: %s: version %d where %d was expected", e, m.Version, i+1)
		}
	}
	return ms, nil
}

// parseName reads "0001_accounts.sql" as version 1, name "accounts".
func parseName(file string) (Migration, error) {
	base, ok := strings.CutSuffix(file, ".sql")
	num, name, ok2 := strings.Cut(base, "_")
	if !ok || !ok2 || name == "" {
		return Migration{}, fmt.Errorf("migrations: bad file name %q (want NNNN_name.sql)", file)
	}
	v, err := strconv.Atoi(num)
	if err != nil || v <= 0 {
		return Migration{}, fmt.Errorf("migrations: bad version in %q", file)
	}
	return Migration{Version: v, Name: name}, nil
}
