package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/relay/wire"
)

func TestRefusals(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"dev on all interfaces", []string{"serve", "--dev", "--listen", ":8080", "--data", t.TempDir()}, nil, "refused"},
		{"no code delivery", []string{"serve", "--data", t.TempDir()}, nil, "no way to deliver codes"},
		{"bad env value", []string{"serve"}, map[string]string{"MUTUAL_DEV": "perhaps"}, "MUTUAL_DEV"},
		{"unknown command", []string{"frobnicate"}, nil, "unknown command"},
		{"S3 bucket without an endpoint", []string{"serve", "--dev", "--listen", "127.0.0.1:0", "--metrics-addr", "", "--data", t.TempDir(), "--s3-bucket", "b"}, nil, "--s3-bucket needs --s3-endpoint"},
		{"S3 endpoint without a bucket", []string{"serve", "--dev", "--listen", "127.0.0.1:0", "--metrics-addr", "", "--data", t.TempDir(), "--s3-endpoint", "http://127.0.0.1:1"}, nil, "no bucket"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var out, errb bytes.Buffer
			if code := run(tt.args, &out, &errb); code == 0 {
				t.Fatalf("exit 0, want failure")
			}
			if !strings.Contains(errb.String(), tt.want) {
				t.Fatalf("stderr %q does not mention %q", errb.String(), tt.want)
			}
		})
	}
}

// TestServeDevAndGracefulStop runs the real binary: it prints sign-in
// codes in dev mode, serves a registration, and exits 0 on SIGTERM.
func TestServeDevAndGracefulStop(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "mutual")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	data := t.TempDir()
	cmd := exec.Command(bin, "serve", "--dev", "--listen", "127.0.0.1:0", "--metrics-addr", "", "--data", data, "--log-format", "json")
	stderr, codes := startDev(t, cmd)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	addr := waitForLog(ctx, t, stderr, regexp.MustCompile(`"addr":"http://([^"]+)"`))
	c, err := transport.Dial(ctx, "ws://"+addr+"/v1/ws", transport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	v, code, err := signInDev(ctx, t, c, codes)
	if err != nil || v.Device != 1 {
		t.Fatalf("verify: %+v %v", v, err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
	}
	// The connection was told why it ended.
	<-c.Done()
	var ce *transport.CloseError
	if cerr := c.Err(); !asClose(cerr, &ce) || ce.Code != wire.CloseShutdown {
		t.Fatalf("connection ended with %v, want close %d", cerr, wire.CloseShutdown)
	}
	// Codes and addresses never reach the log.
	if log := stderr.String(); strings.Contains(log, code) || strings.Contains(log, "alice@") {
		t.Fatalf("the log holds the code or the address:\n%s", log)
	}
	if _, err := os.Stat(filepath.Join(data, "secret")); err != nil {
		t.Fatalf("no secret file: %v", err)
	}
}
