package client

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/crypto/attachment"
	"github.com/mutualcoop/mutual/relay/wire"
)

// A history archive travels as one blob, as an attachment does: encrypted
// with crypto/attachment under a fresh key, uploaded over the relay's blob
// endpoints (tus), and named by a HistoryBlob that goes end to end (in a
// link's provision, or sealed in a backup). UploadHistory writes the
// archive into the store's media area first (a file of its own, in
// chunks, never whole in memory: the blob's size must be known before it
// is granted), then encrypts it as it uploads, resuming a cut upload at
// the relay's offset; the file is deleted at the end. RestoreHistory
// streams the blob through Decrypt into ReadHistory, resuming a cut
// download with a Range request; Decrypt gives the archive's last bytes
// only once the whole blob's digest is checked, and ReadHistory writes
// nothing before its end record, so a damaged blob imports nothing.

// ErrHistoryTooLarge: the archive is larger than the relay takes in one
// blob (wire.MaxBlobSize).
var ErrHistoryTooLarge = errors.New("client: the history is larger than the relay takes")

// historyTries bounds how many times a cut transfer of a history blob is
// resumed before the call fails.
const historyTries = 8

// HistoryBlob names an uploaded history archive: the blob, its key and
// digest (crypto/attachment), and the archive's size in bytes.
type HistoryBlob struct {
	Blob   wire.BlobID
	Key    [attachment.KeySize]byte
	Digest [attachment.DigestSize]byte
	Size   int64
}

// Marshal encodes b: {15 format version (1), 1 blob (16), 2 key (32),
// 3 digest (32), 4 size}.
func (b HistoryBlob) Marshal() []byte {
	e := newEnc()
	e.id(1, b.Blob)
	e.bytes(2, b.Key[:])
	e.bytes(3, b.Digest[:])
	e.uint(4, uint64(b.Size))
	return e.b
}

// ParseHistoryBlob decodes what Marshal wrote, and checks it.
func ParseHistoryBlob(p []byte) (HistoryBlob, error) {
	var b HistoryBlob
	var key, digest []byte
	err := decodeRecord(p, func(f field) (err error) {
		switch f.num {
		case 1:
			err = f.id((*[16]byte)(&b.Blob))
		case 2:
			key, err = f.copyBytes(attachment.KeySize)
		case 3:
			digest, err = f.copyBytes(attachment.DigestSize)
		case 4:
			var n uint64
			n, err = f.uint64()
			b.Size = int64(min(n, 1<<62))
		}
		return err
	})
	switch {
	case err != nil:
	case b.Blob.IsZero():
		err = fmt.Errorf("%w: no blob", errMalformed)
	case len(key) != attachment.KeySize || len(digest) != attachment.DigestSize:
		err = fmt.Errorf("%w: key or digest of the wrong size", errMalformed)
	case b.Size < int64(len(historyMagic)) || b.Size > attachment.MaxSize:
		err = fmt.Errorf("%w: size %d", errMalformed, b.Size)
	}
	if err != nil {
		return HistoryBlob{}, fmt.Errorf("history blob: %w", err)
	}
	copy(b.Key[:], key)
	copy(b.Digest[:], digest)
	return b, nil
}

// UploadHistory writes this device's history (WriteHistory with opts)
// and uploads it, encrypted under a fresh key, as one blob; it needs Run's
// connection (ErrOffline without Run). progress (if not nil) reports the
// records written, then the bytes uploaded. An archive larger than the
// relay takes fails with ErrHistoryTooLarge.
func (c *Client) UploadHistory(ctx context.Context, opts HistoryOptions, progress func(Progress)) (HistoryBlob, HistoryStats, error) {
	b, st, err := c.uploadHistory(ctx, opts, progress)
	if err != nil {
		return HistoryBlob{}, HistoryStats{}, fmt.Errorf("upload history: %w", err)
	}
	return b, st, nil
}

