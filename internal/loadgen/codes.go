package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/mutualcoop/mutual/relay/auth"
)

// CodeSource gives the authentication code the relay sent to an address.
// *smtpcatch.Server is one (it catches the relay's mail); CodeFile reads
// the DEV CODE lines of a relay started with --dev.
type CodeSource interface {
	// WaitCode waits for a code to address newer than the one the
	// previous call for that address returned, and returns it.
	WaitCode(ctx context.Context, address string) (string, error)
}

// CodeFile is a CodeSource reading a file that receives the standard output
// of a relay started with --dev: lines of the form
//
//	DEV CODE <address> <code>
//
// It follows the file as it grows (polling every 20ms while a caller
// waits); other lines are ignored. It is safe for concurrent use.
type CodeFile struct {
	mu      sync.Mutex
	f       *os.File
	partial []byte              // an unfinished last line
	codes   map[string][]string // address -> codes, oldest first
	taken   map[string]int      // address -> codes returned so far
	closed  bool
}

// OpenCodeFile opens path for reading codes from its start.
func OpenCodeFile(path string) (*CodeFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open codes file: %w", err)
	}
	return &CodeFile{f: f, codes: make(map[string][]string), taken: make(map[string]int)}, nil
}

// codePoll is how often a waiting WaitCode looks at the file again.
const codePoll = 20 * time.Millisecond

// WaitCode implements CodeSource.
func (c *CodeFile) WaitCode(ctx context.Context, address string) (string, error) {
	key, err := codeKey(address)
	if err != nil {
		return "", err
	}
	var tick *time.Ticker
	for {
		code, err := c.take(key)
		if code != "" || err != nil {
			if tick != nil {
				tick.Stop()
			}
			return code, err
		}
		if tick == nil {
			tick = time.NewTicker(codePoll)
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			tick.Stop()
			return "", fmt.Errorf("wait for a code: %w", ctx.Err())
		}
	}
}

// take reads what the file gained and returns the next code for key, or
// "" when there is none yet.
func (c *CodeFile) take(key string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return "", errors.New("codes file closed")
	}
	if err := c.readMore(); err != nil {
		return "", err
	}
	if n := c.taken[key]; n < len(c.codes[key]) {
		c.taken[key] = n + 1
		return c.codes[key][n], nil
	}
	return "", nil
}

func (c *CodeFile) readMore() error {
	buf := make([]byte, 32<<10)
	for {
		n, err := c.f.Read(buf)
		c.partial = append(c.partial, buf[:n]...)
		for {
			i := bytes.IndexByte(c.partial, '\n')
			if i < 0 {
				break
			}
			if addr, code, ok := parseCodeLine(string(c.partial[:i])); ok {
				if key, err := codeKey(addr); err == nil {
					c.codes[key] = append(c.codes[key], code)
				}
			}
			c.partial = c.partial[i+1:]
		}
		if len(c.partial) > 4<<10 {
			c.partial = nil // not a code line: no such line is this long
		}
		switch {
		case errors.Is(err, io.EOF), n == 0 && err == nil:
			return nil
		case err != nil:
			return fmt.Errorf("read codes file: %w", err)
		}
	}
}

// Close closes the file.
func (c *CodeFile) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	return c.f.Close()
}

// parseCodeLine parses "DEV CODE <address> <code>".
func parseCodeLine(line string) (address, code string, ok bool) {
	f := strings.Fields(line)
	if len(f) != 4 || f[0] != "DEV" || f[1] != "CODE" {
		return "", "", false
	}
	for _, r := range f[3] {
		if r < '0' || r > '9' {
			return "", "", false
		}
	}
	return f[2], f[3], true
}

// codeKey is the normalised form of an address, as the relay prints it.
func codeKey(address string) (string, error) {
	a, err := auth.ParseAddress(address)
	if err != nil {
		return "", fmt.Errorf("code address: %w", err)
	}
	return a.String(), nil
}
