package server_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"testing"

	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/relay/wire"
)

// grant asks the relay for an upload over the WebSocket.
func (c *client) grant(u *wire.Upload) *wire.UploadGrant {
	c.t.Helper()
	g, err := transport.Call[*wire.UploadGrant](ctxT(c.t), c.conn, u)
	if err != nil {
		c.t.Fatalf("Upload: %v", err)
	}
	return g
}

// blobURL is where the relay serves a blob.
func (r *relay) blobURL(id wire.BlobID) string { return r.BaseURL() + "/v1/blobs/" + id.String() }

// blobRequest makes one request about a blob, with the tus headers and
// the token when one is given.
func (r *relay) blobRequest(method string, id wire.BlobID, token []byte, offset int64, body io.Reader, header ...string) *http.Response {
	r.t.Helper()
	req, err := http.NewRequestWithContext(ctxT(r.t), method, r.blobURL(id), body)
	if err != nil {
		r.t.Fatal(err)
	}
	if token != nil {
		req.Header.Set("Authorization", "Bearer "+hex.EncodeToString(token))
		req.Header.Set("Tus-Resumable", "1.0.0")
		req.Header.Set("Content-Type", "application/offset+octet-stream")
		req.Header.Set("Upload-Offset", strconv.FormatInt(offset, 10))
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatalf("%s: %v", method, err)
	}
	r.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// upload sends body from offset on in one PATCH and returns the answer.
func (r *relay) patch(g *wire.UploadGrant, offset int64, body io.Reader) *http.Response {
	r.t.Helper()
	return r.blobRequest(http.MethodPatch, g.Blob, g.Token, offset, body)
}

// headOffset is the upload's offset as HEAD reports it.
func (r *relay) headOffset(g *wire.UploadGrant) int64 {
	r.t.Helper()
	resp := r.blobRequest(http.MethodHead, g.Blob, g.Token, 0, nil)
	if resp.StatusCode != http.StatusOK {
		r.t.Fatalf("HEAD: %s", resp.Status)
	}
	n, err := strconv.ParseInt(resp.Header.Get("Upload-Offset"), 10, 64)
	if err != nil {
		r.t.Fatalf("HEAD: Upload-Offset %q", resp.Header.Get("Upload-Offset"))
	}
	return n
}

// download GETs a blob (a range of it with a Range header) and checks the
// status.
func (r *relay) download(id wire.BlobID, want int, header ...string) []byte {
	r.t.Helper()
	resp := r.blobRequest(http.MethodGet, id, nil, 0, nil, header...)
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		r.t.Fatalf("GET: %v", err)
	}
	if resp.StatusCode != want {
		r.t.Fatalf("GET: %s (%q), want %d", resp.Status, body, want)
	}
	return body
}

func wantStatus(t *testing.T, resp *http.Response, want int) {
	t.Helper()
	if resp.StatusCode != want {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s: %s (%q), want %d", resp.Request.Method, resp.Status, body, want)
	}
}

// TestAttachmentBlob: a device is granted an upload on the WebSocket and
// sends the blob over HTTP to the same relay; anyone with its ID
// downloads it, whole and by ranges, without a credential.
func TestAttachmentBlob(t *testing.T) {
	r := startRelay(t, nil)
	alice := r.register("email:alice@example.org")

	blob := make([]byte, 1024)
	rand.Read(blob)
	g := alice.grant(&wire.Upload{Size: uint64(len(blob))})
	if r.headOffset(g) != 0 {
		t.Fatal("a new upload's offset is not 0")
	}
	wantStatus(t, r.patch(g, 0, bytes.NewReader(blob[:100])), http.StatusNoContent)
	wantStatus(t, r.patch(g, 100, bytes.NewReader(blob[100:])), http.StatusNoContent)
	if r.headOffset(g) != 1024 {
		t.Fatal("the upload is not complete")
	}
	if got := r.download(g.Blob, http.StatusOK); !bytes.Equal(got, blob) {
		t.Fatal("the download is not the blob")
	}
	if got := r.download(g.Blob, http.StatusPartialContent, "Range", "bytes=1000-"); !bytes.Equal(got, blob[1000:]) {
		t.Fatal("the range is not the blob's end")
	}
	r.download(g.Blob, http.StatusRequestedRangeNotSatisfiable, "Range", "bytes=1024-")

	// The relay's security headers are on blob answers too, and the host
	// check holds.
	resp := r.blobRequest(http.MethodGet, g.Blob, nil, 0, nil)
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Content-Security-Policy") == "" {
		t.Fatalf("security headers missing: %v", resp.Header)
	}
	req, _ := http.NewRequest(http.MethodGet, r.blobURL(g.Blob), nil)
	req.Host = "evil.example"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Fatalf("GET for another host: %s", resp.Status)
	}
}
