package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/mutualcoop/mutual/app/ui"
	"github.com/mutualcoop/mutual/pwa"
)

// bundleFlags are the settings of `mutual bundle`.
type bundleFlags struct {
	web         string
	prepareOnly bool
}

func (f *bundleFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.web, "web", "build/web", "directory of the built app (make web)")
	fs.BoolVar(&f.prepareOnly, "prepare-only", false, "only write the compressed copies of app.wasm into the --web directory; no OUT")
}

const bundleUsage = `usage: mutual bundle [--web DIR] OUT
       mutual bundle --prepare-only [--web DIR]

Writes the web app as a static website into OUT, for any web server;
OUT/README.md tells what that server must do.

`

// bundle writes the web app as a static website.
func bundle(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f bundleFlags
	fs := flag.NewFlagSet("bundle", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), bundleUsage)
		fs.PrintDefaults()
	}
	f.register(fs)
	out, err := parseFlagsArgs(fs, args, stderr)
	if err != nil {
		return err
	}
	if (len(out) != 1 && !f.prepareOnly) || (len(out) != 0 && f.prepareOnly) {
		fs.Usage()
		return errUsage
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	if f.prepareOnly {
		return prepare(f.web, log)
	}
	h, err := openApp(f.web, log)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := h.WriteBundle(out[0]); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote the web app, version %s, to %s; %s/README.md lists the web server's settings\n", h.Version(), out[0], out[0])
	return nil
}

// prepare writes the compressed copies of app.wasm in dir unless they
// are current.
func prepare(dir string, log *slog.Logger) error {
	start := time.Now()
	written, err := pwa.Prepare(dir)
	if err != nil {
		return err
	}
	if len(written) > 0 {
		log.Info("compressed the web app", "dir", dir, "files", written, "took", time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// openApp prepares the built app in dir and opens it with Mutual's pages:
// the web app's routes (cmd/web registers the same ones), each rendered
// on the server as the layout without client logic (ui.Prerender).
func openApp(dir string, log *slog.Logger) (*pwa.Handler, error) {
	if err := prepare(dir, log); err != nil {
		return nil, err
	}
	ui.Routes(ui.Prerender)
	h, err := pwa.New(pwa.Config{Dir: dir, Head: []string{ui.ThemeScript}, Known: ui.KnownPath})
	if err != nil {
		return nil, fmt.Errorf("web app: %w", err)
	}
	return h, nil
}
