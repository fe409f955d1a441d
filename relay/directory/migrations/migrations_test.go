package migrations

import (
	"strings"
	"testing"
)

func TestEnginesShareHistory(t *testing.T) {
	lite, err := List(SQLite)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := List(Postgres)
	if err != nil {
		t.Fatal(err)
	}
	if len(lite) == 0 || len(lite) != len(pg) {
		t.Fatalf("sqlite has %d migrations, postgres %d", len(lite), len(pg))
	}
	for i := range lite {
		if lite[i].Version != i+1 || pg[i].Version != i+1 {
			t.Errorf("migration %d: versions %d and %d", i, lite[i].Version, pg[i].Version)
		}
		if lite[i].Name != pg[i].Name {
			t.Errorf("version %d: sqlite calls it %q, postgres %q", i+1, lite[i].Name, pg[i].Name)
		}
		if strings.TrimSpace(lite[i].SQL) == "" || strings.TrimSpace(pg[i].SQL) == "" {
			t.Errorf("version %d: empty SQL", i+1)
		}
	}
}

func TestUnknownEngine(t *testing.T) {
	if _, err := List("oracle"); err == nil {
		t.Fatal("List(oracle) succeeded")
	}
}

func TestParseName(t *testing.T) {
	tests := []struct {
		file    string
		version int
		name    string
		ok      bool
	}{
		{"0001_accounts.sql", 1, "accounts", true},
		{"0012_code_requests.sql", 12, "code_requests", true},
		{"0001.sql", 0, "", false},
		{"accounts.sql", 0, "", false},
		{"0000_zero.sql", 0, "", false},
		{"0001_accounts.txt", 0, "", false},
		{"x1_accounts.sql", 0, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			m, err := parseName(tt.file)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if tt.ok && (m.Version != tt.version || m.Name != tt.name) {
				t.Errorf("got %d %q, want %d %q", m.Version, m.Name, tt.version, tt.name)
			}
		})
	}
}
