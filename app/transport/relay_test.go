package transport_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/relay/wire"
)

// fakeRelay is a WebSocket server speaking wire frames: each test gives
// the script one accepted connection runs. The connection is dropped when
// the script returns, and Cleanup waits for every script.
type fakeRelay struct {
	url string
}

func newRelay(t testing.TB, script func(p *peer)) *fakeRelay {
	t.Helper()
	var wg sync.WaitGroup
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wg.Add(1) // before Accept hijacks the connection, while srv.Close still waits for us
		defer wg.Done()
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			t.Errorf("accept: %v", err)
			return
		}
		defer ws.CloseNow()
		ws.SetReadLimit(wire.MaxFrameSize)
		script(&peer{t: t, ws: ws})
	}))
	t.Cleanup(func() {
		srv.Close() // every handler has started (and called wg.Add) once this returns
		wg.Wait()
	})
	return &fakeRelay{url: "ws" + strings.TrimPrefix(srv.URL, "http") + "/v1/ws"}
}

// dial connects to the relay; the connection is closed when the test ends.
func (r *fakeRelay) dial(t testing.TB, opts transport.Options) *transport.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := transport.Dial(ctx, r.url, opts)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// peer is the relay's side of one connection.
type peer struct {
	t  testing.TB
	ws *websocket.Conn
}

// read returns the next frame from the client; the error is the client's
// close status or the connection's failure.
func (p *peer) read() (wire.Frame, error) {
	_, b, err := p.ws.Read(context.Background())
	if err != nil {
		return wire.Frame{}, err
	}
	return wire.DecodeFrame(b)
}

func (p *peer) write(f wire.Frame) error {
	return p.writeRaw(wire.Encode(f))
}

func (p *peer) writeRaw(b []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return p.ws.Write(ctx, websocket.MessageBinary, b)
}

// serve answers each request with what handle returns until the client
// goes away, and returns the client's close status (-1 without one).
func (p *peer) serve(handle func(f wire.Frame) []wire.Frame) websocket.StatusCode {
	for {
		f, err := p.read()
		if err != nil {
			return websocket.CloseStatus(err)
		}
		for _, out := range handle(f) {
			if err := p.write(out); err != nil {
				return websocket.CloseStatus(err)
			}
		}
	}
}

// drain reads until the client goes away and returns its close status.
func (p *peer) drain() websocket.StatusCode {
	return p.serve(func(wire.Frame) []wire.Frame { return nil })
}

// userOf derives a user ID from an address, so that replies can be checked.
func userOf(address string) wire.UserID {
	var u wire.UserID
	copy(u[:], strings.TrimPrefix(address, "email:"))
	return u
}

func asCloseError(t *testing.T, err error) *transport.CloseError {
	t.Helper()
	var ce *transport.CloseError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T) is not a *CloseError", err, err)
	}
	return ce
}
