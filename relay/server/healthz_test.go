package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/auth"
	"github.com/mutualcoop/mutual/relay/server"
)

// TestHealthz: /healthz answers ok while the bus and the directory answer,
// and 503 naming the part as soon as one of them does not.
func TestHealthz(t *testing.T) {
	tests := []struct {
		name   string
		breaks func(server.Parts) error
		status int
		body   string
	}{
		{"healthy", nil, http.StatusOK, "ok\n"},
		{"directory closed", func(p server.Parts) error { return p.Directory.Close() }, http.StatusServiceUnavailable, "directory unavailable\n"},
		{"bus closed", func(p server.Parts) error { return p.Bus.Close() }, http.StatusServiceUnavailable, "bus unavailable\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			parts, err := server.OpenEmbedded(ctx, server.EmbeddedConfig{
				Dir:     t.TempDir(),
				Senders: auth.Senders{auth.SchemeEmail: auth.NewConsoleSender(io.Discard)},
			})
			if err != nil {
				t.Fatal(err)
			}
			srv, err := server.New(ctx, server.Config{RunRouter: true}, parts)
			if err != nil {
				t.Fatal(err)
			}
			hs := httptest.NewServer(srv.Handler())
			t.Cleanup(func() {
				hs.Close()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if err := srv.Shutdown(ctx); err != nil {
					t.Errorf("shutdown: %v", err)
				}
			})
			if tt.breaks != nil {
				if err := tt.breaks(parts); err != nil {
					t.Fatal(err)
				}
			}
			resp, err := http.Get(hs.URL + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status || string(body) != tt.body {
				t.Fatalf("/healthz = %d %q, want %d %q", resp.StatusCode, body, tt.status, tt.body)
			}
		})
	}
}
