package main

import (
	"regexp"
	"strings"
	"testing"
)

// TestBackupAndRestore: Alice turns backup on (the recovery key is
// printed once), and a new home of her account restores it with the key
// read from standard input, after a wrong key is refused; the chat is
// then in the new home. Turning backup off leaves nothing to restore.
func TestBackupAndRestore(t *testing.T) {
	r, alice, _ := chatting(t)
	out := alice.must("backup", "on")
	key := regexp.MustCompile(`(?m)^  ((?:[0-9a-z]{4} ){15}[0-9a-z]{4})$`).FindStringSubmatch(out)
	if key == nil || !strings.Contains(out, "Backed up") {
		t.Fatalf("backup on printed:\n%s", out)
	}
	if st := alice.must("backup", "status", "--json"); !strings.Contains(st, `"enabled":true`) || !strings.Contains(st, `"daily":true`) {
		t.Fatalf("backup status: %s", st)
	}
	if out := alice.must("backup", "now"); !strings.Contains(out, "Backed up") {
		t.Fatalf("backup now: %s", out)
	}

	fresh := newHome(t, r, alice.addr)
	fresh.register()
	wrong := strings.Repeat("0", 64)
	if code, _, errs := fresh.cli(wrong+"\n", "restore"); code != exitFailure || !strings.Contains(errs, "the recovery key does not open this backup") {
		t.Fatalf("restore with a wrong key: exit %d, %s", code, errs)
	}
	code, out, errs := fresh.cli(key[1]+"\n", "restore")
	if code != 0 || !strings.Contains(out, "Restored 1 contact") {
		t.Fatalf("restore: exit %d\n%s%s", code, out, errs)
	}
	if chats := fresh.must("export", "--text"); !strings.Contains(chats, "hello bob") || !strings.Contains(chats, "hi alice") {
		t.Fatalf("the restored home holds:\n%s", chats)
	}

	alice.must("backup", "off")
	if st := alice.must("backup", "status"); !strings.Contains(st, "Backup is off") {
		t.Fatalf("backup status after off: %s", st)
	}
	other := newHome(t, r, alice.addr)
	other.register()
	if code, _, errs := other.cli(key[1]+"\n", "restore"); code != exitFailure || !strings.Contains(errs, "no backup") {
		t.Fatalf("restore after off: exit %d, %s", code, errs)
	}
}

// TestBackupPassphraseCLI: a passphrase comes on standard input, and a
// short one is refused.
func TestBackupPassphraseCLI(t *testing.T) {
	_, alice, _ := chatting(t)
	if code, _, errs := alice.cli("too short\n", "backup", "on", "--passphrase"); code != exitFailure || !strings.Contains(errs, "at least 12 characters") {
		t.Fatalf("a short passphrase: exit %d, %s", code, errs)
	}
	if code, out, errs := alice.cli("a long enough passphrase\n", "backup", "on", "--passphrase", "--daily=false"); code != 0 || strings.Contains(out, "recovery key") {
		t.Fatalf("backup on --passphrase: exit %d\n%s%s", code, out, errs)
	}
	if st := alice.must("backup", "status", "--json"); !strings.Contains(st, `"passphrase":true`) || strings.Contains(st, `"daily":true`) {
		t.Fatalf("backup status: %s", st)
	}
}
