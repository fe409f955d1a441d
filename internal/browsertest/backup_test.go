//go:build browser

package browsertest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// The people of the backup tests.
const (
	backupAnnAddress = "backup-ann@example.org"
	backupBenAddress = "email:backup-ben@example.org"
)

// TestBackup backs a browser's chats up and restores them on another:
//
//   - Ann (a phone, 360 px) has a contact, Ben, messages both ways and a
//     photo she sent. In Settings she turns backup on with a recovery
//     key, read from the page where it is shown once in groups of 4; a
//     wrong last group typed back is refused, the right one turns backup
//     on; she backs up now and the card says when and how much.
//   - A fresh browser (a desktop, then a phone) signs in to Ann's
//     account by email code. The app offers to restore the backup; a
//     wrong key says so and lets her try again; the recovery key
//     restores, and the chats list shows Ben's chat with the messages and
//     the photo, on the device.
//
// The screenshots backup-key-phone.png and restore-phone.png are taken on
// the way; the backup card and the restore page fit 360 px.
func TestBackup(t *testing.T) {
	start := time.Now()
	phase := func(name string) { t.Logf("[%5.1fs] %s", time.Since(start).Seconds(), name) }
	browser := chromium(t)
	app := buildApp(t)
	r := startRelay(t, app.mutual, app.web)
	shots := screenshotDir(t)
	files := t.TempDir()

	phase("Ann has a contact, messages and a photo")
	ann := newProfile(t, browser, r.url(), "ann")
	ann.emulate(360, 780, true, "light")
	ann.register(r, backupAnnAddress)
	ben := newSeeder(t, r, backupBenAddress)
	ben.greet("email:"+backupAnnAddress, "Hello Ann, it's Ben")
	benID := ben.me.String()
	ann.acceptRequest(benID)
	ann.openChat(benID)
	ann.waitIncoming("Hello Ann, it's Ben")
	hi := ann.send("Hi Ben, backing up")
	ann.waitState(hi, "delivered", "read")
	photo, _ := writePhoto(t, files, "harbour.jpg", 800, 600)
	ann.attach(photo)
	ann.waitTray("harbour.jpg")
	ann.fill("composer", "The harbour")
	ann.click("send")
	_, photoKey := ann.waitAttachment("msg-out", "harbour.jpg", "The harbour")
	ann.waitTransfer(photoKey, "local")

	phase("Ann turns backup on with a recovery key")
	ann.goTo("/settings")
	ann.scrollTo("backup")
	waitJS[bool](ann, stepTimeout, "backup off, saying what it is",
		`(document.querySelector('#backup-hint')?.innerText ?? '').includes('cannot read it')`)
	ann.click("backup-turn-on")
	ann.click("backup-continue")
	key := waitJS[string](ann, stepTimeout, "the recovery key", `document.querySelector('#recovery-key')?.dataset.key ?? ''`)
	groups := strings.Fields(key)
	if len(groups) != 16 || len(strings.Join(groups, "")) != 64 {
		t.Fatalf("the recovery key is shown as %d groups: %q", len(groups), key)
	}
	for _, g := range groups {
		if len(g) != 4 || strings.Trim(g, "0123456789abcdefghijklmnopqrstuvwxyz") != "" {
			t.Fatalf("the recovery key has a group %q", g)
		}
	}
	if shown := eval[[]string](ann, `[...document.querySelectorAll('#recovery-key .key-group')].map((g) => g.innerText)`); strings.Join(shown, " ") != key {
		t.Errorf("the page shows the groups %q, its data says %q", shown, key)
	}
	ann.scrollTo("backup")
	ann.checkFit("the recovery key")
	saveScreenshot(t, shots, "backup-key-phone.png", ann.screenshot())
	ann.click("recovery-key-written")
	ann.fill("recovery-key-check", groups[0])
	ann.click("confirm-recovery-key")
	waitJS[bool](ann, stepTimeout, "a wrong last group refused",
		`(document.querySelector('#backup-error')?.innerText ?? '').includes('not the last group')`)
	ann.fill("recovery-key-check", strings.ToUpper(groups[15]))
	ann.click("confirm-recovery-key")

	phase("Ann backs up now")
	ann.click("backup-now")
	waitJS[bool](ann, 3*time.Minute, "the backup to be made",
		`document.querySelector('#backup-done')?.innerText === 'Backed up.' && document.querySelector('#backup-last')?.innerText !== 'Never'`)
	size := eval[int](ann, `+document.querySelector('#backup-size')?.dataset.bytes`)
	if size <= 0 {
		t.Errorf("the backup's size is %d", size)
	}
	if got := eval[bool](ann, `document.querySelector('#backup-daily')?.checked`); !got {
		t.Errorf("the daily backup is off after turning backup on")
	}
	ann.checkFit("backup on")
	t.Logf("a backup of %d bytes", size)

	phase("a fresh browser signs in to Ann's account and restores")
	fresh := newProfile(t, browser, r.url(), "ann-new")
	fresh.emulate(1280, 800, false, "light")
	fresh.open("/")
	fresh.signInToRestore(r, backupAnnAddress)
	fresh.emulate(360, 780, true, "light")
	fresh.checkFit("the restore page")
	saveScreenshot(t, shots, "restore-phone.png", fresh.screenshot())

	wrong := strings.Repeat("abcd", 16)
	fresh.fill("restore-secret", wrong)
	fresh.click("restore-backup")
	waitJS[bool](fresh, messageTimeout, "a wrong key refused",
		`(document.querySelector('#restore-error')?.innerText ?? '').includes('does not open your backup') && !document.querySelector('#restore-secret').disabled`)
	if got := eval[int](fresh, `document.querySelectorAll('#chats li.chat').length`); got != 0 {
		t.Errorf("a wrong key restored %d chats", got)
	}

	fresh.fill("restore-secret", key)
	fresh.click("restore-backup")
	// Signed in by code alone while Ann uses her phone, the new browser
	// is held by account protection: it restored while it waits, and
	// shows the chats once her phone approves it.
	waitJS[bool](fresh, messageTimeout, "the restore done, the device waiting for approval",
		`!!document.querySelector('#held') && (document.querySelector('#announcer')?.innerText ?? '').startsWith('Restored')`)
	ann.goTo("/")
	device := waitJS[string](ann, messageTimeout, "the banner asking about the new browser",
		`document.querySelector('#approvals .banner-approval')?.dataset.device ?? ''`)
	ann.click("approve-" + device)
	waitJS[bool](fresh, messageTimeout, "the chats, restored", fmt.Sprintf(
		`location.pathname === '/' && !document.querySelector('#held') && !!document.querySelector('#chats li.chat[data-user=%q]')`, benID))
	fresh.openChat(benID)
	fresh.waitTexts("Hello Ann, it's Ben", "Hi Ben, backing up", "The harbour")
	fresh.waitTransfer(photoKey, "local")
	fresh.waitPhoto(photoKey)
	fresh.checkFit("the restored chat")
	phase("done")
}