func (c *Client) uploadHistory(ctx context.Context, opts HistoryOptions, progress func(Progress)) (HistoryBlob, HistoryStats, error) {
	me, err := c.registered()
	if err != nil {
		return HistoryBlob{}, HistoryStats{}, err
	}
	if _, err := c.connection(ctx); err != nil {
		return HistoryBlob{}, HistoryStats{}, err
	}
	// A scratch file in the media area: an attachment of no message,
	// busy while it exists (so not an orphan), pinned (never evicted).
	file := fileKey(me.User, wire.NewMessageID(), 0xff)
	c.tr.setCopying(file, true)
	defer func() {
		err := c.st.Update(context.WithoutCancel(ctx), func(tx store.Tx) error { return deleteFile(tx, file) })
		if err != nil {
			c.log.Warn("client: delete the history's scratch file", "err", err)
		}
		c.tr.setCopying(file, false)
	}()
	w := &mediaWriter{ctx: ctx, c: c, file: file, rec: &mediaFile{Pinned: true, At: unixMS(c.now())}}
	stats, err := c.WriteHistory(ctx, w, opts, progress)
	if err == nil {
		err = w.flush()
	}
	if err != nil {
		return HistoryBlob{}, HistoryStats{}, err
	}
	size := w.rec.Stored
	if attachment.BlobSize(size) > wire.MaxBlobSize {
		return HistoryBlob{}, HistoryStats{}, ErrHistoryTooLarge
	}
	var hb HistoryBlob
	hb.Size = size
	nonce := make([]byte, attachment.NonceSize)
	if _, err := io.ReadFull(c.cfg.Rand, hb.Key[:]); err != nil {
		return HistoryBlob{}, HistoryStats{}, err
	}
	if _, err := io.ReadFull(c.cfg.Rand, nonce); err != nil {
		return HistoryBlob{}, HistoryStats{}, err
	}
	u := &historyUpload{c: c, file: file, key: hb.Key[:], nonce: nonce, size: size, progress: progress}
	if err := u.run(ctx); err != nil {
		return HistoryBlob{}, HistoryStats{}, err
	}
	hb.Blob = u.blob
	copy(hb.Digest[:], u.h.Sum(nil))
	return hb, stats, nil
}

// mediaWriter writes a file into the media area, mediaBatch chunks a
// transaction, as copyFile does.
type mediaWriter struct {
	ctx  context.Context
	c    *Client
	file []byte
	rec  *mediaFile
	buf  []byte
}

