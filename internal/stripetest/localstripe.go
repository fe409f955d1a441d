package stripetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// startTimeout bounds how long localstripe may take to answer after it
// starts (a Python program: a few seconds on a loaded machine).
const startTimeout = 60 * time.Second

// localstripe is a localstripe server: started by this package, or one
// running already.
type localstripe struct {
	url  *url.URL
	cmd  *exec.Cmd // nil for a server running already
	done chan struct{}
	log  *tail
}

// startLocalstripe runs command on a free port of 127.0.0.1 with
// --from-scratch, and waits until it answers. A port taken between its
// choice and localstripe's start is tried again with another.
func startLocalstripe(ctx context.Context, command, key string, hc *http.Client) (*localstripe, error) {
	var err error
	for range 3 {
		var ls *localstripe
		ls, err = tryStart(ctx, command, key, hc)
		if err == nil {
			return ls, nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, err
}

func tryStart(ctx context.Context, command, key string, hc *http.Client) (*localstripe, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	ls := &localstripe{
		url:  &url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))},
		done: make(chan struct{}),
		log:  &tail{max: 64 << 10},
	}
	ls.cmd = exec.Command(command, "--port", strconv.Itoa(port), "--from-scratch")
	ls.cmd.Stdout = ls.log
	ls.cmd.Stderr = ls.log
	if err := ls.cmd.Start(); err != nil {
		return nil, fmt.Errorf("stripetest: start localstripe: %w", err)
	}
	go func() {
		ls.cmd.Wait()
		close(ls.done)
	}()
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !ls.answers(ctx, key, hc) {
		select {
		case <-ls.done:
			return nil, fmt.Errorf("stripetest: localstripe exited during start: %s", ls.log.String())
		case <-ctx.Done():
			ls.stop()
			return nil, fmt.Errorf("stripetest: localstripe not answering: %w", ctx.Err())
		case <-tick.C:
		}
	}
	return ls, nil
}

// runningLocalstripe is a server started by someone else
// (scripts/localstripe.sh start), which must answer now.
func runningLocalstripe(ctx context.Context, raw, key string, hc *http.Client) (*localstripe, error) {
	u, err := url.Parse(strings.TrimSuffix(raw, "/"))
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("stripetest: localstripe URL %q", raw)
	}
	ls := &localstripe{url: u, log: &tail{max: 1}}
	if !ls.answers(ctx, key, hc) {
		return nil, fmt.Errorf("stripetest: localstripe at %s is not answering", u)
	}
	return ls, nil
}

func (ls *localstripe) answers(ctx context.Context, key string, hc *http.Client) bool {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ls.url.String()+"/v1/customers?limit=1", nil)
	if err != nil {
		return false
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := hc.Do(req)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// stop ends a server this package started: SIGTERM, then SIGKILL if it
// lingers.
func (ls *localstripe) stop() {
	if ls.cmd == nil {
		return
	}
	ls.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-ls.done:
	case <-time.After(10 * time.Second):
		ls.cmd.Process.Kill()
		<-ls.done
	}
}

// freePort is a TCP port of 127.0.0.1 free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("stripetest: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// apiError is a Stripe error answer.
type apiError struct {
	Status  int
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *apiError) Error() string {
	return fmt.Sprintf("stripetest: localstripe: %d %s %s: %s", e.Status, e.Type, e.Code, e.Message)
}

// call makes a request of localstripe's API, form-encoded as Stripe's
// are, and decodes its JSON answer into out (when not nil).
func (s *Server) call(ctx context.Context, method, path string, form url.Values, out any) error {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, s.ls.url.String()+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.key)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return fmt.Errorf("stripetest: localstripe %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("stripetest: localstripe %s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error apiError `json:"error"`
		}
		json.Unmarshal(b, &e)
		e.Error.Status = resp.StatusCode
		if e.Error.Message == "" {
			e.Error.Message = strings.TrimSpace(string(b))
		}
		return &e.Error
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("stripetest: localstripe %s %s: %w", method, path, err)
	}
	return nil
}

// declined says whether err is Stripe's refusal of a card.
func declined(err error) bool {
	var e *apiError
	return errors.As(err, &e) && e.Status == http.StatusPaymentRequired
}

// encodeJSON is json.Marshal of a value that always marshals.
func encodeJSON(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	return b.Bytes()
}
