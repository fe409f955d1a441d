// Command wasmbrowser runs a GOOS=js GOARCH=wasm program, usually a test
// binary, in headless Chromium. It is made for go test's -exec flag:
//
//	go build -o bin/wasmbrowser ./internal/wasmbrowser
//	GOOS=js GOARCH=wasm go test -exec "$PWD/bin/wasmbrowser" ./app/store/idbstore
//
// It serves the program, Go's wasm_exec.js and a page that runs them on a
// random port of 127.0.0.1, opens the page in a browser with a fresh
// profile (a temporary directory, removed at the end) and starts the
// program with its arguments and the runner's environment. The program's
// standard output and error come out on the runner's, byte for byte, and
// the runner exits with the program's exit code; its own failures (no
// browser, a crash, the deadline) it reports on standard error, exiting
// with 1.
//
// Usage:
//
//	wasmbrowser [-timeout d] [-chromium path] [-wasm-exec path] program [args...]
//
// The flags default to the environment: WASMBROWSER_TIMEOUT (else 5m, and
// it covers the browser's start), WASMBROWSER_CHROMIUM (else
// /usr/bin/chromium, or chromium, chromium-browser or google-chrome on
// PATH) and wasm_exec.js in $(go env GOROOT)/lib/wasm (misc/wasm before Go
// 1.24).
//
// The program runs in a page, not in Node.js: it has the browser's APIs
// (IndexedDB, fetch, WebSocket) and no file system, so a test that reads
// testdata files does not belong under this runner.
package main

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/chromedp/cdproto/inspector"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

//go:embed page.html
var page []byte

// binding is the function the page calls to report to the runner.
const binding = "wasmbrowserReport"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Environ(), os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// config is what one run needs.
type config struct {
	Chromium string        // the browser's executable
	WasmExec string        // Go's wasm_exec.js
	Timeout  time.Duration // for everything, the browser's start included
	Program  string        // the js/wasm binary
	Args     []string      // the program's arguments
	Env      []string      // the program's environment, KEY=value
}

// Validate reports a config that cannot work.
func (c config) Validate() error {
	if c.Timeout <= 0 {
		return fmt.Errorf("timeout %v is not positive", c.Timeout)
	}
	if c.Program == "" {
		return errors.New("no program to run")
	}
	if _, err := os.Stat(c.Program); err != nil {
		return err
	}
	if c.Chromium == "" {
		return errors.New("no Chromium found: install it with scripts/deps.sh test (make test runs it) or set WASMBROWSER_CHROMIUM")
	}
	for _, f := range []string{c.Chromium, c.WasmExec} {
		if _, err := os.Stat(f); err != nil {
			return err
		}
	}
	return nil
}

// run is the command: it returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, environ []string, stdout, stderr io.Writer) int {
	cfg, err := parseConfig(args, getenv, environ, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 2
	}
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		fmt.Fprintf(stderr, "wasmbrowser: %v\n", err)
		return 2
	}
	code, err := browse(ctx, cfg, stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "wasmbrowser: %v\n", err)
		return 1
	}
	return code
}