// signInToRestore signs in with address from onboarding, a short while
// after the account's other device asked for a code (the relay makes a
// second request wait, and the profile waits as a person would), and
// waits for the offer to restore the account's backup.
func (p *profile) signInToRestore(r *relay, address string) {
	p.t.Helper()
	p.fill("address", address)
	for {
		p.click("send-code")
		got := waitJS[string](p, stepTimeout, "a code or a wait", `(() => {
		  if (document.querySelector('#code')) return 'code';
		  if (document.querySelector('#retry-wait')) return 'wait';
		  const e = document.querySelector('#onboarding-error')?.innerText ?? '';
		  return e === '' ? '' : 'error: ' + e;
		})()`)
		if got == "code" {
			break
		}
		if got != "wait" {
			p.fatalf("ask for a code: %s", got)
		}
		waitJS[bool](p, messageTimeout, "the wait the relay asked for",
			`!document.querySelector('#retry-wait') && !document.getElementById('send-code')?.disabled`)
	}
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	code, err := r.mail.WaitCode(ctx, address)
	if err != nil {
		p.fatalf("read the code: %v", err)
	}
	p.fill("code", code)
	p.click("verify")
	waitJS[bool](p, messageTimeout, "the offer to restore the backup",
		`location.pathname === '/restore' && !!document.querySelector('#restore-secret')`)
	if got := eval[string](p, `document.querySelector('#restore-found')?.innerText ?? ''`); !strings.Contains(got, "has a backup") {
		p.t.Errorf("the restore page says %q", got)
	}
}

