package blobhttp_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mutualcoop/mutual/internal/wait"
	"github.com/mutualcoop/mutual/relay/blob/fsblob"
	"github.com/mutualcoop/mutual/relay/blobhttp"
	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/directory/sqlite"
	"github.com/mutualcoop/mutual/relay/limit"
	"github.com/mutualcoop/mutual/relay/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// clock is a settable clock for tokens, expiry and limits.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// fixture is the handler on loopback with its real parts: fsblob and the
// SQLite directory in a temporary directory.
type fixture struct {
	t     *testing.T
	url   string // the server's base URL
	dir   *sqlite.Directory
	store *watchedStore
	clock *clock
	owner wire.UserID
}

// watchedStore is fsblob that tells when an Append has started.
type watchedStore struct {
	*fsblob.Store
	appending chan struct{}
}

func (s *watchedStore) Append(ctx context.Context, id wire.BlobID, offset int64, r io.Reader) (int64, error) {
	select {
	case s.appending <- struct{}{}:
	default:
	}
	return s.Store.Append(ctx, id, offset, r)
}

func newFixture(t *testing.T, tune func(*blobhttp.Config)) *fixture {
	t.Helper()
	tmp := t.TempDir()
	d, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(tmp, "directory.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	fs, err := fsblob.New(filepath.Join(tmp, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{
		t: t, dir: d, store: &watchedStore{Store: fs, appending: make(chan struct{}, 1)},
		clock: &clock{now: time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)},
		owner: wire.NewUserID(),
	}
	cfg := blobhttp.Config{Now: f.clock.Now, TrustForwardedFor: true}
	if tune != nil {
		tune(&cfg)
	}
	h, err := blobhttp.New(cfg, f.store, d)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/blobs/{id}", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

// grant records an upload of size bytes, as the gateway does, and
// returns its ID and token.
func (f *fixture) grant(size int64) (wire.BlobID, []byte) {
	f.t.Helper()
	token := make([]byte, wire.MaxBlobToken)
	rand.Read(token)
	sum := sha256.Sum256(token)
	now := f.clock.Now()
	b := directory.Blob{
		ID: wire.NewBlobID(), Owner: f.owner, Size: size, TokenHash: sum[:],
		TokenExpires: now.Add(time.Hour), Created: now, Expires: now.Add(30 * 24 * time.Hour),
	}
	if err := f.dir.CreateBlob(context.Background(), b, directory.BlobLimits{}); err != nil {
		f.t.Fatal(err)
	}
	return b.ID, token
}

