//go:build !js

package client_test

import (
	"bytes"
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/server"
)

// blobFiles lists the files of the relay's blob store.
func (r *testRelay) blobFiles() []string {
	r.t.Helper()
	var files []string
	err := filepath.WalkDir(filepath.Join(r.Dir(), "blobs"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, path)
		}
		return err
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		r.t.Fatal(err)
	}
	slices.Sort(files)
	return files
}

// backupNow makes a backup on d and returns its status.
func (d *device) backupNow() client.BackupStatus {
	d.t.Helper()
	st, err := d.c.BackupNow(ctxT(d.t), nil)
	if err != nil {
		d.t.Fatalf("%s: backup: %v", d.name, err)
	}
	if !st.Enabled || st.Last.IsZero() || st.Size <= 0 || st.Err != "" {
		d.t.Fatalf("%s: status after a backup: %+v", d.name, st)
	}
	return st
}

// chatWithPhoto has alice and bob write to each other, alice send a
// photo, and returns the photo's bytes once Bob has it.
func chatWithPhoto(t *testing.T, alice, bob *device, canary string) []byte {
	t.Helper()
	befriend(t, alice, bob)
	alice.send(bob, "the plan, "+canary)
	bob.send(alice, "agreed, "+canary)
	alice.waitText(bob, "agreed, "+canary)
	photo := fileOf(canary, 300<<10)
	id, err := alice.c.SendFiles(ctxT(t), bob.acct.User, "", client.File{Name: "photo.jpg", Type: "image/jpeg", Size: int64(len(photo)), Content: bytes.NewReader(photo)})
	if err != nil {
		t.Fatal(err)
	}
	// Delivered: nothing changes on Alice's device after this.
	alice.waitState(bob, id, client.StateDelivered)
	return photo
}

// TestBackupRestore: Alice backs up with a recovery key; a new device of
// her account, with an empty store, signed in by code and so held by
// account protection, restores it before it runs: the
// same contacts, chats and messages, and the photo she sent, on the
// device. A wrong key first is refused, and nothing is imported. The
// relay's data directory holds none of it in plaintext, and the new
// device goes on backing up with the same key.
func TestBackupRestore(t *testing.T) {
	r := startRelay(t)
	alice := r.newDevice("alice", "email:alice@example.org")
	bob := r.newDevice("bob", "email:bob@example.org")
	const canary = "backup canary 4f0b"
	photo := chatWithPhoto(t, alice, bob, canary)

	ctx := ctxT(t)
	if _, found, err := alice.c.FindBackup(ctx); err != nil || found {
		t.Fatalf("FindBackup before any: %v, %v", found, err)
	}
	if _, err := alice.c.BackupNow(ctx, nil); !errors.Is(err, client.ErrBackupOff) {
		t.Fatalf("BackupNow while off: %v", err)
	}
	key := client.NewRecoveryKey()
	if err := alice.c.SetBackup(ctx, client.BackupSecret{RecoveryKey: key, Passphrase: "and a passphrase"}, false); !errors.Is(err, client.ErrBackupSecret) {
		t.Fatalf("SetBackup with both: %v", err)
	}
	if err := alice.c.SetBackup(ctx, client.BackupSecret{RecoveryKey: key}, false); err != nil {
		t.Fatal(err)
	}
	var progressed bool
	st, err := alice.c.BackupNow(ctx, func(client.Progress) { progressed = true })
	if err != nil || !progressed || st.Size <= int64(len(photo)) || st.Passphrase || st.Daily {
		t.Fatalf("BackupNow = %+v, %v (progress %v)", st, err, progressed)
	}
	info, found, err := alice.c.FindBackup(ctx)
	if err != nil || !found || info.Size != st.Size || info.Created.IsZero() {
		t.Fatalf("FindBackup = %+v, %v, %v; status %+v", info, found, err, st)
	}
	assertNoCanary(t, r.Dir(), canary)
	want := alice.historySnapshot()

	fresh := r.newIdleDevice("alice-new", alice.address)
	if _, err := fresh.c.RestoreBackup(ctx, client.NewRecoveryKey(), nil); !errors.Is(err, client.ErrWrongRecoveryKey) {
		t.Fatalf("restore with another key: %v", err)
	}
	if _, err := fresh.c.RestoreBackup(ctx, "not a key", nil); !errors.Is(err, client.ErrWrongRecoveryKey) {
		t.Fatalf("restore with garbage: %v", err)
	}
	if chats, err := fresh.c.Chats(ctx); err != nil || len(chats) != 0 {
		t.Fatalf("after wrong keys the device has %d chats (%v)", len(chats), err)
	}
	stats, err := fresh.c.RestoreBackup(ctx, client.FormatRecoveryKey(key), nil)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Contacts != 1 || stats.Messages < 4 || stats.Attachments != 1 || stats.MediaBytes != int64(len(photo)) {
		t.Fatalf("restored %+v", stats)
	}
	if got := fresh.historySnapshot(); got != want {
		t.Fatalf("restored device shows\n%s\nwant\n%s", got, want)
	}
	fresh.start()
	ms := fresh.messages(bob)
	var pic client.Message
	for _, m := range ms {
		if len(m.Attachments) == 1 {
			pic = m
		}
	}
	if pic.Attachments == nil || pic.Attachments[0].Transfer != client.TransferLocal || !bytes.Equal(fresh.read(alice.acct.User, pic.ID, 0), photo) {
		t.Fatalf("the restored photo: %+v", pic)
	}
	// The new device backs up daily with the same key, from the backup's time.
	fst, err := fresh.c.BackupStatus(ctx)
	if err != nil || !fst.Enabled || !fst.Daily || fst.Passphrase || fst.Size != st.Size {
		t.Fatalf("the restored device's backup status: %+v, %v", fst, err)
	}
	assertNoCanary(t, r.Dir(), canary)
}

