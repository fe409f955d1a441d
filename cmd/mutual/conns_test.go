package main

import (
	"context"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/mutualcoop/mutual/app/transport"
)

// TestServeSurvivesConnectionFlood runs the real binary with room for 256
// open files and floods it from one address with WebSocket connections
// that never authenticate, more than it has descriptors. The relay caps
// them below its descriptor limit: /healthz still answers and a person
// on another address still signs in.
func TestServeSurvivesConnectionFlood(t *testing.T) {
	const files, flood = 256, 400
	bin := filepath.Join(t.TempDir(), "mutual")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cmd := exec.Command("sh", "-c", `ulimit -n 256 && exec "$0" "$@"`, bin,
		"serve", "--dev", "--listen", "127.0.0.1:0", "--metrics-addr", "", "--data", t.TempDir(), "--log-format", "json")
	stderr, codes := startDev(t, cmd)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	addr := waitForLog(ctx, t, stderr, regexp.MustCompile(`"addr":"http://([^"]+)"`))
	if got := waitForLog(ctx, t, stderr, regexp.MustCompile(`"msg":"open-file limit","files":(\d+)`)); got != "256" {
		t.Fatalf("open-file limit %s, want %d", got, files)
	}

	// The flood: every connection that gets in stays open, unauthenticated.
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
	attacker := &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
	admitted := 0
	for range flood {
		ws, resp, err := websocket.Dial(ctx, "ws://"+addr+"/v1/ws", &websocket.DialOptions{HTTPClient: attacker})
		if err == nil {
			admitted++
			defer ws.CloseNow()
			continue
		}
		if resp == nil || (resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable) {
			t.Fatalf("connection %d: %v, want admitted or refused", admitted, err)
		}
	}
	if admitted >= files {
		t.Fatalf("%d of %d connections admitted with %d open files", admitted, flood, files)
	}

	plain := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := plain.Get("http://" + addr + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz during the flood: %v %v\n%s", resp, err, stderr.String())
	}
	resp.Body.Close()

	c, err := transport.Dial(ctx, "ws://"+addr+"/v1/ws", transport.Options{})
	if err != nil {
		t.Fatalf("a real client during the flood: %v", err)
	}
	defer c.Close()
	if _, _, err := signInDev(ctx, t, c, codes); err != nil {
		t.Fatalf("verify during the flood: %v", err)
	}
}
