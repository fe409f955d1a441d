package layout

import (
	"bytes"
	"encoding/json"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/mutualcoop/mutual"

type pkg struct {
	ImportPath string
	Name       string
	Doc        string
	Deps       []string
	Imports    []string
	GoFiles    []string
}

// list runs go list over the module for one target platform.
func list(t *testing.T, goos, goarch string, patterns ...string) []pkg {
	t.Helper()
	args := append([]string{"list", "-deps=false", "-json"}, patterns...)
	cmd := exec.Command("go", args...)
	cmd.Dir = "../.."
	cmd.Env = append(cmd.Environ(), "GOOS="+goos, "GOARCH="+goarch, "GOFLAGS=")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// forbidden reports the first dependency of p that matches a banned prefix
// and is not one of the exceptions. database/sql/driver is always allowed:
// it is interfaces only (go-app's UUID package implements them);
// database/sql itself, with its driver registry, is not.
func forbidden(p pkg, banned []string, except ...string) string {
	for _, d := range p.Deps {
		if d == "database/sql/driver" || slices.Contains(except, d) {
			continue
		}
		for _, b := range banned {
			if d == b || strings.HasPrefix(d, b+"/") {
				return d
			}
		}
	}
	return ""
}

// serverSide are the packages of the server and what only the server may
// link: the relay, the programs, the web serving, the load generator and
// its SMTP server, the databases' and Kafka's clients.
var serverSide = []string{
	module + "/relay", // but relay/wire, the protocol, where a rule says so
	module + "/cmd", module + "/pwa", "github.com/prometheus",
	module + "/internal/loadgen", module + "/internal/smtpcatch",
	"github.com/IBM/sarama", "github.com/jackc/pgx", "modernc.org/sqlite",
	"database/sql", "github.com/emersion/go-smtp", "github.com/twmb/franz-go",
}

// TestLayering: the client and the end-to-end encryption never depend on
// the server, a database driver or the Kafka client; the encryption and the
// wire format touch no network; the server never depends on the client;
// the web serving depends on neither (the program registers the app's
// pages with go-app's router, see package pwa); the co-op's graph of
// contacts knows no database.
func TestLayering(t *testing.T) {
	native := [][2]string{{"linux", "amd64"}}
	both := [][2]string{{"linux", "amd64"}, {"js", "wasm"}}
	rules := []struct {
		pattern string
		banned  []string
		except  []string
		targets [][2]string
	}{
		{"./app/...", serverSide, []string{wire()}, both},
		{"./relay/wire/...", append(serverSide, "net", "net/http", module+"/app"), nil, both},
		{"./crypto/...", append(serverSide, "net", "net/http", module+"/app"), nil, both},
		{"./relay/...", []string{module + "/app", module + "/internal/loadgen"}, nil, native},
		{"./relay/coop/degrees", serverSide, []string{wire()}, native},
		{"./pwa/...", []string{module + "/app", module + "/relay"}, nil, native},
	}
	for _, r := range rules {
		for _, target := range r.targets {
			for _, p := range list(t, target[0], target[1], r.pattern) {
				if strings.HasSuffix(p.ImportPath, ".test") || len(p.GoFiles) == 0 {
					continue
				}
				if d := forbidden(p, r.banned, r.except...); d != "" {
					t.Errorf("%s/%s: %s imports %s", target[0], target[1], p.ImportPath, d)
				}
			}
		}
	}
}

// TestFoundations: the packages every part of the module builds on depend
// on nothing but what is listed (and the standard library), so that the
// client, the crypto and the relay can all use them: the protobuf field
// toolkit, and the client's side of the wire protocol.
func TestFoundations(t *testing.T) {
	protowire := []string{"google.golang.org/protobuf/encoding/protowire", "google.golang.org/protobuf/internal"}
	rules := []struct {
		pattern string
		allowed []string
	}{
		{"./internal/pb", protowire},
		{"./app/transport", append([]string{wire(), module + "/internal/pb", "github.com/coder/websocket"}, protowire...)},
	}
	for _, target := range [][2]string{{"linux", "amd64"}, {"js", "wasm"}} {
		for _, r := range rules {
			for _, p := range list(t, target[0], target[1], r.pattern) {
				for _, d := range p.Deps {
					if standard(d) || slices.ContainsFunc(r.allowed, func(a string) bool {
						return d == a || strings.HasPrefix(d, a+"/")
					}) {
						continue
					}
					t.Errorf("%s/%s: %s depends on %s", target[0], target[1], p.ImportPath, d)
				}
			}
		}
	}
}

func wire() string { return module + "/relay/wire" }

// standard reports whether an import path is the standard library's: its
// first element has no dot.
func standard(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

// TestServerLinksNoTesting: the server binary does not carry the testing
// package (its flags, its harness) into production.
func TestServerLinksNoTesting(t *testing.T) {
	for _, p := range list(t, "linux", "amd64", "./cmd/mutual") {
		if d := forbidden(p, []string{"testing"}); d != "" {
			t.Errorf("%s links %s", p.ImportPath, d)
		}
	}
}

// TestWasmUsesTheBrowser: the code built into the web app talks to the
// network through the browser (its WebSocket, fetch), never through Go's
// HTTP client, which would add its weight to the wasm. go-app itself
// imports net/http for its server side; our packages do not, directly.
func TestWasmUsesTheBrowser(t *testing.T) {
	for _, p := range list(t, "js", "wasm", "./app/...", "./cmd/web") {
		if len(p.GoFiles) == 0 {
			continue
		}
		for _, imp := range p.Imports {
			if imp == "net/http" || strings.HasPrefix(imp, "net/http/") {
				t.Errorf("js/wasm: %s imports %s", p.ImportPath, imp)
			}
		}
	}
}

// TestPackageDocs: every package says what it is for.
func TestPackageDocs(t *testing.T) {
	for _, p := range list(t, "linux", "amd64", "./...") {
		if len(p.GoFiles) == 0 {
			continue
		}
		if p.Doc == "" {
			t.Errorf("%s has no package comment", p.ImportPath)
		}
	}
}