// TestBackupPassphrase: a backup sealed with a passphrase opens with it
// alone: too short a passphrase is refused, a wrong one says so and
// imports nothing.
func TestBackupPassphrase(t *testing.T) {
	r := startRelay(t)
	alice := r.newDevice("alice", "email:alice@example.org")
	bob := r.newDevice("bob", "email:bob@example.org")
	befriend(t, alice, bob)
	alice.send(bob, "before the backup")
	bob.waitText(alice, "before the backup")

	ctx := ctxT(t)
	if err := alice.c.SetBackup(ctx, client.BackupSecret{Passphrase: "eleven char"}, true); !errors.Is(err, client.ErrBackupSecret) {
		t.Fatalf("an 11-character passphrase: %v", err)
	}
	const pass = "correct horse battery staple"
	if err := alice.c.SetBackup(ctx, client.BackupSecret{Passphrase: pass}, false); err != nil {
		t.Fatal(err)
	}
	alice.backupNow()

	fresh := r.newIdleDevice("alice-new", alice.address)
	if _, err := fresh.c.RestoreBackup(ctx, "correct horse battery stapler", nil); !errors.Is(err, client.ErrWrongPassphrase) {
		t.Fatalf("a wrong passphrase: %v", err)
	}
	if chats, _ := fresh.c.Chats(ctx); len(chats) != 0 {
		t.Fatalf("a wrong passphrase imported %d chats", len(chats))
	}
	if _, err := fresh.c.RestoreBackup(ctx, pass, nil); err != nil {
		t.Fatal(err)
	}
	fresh.start()
	if ms := fresh.messages(bob); len(ms) == 0 || !slices.ContainsFunc(ms, func(m client.Message) bool { return m.Text == "before the backup" }) {
		t.Fatalf("restored messages: %+v", ms)
	}
	if st, err := fresh.c.BackupStatus(ctx); err != nil || !st.Passphrase {
		t.Fatalf("the restored device's backup status: %+v, %v", st, err)
	}
}

// TestBackupReplaced: a second backup replaces the first: the relay
// deletes the first one's blob from its store.
func TestBackupReplaced(t *testing.T) {
	r := startRelay(t)
	alice := r.newDevice("alice", "email:alice@example.org")
	ctx := ctxT(t)
	if err := alice.c.SetBackup(ctx, client.BackupSecret{RecoveryKey: client.NewRecoveryKey()}, false); err != nil {
		t.Fatal(err)
	}
	alice.backupNow()
	first := r.blobFiles()
	alice.backupNow()
	second := r.blobFiles()
	if len(first) != 1 || len(second) != 1 || first[0] == second[0] {
		t.Fatalf("blob files after one backup %v, after two %v; want one, another", first, second)
	}

	if err := alice.c.DisableBackup(ctx); err != nil {
		t.Fatal(err)
	}
	if files := r.blobFiles(); len(files) != 0 {
		t.Fatalf("after turning backup off the relay stores %v", files)
	}
	if _, found, err := alice.c.FindBackup(ctx); err != nil || found {
		t.Fatalf("FindBackup after turning off: %v, %v", found, err)
	}
	if st, err := alice.c.BackupStatus(ctx); err != nil || st.Enabled {
		t.Fatalf("status after turning off: %+v, %v", st, err)
	}
	fresh := r.newIdleDevice("alice-new", alice.address)
	if _, err := fresh.c.RestoreBackup(ctx, client.NewRecoveryKey(), nil); !errors.Is(err, client.ErrNoBackup) {
		t.Fatalf("restore without a backup: %v", err)
	}
}

// TestDailyBackup: with daily backup on, a connected device makes a
// backup when it has none; a failure (here, the account's uploads of
// the day used up) is kept in the status, and a later success clears it.
func TestDailyBackup(t *testing.T) {
	clk := &relayClock{}
	r := startRelayWith(t, func(c *server.Config) {
		c.Gateway.Now = clk.Now
		c.Gateway.Uploads.BytesPerDay = 1 << 20
	})
	alice := r.newDevice("alice", "email:alice@example.org")
	ctx := ctxT(t)
	if err := alice.c.SetBackup(ctx, client.BackupSecret{RecoveryKey: client.NewRecoveryKey()}, true); err != nil {
		t.Fatal(err)
	}
	ev := alice.waitEvent("the daily backup", func(ev client.Event) bool { _, ok := ev.(client.BackupMade); return ok })
	if st := ev.(client.BackupMade).Status; st.Err != "" || st.Last.IsZero() || !st.Daily {
		t.Fatalf("daily backup: %+v", st)
	}

	// Fill the day's uploads: the next backup fails, and says why.
	big := fileOf("x", 900<<10)
	bob := r.newDevice("bob", "email:bob@example.org")
	befriend(t, alice, bob)
	id, err := alice.c.SendFiles(ctx, bob.acct.User, "", client.File{Name: "big", Size: int64(len(big)), Content: bytes.NewReader(big)})
	if err != nil {
		t.Fatal(err)
	}
	alice.waitFiles(alice.acct.User, id, "the file sent", func(m client.Message) bool {
		return m.State != client.StateSending && allLocal(m)
	})
	_, err = alice.c.BackupNow(ctx, nil)
	st, serr := alice.c.BackupStatus(ctx)
	if err == nil || serr != nil || st.Err == "" || st.Last.IsZero() {
		t.Fatalf("a backup past the quota: %v; status %+v, %v", err, st, serr)
	}

	clk.advance(25 * time.Hour)
	if st := alice.backupNow(); st.Err != "" {
		t.Fatalf("a day later: %+v", st)
	}
}