// request is one HTTP request to a blob; header values "" are left out.
func (f *fixture) request(method string, id wire.BlobID, header map[string]string, body io.Reader) *http.Response {
	f.t.Helper()
	req, err := http.NewRequest(method, f.url+"/v1/blobs/"+id.String(), body)
	if err != nil {
		f.t.Fatal(err)
	}
	for k, v := range header {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatalf("%s: %v", method, err)
	}
	f.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func tusHeaders(token []byte, offset int64) map[string]string {
	return map[string]string{
		"Authorization": "Bearer " + hex.EncodeToString(token), "Tus-Resumable": "1.0.0",
		"Content-Type": "application/offset+octet-stream", "Upload-Offset": strconv.FormatInt(offset, 10),
	}
}

func (f *fixture) head(id wire.BlobID, token []byte) *http.Response {
	f.t.Helper()
	return f.request(http.MethodHead, id, tusHeaders(token, 0), nil)
}

func (f *fixture) patch(id wire.BlobID, token []byte, offset int64, body []byte) *http.Response {
	f.t.Helper()
	return f.request(http.MethodPatch, id, tusHeaders(token, offset), bytes.NewReader(body))
}

// offset is the upload's offset as HEAD reports it.
func (f *fixture) offset(id wire.BlobID, token []byte) int64 {
	f.t.Helper()
	resp := f.head(id, token)
	if resp.StatusCode != http.StatusOK {
		f.t.Fatalf("HEAD: %s", resp.Status)
	}
	n, err := strconv.ParseInt(resp.Header.Get("Upload-Offset"), 10, 64)
	if err != nil {
		f.t.Fatalf("HEAD: Upload-Offset %q", resp.Header.Get("Upload-Offset"))
	}
	return n
}

func status(t *testing.T, resp *http.Response, want int) string {
	t.Helper()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %s (%q), want %d", resp.Request.Method, "/v1/blobs/…", resp.Status, body, want)
	}
	return string(body)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// TestUploadDownload: OPTIONS, HEAD and PATCH in pieces as tus says;
// then GET of the whole and of ranges, with its caching headers.
func TestUploadDownload(t *testing.T) {
	f := newFixture(t, nil)
	resp := f.request(http.MethodOptions, wire.NewBlobID(), nil, nil)
	status(t, resp, http.StatusNoContent)
	if h := resp.Header; h.Get("Tus-Resumable") != "1.0.0" || h.Get("Tus-Version") != "1.0.0" || h.Get("Tus-Max-Size") != strconv.Itoa(wire.MaxBlobSize) {
		t.Fatalf("OPTIONS headers %v", h)
	}

	data := randomBytes(100_000)
	id, token := f.grant(int64(len(data)))
	resp = f.head(id, token)
	status(t, resp, http.StatusOK)
	if h := resp.Header; h.Get("Upload-Offset") != "0" || h.Get("Upload-Length") != "100000" || h.Get("Cache-Control") != "no-store" || h.Get("Tus-Resumable") != "1.0.0" {
		t.Fatalf("HEAD headers %v", h)
	}
	if resp := f.request(http.MethodGet, id, nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET of an unfinished upload: %s", resp.Status)
	}
	for _, cut := range [][2]int{{0, 1}, {1, 40_000}, {40_000, 100_000}} {
		resp := f.patch(id, token, int64(cut[0]), data[cut[0]:cut[1]])
		status(t, resp, http.StatusNoContent)
		if got := resp.Header.Get("Upload-Offset"); got != strconv.Itoa(cut[1]) {
			t.Fatalf("PATCH to %d: Upload-Offset %s", cut[1], got)
		}
	}
	if got := f.offset(id, token); got != int64(len(data)) {
		t.Fatalf("HEAD after the upload: offset %d", got)
	}
	rec, err := f.dir.Blob(context.Background(), id)
	if err != nil || !rec.Completed.Equal(f.clock.Now()) {
		t.Fatalf("directory record %+v, %v: want it complete", rec, err)
	}

	resp = f.request(http.MethodGet, id, nil, nil)
	if body := status(t, resp, http.StatusOK); body != string(data) {
		t.Fatal("GET: not the bytes uploaded")
	}
	etag := `"` + id.String() + `"`
	for k, v := range map[string]string{
		"ETag": etag, "Accept-Ranges": "bytes", "Cache-Control": "private, max-age=31536000, immutable",
		"Content-Type": "application/octet-stream", "Content-Length": "100000",
	} {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("GET %s: %q, want %q", k, got, v)
		}
	}

	ranges := []struct {
		spec        string
		status      int
		first, last int // of data, inclusive
	}{
		{"bytes=0-0", 206, 0, 0},
		{"bytes=99999-", 206, 99999, 99999},
		{"bytes=10-20", 206, 10, 20},
		{"bytes=50000-", 206, 50000, 99999},
		{"bytes=-3", 206, 99997, 99999},
		{"bytes=-200000", 206, 0, 99999},
		{"bytes=90000-200000", 206, 90000, 99999},
		{"bytes=100000-", 416, 0, 0},
		{"bytes=-0", 416, 0, 0},
		{"bytes=0-1,5-6", 200, 0, 99999}, // several ranges: the whole
		{"bytes=5-1", 200, 0, 99999},     // malformed: ignored
		{"items=0-1", 200, 0, 99999},
	}
	for _, r := range ranges {
		t.Run(r.spec, func(t *testing.T) {
			resp := f.request(http.MethodGet, id, map[string]string{"Range": r.spec}, nil)
			body := status(t, resp, r.status)
			switch r.status {
			case 206:
				want := fmt.Sprintf("bytes %d-%d/100000", r.first, r.last)
				if got := resp.Header.Get("Content-Range"); got != want {
					t.Fatalf("Content-Range %q, want %q", got, want)
				}
				fallthrough
			case 200:
				if body != string(data[r.first:r.last+1]) {
					t.Fatalf("%d bytes, not bytes %d to %d", len(body), r.first, r.last)
				}
			case 416:
				if got := resp.Header.Get("Content-Range"); got != "bytes */100000" {
					t.Fatalf("Content-Range %q", got)
				}
			}
		})
	}
	resp = f.request(http.MethodGet, id, map[string]string{"If-None-Match": etag}, nil)
	status(t, resp, http.StatusNotModified)
	resp = f.request(http.MethodGet, id, map[string]string{"Range": "bytes=0-9", "If-Range": `"other"`}, nil)
	status(t, resp, http.StatusOK)
}

