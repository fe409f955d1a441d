package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os/exec"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/relay/wire"
)

// syncBuffer is a bytes.Buffer safe for a writing process and a reading test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitForLog polls buf until re matches and returns the first group.
func waitForLog(ctx context.Context, t *testing.T, buf *syncBuffer, re *regexp.Regexp) string {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if m := re.FindStringSubmatch(buf.String()); m != nil {
			return m[1]
		}
		select {
		case <-ctx.Done():
			t.Fatalf("never saw %v in:\n%s", re, buf.String())
		case <-tick.C:
		}
	}
}

// startDev starts cmd, a `mutual serve --dev` with JSON logs, and returns
// its log and the lines of its standard output (its DEV CODE lines). The
// process is killed when the test ends.
func startDev(t *testing.T, cmd *exec.Cmd) (*syncBuffer, <-chan string) {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := new(syncBuffer)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 4)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	return stderr, lines
}

// signInDev signs alice@example.org in on c, reading the code from the
// DEV CODE lines of the relay's standard output; it returns the code too.
func signInDev(ctx context.Context, t *testing.T, c *transport.Conn, codes <-chan string) (*wire.Verified, string, error) {
	t.Helper()
	const addr = "email:alice@example.org"
	token, err := c.Register(ctx, addr)
	if err != nil {
		return nil, "", err
	}
	var line string
	select {
	case line = <-codes:
	case <-ctx.Done():
		t.Fatal("no DEV CODE line")
	}
	m := regexp.MustCompile(`^DEV CODE ` + regexp.QuoteMeta(addr) + ` (\d{6,8})$`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("console line %q", line)
	}
	v, err := c.Verify(ctx, addr, m[1], token, "laptop")
	return v, m[1], err
}

func asClose(err error, target **transport.CloseError) bool { return errors.As(err, target) }
