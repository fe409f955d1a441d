package auth_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mutualcoop/mutual/relay/auth"
)

func TestConsoleSender(t *testing.T) {
	var out bytes.Buffer
	snd := auth.NewConsoleSender(&out)
	st := newMemStore()
	svc, err := auth.New(auth.Config{Secret: testSecret}, st, auth.Senders{auth.SchemeEmail: snd})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := svc.Request(t.Context(), "Alice@Bücher.example", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	line := out.String()
	fields := strings.Fields(line)
	if !strings.HasSuffix(line, "\n") || strings.Count(line, "\n") != 1 || len(fields) != 4 ||
		fields[0] != "DEV" || fields[1] != "CODE" || fields[2] != "email:Alice@xn--bcher-kva.example" || len(fields[3]) != 8 {
		t.Fatalf("console line %q, want \"DEV CODE <address> <8 digits>\\n\"", line)
	}
	if _, _, err := svc.Verify(t.Context(), "other@bücher.example", fields[3], tok, "127.0.0.1"); !errors.Is(err, auth.ErrBadCode) {
		t.Fatalf("code for another local part: %v", err)
	}
	if _, _, err := svc.Verify(t.Context(), "alice@bücher.example", fields[3], tok, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	a, _ := auth.ParseAddress("x@example.org")
	if err := snd.Send(ctx, a, auth.Message{Code: "1"}); err == nil {
		t.Fatal("Send with a cancelled context wrote")
	}
}

func TestIsLoopback(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"127.0.0.1:8080", true},
		{"127.1.2.3:80", true},
		{"127.0.0.1", true},
		{"[::1]:443", true},
		{"::1", true},
		{"[::1]", true},
		{"localhost:8080", true},
		{"LOCALHOST", true},
		{"[::ffff:127.0.0.1]:80", true},
		{":8080", false},
		{"0.0.0.0:8080", false},
		{"[::]:8080", false},
		{"192.0.2.1:8080", false},
		{"example.org:25", false},
		{"localhost.example.org:25", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := auth.IsLoopback(tt.in); got != tt.want {
			t.Errorf("IsLoopback(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestReadSecretFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	hex := strings.Repeat("ab", 32)
	got, err := auth.ReadSecretFile(write("ok", hex+"\n"))
	if err != nil || string(got) != hex {
		t.Fatalf("ReadSecretFile = %q, %v", got, err)
	}
	if _, err := auth.ReadSecretFile(write("short", strings.Repeat("a", 31)+"\n")); err == nil {
		t.Fatal("short secret accepted")
	}
	if _, err := auth.ReadSecretFile(write("blank", "   \n\n")); err == nil {
		t.Fatal("blank secret accepted")
	}
	if _, err := auth.ReadSecretFile(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}