// TestPatchRefusals: what HEAD and PATCH refuse, with the status tus
// gives it, and never a word of the token.
func TestPatchRefusals(t *testing.T) {
	f := newFixture(t, nil)
	id, token := f.grant(1000)
	expiredID, expiredToken := f.grant(1000)
	f.clock.advance(time.Hour) // both tokens expire; the first is renewed
	id, token = renew(t, f, id)
	other := randomBytes(wire.MaxBlobToken)

	cases := []struct {
		name   string
		method string
		id     wire.BlobID
		header map[string]string
		body   string
		status int
	}{
		{"no tus version", http.MethodPatch, id, without(tusHeaders(token, 0), "Tus-Resumable"), "x", http.StatusPreconditionFailed},
		{"old tus version", http.MethodHead, id, with(tusHeaders(token, 0), "Tus-Resumable", "0.2.2"), "", http.StatusPreconditionFailed},
		{"content type", http.MethodPatch, id, with(tusHeaders(token, 0), "Content-Type", "application/octet-stream"), "x", http.StatusUnsupportedMediaType},
		{"no token", http.MethodPatch, id, without(tusHeaders(token, 0), "Authorization"), "x", http.StatusUnauthorized},
		{"not bearer", http.MethodHead, id, with(tusHeaders(token, 0), "Authorization", "Basic "+hex.EncodeToString(token)), "", http.StatusUnauthorized},
		{"short token", http.MethodHead, id, with(tusHeaders(token, 0), "Authorization", "Bearer "+hex.EncodeToString(token[:16])), "", http.StatusUnauthorized},
		{"wrong token", http.MethodPatch, id, tusHeaders(other, 0), "x", http.StatusUnauthorized},
		{"another blob's token", http.MethodHead, expiredID, tusHeaders(token, 0), "", http.StatusUnauthorized},
		{"expired token", http.MethodPatch, expiredID, tusHeaders(expiredToken, 0), "x", http.StatusUnauthorized},
		{"unknown blob", http.MethodHead, wire.NewBlobID(), tusHeaders(token, 0), "", http.StatusNotFound},
		{"no offset", http.MethodPatch, id, without(tusHeaders(token, 0), "Upload-Offset"), "x", http.StatusBadRequest},
		{"wrong offset", http.MethodPatch, id, tusHeaders(token, 5), "x", http.StatusConflict},
		{"too long", http.MethodPatch, id, tusHeaders(token, 0), strings.Repeat("x", 1001), http.StatusRequestEntityTooLarge},
		{"method", http.MethodPut, id, tusHeaders(token, 0), "x", http.StatusMethodNotAllowed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body io.Reader
			if c.body != "" {
				body = strings.NewReader(c.body)
			}
			resp := f.request(c.method, c.id, c.header, body)
			text := status(t, resp, c.status)
			for _, tok := range [][]byte{token, other, expiredToken} {
				if strings.Contains(strings.ToLower(text), hex.EncodeToString(tok)) || strings.Contains(fmt.Sprint(resp.Header), hex.EncodeToString(tok)) {
					t.Fatal("the answer repeats a token")
				}
			}
		})
	}
	if got := f.offset(id, token); got != 0 {
		t.Fatalf("after the refusals the offset is %d", got)
	}
	// A body past the size sent without a length: the bytes up to the
	// size are kept, the upload is complete, the answer is 413.
	req, _ := http.NewRequest(http.MethodPatch, f.url+"/v1/blobs/"+id.String(), io.MultiReader(bytes.NewReader(make([]byte, 1000)), strings.NewReader("more")))
	for k, v := range tusHeaders(token, 0) {
		req.Header.Set(k, v)
	}
	req.ContentLength = -1
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || resp.Header.Get("Upload-Offset") != "1000" {
		t.Fatalf("PATCH past the size: %s, offset %s", resp.Status, resp.Header.Get("Upload-Offset"))
	}
	if rec, _ := f.dir.Blob(context.Background(), id); rec.Completed.IsZero() {
		t.Fatal("the upload is not recorded complete")
	}
}

