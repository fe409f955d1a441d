package client

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
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
// never read past the blob's size. The requests go through a
// BlobTransport: Go's HTTP client natively (blobhttp_other.go), the
// browser's fetch in the web app (blobhttp_js.go), so that the web app
// does not carry Go's HTTP client.

const (
	// blobTimeout bounds a HEAD, and a PATCH of patchSize bytes.
	blobTimeout = 2 * time.Minute
	// blobIdle ends a download that has received nothing for this long.
	blobIdle = time.Minute
	// patchSize is how many bytes of a blob one PATCH carries: the
	// browser's fetch cannot stream a request body, so an upload goes in
	// requests of this size (each resumable from the relay's offset).
	// It is the S3 store's part size, so that on S3 each request fills
	// one part and no tail is written unless a connection is cut.
	patchSize = 5 << 20
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

// BlobRequest is one HTTP request of the blob endpoints.
type BlobRequest struct {
	Method string
	URL    string
	Header map[string]string
	Body   []byte // nil: none
}

// BlobResponse is the answer to a BlobRequest. Header holds the response
// headers the client reads (Upload-Offset, Content-Range), by their
// canonical names.
type BlobResponse struct {
	Status int
	Header map[string]string
	Body   io.ReadCloser
}

// BlobTransport makes the requests of attachments' uploads and downloads.
// The request ends when ctx does, even while its body is being read.
type BlobTransport interface {
	RoundTrip(ctx context.Context, req BlobRequest) (*BlobResponse, error)
}

// HTTP statuses the blob endpoints answer.
const (
	statusOK             = 200
	statusNoContent      = 204
	statusPartialContent = 206
	statusUnauthorized   = 401
	statusNotFound       = 404
	statusConflict       = 409
	statusGone           = 410
	statusEntityTooLarge = 413
)

// blobResponseHeaders are the response headers a BlobTransport returns.
var blobResponseHeaders = []string{"Upload-Offset", "Content-Range"}

func (c *Client) blobTransport() BlobTransport {
	if c.cfg.BlobTransport != nil {
		return c.cfg.BlobTransport
	}
	return defaultBlobTransport
}

// blobDo makes a request for a blob, with the upload token if any.
func (c *Client) blobDo(ctx context.Context, method string, id wire.BlobID, token []byte, header map[string]string, body []byte) (*BlobResponse, error) {
	u, err := c.blobURL(id)
	if err != nil {
		return nil, err
	}
	if header == nil {
		header = map[string]string{}
	}
	if token != nil {
		header["Authorization"] = "Bearer " + hex.EncodeToString(token)
		header["Tus-Resumable"] = tusVersion
	}
	return c.blobTransport().RoundTrip(ctx, BlobRequest{Method: method, URL: u, Header: header, Body: body})
}

// statusError maps a response's status to an error.
func statusError(resp *BlobResponse) error {
	switch resp.Status {
	case statusUnauthorized:
		return errBlobToken
	case statusNotFound:
		return errBlobUnknown
	case statusGone:
		return ErrAttachmentGone
	case statusConflict:
		return errBlobOffset
	case statusEntityTooLarge:
		return errBlobTooLarge
	}
	return fmt.Errorf("the relay answered %d", resp.Status)
}

// drain reads a little of a body before closing it, so that the
// connection can be reused.
func drain(resp *BlobResponse) {
	_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
	resp.Body.Close()
}

// headBlob asks how many bytes of an upload the relay has.
func (c *Client) headBlob(ctx context.Context, id wire.BlobID, token []byte) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, blobTimeout)
	defer cancel()
	resp, err := c.blobDo(ctx, "HEAD", id, token, nil, nil)
	if err != nil {
		return 0, err
	}
	defer drain(resp)
	if resp.Status != statusOK {
		return 0, statusError(resp)
	}
	return uploadOffset(resp)
}

// patchBlob sends body at offset of an upload and returns the relay's
// new offset.
func (c *Client) patchBlob(ctx context.Context, id wire.BlobID, token []byte, offset int64, body []byte) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, blobTimeout)
	defer cancel()
	resp, err := c.blobDo(ctx, "PATCH", id, token, map[string]string{
		"Content-Type":  "application/offset+octet-stream",
		"Upload-Offset": strconv.FormatInt(offset, 10),
	}, body)
	if err != nil {
		return 0, err
	}
	defer drain(resp)
	if resp.Status != statusNoContent && resp.Status != statusOK {
		return 0, statusError(resp)
	}
	return uploadOffset(resp)
}

func uploadOffset(resp *BlobResponse) (int64, error) {
	n, err := strconv.ParseInt(resp.Header["Upload-Offset"], 10, 64)
	if err != nil || n < 0 {
		return 0, errors.New("the relay gave no upload offset")
	}
	return n, nil
}

// getBlob reads a blob of size bytes from offset on. The body is cut at
// the blob's end, and fails if nothing arrives for blobIdle.
func (c *Client) getBlob(ctx context.Context, id wire.BlobID, offset, size int64) (io.ReadCloser, error) {
	ctx, cancel := context.WithCancel(ctx)
	header := map[string]string{}
	if offset > 0 {
		header["Range"] = fmt.Sprintf("bytes=%d-", offset)
	}
	idle := time.AfterFunc(blobIdle, cancel)
	resp, err := c.blobDo(ctx, "GET", id, nil, header, nil)
	if err != nil {
		idle.Stop()
		cancel()
		return nil, err
	}
	want := statusOK
	if offset > 0 {
		want = statusPartialContent
	}
	if resp.Status != want {
		drain(resp)
		idle.Stop()
		cancel()
		return nil, statusError(resp)
	}
	if offset > 0 && !strings.HasPrefix(resp.Header["Content-Range"], fmt.Sprintf("bytes %d-", offset)) {
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