func parseConfig(args []string, getenv func(string) string, environ []string, stderr io.Writer) (config, error) {
	cfg := config{Timeout: 5 * time.Minute, Env: environ}
	if v := getenv("WASMBROWSER_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return cfg, fmt.Errorf("WASMBROWSER_TIMEOUT: %w", err)
		}
		cfg.Timeout = d
	}
	fs := flag.NewFlagSet("wasmbrowser", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: wasmbrowser [-timeout d] [-chromium path] [-wasm-exec path] program [args...]")
		fs.PrintDefaults()
	}
	fs.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "how long the program may run, the browser's start included (env WASMBROWSER_TIMEOUT)")
	fs.StringVar(&cfg.Chromium, "chromium", defaultChromium(getenv), "the browser (env WASMBROWSER_CHROMIUM)")
	fs.StringVar(&cfg.WasmExec, "wasm-exec", "", "Go's wasm_exec.js (default: the Go installation's)")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return cfg, errors.New("no program to run")
	}
	cfg.Program, cfg.Args = fs.Arg(0), fs.Args()[1:]
	if cfg.WasmExec == "" {
		var err error
		if cfg.WasmExec, err = findWasmExec(getenv); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

func defaultChromium(getenv func(string) string) string {
	if p := getenv("WASMBROWSER_CHROMIUM"); p != "" {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// findWasmExec finds wasm_exec.js in the Go installation that runs us.
func findWasmExec(getenv func(string) string) (string, error) {
	root := getenv("GOROOT")
	if root == "" {
		out, err := exec.Command("go", "env", "GOROOT").Output()
		if err != nil {
			return "", fmt.Errorf("find wasm_exec.js: go env GOROOT: %w", err)
		}
		root = strings.TrimSpace(string(out))
	}
	for _, dir := range []string{"lib/wasm", "misc/wasm"} {
		p := filepath.Join(root, dir, "wasm_exec.js")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no wasm_exec.js in %s/lib/wasm or %s/misc/wasm", root, root)
}

// message is what the page reports.
type message struct {
	Kind string `json:"kind"` // write, exit, error (a page error) or fatal (the program could not run)
	FD   int    `json:"fd"`   // write: 1 or 2
	Data []byte `json:"data"` // write: the bytes (base64 in JSON)
	Code int    `json:"code"` // exit
	Text string `json:"text"` // error, fatal
}

// browse runs the program in the browser and returns its exit code.
func browse(ctx context.Context, cfg config, stdout, stderr io.Writer) (int, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, cfg.Timeout,
		fmt.Errorf("%s did not exit within %v (set -timeout or WASMBROWSER_TIMEOUT)", filepath.Base(cfg.Program), cfg.Timeout))
	defer cancel()

	wasmExec, err := os.ReadFile(cfg.WasmExec)
	if err != nil {
		return 0, err
	}
	url, stopServer, err := serve(cfg.Program, wasmExec)
	if err != nil {
		return 0, err
	}
	defer stopServer()

	// The allocator makes the profile directory, and removes it once the
	// browser has exited.
	browserOut := &tail{max: 16 << 10}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(cfg.Chromium),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.CombinedOutput(browserOut),
	)
	allocCtx, allocCancel := chromedp.NewExecAllocator(ctx, opts...)
	defer allocCancel()
	tabCtx, tabCancel := chromedp.NewContext(allocCtx)
	defer tabCancel()

	// fail explains an error: the deadline or an interrupt, or else a
	// failure of the browser, whose output then may say more.
	fail := func(what string, err error) error {
		if cause := context.Cause(ctx); cause != nil {
			return fmt.Errorf("%s: %w", what, cause)
		}
		if out := browserOut.String(); out != "" {
			return fmt.Errorf("%s: %w\nbrowser output:\n%s", what, err, out)
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	if _, err := chromedp.Call(tabCtx, runtime.AddBinding, runtime.AddBindingParams{Name: binding}); err != nil {
		return 0, fail("start "+cfg.Chromium, err)
	}
	runCtx, stopRun := context.WithCancelCause(tabCtx)
	defer stopRun(nil)
	crashed := errors.New("the page crashed")
	if err := chromedp.Listen(runCtx, func(ev any) {
		if _, ok := ev.(*inspector.EventTargetCrashed); ok {
			stopRun(crashed)
		}
	}); err != nil {
		return 0, fail("listen", err)
	}
	reports := chromedp.Events(runCtx, runtime.BindingCalled)
	if err := chromedp.Do(runCtx, chromedp.Navigate(url)); err != nil {
		return 0, fail("load the page", err)
	}
	start, err := startScript(cfg)
	if err != nil {
		return 0, err
	}
	if err := chromedp.Do(runCtx, chromedp.Evaluate[chromedp.Void](start)); err != nil {
		return 0, fail("start the program", err)
	}
	for ev, err := range reports {
		if err != nil {
			if cause := context.Cause(runCtx); errors.Is(cause, crashed) {
				err = cause
			}
			return 0, fail("run", err)
		}
		if ev.Name != binding {
			continue
		}
		var m message
		if err := json.Unmarshal([]byte(ev.Payload), &m); err != nil {
			return 0, fmt.Errorf("a report from the page: %w", err)
		}
		switch m.Kind {
		case "write":
			w := stdout
			if m.FD != 1 {
				w = stderr
			}
			if _, err := w.Write(m.Data); err != nil {
				return 0, err
			}
		case "exit":
			return m.Code, nil
		case "error":
			fmt.Fprintf(stderr, "wasmbrowser: page error: %s\n", m.Text)
		case "fatal":
			return 0, fmt.Errorf("run %s: %s", filepath.Base(cfg.Program), m.Text)
		}
	}
	return 0, fail("run", errors.New("the browser stopped reporting"))
}

// startScript returns the script that starts the program with its
// arguments and environment.
func startScript(cfg config) (string, error) {
	env := make(map[string]string, len(cfg.Env))
	for _, kv := range cfg.Env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	arg, err := json.Marshal(map[string]any{
		"argv": append([]string{filepath.Base(cfg.Program)}, cfg.Args...),
		"env":  env,
	})
	if err != nil {
		return "", err
	}
	return "start(" + string(arg) + ")", nil
}

// serve serves the page, wasm_exec.js and the program on a random port of
// 127.0.0.1, and returns the page's URL and a func that stops serving.
func serve(program string, wasmExec []byte) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	static := func(contentType string, body []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", contentType)
			w.Header().Set("Cache-Control", "no-store")
			w.Write(body)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", static("text/html; charset=utf-8", page))
	mux.Handle("GET /wasm_exec.js", static("text/javascript; charset=utf-8", wasmExec))
	mux.HandleFunc("GET /program.wasm", func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Open(program)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer f.Close()
		info, err := f.Stat()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/wasm")
		w.Header().Set("Cache-Control", "no-store")
		http.ServeContent(w, r, "", info.ModTime(), f)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	stop := func() {
		srv.Close()
		<-done
	}
	return "http://" + ln.Addr().String() + "/", stop, nil
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = t.buf[over:]
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.TrimSpace(t.buf))
}
