// Package blobhttp serves attachments' blobs over HTTP at
// /v1/blobs/{id}: the upload, as the core protocol of tus 1.0.0 (HEAD
// for the offset, PATCH to append, OPTIONS to discover), and the
// download (GET, with a single byte range). docs/protocol.md
// ("Attachments") is the specification.
//
// An upload is granted on the WebSocket (the Upload frame: the directory
// records the blob with the SHA-256 of a token); HEAD and PATCH present
// the token as a bearer credential, compared in constant time with the
// stored hash, and only until it expires. GET needs no credential: a
// blob's ID is 16 random bytes only the message that points to it
// carries, and its content is sealed with a key only that message holds.
//
// Invariants:
//
//   - Memory does not grow with a body's size: a PATCH body is streamed
//     into the store (blob.Store.Append) and a download out of it, each
//     through one small copy buffer.
//   - A PATCH whose body stalls for Config.Idle is cut, and keeps what
//     arrived; so is a download whose reader stops reading.
//   - At most one PATCH per blob runs in this process (a second is
//     answered 409); across processes the store's offset check refuses
//     all but one.
//   - Nothing logged or answered holds a token or a blob ID.
//   - Downloads, and failed HEAD and PATCH requests (a wrong or expired
//     token, an unknown blob), are rate-limited per client network.
package blobhttp

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mutualcoop/mutual/relay/blob"
	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/limit"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Store is what the handler needs of the blob store.
type Store interface {
	Create(ctx context.Context, id wire.BlobID, size int64) error
	Append(ctx context.Context, id wire.BlobID, offset int64, r io.Reader) (int64, error)
	Stat(ctx context.Context, id wire.BlobID) (blob.Info, error)
	Open(ctx context.Context, id wire.BlobID, offset, length int64) (io.ReadCloser, error)
}

// Directory is what the handler needs of the directory.
type Directory interface {
	Blob(ctx context.Context, id wire.BlobID) (directory.Blob, error)
	CompleteBlob(ctx context.Context, id wire.BlobID, at time.Time) error
}

// Metrics receives the handler's events. Nil fields are skipped.
type Metrics struct {
	Completed  func()           // uploads whose last byte arrived
	BytesIn    func(n int64)    // blob bytes received (PATCH bodies kept by the store)
	BytesOut   func(n int64)    // blob bytes sent (GET bodies)
	StoreError func(op string)  // store or directory failures, by operation: create, append, stat, open, read, directory
	Refused    func(why string) // requests refused by a rate limit: download, failure
}

// Config configures a Handler. Zero fields take the defaults.
type Config struct {
	// Limits keeps the per-network buckets; share it with the gateway
	// (a cluster's gateways share the directory's). Default: this
	// process's memory.
	Limits limit.Store
	// DownloadRate bounds GET requests per client network (an IPv4
	// address or IPv6 /64): default 600 at once, then 10 a second.
	DownloadRate limit.Rate
	// FailureRate bounds failed HEAD and PATCH requests per client
	// network (a wrong or expired token, an unknown blob): default 60 at
	// once, then one every 10 seconds. Past it, every HEAD and PATCH
	// from the network is refused with 429 for the wait.
	FailureRate limit.Rate
	// Idle is how long a PATCH body may send nothing, or a download's
	// reader take nothing, before the request is cut; default 60s.
	Idle time.Duration
	// TrustForwardedFor takes the client's address from the last
	// X-Forwarded-For entry: set it only behind a proxy that sets it.
	TrustForwardedFor bool

	Logger  *slog.Logger
	Metrics Metrics
	Now     func() time.Time // the clock of tokens, expiry and limits
}

