package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/mutualcoop/mutual/app/client"
)

// backup turns the account's encrypted backup on or off, makes one, or
// says how the latest went.
func (c *cli) backup(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageError("backup needs on, now, status or off")
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "on":
		return c.backupOn(ctx, args)
	case "now":
		if len(args) != 0 {
			return usageError("backup now takes nothing more")
		}
		s, err := c.online(ctx)
		if err != nil {
			return err
		}
		defer s.close()
		return c.backupNow(ctx, s)
	case "status":
		return c.backupStatus(ctx, args)
	case "off":
		if len(args) != 0 {
			return usageError("backup off takes nothing more")
		}
		s, err := c.online(ctx)
		if err != nil {
			return err
		}
		defer s.close()
		if err := s.client.DisableBackup(ctx); err != nil {
			return explain(err)
		}
		fmt.Fprintln(c.stdout, "Backup is off; the relay's copy is deleted.")
		return nil
	}
	return usageError("unknown backup command %q", sub)
}

// backupOn sets the secret (a new recovery key, printed once, or a
// passphrase read from standard input) and makes the first backup.
func (c *cli) backupOn(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("backup on", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	passphrase := fs.Bool("passphrase", false, "")
	daily := fs.Bool("daily", true, "")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return usageError("backup on takes only --passphrase and --daily=false")
	}
	var secret client.BackupSecret
	if *passphrase {
		p, err := readSecret(c.stdin)
		if err != nil {
			return err
		}
		secret.Passphrase = p
	} else {
		secret.RecoveryKey = client.NewRecoveryKey()
	}
	s, err := c.online(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	if err := s.client.SetBackup(ctx, secret, *daily); err != nil {
		if errors.Is(err, client.ErrBackupSecret) {
			return fmt.Errorf("a passphrase needs at least %d characters", client.MinPassphrase)
		}
		return explain(err)
	}
	if secret.RecoveryKey != "" {
		fmt.Fprintf(c.stdout, "Your recovery key (shown once: write it down and keep it safe; without it\n"+
			"nobody, not even the co-op, can restore your backup):\n\n  %s\n\n", client.FormatRecoveryKey(secret.RecoveryKey))
	}
	return c.backupNow(ctx, s)
}

// backupNow makes a backup on an online session.
func (c *cli) backupNow(ctx context.Context, s *session) error {
	st, err := s.client.BackupNow(ctx, nil)
	if errors.Is(err, client.ErrBackupOff) {
		return errors.New("backup is off: run 'mutual-cli backup on' first")
	}
	if err != nil {
		return explain(err)
	}
	fmt.Fprintf(c.stdout, "Backed up: %s, end-to-end encrypted, on the relay.\n", byteSize(st.Size))
	return nil
}

// backupStatusJSON is what backup status --json prints.
type backupStatusJSON struct {
	Enabled    bool      `json:"enabled"`
	Daily      bool      `json:"daily"`
	Passphrase bool      `json:"passphrase"`
	Last       time.Time `json:"last,omitzero"`
	Size       int64     `json:"size"`
	Err        string    `json:"error,omitempty"`
}

func (c *cli) backupStatus(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("backup status", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return usageError("backup status takes only --json")
	}
	s, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	st, err := s.client.BackupStatus(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(c.stdout).Encode(backupStatusJSON{
			Enabled: st.Enabled, Daily: st.Daily, Passphrase: st.Passphrase, Last: st.Last, Size: st.Size, Err: st.Err,
		})
	}
	switch {
	case !st.Enabled:
		fmt.Fprintln(c.stdout, "Backup is off.")
		return nil
	case st.Last.IsZero():
		fmt.Fprintln(c.stdout, "Backup is on; no backup yet.")
	default:
		fmt.Fprintf(c.stdout, "Backup is on; the latest, %s, was made %s.\n", byteSize(st.Size), st.Last.Local().Format(time.DateTime))
	}
	if st.Daily {
		fmt.Fprintln(c.stdout, "A backup is made daily while mutual-cli is connected ('receive --follow').")
	}
	if st.Err != "" {
		fmt.Fprintf(c.stdout, "The latest attempt failed: %s\n", st.Err)
	}
	return nil
}

// restore imports the account's backup into this home, with the
// recovery key or passphrase read from standard input.
func (c *cli) restore(ctx context.Context, args []string) error {
	if len(args) != 0 {
		return usageError("restore takes nothing more: the recovery key or passphrase comes on standard input")
	}
	secret, err := readSecret(c.stdin)
	if err != nil {
		return err
	}
	s, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	stats, err := s.client.RestoreBackup(ctx, secret, nil)
	switch {
	case errors.Is(err, client.ErrNoBackup):
		return errors.New("this account has no backup")
	case errors.Is(err, client.ErrWrongRecoveryKey), errors.Is(err, client.ErrWrongPassphrase):
		return fmt.Errorf("%s; nothing was restored", strings.TrimPrefix(err.Error(), "client: "))
	case err != nil:
		return explain(err)
	}
	fmt.Fprintf(c.stdout, "Restored %s, %s and %s.\n",
		plural(stats.Contacts, "contact"), plural(stats.Chats, "chat"), plural(stats.Messages, "message"))
	return nil
}

// readSecret reads the first line of r, without its line ending.
func readSecret(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", usageError("give the recovery key or passphrase on standard input")
	}
	return line, nil
}

// byteSize is n in a unit a person reads: "840 KB", "12.3 MB".
func byteSize(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d bytes", n)
	case n < 1000_000:
		return fmt.Sprintf("%.0f KB", float64(n)/1e3)
	case n < 1000_000_000:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.2f GB", float64(n)/1e9)
}
