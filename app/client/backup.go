package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/crypto/attachment"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Encrypted backup. The account keeps one backup on the relay: the
// history archive with the files this device holds (UploadHistory with
// HistoryOptions.Media, encrypted under a random key of its own), and
// Backup.sealed, the archive's HistoryBlob sealed under a key derived
// from a secret only the person holds (backupkey.go). The relay holds
// ciphertext only. This device keeps the derived key (bBackup), never
// the secret, so that it backs up daily without asking for it: while Run
// is connected, a goroutine of its own makes a backup when the last is a
// day old, one at a time; a failure is kept in BackupStatus.Err and
// tried again a day later or at the next connection. RestoreBackup
// imports a backup into a new device of the account; sessions are never
// in it (they start anew).

// BackupSecret is what opens a backup: exactly one of a recovery key
// (NewRecoveryKey) and a passphrase of at least MinPassphrase
// characters.
type BackupSecret struct {
	RecoveryKey, Passphrase string
}

// BackupStatus is this device's backup setting and how its latest
// backup went.
type BackupStatus struct {
	Enabled    bool      // a secret is set (SetBackup): BackupNow can run
	Daily      bool      // while Run runs, a backup is made when the last is a day old
	Passphrase bool      // the secret is a passphrase, not a recovery key
	Running    bool      // a backup is being made now
	Last       time.Time // when the relay took the latest backup; zero: none yet
	Size       int64     // the latest backup's size on the relay, in bytes
	Err        string    // why the latest attempt failed; empty after a success
}

// BackupInfo is what the relay says of the account's backup.
type BackupInfo struct {
	Created time.Time // when it was made
	Size    int64     // bytes on the relay
}

// BackupMade: a backup finished or failed (BackupStatus says which).
type BackupMade struct{ Status BackupStatus }

func (BackupMade) event() {}

var (
	// ErrBackupOff: backup is not turned on on this device (SetBackup).
	ErrBackupOff = errors.New("client: backup is not turned on")
	// ErrNoBackup: the account has no backup on the relay.
	ErrNoBackup = errors.New("client: the account has no backup")
)

// backupDue is the age at which a daily backup is made.
const backupDue = 24 * time.Hour

// backups is the client's backup state: a one-place semaphore that lets
// one backup, or one change of the setting, run at a time, and the
// wake-up of the daily goroutine.
type backups struct {
	sem  chan struct{}
	wake chan struct{}
}

func newBackups() backups {
	return backups{sem: make(chan struct{}, 1), wake: make(chan struct{}, 1)}
}

