package server

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/mutualcoop/mutual/relay/auth"
	"github.com/mutualcoop/mutual/relay/blob/fsblob"
	"github.com/mutualcoop/mutual/relay/bus/embedded"
	"github.com/mutualcoop/mutual/relay/directory/sqlite"
)

// EmbeddedConfig says where and how a one-machine relay keeps its data.
type EmbeddedConfig struct {
	Dir        string        // data directory, created if missing
	BlobDir    string        // attachments' blobs; default Dir/blobs
	SecretFile string        // default Dir/secret, created if missing
	Retention  time.Duration // default 30 days
	Senders    auth.Senders  // how codes reach addresses
	Auth       auth.Config   // limits; Secret is filled in from SecretFile
	// Bus tunes the log; its Dir, Retention and Logger are filled in.
	Bus    embedded.Config
	Logger *slog.Logger
}

// OpenEmbedded opens the parts of a one-machine relay: the embedded bus in
// Dir/bus, SQLite in Dir/mutual.db, the blob store (fsblob) in Dir/blobs
// and the server secret.
func OpenEmbedded(ctx context.Context, cfg EmbeddedConfig) (Parts, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return Parts{}, fmt.Errorf("data directory: %w", err)
	}
	if cfg.SecretFile == "" {
		cfg.SecretFile = filepath.Join(cfg.Dir, "secret")
	}
	secret, err := LoadSecret(cfg.SecretFile)
	if err != nil {
		return Parts{}, err
	}
	bc := cfg.Bus
	bc.Dir, bc.Retention, bc.Logger = filepath.Join(cfg.Dir, "bus"), cfg.Retention, cfg.Logger
	b, err := embedded.Open(bc)
	if err != nil {
		return Parts{}, fmt.Errorf("open bus: %w", err)
	}
	dir, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(cfg.Dir, "mutual.db")})
	if err != nil {
		b.Close()
		return Parts{}, fmt.Errorf("open directory: %w", err)
	}
	if cfg.BlobDir == "" {
		cfg.BlobDir = filepath.Join(cfg.Dir, "blobs")
	}
	blobs, err := fsblob.New(cfg.BlobDir)
	if err != nil {
		b.Close()
		dir.Close()
		return Parts{}, fmt.Errorf("open blob store: %w", err)
	}
	ac := cfg.Auth
	ac.Secret = secret
	if ac.Logger == nil {
		ac.Logger = cfg.Logger
	}
	accounts, err := auth.New(ac, dir, cfg.Senders)
	if err != nil {
		b.Close()
		dir.Close()
		blobs.Close()
		return Parts{}, err
	}
	return Parts{Bus: b, Directory: dir, Accounts: accounts, Blobs: blobs, DiskSpace: b.DiskSpace}, nil
}
