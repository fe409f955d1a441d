package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealth(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("ok\n"))
	}))
	defer ok.Close()
	sick := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "database: unreachable", http.StatusServiceUnavailable)
	}))
	defer sick.Close()
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()

	tests := []struct {
		name     string
		url      string
		wantCode int
		wantOut  string
	}{
		{"healthy", ok.URL + "/healthz", 0, "ok\n"},
		{"unhealthy", sick.URL + "/healthz", 1, "503 Service Unavailable: database: unreachable"},
		{"not running", gone.URL + "/healthz", 1, "connection refused"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run([]string{"health", "--url", tc.url, "--timeout", "5s"}, &out, &errb)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d (stderr %q)", code, tc.wantCode, errb.String())
			}
			if !strings.Contains(out.String()+errb.String(), tc.wantOut) {
				t.Errorf("output %q, want it to contain %q", out.String()+errb.String(), tc.wantOut)
			}
		})
	}
}