// lock takes the semaphore within ctx.
func (b *backups) lock(ctx context.Context) error {
	select {
	case b.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (b *backups) unlock() { <-b.sem }

// busy reports whether a backup (or a change of the setting) runs.
func (b *backups) busy() bool { return len(b.sem) > 0 }

// poke wakes the daily goroutine to read the setting again.
func (b *backups) poke() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// SetBackup turns backup on with secret (or changes it): it derives the
// key (Argon2id for a passphrase takes a moment and 64 MiB) and keeps
// it on this device, with daily. The next backup, BackupNow or the daily
// one, is sealed with it; the relay's copy until then opens with the
// secret it was made with. ErrBackupSecret when secret is not exactly
// one usable recovery key or passphrase.
func (c *Client) SetBackup(ctx context.Context, s BackupSecret, daily bool) error {
	if _, err := c.registered(); err != nil {
		return err
	}
	var kdf backupKDF
	var secret string
	switch {
	case s.RecoveryKey != "" && s.Passphrase == "":
		kdf, secret = newBackupKDF(false), s.RecoveryKey
	case s.Passphrase != "" && s.RecoveryKey == "":
		kdf, secret = newBackupKDF(true), s.Passphrase
	default:
		return ErrBackupSecret
	}
	key, err := kdf.derive(secret)
	if err != nil {
		return err
	}
	if err := c.bk.lock(ctx); err != nil {
		return err
	}
	defer c.bk.unlock()
	err = c.st.Update(ctx, func(tx store.Tx) error {
		r, err := getBackup(tx)
		if err != nil {
			return err
		}
		r.key, r.kdf, r.daily, r.err = key, kdf, daily, ""
		return putBackup(tx, r)
	})
	if err != nil {
		return fmt.Errorf("set backup: %w", err)
	}
	c.bk.poke()
	return nil
}

// SetBackupDaily turns the daily backup on or off; ErrBackupOff when
// backup is not on.
func (c *Client) SetBackupDaily(ctx context.Context, daily bool) error {
	err := c.st.Update(ctx, func(tx store.Tx) error {
		r, err := getBackup(tx)
		if err != nil {
			return err
		}
		if r.key == nil {
			return ErrBackupOff
		}
		r.daily = daily
		return putBackup(tx, r)
	})
	if err != nil {
		return fmt.Errorf("set daily backup: %w", err)
	}
	c.bk.poke()
	return nil
}

// BackupStatus reads this device's backup setting and how the latest
// backup went. It needs no connection.
func (c *Client) BackupStatus(ctx context.Context) (BackupStatus, error) {
	var r *backupRecord
	err := c.st.View(ctx, func(tx store.Tx) error {
		var err error
		r, err = getBackup(tx)
		return err
	})
	if err != nil {
		return BackupStatus{}, fmt.Errorf("backup status: %w", err)
	}
	return r.status(c.bk.busy()), nil
}

// BackupNow makes a backup: it writes the archive with this device's
// files, uploads it, seals its key and makes it the account's backup on
// the relay, which deletes the one before. It needs Run's connection
// (ErrOffline) and waits for a backup already running; if that one
// succeeds, BackupNow returns its status and makes no other. progress,
// if set, is called as WriteHistory and the upload go.
func (c *Client) BackupNow(ctx context.Context, progress func(Progress)) (BackupStatus, error) {
	asked := c.now()
	if err := c.bk.lock(ctx); err != nil {
		return BackupStatus{}, err
	}
	defer c.bk.unlock()
	st, err := c.BackupStatus(ctx)
	if err != nil {
		return st, err
	}
	if st.Enabled && !st.Last.Before(asked) && st.Err == "" {
		return st, nil // made while this call waited
	}
	return c.backup(ctx, progress)
}

// backup makes a backup, holding the semaphore, and records how it went.
func (c *Client) backup(ctx context.Context, progress func(Progress)) (BackupStatus, error) {
	var r *backupRecord
	err := c.st.View(ctx, func(tx store.Tx) error {
		var err error
		r, err = getBackup(tx)
		return err
	})
	if err != nil {
		return BackupStatus{}, fmt.Errorf("backup: %w", err)
	}
	if r.key == nil {
		return r.status(false), ErrBackupOff
	}
	size, upErr := c.uploadBackup(ctx, r, progress)
	if upErr != nil && ctx.Err() != nil {
		return r.status(false), fmt.Errorf("backup: %w", upErr)
	}
	now := c.now()
	err = c.st.Update(context.WithoutCancel(ctx), func(tx store.Tx) error {
		cur, err := getBackup(tx)
		if err != nil || cur.key == nil {
			return err // turned off meanwhile: nothing to note
		}
		cur.tried = now
		if upErr != nil {
			cur.err = upErr.Error()
		} else {
			cur.last, cur.size, cur.err = now, size, ""
		}
		r = cur
		return putBackup(tx, cur)
	})
	st := r.status(false)
	c.emit(BackupMade{Status: st})
	if upErr != nil {
		return st, fmt.Errorf("backup: %w", upErr)
	}
	if err != nil {
		return st, fmt.Errorf("backup: %w", err)
	}
	return st, nil
}

// uploadBackup uploads the archive and makes it the account's backup,
// sealed with r's key; it returns the blob's size (the archive's,
// encrypted and padded).
func (c *Client) uploadBackup(ctx context.Context, r *backupRecord, progress func(Progress)) (int64, error) {
	conn, err := c.connection(ctx)
	if err != nil {
		return 0, err
	}
	hb, _, err := c.UploadHistory(ctx, HistoryOptions{Media: true}, progress)
	if err != nil {
		return 0, err
	}
	sealed, err := sealBackup(r.key, r.kdf, c.me().User, hb.Marshal())
	if err != nil {
		return 0, err
	}
	if conn, err = c.connection(ctx); err != nil {
		return 0, err
	}
	if _, err := transport.Call[*wire.OK](ctx, conn, &wire.Backup{Op: wire.BackupSet, Blob: hb.Blob, Sealed: sealed}); err != nil {
		return 0, fmt.Errorf("store the backup on the relay: %w", err)
	}
	return attachment.BlobSize(hb.Size), nil
}

// DisableBackup turns backup off: it deletes the relay's copy (which
// needs Run's connection: ErrOffline) and the key this device kept.
func (c *Client) DisableBackup(ctx context.Context) error {
	if err := c.bk.lock(ctx); err != nil {
		return err
	}
	defer c.bk.unlock()
	conn, err := c.connection(ctx)
	if err != nil {
		return fmt.Errorf("turn backup off: %w", err)
	}
	if _, err := transport.Call[*wire.OK](ctx, conn, &wire.Backup{Op: wire.BackupDelete}); err != nil {
		return fmt.Errorf("turn backup off: %w", err)
	}
	err = c.st.Update(context.WithoutCancel(ctx), func(tx store.Tx) error { return tx.Delete(bBackup, kBackup) })
	if err != nil {
		return fmt.Errorf("turn backup off: %w", err)
	}
	c.bk.poke()
	return nil
}

// FindBackup asks the relay whether the account has a backup; found is
// false when it has none. Like RestoreBackup it needs no Run, and works
// on a device held by account protection.
func (c *Client) FindBackup(ctx context.Context) (info BackupInfo, found bool, err error) {
	bi, err := c.fetchBackup(ctx)
	switch {
	case errors.Is(err, ErrNoBackup):
		return BackupInfo{}, false, nil
	case err != nil:
		return BackupInfo{}, false, err
	}
	return BackupInfo{Created: fromMS(bi.CreatedMS), Size: int64(bi.Size)}, true, nil
}

// RestoreBackup imports the account's backup into this device: it
// fetches it from the relay, opens its sealed key with secret (a
// recovery key or a passphrase, whichever the backup was made with;
// ErrWrongRecoveryKey or ErrWrongPassphrase when it does not open it,
// and nothing is imported), downloads and checks the archive and
// imports it (RestoreHistory: contacts, chats, messages, groups and
// files; never sessions, which start anew). Call it after Verify,
// before or with Run: without Run it opens a connection of its own. It
// works on a device held by account protection. ErrNoBackup when the
// account has none. Unless backup is on already, this device then keeps
// the key and backs up daily, with the same secret.
func (c *Client) RestoreBackup(ctx context.Context, secret string, progress func(Progress)) (HistoryStats, error) {
	me, err := c.registered()
	if err != nil {
		return HistoryStats{}, err
	}
	bi, err := c.fetchBackup(ctx)
	if err != nil {
		return HistoryStats{}, fmt.Errorf("restore backup: %w", err)
	}
	sb, err := parseSealedBackup(bi.Sealed)
	if err != nil {
		return HistoryStats{}, fmt.Errorf("restore backup: %w", err)
	}
	key, err := sb.kdf.derive(secret)
	if errors.Is(err, ErrBackupSecret) {
		return HistoryStats{}, sb.kdf.wrongKey()
	}
	if err != nil {
		return HistoryStats{}, fmt.Errorf("restore backup: %w", err)
	}
	plain, err := sb.open(key, me.User)
	if err != nil {
		return HistoryStats{}, err
	}
	hb, err := ParseHistoryBlob(plain)
	if err != nil {
		return HistoryStats{}, fmt.Errorf("restore backup: %w", err)
	}
	if hb.Blob != bi.Blob {
		return HistoryStats{}, fmt.Errorf("restore backup: %w: the sealed key names another blob", errMalformed)
	}
	stats, err := c.RestoreHistory(ctx, hb, progress)
	if err != nil {
		return stats, fmt.Errorf("restore backup: %w", err)
	}
	err = c.st.Update(context.WithoutCancel(ctx), func(tx store.Tx) error {
		r, err := getBackup(tx)
		if err != nil || r.key != nil {
			return err
		}
		r.key, r.kdf, r.daily = key, sb.kdf, true
		r.last, r.size = fromMS(bi.CreatedMS), int64(bi.Size)
		return putBackup(tx, r)
	})
	if err != nil {
		return stats, fmt.Errorf("restore backup: keep the key: %w", err)
	}
	c.bk.poke()
	return stats, nil
}

// fetchBackup gets the account's backup from the relay: on Run's
// connection when Run runs, else on one of its own.
func (c *Client) fetchBackup(ctx context.Context) (*wire.BackupInfo, error) {
	me, err := c.registered()
	if err != nil {
		return nil, err
	}
	conn, err := c.connection(ctx)
	if errors.Is(err, ErrOffline) && ctx.Err() == nil {
		if conn, err = c.dial(ctx); err != nil {
			return nil, err
		}
		defer conn.Close()
		go discardDeliveries(conn) // they come again to Run's connection
		actx, cancel := context.WithTimeout(ctx, c.cfg.DialTimeout)
		_, err = conn.Auth(actx, me.User, me.Device, me.Credential)
		cancel()
		err = closeReason(err)
	}
	if err != nil {
		return nil, err
	}
	bi, err := transport.Call[*wire.BackupInfo](ctx, conn, &wire.Backup{Op: wire.BackupGet})
	var we *wire.Error
	if errors.As(err, &we) && we.Code == wire.CodeNotFound {
		return nil, ErrNoBackup
	}
	if err != nil {
		return nil, fmt.Errorf("fetch the backup: %w", err)
	}
	return bi, nil
}

// discardDeliveries drains what the relay delivers to a connection that
// only asks a question, until it closes; nothing is acknowledged.
func discardDeliveries(conn *transport.Conn) {
	for {
		select {
		case _, ok := <-conn.Deliveries():
			if !ok {
				return
			}
		case <-conn.Done():
			return
		}
	}
}

// dailyBackups runs while a connection lasts: it makes a backup when
// daily backup is on and the last is a day old, and again a day after
// that (a day after a failed attempt, or at the next connection).
func (c *Client) dailyBackups(ctx context.Context) error {
	var tried time.Time // this connection's last attempt
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		st, err := c.BackupStatus(ctx)
		if err != nil {
			return err
		}
		var due <-chan time.Time
		if st.Enabled && st.Daily {
			next := st.Last
			if tried.After(next) {
				next = tried
			}
			if wait := next.Add(backupDue).Sub(c.now()); wait > 0 {
				if timer == nil {
					timer = time.NewTimer(wait)
				} else {
					timer.Reset(wait)
				}
				due = timer.C
			} else if c.bk.lock(ctx) == nil {
				tried = c.now()
				_, err := c.backup(ctx, nil)
				c.bk.unlock()
				if err != nil && ctx.Err() == nil {
					c.log.Info("client: daily backup failed; tried again in a day", "err", err)
				}
				continue
			}
		}
		select {
		case <-due:
		case <-c.bk.wake:
		case <-ctx.Done():
			return nil
		}
	}
}

// backupRecord is this device's backup setting (bBackup, kBackup).
type backupRecord struct {
	key   []byte // the derived key; nil: backup is off
	kdf   backupKDF
	daily bool
	last  time.Time // when the relay took the latest backup
	size  int64
	tried time.Time // the latest attempt
	err   string    // its failure
}

func (r *backupRecord) status(running bool) BackupStatus {
	return BackupStatus{
		Enabled: r.key != nil, Daily: r.daily, Passphrase: r.kdf.method == kdfArgon2id, Running: running,
		Last: r.last, Size: r.size, Err: r.err,
	}
}

// Fields of backupRecord, field 15 the format version.
const (
	brKey     = 1  // bytes (32)
	brKDF     = 2  // uint
	brSalt    = 3  // bytes
	brTime    = 4  // uint
	brMemory  = 5  // uint
	brThreads = 6  // uint
	brDaily   = 7  // bool
	brLast    = 8  // sint, Unix ms
	brSize    = 9  // sint
	brTried   = 10 // sint, Unix ms
	brErr     = 11 // string
)

// maxBackupErr bounds the failure kept.
const maxBackupErr = 1024

func (r *backupRecord) marshal() []byte {
	e := newEnc()
	e.bytes(brKey, r.key)
	e.uint(brKDF, uint64(r.kdf.method))
	e.bytes(brSalt, r.kdf.salt)
	e.uint(brTime, uint64(r.kdf.time))
	e.uint(brMemory, uint64(r.kdf.memory))
	e.uint(brThreads, uint64(r.kdf.threads))
	e.bool(brDaily, r.daily)
	e.sint(brLast, backupMS(r.last))
	e.sint(brSize, r.size)
	e.sint(brTried, backupMS(r.tried))
	msg := r.err
	if len(msg) > maxBackupErr {
		msg = msg[:maxBackupErr]
	}
	e.string(brErr, msg)
	return e.b
}

func parseBackupRecord(b []byte) (*backupRecord, error) {
	r := &backupRecord{}
	err := decodeRecord(b, func(f field) error {
		var err error
		var ms int64
		switch f.num {
		case brKey:
			r.key, err = f.copyBytes(backupKeyLen)
		case brKDF:
			r.kdf.method, err = f.uint32()
		case brSalt:
			r.kdf.salt, err = f.copyBytes(argonSaltLen)
		case brTime:
			r.kdf.time, err = f.uint32()
		case brMemory:
			r.kdf.memory, err = f.uint32()
		case brThreads:
			r.kdf.threads, err = f.uint32()
		case brDaily:
			r.daily, err = f.bool()
		case brLast:
			ms, err = f.sint64()
			r.last = fromMS(ms)
		case brSize:
			r.size, err = f.sint64()
		case brTried:
			ms, err = f.sint64()
			r.tried = fromMS(ms)
		case brErr:
			r.err, err = f.string(maxBackupErr)
		}
		return err
	})
	if err == nil && r.key != nil && len(r.key) != backupKeyLen {
		err = fmt.Errorf("%w: backup key of %d bytes", errMalformed, len(r.key))
	}
	if err != nil {
		return nil, fmt.Errorf("backup record: %w", err)
	}
	return r, nil
}

// getBackup reads the backup record; an empty one when there is none.
func getBackup(tx store.Tx) (*backupRecord, error) {
	b, err := tx.Get(bBackup, kBackup)
	if errors.Is(err, store.ErrNotFound) {
		return &backupRecord{}, nil
	}
	if err != nil {
		return nil, err
	}
	return parseBackupRecord(b)
}

func putBackup(tx store.Tx, r *backupRecord) error {
	return tx.Put(bBackup, kBackup, r.marshal())
}

// backupMS is t in Unix milliseconds, 0 for the zero time.
func backupMS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}