func (c *Config) setDefaults() {
	if c.Limits == nil {
		c.Limits = limit.NewMemory(1 << 16)
	}
	if c.DownloadRate == (limit.Rate{}) {
		c.DownloadRate = limit.PerSecond(10, 600)
	}
	if c.FailureRate == (limit.Rate{}) {
		c.FailureRate = limit.Rate{Every: 10 * time.Second, Burst: 60}
	}
	if c.Idle == 0 {
		c.Idle = 60 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// TusVersion is the version of the tus protocol the handler speaks.
const TusVersion = "1.0.0"

// Handler serves /v1/blobs/{id}. Mount it on a pattern with an {id}
// wildcard.
type Handler struct {
	cfg   Config
	store Store
	dir   Directory

	mu        sync.Mutex
	uploading map[wire.BlobID]struct{} // blobs with a PATCH in progress here
	barred    penaltyBox
}

// New returns a handler for the blobs of store, recorded in dir.
func New(cfg Config, store Store, dir Directory) (*Handler, error) {
	cfg.setDefaults()
	if cfg.Idle < 0 || cfg.DownloadRate.Every < 0 || cfg.FailureRate.Every < 0 {
		return nil, errors.New("blobhttp: negative setting")
	}
	return &Handler{
		cfg: cfg, store: store, dir: dir,
		uploading: make(map[wire.BlobID]struct{}),
		barred:    penaltyBox{until: make(map[string]time.Time)},
	}, nil
}

// ServeHTTP routes by method.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodOptions:
		h.options(w)
	case http.MethodHead:
		h.head(w, r)
	case http.MethodPatch:
		h.patch(w, r)
	case http.MethodGet:
		h.get(w, r)
	default:
		w.Header().Set("Allow", "OPTIONS, HEAD, PATCH, GET")
		fail(w, http.StatusMethodNotAllowed, "method not allowed")
	}
}

// fail answers an error with a short text for people. It never says
// anything the request sent.
func fail(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	io.WriteString(w, msg+"\n")
}

// retryAfter sets Retry-After to d in whole seconds, at least one.
func retryAfter(w http.ResponseWriter, d time.Duration) {
	w.Header().Set("Retry-After", strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10))
}

func (h *Handler) options(w http.ResponseWriter) {
	hd := w.Header()
	hd.Set("Tus-Resumable", TusVersion)
	hd.Set("Tus-Version", TusVersion)
	hd.Set("Tus-Max-Size", strconv.FormatInt(wire.MaxBlobSize, 10))
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

// upload is a blob whose token a HEAD or PATCH presented.
type upload struct {
	id  wire.BlobID
	rec directory.Blob
}

// authorise checks a HEAD or PATCH: the tus version, the client's
// network, the blob and its token. It answers the request and returns
// false when it may not go on.
func (h *Handler) authorise(w http.ResponseWriter, r *http.Request) (upload, bool) {
	w.Header().Set("Tus-Resumable", TusVersion)
	w.Header().Set("Cache-Control", "no-store")
	if r.Header.Get("Tus-Resumable") != TusVersion {
		w.Header().Set("Tus-Version", TusVersion)
		fail(w, http.StatusPreconditionFailed, "this relay speaks tus "+TusVersion)
		return upload{}, false
	}
	network := h.network(r)
	now := h.cfg.Now()
	if wait := h.barred.wait(network, now); wait > 0 {
		h.refused(w, "failure", wait)
		return upload{}, false
	}
	id, err := wire.ParseBlobID(r.PathValue("id"))
	if err != nil {
		h.failed(w, network, http.StatusNotFound, "no such upload")
		return upload{}, false
	}
	token, ok := bearer(r.Header.Get("Authorization"))
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="mutual"`)
		h.failed(w, network, http.StatusUnauthorized, "an upload token is needed (Authorization: Bearer <hex>)")
		return upload{}, false
	}
	rec, err := h.dir.Blob(r.Context(), id)
	switch {
	case errors.Is(err, directory.ErrNotFound):
		h.failed(w, network, http.StatusNotFound, "no such upload")
		return upload{}, false
	case err != nil:
		h.storeError(w, "directory", id, err)
		return upload{}, false
	}
	sum := sha256.Sum256(token)
	if subtle.ConstantTimeCompare(sum[:], rec.TokenHash) != 1 || !now.Before(rec.TokenExpires) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="mutual", error="invalid_token"`)
		h.failed(w, network, http.StatusUnauthorized, "the upload token is wrong or has expired: ask for a new one (Upload with the blob's ID)")
		return upload{}, false
	}
	if !rec.Deleted.IsZero() {
		fail(w, http.StatusNotFound, "no such upload")
		return upload{}, false
	}
	return upload{id: id, rec: rec}, true
}

// bearer reads the token of an "Authorization: Bearer <hex>" header.
func bearer(header string) ([]byte, bool) {
	scheme, value, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || len(value) != 2*wire.MaxBlobToken {
		return nil, false
	}
	token, err := hex.DecodeString(value)
	return token, err == nil
}

