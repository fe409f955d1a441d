package pb_test

import (
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
)

// TestDeps: the package imports only the standard library and protowire,
// so every part of the module (the wasm client, the crypto) may use it.
func TestDeps(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list dependencies: %v", err)
	}
	for _, target := range []struct{ goos, goarch string }{
		{"js", "wasm"},
		{runtime.GOOS, runtime.GOARCH},
	} {
		t.Run(target.goos, func(t *testing.T) {
			cmd := exec.Command(gobin, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".")
			cmd.Env = append(os.Environ(), "GOOS="+target.goos, "GOARCH="+target.goarch, "CGO_ENABLED=0")
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("go list: %v", err)
			}
			deps := strings.Fields(string(out))
			if len(deps) == 0 {
				t.Fatal("go list found nothing")
			}
			for _, dep := range deps {
				switch {
				case dep == "github.com/mutualcoop/mutual/internal/pb",
					dep == "google.golang.org/protobuf/encoding/protowire",
					strings.HasPrefix(dep, "google.golang.org/protobuf/internal/"): // protowire's own
				default:
					t.Errorf("depends on %s", dep)
				}
			}
		})
	}
}
