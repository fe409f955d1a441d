package server_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/crypto/attachment"
	"github.com/mutualcoop/mutual/internal/relaytest"
	"github.com/mutualcoop/mutual/internal/wait"
	"github.com/mutualcoop/mutual/relay/server"
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

// generated is a reader of n bytes made from seed as they are read: a
// test never holds a large blob whole.
func generated(seed byte, n int64) io.Reader {
	var s [32]byte
	s[0] = seed
	return io.LimitReader(mrand.NewChaCha8(s), n)
}

// digestOf hashes a reader's bytes.
func digestOf(t *testing.T, r io.Reader) [sha256.Size]byte {
	t.Helper()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		t.Fatal(err)
	}
	var d [sha256.Size]byte
	h.Sum(d[:0])
	return d
}

// rawPatch sends a PATCH's headers and the first n bytes of body on a
// connection of its own, then closes it: a connection cut in the middle.
func (r *relay) rawPatch(g *wire.UploadGrant, offset int64, body io.Reader, n int64) {
	r.t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(r.BaseURL(), "http://"))
	if err != nil {
		r.t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "PATCH /v1/blobs/%s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %x\r\nTus-Resumable: 1.0.0\r\n"+
		"Content-Type: application/offset+octet-stream\r\nUpload-Offset: %d\r\nContent-Length: %d\r\n\r\n", g.Blob, g.Token, offset, int64(g.Size)-offset)
	if _, err := io.CopyN(conn, body, n); err != nil {
		r.t.Fatal(err)
	}
	conn.(*net.TCPConn).CloseWrite()
	io.Copy(io.Discard, conn) // until the relay has dealt with the cut
}

// TestUploadResumes: an upload whose connection is cut in the middle
// goes on from the offset HEAD reports, and the blob is whole.
func TestUploadResumes(t *testing.T) {
	r := startRelay(t, nil)
	alice := r.register("email:alice@example.org")
	const size = 5<<20 + 123
	g := alice.grant(&wire.Upload{Size: size})
	r.rawPatch(g, 0, generated(1, size), 2<<20+7)
	offset := r.headOffset(g)
	if offset != 2<<20+7 {
		t.Fatalf("offset %d after a cut at %d", offset, 2<<20+7)
	}
	rest := generated(1, size)
	if _, err := io.CopyN(io.Discard, rest, offset); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, r.patch(g, offset, rest), http.StatusNoContent)
	resp := r.blobRequest(http.MethodGet, g.Blob, nil, 0, nil)
	wantStatus(t, resp, http.StatusOK)
	if digestOf(t, resp.Body) != digestOf(t, generated(1, size)) {
		t.Fatal("the resumed blob is not the bytes sent")
	}
}

// TestUploadTokens: a wrong token is refused (401); a token past its
// hour is refused too, until Upload with the blob's ID renews it.
func TestUploadTokens(t *testing.T) {
	clk := &testClock{now: time.Now()}
	r := startRelay(t, func(c *server.Config) { c.Gateway.Now = clk.Now })
	alice := r.register("email:alice@example.org")
	mallory := r.register("email:mallory@example.org")
	g := alice.grant(&wire.Upload{Size: 1000})

	wrong := *g
	wrong.Token = make([]byte, wire.MaxBlobToken)
	wantStatus(t, r.patch(&wrong, 0, bytes.NewReader(make([]byte, 1000))), http.StatusUnauthorized)
	other := mallory.grant(&wire.Upload{Size: 1000})
	wrong.Token = other.Token // a token of another blob
	wantStatus(t, r.patch(&wrong, 0, bytes.NewReader(make([]byte, 1000))), http.StatusUnauthorized)

	wantStatus(t, r.patch(g, 0, bytes.NewReader(make([]byte, 400))), http.StatusNoContent)
	clk.advance(time.Hour)
	wantStatus(t, r.patch(g, 400, bytes.NewReader(make([]byte, 600))), http.StatusUnauthorized)
	if _, err := transport.Call[*wire.UploadGrant](ctxT(t), mallory.conn, &wire.Upload{Blob: g.Blob}); err == nil {
		t.Fatal("another account renewed the token")
	}
	renewed := alice.grant(&wire.Upload{Blob: g.Blob})
	if renewed.Blob != g.Blob || renewed.Size != 1000 {
		t.Fatalf("renewal %+v", renewed)
	}
	if r.headOffset(renewed) != 400 {
		t.Fatal("the renewed upload lost its bytes")
	}
	wantStatus(t, r.patch(renewed, 400, bytes.NewReader(make([]byte, 600))), http.StatusNoContent)
	r.download(g.Blob, http.StatusOK)
}