func (w *mediaWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), mediaChunk*mediaBatch-len(w.buf))
		w.buf = append(w.buf, p[:k]...)
		p = p[k:]
		if len(w.buf) == mediaChunk*mediaBatch {
			if err := w.flush(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

// flush stores what is buffered: whole chunks, and the last one.
func (w *mediaWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	var chunks [][]byte
	for b := w.buf; len(b) > 0; {
		k := min(len(b), mediaChunk)
		chunks = append(chunks, b[:k])
		b = b[k:]
	}
	err := w.c.st.Update(w.ctx, func(tx store.Tx) error {
		r := *w.rec
		if err := putChunks(tx, w.file, &r, chunks); err != nil {
			return err
		}
		*w.rec = r
		return nil
	})
	w.buf = w.buf[:0]
	return err
}

// historyUpload uploads the scratch file as a blob.
type historyUpload struct {
	c          *Client
	file       []byte
	key, nonce []byte
	size       int64
	progress   func(Progress)
	blob       wire.BlobID
	token      []byte
	exp        int64 // the token's expiry, Unix ms
	h          hash.Hash
	hashed     int64 // blob bytes fed to h: those the relay confirmed
	blobSize   int64
	failures   int // cut attempts in a row
}

func (u *historyUpload) run(ctx context.Context) error {
	u.blobSize = attachment.BlobSize(u.size)
	u.h = attachment.Digest()
	for {
		err := u.attempt(ctx)
		if err == nil {
			return nil
		}
		var te *transientError
		if !errors.As(err, &te) || ctx.Err() != nil {
			return err
		}
		u.failures++
		if u.failures >= historyTries {
			return err
		}
		u.c.log.Debug("client: history upload cut", "err", err)
		if !u.c.sleep(ctx, nil, transferBackoff(u.failures)) {
			return ctx.Err()
		}
	}
}

// grant asks for the blob's upload (blob zero: a new one), or a fresh
// token for it.
func (u *historyUpload) grant(ctx context.Context) error {
	conn, err := u.c.connection(ctx)
	if err != nil {
		return err
	}
	reply, err := conn.Request(ctx, &wire.Upload{Size: uint64(u.blobSize), Blob: u.blob})
	if err != nil {
		var we *wire.Error
		if errors.As(err, &we) {
			return err
		}
		return &transientError{fmt.Errorf("ask to upload: %w", err)}
	}
	g, ok := reply.(*wire.UploadGrant)
	if !ok || g.Size != uint64(u.blobSize) {
		return fmt.Errorf("ask to upload: unexpected answer %T", reply)
	}
	u.blob, u.token, u.exp = g.Blob, g.Token, g.ExpiresMS
	return nil
}

// attempt uploads from the relay's offset to the end.
func (u *historyUpload) attempt(ctx context.Context) error {
	c := u.c
	if u.blob.IsZero() || c.now().Add(time.Minute).UnixMilli() > u.exp {
		if err := u.grant(ctx); err != nil {
			return err
		}
	}
	off, err := c.headBlob(ctx, u.blob, u.token)
	if errors.Is(err, errBlobToken) {
		if err = u.grant(ctx); err == nil {
			off, err = c.headBlob(ctx, u.blob, u.token)
		}
	}
	if err != nil {
		return &transientError{fmt.Errorf("upload offset: %w", err)}
	}
	if off < u.hashed || off > u.blobSize {
		return fmt.Errorf("the relay has %d bytes of the history, %d were sent", off, u.hashed)
	}
	enc, err := attachment.Encrypt(u.key, u.nonce, u.size, newPlainReader(ctx, c.st, u.file, attachment.PlainOffset(u.hashed), u.size), u.hashed)
	if err != nil {
		return err
	}
	if _, err := io.CopyN(u.h, enc, off-u.hashed); err != nil {
		return fmt.Errorf("encrypt the history: %w", err)
	}
	u.hashed = off
	buf := make([]byte, min(patchSize, u.blobSize))
	for off < u.blobSize {
		n := min(int64(len(buf)), u.blobSize-off)
		if _, err := io.ReadFull(enc, buf[:n]); err != nil {
			return fmt.Errorf("encrypt the history: %w", err)
		}
		next, err := c.patchBlob(ctx, u.blob, u.token, off, buf[:n])
		if err == nil && next != off+n {
			err = fmt.Errorf("the relay took the upload to %d, not %d", next, off+n)
		}
		if err != nil {
			return &transientError{fmt.Errorf("upload: %w", err)}
		}
		u.h.Write(buf[:n])
		off, u.hashed = next, next
		u.failures = 0
		if u.progress != nil {
			u.progress(Progress{Done: off, Total: u.blobSize})
		}
	}
	return nil
}

// RestoreHistory downloads the history blob b names, checks and decrypts
// it as it streams, and imports it (ReadHistory). progress (if not nil)
// reports the bytes downloaded, then the records stored. Download needs
// no Run: the blob comes over HTTP.
func (c *Client) RestoreHistory(ctx context.Context, b HistoryBlob, progress func(Progress)) (HistoryStats, error) {
	if _, err := c.registered(); err != nil {
		return HistoryStats{}, err
	}
	if b.Blob.IsZero() || b.Size < 1 || b.Size > attachment.MaxSize {
		return HistoryStats{}, fmt.Errorf("restore history: %w: not a history blob", errMalformed)
	}
	body := &historyDownload{c: c, blob: b.Blob, size: attachment.BlobSize(b.Size), progress: progress}
	defer body.close()
	plain, err := attachment.Decrypt(b.Key[:], b.Size, b.Digest[:], body.reader(ctx))
	if err != nil {
		return HistoryStats{}, fmt.Errorf("restore history: %w", err)
	}
	stats, err := c.ReadHistory(ctx, plain, func(p Progress) {
		if progress != nil && body.off == body.size && p.Done > p.Total/2 {
			progress(p) // storing, once the download is done
		}
	})
	if err != nil {
		return HistoryStats{}, fmt.Errorf("restore history: %w", err)
	}
	return stats, nil
}

// historyDownload reads a blob from the relay, resuming a cut download
// where it stopped with a Range request.
type historyDownload struct {
	c        *Client
	blob     wire.BlobID
	size     int64
	off      int64
	body     io.ReadCloser
	tries    int
	progress func(Progress)
}

func (d *historyDownload) reader(ctx context.Context) io.Reader {
	return readerFunc(func(p []byte) (int, error) { return d.read(ctx, p) })
}

func (d *historyDownload) read(ctx context.Context, p []byte) (int, error) {
	for {
		if d.off == d.size {
			return 0, io.EOF
		}
		if d.body == nil {
			body, err := d.c.getBlob(ctx, d.blob, d.off, d.size)
			if errors.Is(err, errBlobUnknown) {
				return 0, ErrAttachmentGone
			}
			if err != nil {
				if !d.again(ctx, err) {
					return 0, err
				}
				continue
			}
			d.body = body
		}
		n, err := d.body.Read(p)
		d.off += int64(n)
		if n > 0 {
			d.tries = 0
			if d.progress != nil {
				d.progress(Progress{Done: d.off, Total: d.size})
			}
		}
		if err == nil || (errors.Is(err, io.EOF) && d.off == d.size) {
			return n, nil
		}
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		d.close()
		if n > 0 {
			return n, nil
		}
		if !d.again(ctx, err) {
			return 0, err
		}
	}
}

// again waits before resuming a cut download; false when it should not
// be resumed.
func (d *historyDownload) again(ctx context.Context, err error) bool {
	if errors.Is(err, ErrAttachmentGone) || ctx.Err() != nil {
		return false
	}
	d.tries++
	if d.tries >= historyTries {
		return false
	}
	d.c.log.Debug("client: history download cut", "err", err)
	return d.c.sleep(ctx, nil, transferBackoff(d.tries))
}

func (d *historyDownload) close() {
	if d.body != nil {
		d.body.Close()
		d.body = nil
	}
}

// readerFunc is an io.Reader made of a function.
type readerFunc func(p []byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }
