package postgres

import (
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"url", Config{URL: "postgres://mutual@127.0.0.1:5432/mutual?sslmode=disable"}, true},
		{"keyword form", Config{URL: "host=127.0.0.1 user=mutual dbname=mutual"}, true},
		{"no url", Config{}, false},
		{"bad url", Config{URL: "postgres://mutual:secret@[::1"}, false},
		{"negative pool", Config{URL: "postgres://127.0.0.1/mutual", MaxConns: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Fatalf("error %q shows the password", err)
			}
		})
	}
}
