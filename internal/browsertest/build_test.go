//go:build browser

package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
)

// builtApp is what the test serves: the relay binary and the directory of
// the built web app.
type builtApp struct {
	mutual string // the mutual binary
	web    string // app.wasm and its precompressed copies
}

// built is the one build the package's tests share (see TestMain).
var built struct {
	once sync.Once
	dir  string
	app  builtApp
	err  error
}

// buildApp returns the WebAssembly client and the relay, built side by
// side on first use, with the wasm's compressed copies written next to
// the relay binary as `make web` does. Every test of the package shares
// the build; a test must not change its files.
func buildApp(t *testing.T) builtApp {
	t.Helper()
	built.once.Do(func() { built.app, built.err = build(built.dir) })
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.app
}

// build builds the app into dir.
func build(dir string) (builtApp, error) {
	app := builtApp{mutual: filepath.Join(dir, "mutual"), web: filepath.Join(dir, "web")}
	if err := os.Mkdir(app.web, 0o755); err != nil {
		return app, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var g errgroup.Group
	g.Go(func() error {
		return goBuild(ctx, []string{"GOOS=js", "GOARCH=wasm"}, filepath.Join(app.web, "app.wasm"), "./cmd/web")
	})
	g.Go(func() error {
		return goBuild(ctx, nil, app.mutual, "./cmd/mutual")
	})
	if err := g.Wait(); err != nil {
		return app, err
	}
	prep := exec.CommandContext(ctx, app.mutual, "bundle", "--prepare-only", "--web", app.web)
	if out, err := prep.CombinedOutput(); err != nil {
		return app, fmt.Errorf("mutual bundle --prepare-only: %v\n%s", err, out)
	}
	return app, nil
}

// goBuild runs go build at the module's root.
func goBuild(ctx context.Context, env []string, out, pkg string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = append(os.Environ(), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

// measure records the sizes of the wasm as built and as sent.
func (a builtApp) measure(t *testing.T, m *metrics) {
	t.Helper()
	for name, dst := range map[string]*int64{
		"app.wasm": &m.WasmBytes, "app.wasm.gz": &m.WasmGzipBytes, "app.wasm.br": &m.WasmBrotliBytes,
	} {
		fi, err := os.Stat(filepath.Join(a.web, name))
		if err != nil {
			t.Fatal(err)
		}
		*dst = fi.Size()
	}
}
