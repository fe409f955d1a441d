//go:build !js

package client_test

import (
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
)

// TestDeps keeps every package under app/ a client: in the browser build
// and natively, nothing there may depend on the server (relay/ other
// than relay/wire), a SQL driver or a Kafka client.
func TestDeps(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list dependencies: %v", err)
	}
	forbidden := []string{
		"github.com/mutualcoop/mutual/relay/", // but relay/wire, below
		"database/sql",
		"modernc.org/sqlite",
		"github.com/jackc/pgx",
		"github.com/lib/pq",
		"github.com/mattn/go-sqlite3",
		"github.com/IBM/sarama",
		"github.com/Shopify/sarama",
		"github.com/twmb/franz-go",
		"github.com/segmentio/kafka-go",
		"github.com/confluentinc/confluent-kafka-go",
	}
	for _, target := range []struct{ goos, goarch string }{
		{"js", "wasm"},
		{runtime.GOOS, runtime.GOARCH},
	} {
		t.Run(target.goos, func(t *testing.T) {
			cmd := exec.Command(gobin, "list", "-e", "-deps", "-f", "{{.ImportPath}}", "github.com/mutualcoop/mutual/app/...")
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
				switch dep {
				case "github.com/mutualcoop/mutual/relay/wire",
					// Interfaces only, no driver: github.com/google/uuid
					// (which go-app uses) implements them.
					"database/sql/driver":
					continue
				}
				for _, f := range forbidden {
					f = strings.TrimSuffix(f, "/")
					if dep == f || strings.HasPrefix(dep, f+"/") {
						t.Errorf("app/... depends on %s", dep)
					}
				}
			}
		})
	}
}
