//go:build linux

// Package tinyfs gives tests a small filesystem of their own, to run a
// relay out of disk for real: a tmpfs mounted on a temporary directory
// (which needs root, or CAP_SYS_ADMIN; the test is skipped without it),
// and a filler file that takes its free space and gives it back.
package tinyfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Mount mounts a tmpfs of size bytes on a new temporary directory and
// returns it; it is unmounted when the test ends. Without the privilege
// to mount, the test is skipped.
func Mount(t testing.TB, size int64) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tinyfs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	MountOn(t, dir, size)
	return dir
}

// MountOn mounts a tmpfs of size bytes on the existing directory dir,
// as Mount does.
func MountOn(t testing.TB, dir string, size int64) {
	t.Helper()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0700", size)); err != nil {
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
			t.Skipf("mounting a tmpfs is not permitted here (%v): run as root to test a full disk", err)
		}
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
}

// Resize changes the size of the tmpfs mounted on dir by Mount.
func Resize(t testing.TB, dir string, size int64) {
	t.Helper()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_REMOUNT, fmt.Sprintf("size=%d", size)); err != nil {
		t.Fatalf("resize tmpfs: %v", err)
	}
}

// Free returns the bytes free on the filesystem holding dir.
func Free(t testing.TB, dir string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * int64(st.Bsize)
}

// Fill writes a file in dir until the filesystem has at most leave bytes
// free (none at all with leave 0: the last write fails with ENOSPC), and
// returns a function that removes it again.
func Fill(t testing.TB, dir string, leave int64) (release func()) {
	t.Helper()
	f, err := os.CreateTemp(dir, "filler-")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for {
		n := Free(t, dir) - leave
		if n <= 0 {
			break
		}
		_, err := f.Write(chunk[:min(int64(len(chunk)), n)])
		if errors.Is(err, syscall.ENOSPC) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if leave == 0 {
		// Take the last partial page too.
		for _, err := f.Write(chunk[:1]); err == nil; _, err = f.Write(chunk[:1]) {
		}
	}
	path := f.Name()
	return func() {
		if err := os.Remove(path); err != nil {
			t.Errorf("remove filler: %v", err)
		}
	}
}
