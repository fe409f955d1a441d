package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/internal/relaytest"
	"github.com/mutualcoop/mutual/relay/server"
	"github.com/mutualcoop/mutual/relay/wire"
)

// blobChildEnv makes the test binary a relay for TestBlobMemory: it
// runs one, grants the uploads whose sizes the variable lists
// (comma-separated), prints the relay's address and the grants as one
// JSON line, and serves until its standard input closes.
const blobChildEnv = "MUTUAL_TEST_BLOB_RELAY"

// blobChild is what the child relay prints.
type blobChild struct {
	URL    string
	Grants []*wire.UploadGrant
}

// runBlobChild is the child's main; it returns the exit code.
func runBlobChild(sizes string) int {
	ctx := context.Background()
	r, err := relaytest.Open(ctx, relaytest.Options{Config: func(c *server.Config) { c.Gateway.Uploads.BytesPerDay = -1 }})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer r.Close(ctx)
	conn, _, err := r.Register(ctx, "email:memory@example.org", "test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer conn.Close()
	out := blobChild{URL: r.BaseURL()}
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		g, err := transport.Call[*wire.UploadGrant](ctx, conn, &wire.Upload{Size: n})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		out.Grants = append(out.Grants, g)
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		return 1
	}
	io.Copy(io.Discard, os.Stdin)
	return 0
}

// peakRSS is a process's peak resident memory (VmHWM), in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM %q", v)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/PID/status")
	return 0
}

// TestBlobMemory: a relay in a process of its own takes a 10 MiB and a
// 100 MiB blob, streamed from a generator, and serves the 100 MiB one
// back; its peak resident memory grows by less than a fixed bound over
// its idle figure, the same for both sizes: bodies are streamed, never
// held.
func TestBlobMemory(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads the relay's peak memory from /proc: Linux only")
	}
	const bound = 48 << 20
	sizes := []int64{10 << 20, 100 << 20}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d,%d", blobChildEnv, sizes[0], sizes[1]))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		stdin.Close()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	line, err := bufio.NewReader(stdout).ReadBytes('\n')
	if err != nil {
		t.Fatalf("the relay did not start: %v\n%s", err, stderr.String())
	}
	var child blobChild
	if err := json.Unmarshal(line, &child); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	idle := peakRSS(t, pid)
	for i, g := range child.Grants {
		req, err := http.NewRequestWithContext(ctxT(t), http.MethodPatch, child.URL+"/v1/blobs/"+g.Blob.String(), generated(byte(i), sizes[i]))
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = sizes[i]
		req.Header.Set("Authorization", fmt.Sprintf("Bearer %x", g.Token))
		req.Header.Set("Tus-Resumable", "1.0.0")
		req.Header.Set("Content-Type", "application/offset+octet-stream")
		req.Header.Set("Upload-Offset", "0")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		wantStatus(t, resp, http.StatusNoContent)
		peak := peakRSS(t, pid)
		t.Logf("upload of %d MiB: peak resident memory %d MiB, %d MiB over idle (%d MiB)", sizes[i]>>20, peak>>20, (peak-idle)>>20, idle>>20)
		if peak-idle > bound {
			t.Errorf("an upload of %d MiB took the relay's memory %d MiB over its idle figure, more than %d MiB", sizes[i]>>20, (peak-idle)>>20, bound>>20)
		}
	}
	resp, err := http.Get(child.URL + "/v1/blobs/" + child.Grants[1].Blob.String())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	wantStatus(t, resp, http.StatusOK)
	if digestOf(t, resp.Body) != digestOf(t, generated(1, sizes[1])) {
		t.Fatal("the 100 MiB download is not the blob")
	}
	peak := peakRSS(t, pid)
	t.Logf("download of 100 MiB: peak resident memory %d MiB over idle", (peak-idle)>>20)
	if peak-idle > bound {
		t.Errorf("a download of 100 MiB took the relay's memory %d MiB over its idle figure, more than %d MiB", (peak-idle)>>20, bound>>20)
	}
}
