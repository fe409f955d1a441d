package transport_test

import (
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
)

// TestDeps keeps the package fit for every client: in the browser build it
// may use relay/wire, coder/websocket and the standard library, and nothing
// of the server.
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
			allowed := []string{
				"github.com/mutualcoop/mutual/app/transport",
				"github.com/mutualcoop/mutual/relay/wire",
				"github.com/mutualcoop/mutual/internal/pb", // relay/wire's field toolkit
				"github.com/coder/websocket",
				"google.golang.org/protobuf/encoding/protowire", // relay/wire's encoder
				"google.golang.org/protobuf/internal",           // protowire's own
			}
			for _, dep := range strings.Fields(string(out)) {
				ok := false
				for _, a := range allowed {
					ok = ok || dep == a || strings.HasPrefix(dep, a+"/")
				}
				if !ok {
					t.Errorf("depends on %s", dep)
				}
			}
		})
	}
}
