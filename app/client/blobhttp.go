package client

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mutualcoop/mutual/relay/wire"
)

// Blobs move over HTTP on the relay's listener (docs/protocol.md,
// "Attachments"): an upload is tus core 1.0.0 (HEAD for the offset,
// PATCH from it, with the token of an UploadGrant), a download a GET with
// an optional Range. Every request has a deadline, and a response body is
// never read past the blob's size.

const (
	// blobTimeout bounds a HEAD, and a PATCH of patchSize bytes.
	blobTimeout = 2 * time.Minute
	// blobIdle ends a download that has received nothing for this long.
	blobIdle = time.Minute
	// patchSize is how many bytes of a blob one PATCH carries: the
	// browser's fetch cannot stream a request body, so an upload goes in
	// requests of this size (each resumable from the relay's offset).
	patchSize = 4 << 20
	// tusVersion is the tus protocol version the relay speaks.
	tusVersion = "1.0.0"
)

// Errors of the blob endpoints, by the relay's HTTP status.
var (
	// errBlobToken: 401, the upload token is wrong or expired.
	errBlobToken = errors.New("upload token refused")
	// errBlobUnknown: 404, the relay has no such blob (an upload it
	// forgot, or a blob not complete).
	errBlobUnknown = errors.New("no such blob")
	// errBlobOffset: 409, the upload is elsewhere than the request said
	// (or another request is writing it).
	errBlobOffset = errors.New("upload offset mismatch")
	// errBlobTooLarge: 413, more bytes than the blob's size.
	errBlobTooLarge = errors.New("more bytes than the blob's size")
)

// blobURL is the address of a blob: the relay's WebSocket URL with http
// for ws (https for wss) and the path /v1/blobs/{id}.
func (c *Client) blobURL(id wire.BlobID) (string, error) {
	u, err := url.Parse(c.cfg.ServerURL)
	if err != nil {
		return "", err
	}
	switch u.Scheme {
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	}
	u.Path, u.RawPath, u.RawQuery, u.Fragment = "/v1/blobs/"+id.String(), "", "", ""
	return u.String(), nil
}

func (c *Client) httpClient() *http.Client {
	if c.cfg.HTTPClient != nil {
		return c.cfg.HTTPClient
	}
	return http.DefaultClient
}

// blobRequest makes a request for a blob, with the upload token if any.
func (c *Client) blobRequest(ctx context.Context, method string, id wire.BlobID, token []byte, body io.Reader) (*http.Request, error) {
	u, err := c.blobURL(id)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if token != nil {
		req.Header.Set("Authorization", "Bearer "+hex.EncodeToString(token))
		req.Header.Set("Tus-Resumable", tusVersion)
	}
	return req, nil
}

// statusError maps a response's status to an error.
func statusError(resp *http.Response) error {
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		return errBlobToken
	case http.StatusNotFound:
		return errBlobUnknown
	case http.StatusGone:
		return ErrAttachmentGone
	case http.StatusConflict:
		return errBlobOffset
	case http.StatusRequestEntityTooLarge:
		return errBlobTooLarge
	}
	return fmt.Errorf("the relay answered %s", resp.Status)
}

// drain reads a little of a body before closing it, so that the
// connection can be reused.
func drain(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
	resp.Body.Close()
}

// headBlob asks how many bytes of an upload the relay has.
func (c *Client) headBlob(ctx context.Context, id wire.BlobID, token []byte) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, blobTimeout)
	defer cancel()
	req, err := c.blobRequest(ctx, http.MethodHead, id, token, nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return 0, err
	}
	defer drain(resp)
	if resp.StatusCode != http.StatusOK {
		return 0, statusError(resp)
	}
	return uploadOffset(resp)
}

// patchBlob sends body at offset of an upload and returns the relay's
// new offset.
func (c *Client) patchBlob(ctx context.Context, id wire.BlobID, token []byte, offset int64, body []byte) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, blobTimeout)
	defer cancel()
	req, err := c.blobRequest(ctx, http.MethodPatch, id, token, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.ContentLength = int64(len(body))
	req.Header.Set("Content-Type", "application/offset+octet-stream")
	req.Header.Set("Upload-Offset", strconv.FormatInt(offset, 10))
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return 0, err
	}
	defer drain(resp)
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		return 0, statusError(resp)
	}
	return uploadOffset(resp)
}

func uploadOffset(resp *http.Response) (int64, error) {
	n, err := strconv.ParseInt(resp.Header.Get("Upload-Offset"), 10, 64)
	if err != nil || n < 0 {
		return 0, errors.New("the relay gave no upload offset")
	}
	return n, nil
}

// getBlob reads a blob of size bytes from offset on. The body is cut at
// the blob's end, and fails if nothing arrives for blobIdle.
func (c *Client) getBlob(ctx context.Context, id wire.BlobID, offset, size int64) (io.ReadCloser, error) {
	ctx, cancel := context.WithCancel(ctx)
	req, err := c.blobRequest(ctx, http.MethodGet, id, nil, nil)
	if err != nil {
		cancel()
		return nil, err
	}
	if offset > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", offset))
	}
	idle := time.AfterFunc(blobIdle, cancel)
	resp, err := c.httpClient().Do(req)
	if err != nil {
		idle.Stop()
		cancel()
		return nil, err
	}
	want := http.StatusOK
	if offset > 0 {
		want = http.StatusPartialContent
	}
	if resp.StatusCode != want {
		drain(resp)
		idle.Stop()
		cancel()
		return nil, statusError(resp)
	}
	if offset > 0 && !strings.HasPrefix(resp.Header.Get("Content-Range"), fmt.Sprintf("bytes %d-", offset)) {
		drain(resp)
		idle.Stop()
		cancel()
		return nil, errors.New("the relay sent another range")
	}
	return &idleBody{body: resp.Body, r: io.LimitReader(resp.Body, size-offset), idle: idle, cancel: cancel}, nil
}

// idleBody is a response body that ends its request when nothing arrives
// for blobIdle.
type idleBody struct {
	body   io.ReadCloser
	r      io.Reader
	idle   *time.Timer
	cancel context.CancelFunc
}

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if n > 0 {
		b.idle.Reset(blobIdle)
	}
	return n, err
}

func (b *idleBody) Close() error {
	b.idle.Stop()
	b.cancel()
	return b.body.Close()
}
