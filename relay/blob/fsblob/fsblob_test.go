package fsblob

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/blob"
	"github.com/mutualcoop/mutual/relay/blob/blobtest"
	"github.com/mutualcoop/mutual/relay/wire"
)

func newStore(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store { return newStore(t, t.TempDir()) })
}

// TestReopen: uploads and blobs outlive the store, as they outlive a
// restart of the relay.
func TestReopen(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	ctx := t.Context()
	done, partial := wire.NewBlobID(), wire.NewBlobID()
	for _, id := range []wire.BlobID{done, partial} {
		if err := s.Create(ctx, id, 100); err != nil {
			t.Fatal(err)
		}
	}
	want := bytes.Repeat([]byte("0123456789"), 10)
	if _, err := s.Append(ctx, done, 0, bytes.NewReader(want)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, partial, 0, bytes.NewReader(want[:42])); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = newStore(t, dir)
	if info, err := s.Stat(ctx, partial); err != nil || info.Offset != 42 || info.Complete {
		t.Fatalf("upload after reopening: %+v, %v", info, err)
	}
	if _, err := s.Append(ctx, partial, 42, bytes.NewReader(want[42:])); err != nil {
		t.Fatal(err)
	}
	for _, id := range []wire.BlobID{done, partial} {
		rc, err := s.Open(ctx, id, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("blob after reopening: %q, %v", got, err)
		}
	}
}

// TestCrashBeforeRename: an upload whose bytes were all synced when the
// relay stopped, before its file was renamed, is complete.
func TestCrashBeforeRename(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	id := wire.NewBlobID()
	shard, part, _ := s.paths(id)
	if err := os.MkdirAll(shard, 0o700); err != nil {
		t.Fatal(err)
	}
	data := append(header{size: 5, created: time.Now()}.encode(), "hello"...)
	if err := os.WriteFile(part, data, 0o600); err != nil {
		t.Fatal(err)
	}
	info, err := s.Stat(t.Context(), id)
	if err != nil || !info.Complete || info.Offset != 5 {
		t.Fatalf("Stat: %+v, %v; want complete", info, err)
	}
	rc, err := s.Open(t.Context(), id, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if got, _ := io.ReadAll(rc); string(got) != "ell" {
		t.Fatalf("read %q", got)
	}
}

// TestCreateLeftovers: a file a crash left in tmp during Create is
// removed when the store opens, and no upload appears from it.
func TestCreateLeftovers(t *testing.T) {
	dir := t.TempDir()
	newStore(t, dir).Close()
	left := filepath.Join(dir, "tmp", "create-123")
	if err := os.WriteFile(left, []byte("MUTB"), 0o600); err != nil {
		t.Fatal(err)
	}
	newStore(t, dir)
	if _, err := os.Stat(left); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("leftover still there: %v", err)
	}
}

// TestStatDuringAppend: while an Append runs, Stat reports the offset it
// began at, not bytes written and not yet synced.
func TestStatDuringAppend(t *testing.T) {
	s := newStore(t, t.TempDir())
	ctx := t.Context()
	id := wire.NewBlobID()
	if err := s.Create(ctx, id, 100); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, id, 0, bytes.NewReader(make([]byte, 10))); err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := s.Append(ctx, id, 10, pr)
		done <- err
	}()
	// Once the second write is taken, the first is in the file.
	pw.Write(make([]byte, 20))
	pw.Write(make([]byte, 20))
	if info, err := s.Stat(ctx, id); err != nil || info.Offset != 10 {
		t.Fatalf("Stat during Append: %+v, %v; want offset 10", info, err)
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if info, err := s.Stat(ctx, id); err != nil || info.Offset != 50 {
		t.Fatalf("Stat after Append: %+v, %v; want offset 50", info, err)
	}
}
