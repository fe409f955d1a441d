//go:build !js

package boltstore_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/app/store/boltstore"
	"github.com/mutualcoop/mutual/app/store/storetest"
)

func open(t testing.TB, path string) *boltstore.Store {
	t.Helper()
	s, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "client.db"))
	})
}

// TestReopen: what Update committed is there after the store is closed
// and opened again; what a failed Update wrote is not.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "client.db")
	s := open(t, path)
	ctx := context.Background()
	if err := s.Update(ctx, func(tx store.Tx) error {
		return tx.Put([]byte("b"), []byte("k"), []byte("committed"))
	}); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.Put([]byte("b"), []byte("k2"), []byte("rolled back")); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, path)
	defer s.Close()
	err := s.View(ctx, func(tx store.Tx) error {
		if v, err := tx.Get([]byte("b"), []byte("k")); err != nil || string(v) != "committed" {
			return fmt.Errorf("k: %q %v", v, err)
		}
		if _, err := tx.Get([]byte("b"), []byte("k2")); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("k2: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestLocked: a second Open of the same file fails while the first holds it.
func TestLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "client.db")
	s := open(t, path)
	defer s.Close()
	if _, err := boltstore.Open(path, boltstore.Options{LockTimeout: 50 * time.Millisecond}); !errors.Is(err, boltstore.ErrLocked) {
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
	if _, err := boltstore.Open(path, boltstore.Options{LockTimeout: -1}); err == nil {
		t.Fatal("a negative lock timeout was accepted")
	}
}

// BenchmarkUpdate measures one durable transaction (fsync included) that
// writes what receiving one message writes: a session record, a message
// and a seen-ID.
func BenchmarkUpdate(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "client.db"))
	defer s.Close()
	ctx := context.Background()
	session, msg := make([]byte, 2048), make([]byte, 300)
	var n uint64
	for b.Loop() {
		n++
		key := []byte(fmt.Sprintf("%016x", n))
		err := s.Update(ctx, func(tx store.Tx) error {
			if err := tx.Put([]byte("sessions"), []byte("peer"), session); err != nil {
				return err
			}
			if err := tx.Put([]byte("messages"), key, msg); err != nil {
				return err
			}
			return tx.Put([]byte("seen"), key, nil)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