// testClock is a clock a test moves.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// storedFile finds a blob's file in the relay's data directory.
func storedFile(t *testing.T, dir string, id wire.BlobID) string {
	t.Helper()
	var found string
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasPrefix(d.Name(), id.String()) {
			found = path
		}
		return nil
	})
	if found == "" {
		t.Fatal("the blob is not in the data directory")
	}
	return found
}

// TestTamperedBlob: the relay serves a blob as it is stored, changed
// bytes included: it is the client that checks a blob against the
// digest its message carries.
func TestTamperedBlob(t *testing.T) {
	r := startRelay(t, nil)
	alice := r.register("email:alice@example.org")
	blob := bytes.Repeat([]byte{0xaa}, 4096)
	g := alice.grant(&wire.Upload{Size: uint64(len(blob))})
	wantStatus(t, r.patch(g, 0, bytes.NewReader(blob)), http.StatusNoContent)
	path := storedFile(t, r.Dir(), g.Blob)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := f.Stat()
	if _, err := f.WriteAt([]byte{0x55}, st.Size()-100); err != nil {
		t.Fatal(err)
	}
	f.Close()
	got := r.download(g.Blob, http.StatusOK)
	want := bytes.Clone(blob)
	want[len(want)-100] = 0x55
	if !bytes.Equal(got, want) {
		t.Fatal("the relay did not serve the blob as stored")
	}
}

