//go:build browser

package browsertest

import (
	"os"
	"path/filepath"
	"testing"
)

// screenshotDir is docs/screenshots when MUTUAL_SCREENSHOTS=1 (to refresh
// the committed pictures), a temporary directory otherwise: the pictures
// are always taken, so that the path stays exercised.
func screenshotDir(t *testing.T) string {
	t.Helper()
	if os.Getenv("MUTUAL_SCREENSHOTS") != "1" {
		return t.TempDir()
	}
	dir, err := filepath.Abs(filepath.Join("..", "..", "docs", "screenshots"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// saveScreenshot writes a PNG and checks that it is one.
func saveScreenshot(t *testing.T, dir, name string, png []byte) {
	t.Helper()
	if len(png) < 8 || string(png[1:4]) != "PNG" {
		t.Fatalf("screenshot %s is not a PNG", name)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}