// failed answers a failed HEAD or PATCH, counting it against the
// client's network: past FailureRate the network is barred for the
// wait, and told so instead.
func (h *Handler) failed(w http.ResponseWriter, network string, status int, msg string) {
	now := h.cfg.Now()
	ok, retry, err := h.cfg.Limits.Take(context.Background(), "blob-fail/net/"+network, h.cfg.FailureRate, 1, now)
	if err == nil && !ok {
		h.barred.bar(network, now, now.Add(retry))
		h.refused(w, "failure", retry)
		return
	}
	fail(w, status, msg)
}

func (h *Handler) refused(w http.ResponseWriter, why string, wait time.Duration) {
	if m := h.cfg.Metrics.Refused; m != nil {
		m(why)
	}
	retryAfter(w, wait)
	fail(w, http.StatusTooManyRequests, "too many requests; retry later")
}

// storeError answers 500 for a failure of the store or the directory,
// and logs it without the blob's ID.
func (h *Handler) storeError(w http.ResponseWriter, op string, id wire.BlobID, err error) {
	if m := h.cfg.Metrics.StoreError; m != nil {
		m(op)
	}
	h.cfg.Logger.Error("blobhttp: "+op+" failed", "err", strings.ReplaceAll(err.Error(), id.String(), "<blob>"))
	fail(w, http.StatusInternalServerError, "internal error")
}

// stat returns the upload's state in the store, and whether the store
// has it: it has not until the first PATCH creates it, and its offset is
// 0 meanwhile. A complete upload that the directory does not know is
// complete is recorded now (the PATCH that completed it failed to).
func (h *Handler) stat(ctx context.Context, u upload) (info blob.Info, stored bool, err error) {
	info, err = h.store.Stat(ctx, u.id)
	if errors.Is(err, blob.ErrNotFound) {
		return blob.Info{Size: u.rec.Size}, false, nil
	}
	if err != nil {
		return info, false, err
	}
	if info.Complete && u.rec.Completed.IsZero() {
		if err := h.complete(ctx, u.id); err != nil {
			return info, true, err
		}
	}
	return info, true, nil
}

func (h *Handler) complete(ctx context.Context, id wire.BlobID) error {
	if err := h.dir.CompleteBlob(ctx, id, h.cfg.Now()); err != nil {
		return fmt.Errorf("record completion: %w", err)
	}
	if m := h.cfg.Metrics.Completed; m != nil {
		m()
	}
	return nil
}

// head answers tus's HEAD: the upload's offset and length.
func (h *Handler) head(w http.ResponseWriter, r *http.Request) {
	u, ok := h.authorise(w, r)
	if !ok {
		return
	}
	info, _, err := h.stat(r.Context(), u)
	if err != nil {
		h.storeError(w, "stat", u.id, err)
		return
	}
	hd := w.Header()
	hd.Set("Upload-Offset", strconv.FormatInt(info.Offset, 10))
	hd.Set("Upload-Length", strconv.FormatInt(u.rec.Size, 10))
	w.WriteHeader(http.StatusOK)
}

