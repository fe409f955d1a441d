//go:build browser

package browsertest

import (
	"fmt"
	"os"
	"testing"
)

// TestMain gives the package's one build (see buildApp) a directory that
// outlives each test and is removed at the end.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mutual-browsertest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	built.dir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