// renew gives the upload a fresh token, as Upload with its ID does.
func renew(t *testing.T, f *fixture, id wire.BlobID) (wire.BlobID, []byte) {
	t.Helper()
	token := randomBytes(wire.MaxBlobToken)
	sum := sha256.Sum256(token)
	if _, err := f.dir.RenewBlobToken(context.Background(), id, f.owner, sum[:], f.clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	return id, token
}

func with(h map[string]string, k, v string) map[string]string {
	h[k] = v
	return h
}

func without(h map[string]string, k string) map[string]string {
	delete(h, k)
	return h
}

// rawPatch starts a PATCH on a connection of its own: the headers and
// the first part of a body of total bytes. It returns the connection,
// to send more or close.
func (f *fixture) rawPatch(id wire.BlobID, token []byte, offset, total int64, first []byte) net.Conn {
	f.t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(f.url, "http://"))
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "PATCH /v1/blobs/%s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %x\r\nTus-Resumable: 1.0.0\r\n"+
		"Content-Type: application/offset+octet-stream\r\nUpload-Offset: %d\r\nContent-Length: %d\r\n\r\n", id, token, offset, total)
	if _, err := conn.Write(first); err != nil {
		f.t.Fatal(err)
	}
	return conn
}

// TestCutUpload: a PATCH whose connection drops in the middle keeps
// what arrived; HEAD tells where, and the upload resumes from there.
func TestCutUpload(t *testing.T) {
	f := newFixture(t, nil)
	data := randomBytes(300_000)
	id, token := f.grant(int64(len(data)))
	conn := f.rawPatch(id, token, 0, int64(len(data)), data[:123_456])
	<-f.store.appending
	conn.(*net.TCPConn).CloseWrite()
	// The relay answers the cut body, or just closes.
	io.Copy(io.Discard, conn)
	conn.Close()
	// The handler may still be storing what came (HEAD says 0 until it
	// is done).
	var got int64
	wait.For(t, "the cut upload's bytes", func() bool {
		got = f.offset(id, token)
		return got != 0
	})
	if got != 123_456 {
		t.Fatalf("offset %d after 123456 bytes", got)
	}
	status(t, f.patch(id, token, got, data[got:]), http.StatusNoContent)
	if body := status(t, f.request(http.MethodGet, id, nil, nil), http.StatusOK); body != string(data) {
		t.Fatal("the resumed upload does not hold the bytes sent")
	}
}

// TestStalledUpload: a PATCH whose body stops coming is cut after
// Config.Idle, keeping what arrived.
func TestStalledUpload(t *testing.T) {
	f := newFixture(t, func(c *blobhttp.Config) { c.Idle = 200 * time.Millisecond })
	id, token := f.grant(10_000)
	conn := f.rawPatch(id, token, 0, 10_000, bytes.Repeat([]byte{1}, 4000))
	// The relay cuts the request: its answer (or the close) comes
	// without the test sending anything more.
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("stalled PATCH: %s", resp.Status)
		}
	}
	if got := f.offset(id, token); got != 4000 {
		t.Fatalf("offset %d after a stall, want the 4000 bytes sent", got)
	}
}

