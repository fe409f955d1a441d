package blobhttp

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mutualcoop/mutual/relay/blob"
	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Gone is the text of a 410 answer: the blob expired and was deleted.
const Gone = "this file is no longer available"

// get serves a complete blob, or a single range of it. The answer may be
// cached for as long as anyone likes: a blob never changes.
func (h *Handler) get(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	now := h.cfg.Now()
	ok, retry, err := h.cfg.Limits.Take(ctx, "blob-get/net/"+h.network(r), h.cfg.DownloadRate, 1, now)
	switch {
	case err != nil:
		h.storeError(w, "limits", wire.BlobID{}, err)
		return
	case !ok:
		h.refused(w, "download", retry)
		return
	}
	id, err := wire.ParseBlobID(r.PathValue("id"))
	if err != nil {
		fail(w, http.StatusNotFound, "no such file")
		return
	}
	rec, err := h.dir.Blob(ctx, id)
	switch {
	case errors.Is(err, directory.ErrNotFound):
		fail(w, http.StatusNotFound, "no such file")
		return
	case err != nil:
		h.storeError(w, "directory", id, err)
		return
	case !rec.Deleted.IsZero() || !now.Before(rec.Expires):
		if rec.Completed.IsZero() {
			fail(w, http.StatusNotFound, "no such file")
			return
		}
		fail(w, http.StatusGone, Gone)
		return
	}
	info, err := h.store.Stat(ctx, id)
	switch {
	case errors.Is(err, blob.ErrNotFound) || errors.Is(err, blob.ErrIncomplete) || (err == nil && !info.Complete):
		fail(w, http.StatusNotFound, "no such file, or its upload is not finished")
		return
	case err != nil:
		h.storeError(w, "stat", id, err)
		return
	}

	etag := `"` + id.String() + `"`
	hd := w.Header()
	hd.Set("ETag", etag)
	hd.Set("Accept-Ranges", "bytes")
	hd.Set("Cache-Control", "private, max-age=31536000, immutable")
	if match := r.Header.Get("If-None-Match"); match != "" && (match == "*" || strings.Contains(match, etag)) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	spec := r.Header.Get("Range")
	if ifRange := r.Header.Get("If-Range"); ifRange != "" && ifRange != etag {
		spec = "" // the client's copy is not this blob: all of it
	}
	start, length, partial, ok := parseRange(spec, info.Size)
	if !ok {
		hd.Set("Content-Range", "bytes */"+strconv.FormatInt(info.Size, 10))
		fail(w, http.StatusRequestedRangeNotSatisfiable, "the range is outside the file")
		return
	}
	body, err := h.store.Open(ctx, id, start, length)
	if err != nil {
		h.storeError(w, "open", id, err)
		return
	}
	defer body.Close()
	hd.Set("Content-Type", "application/octet-stream")
	hd.Set("Content-Length", strconv.FormatInt(length, 10))
	status := http.StatusOK
	if partial {
		status = http.StatusPartialContent
		hd.Set("Content-Range", "bytes "+strconv.FormatInt(start, 10)+"-"+strconv.FormatInt(start+length-1, 10)+"/"+strconv.FormatInt(info.Size, 10))
	}
	w.WriteHeader(status)
	n, err := h.send(w, body)
	if m := h.cfg.Metrics.BytesOut; m != nil {
		m(n)
	}
	var rerr *readError
	if errors.As(err, &rerr) {
		// Too late for a status: the client sees a short body.
		if m := h.cfg.Metrics.StoreError; m != nil {
			m("read")
		}
		h.cfg.Logger.Error("blobhttp: read failed", "err", strings.ReplaceAll(rerr.err.Error(), id.String(), "<blob>"))
	}
}

// readError is a failure to read the blob, as opposed to writing to the
// client.
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }

// send copies body to w through one buffer, pushing the connection's
// write deadline on as the client takes bytes: a client that stops
// reading is cut after Config.Idle, one that reads slowly never is.
func (h *Handler) send(w http.ResponseWriter, body io.Reader) (int64, error) {
	rc := http.NewResponseController(w)
	buf := make([]byte, 32<<10)
	var sent int64
	var next time.Time
	for {
		n, err := body.Read(buf)
		if n > 0 {
			if now := time.Now(); !now.Before(next) {
				rc.SetWriteDeadline(now.Add(h.cfg.Idle))
				next = now.Add(time.Second)
			}
			m, werr := w.Write(buf[:n])
			sent += int64(m)
			if werr != nil {
				return sent, werr
			}
		}
		switch {
		case err == io.EOF:
			return sent, nil
		case err != nil:
			return sent, &readError{err}
		}
	}
}

// parseRange reads a Range header for a blob of size bytes: the first
// byte and the length to send, whether that is part of the blob, and
// false when the range is unsatisfiable (416). A header that is not a
// single byte range is ignored (the whole blob is sent), as RFC 9110
// allows.
func parseRange(spec string, size int64) (start, length int64, partial, ok bool) {
	whole := func() (int64, int64, bool, bool) { return 0, size, false, true }
	r, found := strings.CutPrefix(spec, "bytes=")
	if !found || strings.Contains(r, ",") {
		return whole()
	}
	first, last, found := strings.Cut(strings.TrimSpace(r), "-")
	if !found {
		return whole()
	}
	if first == "" { // a suffix: the last n bytes
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n < 0 {
			return whole()
		}
		if n == 0 {
			return 0, 0, false, false
		}
		n = min(n, size)
		return size - n, n, true, true
	}
	a, err := strconv.ParseInt(first, 10, 64)
	if err != nil || a < 0 {
		return whole()
	}
	b := size - 1
	if last != "" {
		if b, err = strconv.ParseInt(last, 10, 64); err != nil || b < a {
			return whole()
		}
		b = min(b, size-1)
	}
	if a >= size {
		return 0, 0, false, false
	}
	return a, b - a + 1, true, true
}
