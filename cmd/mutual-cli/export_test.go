package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mutualcoop/mutual/app/client"
)

// TestExport: after a chat, 'export --out FILE' writes the home's chats
// as JSON to a file only its owner can read, the same as printed without
// --out; --text renders them for reading. A home that is not registered
// has nothing to export.
func TestExport(t *testing.T) {
	r, alice, _ := chatting(t)

	out := filepath.Join(t.TempDir(), "chats.json")
	code, _, errs := alice.cli("", "export", "--out", out)
	if code != 0 || !strings.Contains(errs, "exported 1 chat and 2 messages") {
		t.Fatalf("export: exit %d, %s", code, errs)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("the export file's mode is %v, want 0600", fi.Mode().Perm())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var a client.Archive
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatalf("the export is not JSON: %v", err)
	}
	if len(a.Conversations) != 1 || len(a.Conversations[0].Messages) != 2 {
		t.Fatalf("export: %+v", a.Conversations)
	}
	if m := a.Conversations[0].Messages; m[0].Text != "hello bob" || m[0].From != "me" || m[1].Text != "hi alice" || m[1].Outgoing {
		t.Errorf("exported messages: %+v", m)
	}

	if printed := alice.must("export"); !strings.Contains(printed, `"text": "hi alice"`) {
		t.Errorf("export to standard output: %s", printed)
	}
	if text := alice.must("export", "--text"); !strings.Contains(text, "] Me: hello bob\n") || !strings.Contains(text, ": hi alice\n") {
		t.Errorf("export --text: %s", text)
	}
	if code, _, _ := alice.cli("", "export", "extra"); code != exitUsage {
		t.Errorf("export with an argument: exit %d, want %d", code, exitUsage)
	}
	if code, _, _ := newHome(t, r, "email:carol@example.org").cli("", "export"); code != exitNotRegistered {
		t.Errorf("export before registering: exit %d, want %d", code, exitNotRegistered)
	}
}