// TestOnePatchAtATime: while one PATCH of a blob runs, another is
// refused with 409.
func TestOnePatchAtATime(t *testing.T) {
	f := newFixture(t, nil)
	id, token := f.grant(10_000)
	conn := f.rawPatch(id, token, 0, 10_000, bytes.Repeat([]byte{1}, 100))
	<-f.store.appending
	status(t, f.patch(id, token, 0, bytes.Repeat([]byte{2}, 10_000)), http.StatusConflict)
	if _, err := conn.Write(bytes.Repeat([]byte{1}, 9900)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("the first PATCH: %s", resp.Status)
	}
	if body := status(t, f.request(http.MethodGet, id, nil, nil), http.StatusOK); body != string(bytes.Repeat([]byte{1}, 10_000)) {
		t.Fatal("the blob holds the refused PATCH's bytes")
	}
}

// TestFailureLimit: a network that fails HEAD and PATCH too often (bad
// tokens) is refused for the wait, with a good token too; other
// networks are not.
func TestFailureLimit(t *testing.T) {
	f := newFixture(t, func(c *blobhttp.Config) { c.FailureRate = limit.Rate{Every: time.Minute, Burst: 3} })
	id, token := f.grant(10)
	from := func(ip string, tok []byte) *http.Response {
		return f.request(http.MethodHead, id, with(tusHeaders(tok, 0), "X-Forwarded-For", ip), nil)
	}
	bad := randomBytes(wire.MaxBlobToken)
	for i := range 3 {
		if resp := from("192.0.2.1", bad); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("bad token %d: %s", i, resp.Status)
		}
	}
	resp := from("192.0.2.1", bad)
	status(t, resp, http.StatusTooManyRequests)
	if resp.Header.Get("Retry-After") != "60" {
		t.Fatalf("Retry-After %q", resp.Header.Get("Retry-After"))
	}
	status(t, from("192.0.2.1", token), http.StatusTooManyRequests)
	status(t, from("192.0.2.2", token), http.StatusOK)
	f.clock.advance(time.Minute)
	status(t, from("192.0.2.1", token), http.StatusOK)
}

// TestDownloadLimit: GETs are limited per network.
func TestDownloadLimit(t *testing.T) {
	f := newFixture(t, func(c *blobhttp.Config) { c.DownloadRate = limit.Rate{Every: time.Minute, Burst: 2} })
	id, token := f.grant(10)
	status(t, f.patch(id, token, 0, make([]byte, 10)), http.StatusNoContent)
	get := func(ip string) *http.Response {
		return f.request(http.MethodGet, id, map[string]string{"X-Forwarded-For": ip}, nil)
	}
	status(t, get("192.0.2.1"), http.StatusOK)
	status(t, get("192.0.2.1"), http.StatusOK)
	resp := get("192.0.2.1")
	status(t, resp, http.StatusTooManyRequests)
	if resp.Header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	status(t, get("2001:db8::1"), http.StatusOK)
}

// TestGone: a blob past its expiry, or deleted, is gone (410); an
// unknown or unfinished one is not found (404).
func TestGone(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	done, token := f.grant(10)
	status(t, f.patch(done, token, 0, make([]byte, 10)), http.StatusNoContent)
	deleted, token2 := f.grant(10)
	status(t, f.patch(deleted, token2, 0, make([]byte, 10)), http.StatusNoContent)
	if err := f.dir.DeleteBlob(ctx, deleted, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	unfinished, _ := f.grant(10)

	if body := status(t, f.request(http.MethodGet, deleted, nil, nil), http.StatusGone); strings.TrimSpace(body) != blobhttp.Gone {
		t.Fatalf("410 body %q", body)
	}
	status(t, f.request(http.MethodGet, unfinished, nil, nil), http.StatusNotFound)
	status(t, f.request(http.MethodGet, wire.NewBlobID(), nil, nil), http.StatusNotFound)
	resp, err := http.Get(f.url + "/v1/blobs/not-an-id")
	if err != nil {
		t.Fatal(err)
	}
	status(t, resp, http.StatusNotFound)
	resp.Body.Close()

	status(t, f.request(http.MethodGet, done, nil, nil), http.StatusOK)
	f.clock.advance(30 * 24 * time.Hour)
	status(t, f.request(http.MethodGet, done, nil, nil), http.StatusGone)
}
