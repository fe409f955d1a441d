package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/internal/relaytest"
)

// receiveFiles runs 'receive --json --save-dir dir' and returns the
// messages and the progress lines it wrote to standard error.
func (h *home) receiveFiles(dir string) ([]messageJSON, []progressJSON) {
	h.t.Helper()
	code, out, errs := h.cli("", "receive", "--json", "--save-dir", dir)
	if code != 0 {
		h.t.Fatalf("receive --save-dir: exit %d\n%s%s", code, out, errs)
	}
	var msgs []messageJSON
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var m messageJSON
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			h.t.Fatalf("receive --json printed %q: %v", line, err)
		}
		msgs = append(msgs, m)
	}
	var prog []progressJSON
	for _, line := range strings.Split(strings.TrimSpace(errs), "\n") {
		var p progressJSON
		if line != "" && json.Unmarshal([]byte(line), &p) == nil && p.Event != "" {
			prog = append(prog, p)
		}
	}
	return msgs, prog
}

// writeFile writes a file of n bytes starting with text into dir.
func writeFile(t *testing.T, dir, name, text string, n int) (string, []byte) {
	t.Helper()
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 13)
	}
	copy(b, text)
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, b
}

// TestSendFiles: Alice sends two files with a caption; Bob saves them
// with 'receive --save-dir', the JSON naming where; the same names again
// never replace what he saved. A group gets a file the same way.
func TestSendFiles(t *testing.T) {
	_, alice, bob := chatting(t)
	src := t.TempDir()
	photo, photoData := writeFile(t, src, "photo.png", "not really a png", 2<<10)
	doc, docData := writeFile(t, src, "deep/report.pdf", "%PDF", 1<<20+17)

	code, out, errs := alice.cli("", "send", bob.addr, "--file", photo, "--file="+doc, "--caption", "two files", "--json")
	if code != 0 {
		t.Fatalf("send --file: exit %d\n%s%s", code, out, errs)
	}
	if !strings.Contains(errs, `"event":"sent"`) || !strings.Contains(errs, `"event":"progress"`) {
		t.Fatalf("send --json reported %q", errs)
	}
	saveDir := t.TempDir()
	msgs, prog := bob.receiveFiles(saveDir)
	if len(msgs) != 1 || msgs[0].Text != "two files" || len(msgs[0].Attachments) != 2 {
		t.Fatalf("bob received %+v", msgs)
	}
	want := map[string][]byte{"photo.png": photoData, "report.pdf": docData}
	saved := 0
	for _, a := range msgs[0].Attachments {
		if filepath.Dir(a.Path) != saveDir || filepath.Base(a.Path) != a.Name {
			t.Fatalf("saved %q as %q", a.Name, a.Path)
		}
		got, err := os.ReadFile(a.Path)
		if err != nil || !bytes.Equal(got, want[a.Name]) {
			t.Fatalf("%s: %d bytes, %v", a.Path, len(got), err)
		}
		if a.Name == "photo.png" && a.Type != "image/png" {
			t.Fatalf("the photo's type: %q", a.Type)
		}
	}
	for _, p := range prog {
		if p.Event == "saved" {
			saved++
		}
	}
	if saved != 2 {
		t.Fatalf("progress on standard error: %+v", prog)
	}

	// The same names again: saved next to the first ones.
	alice.must("send", bob.addr, "--file", photo, "again")
	msgs, _ = bob.receiveFiles(saveDir)
	if len(msgs) != 1 || msgs[0].Text != "again" || len(msgs[0].Attachments) != 1 {
		t.Fatalf("bob received %+v", msgs)
	}
	if p := msgs[0].Attachments[0].Path; p != filepath.Join(saveDir, "photo (1).png") {
		t.Fatalf("the second photo went to %q", p)
	}
	if got, _ := os.ReadFile(filepath.Join(saveDir, "photo.png")); !bytes.Equal(got, photoData) {
		t.Fatal("the first photo was replaced")
	}

	// Without --save-dir the files are listed, not saved.
	alice.must("send", bob.addr, "--file", doc)
	if out := bob.must("receive"); !strings.Contains(out, "file report.pdf (1048593 bytes; receive --save-dir DIR saves it)") {
		t.Fatalf("receive without --save-dir: %q", out)
	}

	// A group.
	out = alice.must("group", "create", "Files", bob.addr)
	id := regexp.MustCompile(`[0-9a-f]{32}`).FindString(out)
	bob.receiveJSON()
	alice.receiveJSON()
	alice.must("send", "--group", id, "--file", doc)
	groupDir := t.TempDir()
	msgs, _ = bob.receiveFiles(groupDir)
	if len(msgs) != 1 || msgs[0].Group != id || len(msgs[0].Attachments) != 1 {
		t.Fatalf("bob received %+v", msgs)
	}
	if got, _ := os.ReadFile(msgs[0].Attachments[0].Path); !bytes.Equal(got, docData) {
		t.Fatal("the group's file differs")
	}
}

