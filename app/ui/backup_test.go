package ui

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
	"golang.org/x/net/html"

	"github.com/mutualcoop/mutual/app/client"
)

func TestKeyGroups(t *testing.T) {
	key := strings.Repeat("abcd", 15) + "wxyz"
	gs := keyGroups(key)
	if len(gs) != 16 || gs[0] != "abcd" || gs[15] != "wxyz" {
		t.Fatalf("keyGroups = %q", gs)
	}
	if got := keyGroups("abcdef"); len(got) != 2 || got[1] != "ef" {
		t.Errorf("keyGroups(abcdef) = %q", got)
	}
	for _, tc := range []struct {
		typed string
		want  bool
	}{
		{"wxyz", true},
		{" WXYZ ", true},
		{"wx yz", true},
		{"abcd", false},
		{"wxy", false},
		{"", false},
	} {
		if got := lastGroupMatches(key, tc.typed); got != tc.want {
			t.Errorf("lastGroupMatches(%q) = %v, want %v", tc.typed, got, tc.want)
		}
	}
	if lastGroupMatches("", "") {
		t.Error("an empty key matched")
	}
}

func TestPassphraseProblem(t *testing.T) {
	for _, tc := range []struct {
		name, first, second, want string
	}{
		{"good", "correct horse", "correct horse", ""},
		{"short", "elevenchars", "elevenchars", "at least 12"},
		{"twelve runes, more bytes", "ééééééééééé1", "ééééééééééé1", ""},
		{"different", "correct horse", "correct house", "not the same"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := passphraseProblem(tc.first, tc.second)
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Errorf("passphraseProblem = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPercentOf(t *testing.T) {
	for _, tc := range []struct {
		p    client.Progress
		want int
	}{
		{client.Progress{}, 0},
		{client.Progress{Done: 5}, 0},
		{client.Progress{Done: 1, Total: 3}, 33},
		{client.Progress{Done: 3, Total: 3}, 100},
		{client.Progress{Done: 4, Total: 3}, 100},
	} {
		if got := percentOf(tc.p); got != tc.want {
			t.Errorf("percentOf(%+v) = %d, want %d", tc.p, got, tc.want)
		}
	}
}

func TestBackupView(t *testing.T) {
	now := time.Date(2025, 3, 14, 15, 0, 0, 0, time.UTC)

	off := render(t, func() app.UI { return backupView(backupState{step: backupOff}, backupHandlers{}) })
	off.one("#backup-turn-on")
	if s := text(off.one("#backup-hint")); !strings.Contains(s, "cannot read it") || !strings.Contains(s, "replaces") || !strings.Contains(s, "storage") {
		t.Errorf("the hint does not say what backup is: %q", s)
	}

	choose := render(t, func() app.UI { return backupView(backupState{step: backupChoose}, backupHandlers{}) })
	if !boolAttr(choose.one("#backup-use-key"), "checked") || boolAttr(choose.one("#backup-use-passphrase"), "checked") {
		t.Error("the recovery key is not the default")
	}
	if s := text(choose.one(".warning")); !strings.Contains(s, "not even the co-op") {
		t.Errorf("no warning that nobody can restore without the secret: %q", s)
	}

	key := strings.Repeat("0123456789abcdefghijklmnopqrstuv", 2)
	shown := render(t, func() app.UI { return backupView(backupState{step: backupShowKey, key: key}, backupHandlers{}) })
	groups := shown.all(".key-group")
	if len(groups) != 16 || text(groups[0]) != "0123" || text(groups[15]) != "stuv" {
		t.Errorf("the key is not shown in 16 groups of 4")
	}
	if got := attr(shown.one("#recovery-key"), "data-key"); strings.ReplaceAll(got, " ", "") != key {
		t.Errorf("data-key = %q", got)
	}
	shown.one("#copy-recovery-key")
	shown.one("#recovery-key-written")

	confirm := render(t, func() app.UI {
		return backupView(backupState{step: backupConfirmKey, key: key, err: "That is not the last group"}, backupHandlers{})
	})
	confirm.one("#recovery-key-check")
	if s := text(confirm.one("#backup-error")); !strings.Contains(s, "last group") {
		t.Errorf("the error is %q", s)
	}
	if len(confirm.all(".key-group")) != 0 {
		t.Error("the key is still on screen while it is checked")
	}

	pass := render(t, func() app.UI { return backupView(backupState{step: backupPassphrase}, backupHandlers{}) })
	for _, id := range []string{"#backup-passphrase", "#backup-passphrase-again"} {
		if attr(pass.one(id), "type") != "password" {
			t.Errorf("%s is not a password field", id)
		}
	}

	on := backupState{step: backupOn, now: now, status: client.BackupStatus{
		Enabled: true, Daily: true, Last: now.Add(-time.Hour), Size: 3 << 20, Err: "the server is full",
	}}
	d := render(t, func() app.UI { return backupView(on, backupHandlers{}) })
	if got := text(d.one("#backup-last")); got != "Today, 14:00" {
		t.Errorf("last backup %q", got)
	}
	if got := text(d.one("#backup-size")); got != "3 MB" {
		t.Errorf("size %q", got)
	}
	if got := text(d.one("#backup-failed")); !strings.Contains(got, "the server is full") {
		t.Errorf("the failure says %q", got)
	}
	if !boolAttr(d.one("#backup-daily"), "checked") {
		t.Error("the daily switch is off")
	}
	if len(d.all("#backup-progress")) != 0 {
		t.Error("a progress bar while no backup runs")
	}
	d.one("#backup-turn-off")
	d.one("#backup-off-dialog")

	on.running, on.progress = true, client.Progress{Done: 1, Total: 4}
	r := render(t, func() app.UI { return backupView(on, backupHandlers{}) })
	if got := attr(r.one("#backup-progress"), "value"); got != "25" {
		t.Errorf("progress value %q", got)
	}
	if !isDisabled(r.one("#backup-now")) {
		t.Error("Back up now is on while a backup runs")
	}
	if len(r.all("#backup-failed")) != 0 {
		t.Error("the old failure shows while a new backup runs")
	}

	daily := backupState{step: backupOn, now: now, status: client.BackupStatus{Enabled: true, Running: true, Passphrase: true}}
	dr := render(t, func() app.UI { return backupView(daily, backupHandlers{}) })
	if bar := dr.one("#backup-progress"); boolAttr(bar, "value") {
		t.Error("the daily backup's bar claims to know its progress")
	}
	if !isDisabled(dr.one("#backup-now")) || !isDisabled(dr.one("#backup-turn-off")) {
		t.Error("Back up now or Turn off is on while the daily backup runs")
	}
	if got := text(dr.one("#backup-secret")); got != "Passphrase" {
		t.Errorf("opened with %q", got)
	}

	never := render(t, func() app.UI {
		return backupView(backupState{step: backupOn, now: now, status: client.BackupStatus{Enabled: true}}, backupHandlers{})
	})
	if got := text(never.one("#backup-last")); got != "Never" {
		t.Errorf("last backup %q before any", got)
	}
}

func TestRestoreView(t *testing.T) {
	now := time.Date(2025, 3, 14, 15, 0, 0, 0, time.UTC)
	looking := render(t, func() app.UI { return restoreView(restoreState{}, nil, nil, nil) })
	looking.one("#restore-status")
	looking.one("#restore-skip")
	if len(looking.all("#restore-secret")) != 0 {
		t.Error("the secret's field before a backup was found")
	}

	offer := restoreState{step: restoreOffer, now: now, secret: "wrong",
		backup: client.BackupInfo{Created: now.Add(-24 * time.Hour), Size: 5 << 20},
		err:    restoreErrorText(fmt.Errorf("open: %w", client.ErrWrongRecoveryKey), true)}
	d := render(t, func() app.UI { return restoreView(offer, nil, nil, nil) })
	if got := text(d.one("#restore-found")); !strings.Contains(got, "from yesterday at 15:00") || !strings.Contains(got, "5 MB") {
		t.Errorf("the backup found is %q", got)
	}
	if got := attr(d.one("#restore-secret"), "value"); got != "wrong" {
		t.Errorf("the secret typed is gone: %q", got)
	}
	if got := text(d.one("#restore-error")); !strings.Contains(got, "does not open your backup") {
		t.Errorf("a wrong key says %q", got)
	}
	if isDisabled(d.one("#restore-backup")) {
		t.Error("Restore is off after a wrong key")
	}

	offer.step, offer.err, offer.progress = restoreRunning, "", client.Progress{Done: 1, Total: 2}
	r := render(t, func() app.UI { return restoreView(offer, nil, nil, nil) })
	if got := attr(r.one("#restore-progress"), "value"); got != "50" {
		t.Errorf("progress value %q", got)
	}
	for _, id := range []string{"#restore-backup", "#restore-skip", "#restore-secret"} {
		if !isDisabled(r.one(id)) {
			t.Errorf("%s is on while restoring", id)
		}
	}

	failed := render(t, func() app.UI {
		return restoreView(restoreState{step: restoreLookFailed, err: lookFailedText(errors.New("boom"), false)}, nil, nil, nil)
	})
	failed.one("#restore-look-again")
	failed.one("#restore-skip")
	if got := text(failed.one("#restore-error")); !strings.Contains(got, "offline") {
		t.Errorf("offline, the failure says %q", got)
	}
}

func TestRestoreErrorText(t *testing.T) {
	for _, err := range []error{client.ErrWrongRecoveryKey, fmt.Errorf("restore: %w", client.ErrWrongPassphrase)} {
		if got := restoreErrorText(err, true); !strings.Contains(got, "does not open your backup") {
			t.Errorf("%v says %q", err, got)
		}
	}
	if got := restoreErrorText(errors.New("boom"), false); !strings.Contains(got, "could not be restored") || !strings.Contains(got, "offline") {
		t.Errorf("offline, a failure says %q", got)
	}
}

func TestRestoredText(t *testing.T) {
	if got := restoredText(client.HistoryStats{Messages: 1, Chats: 1}); got != "Restored 1 message in 1 chat." {
		t.Errorf("restoredText = %q", got)
	}
	if got := restoredText(client.HistoryStats{Messages: 12, Chats: 3}); got != "Restored 12 messages in 3 chats." {
		t.Errorf("restoredText = %q", got)
	}
}

func TestRestoreRoute(t *testing.T) {
	r := parseRoute(pathRestore)
	if r.kind != routeRestore || r.view() != "welcome" || !KnownPath(pathRestore) {
		t.Errorf("parseRoute(%s) = %+v, view %s", pathRestore, r, r.view())
	}
}

// isDisabled reports whether a control is off.
func isDisabled(n *html.Node) bool { return boolAttr(n, "disabled") }

// boolAttr reports whether a boolean attribute is set: go-app writes
// disabled="false" for one that is not.
func boolAttr(n *html.Node, k string) bool {
	v, ok := attrOK(n, k)
	return ok && v != "false"
}