// TestExpiredBlob: past its retention a blob is gone (410, "this file is
// no longer available"), then the sweeper deletes its bytes and keeps its
// record, so a late download is still told so; an upload left unfinished
// for a day is deleted too.
func TestExpiredBlob(t *testing.T) {
	clk := &testClock{now: time.Now()}
	r := startRelay(t, func(c *server.Config) {
		c.Gateway.Now = clk.Now
		c.Sweep.Interval = 10 * time.Millisecond
	})
	alice := r.register("email:alice@example.org")
	g := alice.grant(&wire.Upload{Size: 10})
	wantStatus(t, r.patch(g, 0, bytes.NewReader(make([]byte, 10))), http.StatusNoContent)
	unfinished := alice.grant(&wire.Upload{Size: 10})
	wantStatus(t, r.patch(unfinished, 0, bytes.NewReader(make([]byte, 5))), http.StatusNoContent)
	file, part := storedFile(t, r.Dir(), g.Blob), storedFile(t, r.Dir(), unfinished.Blob)
	r.download(g.Blob, http.StatusOK)

	clk.advance(25 * time.Hour)
	wait.For(t, "the unfinished upload's deletion", func() bool { return !exists(part) })
	wantStatus(t, r.blobRequest(http.MethodHead, unfinished.Blob, unfinished.Token, 0, nil), http.StatusUnauthorized)
	r.download(unfinished.Blob, http.StatusNotFound)
	r.download(g.Blob, http.StatusOK)

	clk.advance(30 * 24 * time.Hour)
	if body := r.download(g.Blob, http.StatusGone); strings.TrimSpace(string(body)) != "this file is no longer available" {
		t.Fatalf("410 says %q", body)
	}
	wait.For(t, "the expired blob's deletion", func() bool { return !exists(file) })
	r.download(g.Blob, http.StatusGone)
	wait.For(t, "the sweeper's metrics", func() bool {
		v, ok := sample(scrape(t, r.MetricsURL()), "mutual_blob_expired_total", "")
		return ok && v == 2
	})
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// TestAttachmentCanary: the plaintext of an attachment, encrypted on the
// device as crypto/attachment does, is nowhere on the relay's disk (the
// data directory, the blobs in it) nor in its logs, even at debug level;
// neither are the upload's token and the blob's ID in the logs.
func TestAttachmentCanary(t *testing.T) {
	var logs lockedBuffer
	r := &relay{Relay: relaytest.Start(t, relaytest.Options{
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}), t: t}
	alice := r.register("email:alice@example.org")
	canary := []byte("attachment canary 7c3f: the photo of the whiteboard")
	plain := bytes.Repeat(canary, 3000) // over two chunks
	key, nonce := attachment.NewKey(), attachment.NewNonce()
	size := int64(len(plain))
	g := alice.grant(&wire.Upload{Size: uint64(attachment.BlobSize(size))})
	// A first PATCH is cut; the rest is encrypted again from the chunk
	// that holds the relay's offset, as a client resumes.
	enc, err := attachment.Encrypt(key, nonce, size, bytes.NewReader(plain), 0)
	if err != nil {
		t.Fatal(err)
	}
	r.rawPatch(g, 0, enc, 100_000)
	offset := r.headOffset(g)
	enc, err = attachment.Encrypt(key, nonce, size, bytes.NewReader(plain[attachment.PlainOffset(offset):]), offset)
	if err != nil {
		t.Fatal(err)
	}
	digest := attachment.Digest()
	wantStatus(t, r.patch(g, offset, enc), http.StatusNoContent)
	resp := r.blobRequest(http.MethodGet, g.Blob, nil, 0, nil)
	wantStatus(t, resp, http.StatusOK)
	blob, err := io.ReadAll(io.TeeReader(resp.Body, digest))
	if err != nil {
		t.Fatal(err)
	}
	dec, err := attachment.Decrypt(key, size, digest.Sum(nil), bytes.NewReader(blob))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(dec); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("the downloaded blob does not decrypt to the plaintext: %v", err)
	}

	if files := onDisk(t, r.Dir(), canary); len(files) > 0 {
		t.Errorf("the attachment's plaintext is on the relay's disk: %v", files)
	}
	if len(onDisk(t, r.Dir(), blob[:64])) == 0 {
		t.Error("the blob is not on the disk: where does the relay keep it?")
	}
	for what, secret := range map[string][]byte{
		"the plaintext": canary, "the token": g.Token, "the token in hex": []byte(hex.EncodeToString(g.Token)),
		"the blob's ID in hex": []byte(g.Blob.String()), "the key": key,
	} {
		if logs.contains(secret) {
			t.Errorf("%s is in the relay's logs", what)
		}
	}
}

// TestBlobMetrics: /metrics counts the uploads granted, refused and
// completed, and the bytes in and out.
func TestBlobMetrics(t *testing.T) {
	r := startRelay(t, nil)
	alice := r.register("email:alice@example.org")
	g := alice.grant(&wire.Upload{Size: 3000})
	if _, err := transport.Call[*wire.UploadGrant](ctxT(t), alice.conn, &wire.Upload{Size: wire.MaxBlobSize + 1}); err == nil {
		t.Fatal("a blob too large was granted")
	}
	wantStatus(t, r.patch(g, 0, bytes.NewReader(make([]byte, 3000))), http.StatusNoContent)
	r.download(g.Blob, http.StatusOK)
	r.download(g.Blob, http.StatusPartialContent, "Range", "bytes=0-99")
	checks := []struct {
		name, label string
		want        float64
	}{
		{"mutual_blob_uploads_granted_total", "", 1},
		{"mutual_blob_uploads_refused_total", "reason=too_large", 1},
		{"mutual_blob_uploads_completed_total", "", 1},
		{"mutual_blob_received_bytes_total", "", 3000},
		{"mutual_blob_sent_bytes_total", "", 3100},
	}
	wait.For(t, "the blob metrics", func() bool {
		families := scrape(t, r.MetricsURL())
		for _, c := range checks {
			if v, ok := sample(families, c.name, c.label); !ok || v != c.want {
				return false
			}
		}
		return true
	})
}