// TestSendFilesRefused: what send --file refuses before anything goes.
func TestSendFilesRefused(t *testing.T) {
	r := relaytest.Start(t, relaytest.Options{})
	h := newHome(t, r, "email:carol@example.org")
	dir := t.TempDir()
	path, _ := writeFile(t, dir, "a.txt", "a", 10)
	big := filepath.Join(dir, "big.bin")
	if f, err := os.Create(big); err != nil || f.Truncate(client.MaxAttachmentSize+1) != nil || f.Close() != nil {
		t.Fatal("cannot make a large file")
	}
	h.register()
	bob := newHome(t, r, "email:bob@example.org")
	bob.register()
	h.must("contacts", "add", bob.addr)
	for _, tc := range []struct {
		name string
		args []string
		code int
		says string
	}{
		{"caption without a file", []string{"send", "email:x@example.org", "--caption", "hi"}, exitUsage, "--caption goes with --file"},
		{"caption twice", []string{"send", "email:x@example.org", "--file", path, "--caption", "a", "b"}, exitUsage, "give the caption once"},
		{"no value", []string{"send", "email:x@example.org", "--file"}, exitUsage, "needs a value"},
		{"a directory", []string{"send", bob.addr, "--file", dir}, exitFailure, "is not a file"},
		{"too large", []string{"send", bob.addr, "--file", big}, exitFailure, "files can be at most 100 MB"},
		{"missing", []string{"send", bob.addr, "--file", filepath.Join(dir, "nope")}, exitFailure, "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := h.cli("", tc.args...)
			if code != tc.code || !strings.Contains(errs, tc.says) {
				t.Fatalf("exit %d, %q; want %d, %q", code, errs, tc.code, tc.says)
			}
		})
	}
}

// TestSafeName: a name a sender gave never leaves the directory, names a
// hidden file or a device, or carries control characters.
func TestSafeName(t *testing.T) {
	for _, tc := range []struct {
		a    client.Attachment
		want string
	}{
		{client.Attachment{Name: "photo.jpg"}, "photo.jpg"},
		{client.Attachment{Name: "../../etc/passwd"}, "passwd"},
		{client.Attachment{Name: `..\..\boot.ini`}, "boot.ini"},
		{client.Attachment{Name: ".."}, "attachment"},
		{client.Attachment{Name: ".bashrc"}, "bashrc"},
		{client.Attachment{Name: "a\x1b[31mb\u202e.txt"}, "a[31mb.txt"},
		{client.Attachment{Name: "/"}, "attachment"},
	} {
		if got := safeName(tc.a); got != tc.want {
			t.Errorf("safeName(%q) = %q, want %q", tc.a.Name, got, tc.want)
		}
	}
	// A voice note has no name: it is named by its type (the extension
	// is the system's).
	if got := safeName(client.Attachment{Type: "audio/ogg", Voice: true}); !strings.HasPrefix(got, "voice-note.") {
		t.Errorf("a voice note is saved as %q", got)
	}
}

// TestParseSend: words that start with a dash are text.
func TestParseSend(t *testing.T) {
	a, err := parseSend([]string{"bob", "-1", "degrees", "--", "--file"})
	if err != nil || a.target != "bob" || strings.Join(a.words, " ") != "-1 degrees --file" || len(a.files) != 0 {
		t.Fatalf("got %+v, %v", a, err)
	}
	a, err = parseSend([]string{"--group", "id", "--file", "x", "--file=y", "--caption=c"})
	if err != nil || !a.group || a.target != "id" || len(a.files) != 2 || a.captionText() != "c" {
		t.Fatalf("got %+v, %v", a, err)
	}
}
