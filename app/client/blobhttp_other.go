//go:build !js

package client

import (
	"bytes"
	"context"
	"io"
	"net/http"
)

// defaultBlobTransport is Go's default HTTP client.
var defaultBlobTransport BlobTransport = NewHTTPBlobTransport(http.DefaultClient)

// NewHTTPBlobTransport makes blob requests with an http.Client.
func NewHTTPBlobTransport(c *http.Client) BlobTransport { return httpBlobTransport{c} }

type httpBlobTransport struct{ c *http.Client }

func (t httpBlobTransport) RoundTrip(ctx context.Context, r BlobRequest) (*BlobResponse, error) {
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, body)
	if err != nil {
		return nil, err
	}
	if r.Body != nil {
		req.ContentLength = int64(len(r.Body))
	}
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	resp, err := t.c.Do(req)
	if err != nil {
		return nil, err
	}
	h := make(map[string]string, len(blobResponseHeaders))
	for _, k := range blobResponseHeaders {
		if v := resp.Header.Get(k); v != "" {
			h[k] = v
		}
	}
	return &BlobResponse{Status: resp.StatusCode, Header: h, Body: resp.Body}, nil
}