// TestBackupLoad measures a backup and a restore of a browser holding
// 10,000 messages and 100 MiB of attachments: Ben, on the native client,
// writes the messages through the relay; Ann sends four files of 25 MiB;
// Ann backs up now (timed from the click to "Backed up."), and a fresh
// browser restores it (timed from the click to the chats list). Only
// with MUTUAL_BACKUP_LOAD=1: it takes minutes. The figures are logged,
// not asserted.
//
//	MUTUAL_BACKUP_LOAD=1 go test -tags browser -count=1 -v -run TestBackupLoad -timeout 60m ./internal/browsertest
func TestBackupLoad(t *testing.T) {
	if os.Getenv("MUTUAL_BACKUP_LOAD") != "1" {
		t.Skip("set MUTUAL_BACKUP_LOAD=1 to measure a backup of 10,000 messages and 100 MiB")
	}
	const (
		messages = 10000
		files    = 4
		fileSize = 25 << 20
	)
	browser := chromium(t)
	app := buildApp(t)
	r := startRelay(t, app.mutual, app.web)
	dir := t.TempDir()

	ann := newProfile(t, browser, r.url(), "ann")
	ann.register(r, backupAnnAddress)
	ben := newSeeder(t, r, backupBenAddress)
	ben.greet("email:"+backupAnnAddress, "Hello Ann, it's Ben")
	benID := ben.me.String()
	ann.acceptRequest(benID)
	ben.waitDelivered(messageTimeout)
	started := time.Now()
	ben.seed(messages)
	ben.waitDelivered(20 * time.Minute)
	t.Logf("%d messages stored by the browser in %v", messages, time.Since(started).Round(time.Second))

	ann.openChat(benID)
	started = time.Now()
	for i := range files {
		name := fmt.Sprintf("part%d.bin", i)
		path, _ := writeRandom(t, dir, name, fileSize+i)
		ann.attach(path)
		ann.waitTray(name)
		ann.click("send")
		_, key := ann.waitAttachment("msg-out", name, "")
		waitJS[bool](ann, 20*time.Minute, "the upload of "+name,
			fmt.Sprintf(`document.querySelector('.att[data-key=%q]')?.dataset.transfer === 'local'`, key))
	}
	t.Logf("%d files of %d MiB sent in %v", files, fileSize>>20, time.Since(started).Round(time.Second))

	ann.goTo("/settings")
	ann.click("backup-turn-on")
	ann.click("backup-continue")
	key := waitJS[string](ann, stepTimeout, "the recovery key", `document.querySelector('#recovery-key')?.dataset.key ?? ''`)
	groups := strings.Fields(key)
	ann.click("recovery-key-written")
	ann.fill("recovery-key-check", groups[len(groups)-1])
	ann.click("confirm-recovery-key")
	ann.click("backup-now")
	started = time.Now()
	waitJS[bool](ann, 60*time.Minute, "the backup",
		`document.querySelector('#backup-done')?.innerText === 'Backed up.'`)
	backup := time.Since(started)
	size := eval[int](ann, `+document.querySelector('#backup-size')?.dataset.bytes`)

	fresh := newProfile(t, browser, r.url(), "ann-new")
	fresh.open("/")
	fresh.signInToRestore(r, backupAnnAddress)
	fresh.fill("restore-secret", key)
	started = time.Now()
	fresh.click("restore-backup")
	waitJS[bool](fresh, 60*time.Minute, "the restored chats", fmt.Sprintf(
		`location.pathname === '/' && !!document.querySelector('#chats li.chat[data-user=%q]')`, benID))
	restore := time.Since(started)
	mib := float64(size) / (1 << 20)
	t.Logf("backup of %d messages and %d MiB of files: %.1f MiB, made in %v (%.1f MiB/s), restored in %v (%.1f MiB/s)",
		messages, files*fileSize>>20, mib, backup.Round(time.Millisecond), mib/backup.Seconds(),
		restore.Round(time.Millisecond), mib/restore.Seconds())
}