// patch appends a request's body to the upload at Upload-Offset.
func (h *Handler) patch(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); ct != "application/offset+octet-stream" {
		w.Header().Set("Tus-Resumable", TusVersion)
		fail(w, http.StatusUnsupportedMediaType, "a PATCH's Content-Type is application/offset+octet-stream")
		return
	}
	u, ok := h.authorise(w, r)
	if !ok {
		return
	}
	offset, err := strconv.ParseInt(r.Header.Get("Upload-Offset"), 10, 64)
	if err != nil || offset < 0 {
		fail(w, http.StatusBadRequest, "Upload-Offset must be a number of bytes")
		return
	}
	if !h.lock(u.id) {
		fail(w, http.StatusConflict, "another request is uploading this blob")
		return
	}
	defer h.unlock(u.id)

	// The store's work must not stop when the client goes: what arrived
	// is kept.
	ctx := context.WithoutCancel(r.Context())
	info, stored, err := h.stat(ctx, u)
	if err != nil {
		h.storeError(w, "stat", u.id, err)
		return
	}
	if offset != info.Offset {
		w.Header().Set("Upload-Offset", strconv.FormatInt(info.Offset, 10))
		fail(w, http.StatusConflict, "Upload-Offset is not the upload's offset: HEAD for it")
		return
	}
	remaining := u.rec.Size - offset
	if r.ContentLength > remaining {
		fail(w, http.StatusRequestEntityTooLarge, "more bytes than the upload's size")
		return
	}
	if remaining == 0 {
		w.Header().Set("Upload-Offset", strconv.FormatInt(offset, 10))
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if !stored {
		if err := h.store.Create(ctx, u.id, u.rec.Size); err != nil && !errors.Is(err, blob.ErrExists) {
			h.storeError(w, "create", u.id, err)
			return
		}
	}

	// One byte more than the upload needs is read, so that the store
	// tells a body that is too long.
	body := &progress{r: http.MaxBytesReader(w, r.Body, remaining+1), rc: http.NewResponseController(w), idle: h.cfg.Idle}
	body.extend()
	next, err := h.store.Append(ctx, u.id, offset, body)
	switch {
	case errors.Is(err, blob.ErrOffset):
		w.Header().Set("Upload-Offset", strconv.FormatInt(next, 10))
		fail(w, http.StatusConflict, "Upload-Offset is not the upload's offset: HEAD for it")
		return
	case errors.Is(err, blob.ErrNotFound):
		fail(w, http.StatusNotFound, "no such upload")
		return
	}
	if m := h.cfg.Metrics.BytesIn; m != nil && next > offset {
		m(next - offset)
	}
	w.Header().Set("Upload-Offset", strconv.FormatInt(max(next, offset), 10))
	if next == u.rec.Size {
		// Complete, even if the body went on past the size.
		if err := h.complete(ctx, u.id); err != nil {
			h.storeError(w, "directory", u.id, err)
			return
		}
	}
	var tooLong *http.MaxBytesError
	switch {
	case errors.Is(err, blob.ErrTooLarge) || errors.As(body.err, &tooLong):
		fail(w, http.StatusRequestEntityTooLarge, "more bytes than the upload's size")
		return
	case body.err != nil:
		// Cut or stalled: the bytes that came are kept; the client asks
		// HEAD where to resume.
		fail(w, http.StatusBadRequest, "the request's body ended early")
		return
	case err != nil:
		h.storeError(w, "append", u.id, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// lock claims the blob's upload for one PATCH in this process.
func (h *Handler) lock(id wire.BlobID) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, busy := h.uploading[id]; busy {
		return false
	}
	h.uploading[id] = struct{}{}
	return true
}

func (h *Handler) unlock(id wire.BlobID) {
	h.mu.Lock()
	delete(h.uploading, id)
	h.mu.Unlock()
}

// progress is a request body that pushes the connection's read deadline
// on as bytes arrive, so that only a body that stalls for idle is cut,
// and remembers the error that ended it, if any.
type progress struct {
	r    io.Reader
	rc   *http.ResponseController
	idle time.Duration
	next time.Time // when to push the deadline again
	err  error
}

func (p *progress) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 && !time.Now().Before(p.next) {
		p.extend()
	}
	if err != nil && err != io.EOF {
		p.err = err
	}
	return n, err
}

// extend sets the read deadline idle from now. It is pushed at most once
// a second: a deadline is a timer, not free.
func (p *progress) extend() {
	now := time.Now()
	p.rc.SetReadDeadline(now.Add(p.idle))
	p.next = now.Add(time.Second)
}

// network is the client network the request is limited as.
func (h *Handler) network(r *http.Request) string {
	ip := r.RemoteAddr
	if h.cfg.TrustForwardedFor {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			parts := strings.Split(xff, ",")
			ip = strings.TrimSpace(parts[len(parts)-1])
		}
	} else if host, _, err := net.SplitHostPort(ip); err == nil {
		ip = host
	}
	return limit.Network(ip).String()
}

// penaltyBox remembers the networks barred from HEAD and PATCH after too
// many failures, until when. It holds at most maxBarred networks; when
// full it forgets those whose time is up, or else all of them (the
// shared limit store still counts their failures).
type penaltyBox struct {
	mu    sync.Mutex
	until map[string]time.Time
}

const maxBarred = 1 << 14

func (p *penaltyBox) wait(network string, now time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.until[network]
	if !ok {
		return 0
	}
	if !now.Before(t) {
		delete(p.until, network)
		return 0
	}
	return t.Sub(now)
}

func (p *penaltyBox) bar(network string, now, until time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.until) >= maxBarred {
		for n, t := range p.until {
			if !now.Before(t) {
				delete(p.until, n)
			}
		}
		if len(p.until) >= maxBarred {
			clear(p.until)
		}
	}
	p.until[network] = until
}
