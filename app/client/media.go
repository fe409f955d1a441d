package client

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/relay/wire"
)

// The device keeps the plaintext of attachments (those it sends, and
// those it downloaded) in the store, in chunks of mediaChunk bytes, so
// that an upload resumes after a restart (the file given to SendFiles is
// gone by then) and media shows without downloading again. Each file has
// a record saying how much of it is stored and when its chat's media was
// last used; received files (and sent ones whose upload is done: the
// relay has them too) are a cache, evicted oldest-used chat first to stay
// within the limit (SetMediaLimit). An evicted attachment is
// TransferRemote again. Files not yet uploaded are never evicted.

// Media buckets, besides layout.go's:
var (
	// media: file (33) || chunk (4) → up to mediaChunk bytes of the
	// file's plaintext. A file is author (16) || message ID (16) ||
	// attachment index (1) (fileKey).
	bMedia = []byte("media")
	// mediafiles: file (33) → mediaFile: how much of it is stored.
	bMediaFiles = []byte("mediafiles")
	// mediaused: conversation (16) → when its media was last stored or
	// opened (Unix ms, 8), for eviction.
	bMediaUsed = []byte("mediaused")
	// mediaconf: "limit" → the most bytes of media kept (8).
	bMediaConf = []byte("mediaconf")
	// uploads: message ID (16) → empty: an outgoing message of this
	// account waiting for its attachments' uploads (upload.go).
	bUploads = []byte("uploads")
	// downloads: file (33) → empty: a download to make in the
	// background (an automatic one, or RetryTransfer).
	bDownloads = []byte("downloads")

	kMediaLimit = []byte("limit")
)

const (
	// mediaChunk is the size of the stored chunks of a file (the last
	// one may be shorter): four of crypto/attachment's chunks.
	mediaChunk = 256 << 10
	// mediaBatch is how many chunks one transaction writes.
	mediaBatch = 4
	// DefaultMediaLimit is how many bytes of attachments a device keeps
	// unless SetMediaLimit says otherwise.
	DefaultMediaLimit = 1 << 30
	// MinMediaLimit is the smallest limit SetMediaLimit takes.
	MinMediaLimit = 100 << 20
)

// ErrMediaLimit: a media limit under MinMediaLimit.
var ErrMediaLimit = fmt.Errorf("client: the media limit must be at least %d MB", MinMediaLimit>>20)

// fileKey names one attachment's file: author || message ID || index.
func fileKey(author wire.UserID, id wire.MessageID, index int) []byte {
	return append(authoredKey(author, id), byte(index))
}

func chunkKey(file []byte, n int64) []byte {
	return binary.BigEndian.AppendUint32(slices.Clip(file), uint32(n))
}

// parseFileKey splits a fileKey.
func parseFileKey(k []byte) (author wire.UserID, id wire.MessageID, index int, ok bool) {
	if len(k) != 33 {
		return author, id, 0, false
	}
	copy(author[:], k)
	copy(id[:], k[16:])
	return author, id, int(k[32]), true
}

// mediaFile is what is stored of one file:
//
//	{1 conversation, 2 bytes stored, 3 pinned: an outgoing file not yet
//	 uploaded (never evicted), 4 when it was stored (Unix ms)}
type mediaFile struct {
	Conversation wire.ConversationID
	Stored       int64
	Pinned       bool
	At           int64
}

func (f *mediaFile) marshal() []byte {
	e := newEnc()
	e.id(1, f.Conversation)
	e.uint(2, uint64(f.Stored))
	e.bool(3, f.Pinned)
	e.sint(4, f.At)
	return e.b
}

func parseMediaFile(b []byte) (*mediaFile, error) {
	f := new(mediaFile)
	err := decodeRecord(b, func(fl field) (err error) {
		var n uint64
		switch fl.num {
		case 1:
			err = fl.id((*[16]byte)(&f.Conversation))
		case 2:
			n, err = fl.uint64()
			f.Stored = int64(min(n, 1<<62))
		case 3:
			f.Pinned, err = fl.bool()
		case 4:
			f.At, err = fl.sint64()
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("media file record: %w", err)
	}
	return f, nil
}

func loadMediaFile(tx store.Tx, file []byte) (*mediaFile, error) {
	b, err := tx.Get(bMediaFiles, file)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return parseMediaFile(b)
}

// putChunks stores chunks of a file from its chunk n on, and its record
// (with f.Stored grown by their bytes).
func putChunks(tx store.Tx, file []byte, f *mediaFile, chunks [][]byte) error {
	n := f.Stored / mediaChunk
	for _, b := range chunks {
		if err := tx.Put(bMedia, chunkKey(file, n), b); err != nil {
			return err
		}
		f.Stored += int64(len(b))
		n++
	}
	return tx.Put(bMediaFiles, file, f.marshal())
}

// deleteFile removes a file's chunks and record.
func deleteFile(tx store.Tx, file []byte) error {
	var keys [][]byte
	err := tx.Scan(bMedia, file, func(k, _ []byte) error {
		keys = append(keys, slices.Clone(k))
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := tx.Delete(bMedia, k); err != nil {
			return err
		}
	}
	return tx.Delete(bMediaFiles, file)
}

// noteUsed records that a conversation's media was used now.
func (c *Client) noteUsed(tx store.Tx, conv wire.ConversationID) error {
	return tx.Put(bMediaUsed, conv[:], binary.BigEndian.AppendUint64(nil, uint64(unixMS(c.now()))))
}

// mediaLimit reads the limit on media kept (DefaultMediaLimit unless set).
func mediaLimit(tx store.Tx) (int64, error) {
	b, err := tx.Get(bMediaConf, kMediaLimit)
	if errors.Is(err, store.ErrNotFound) {
		return DefaultMediaLimit, nil
	}
	if err != nil {
		return 0, err
	}
	if len(b) != 8 {
		return 0, fmt.Errorf("%w: media limit of %d bytes", errMalformed, len(b))
	}
	return int64(min(binary.BigEndian.Uint64(b), 1<<62)), nil
}

// plainReader reads a stored file's plaintext from offset on, one chunk
// at a time (each in its own read transaction), so that memory stays at
// one chunk whatever the file's size. It ends (io.EOF) at the end of
// what is stored; a chunk missing before that (the file was evicted
// meanwhile) is ErrNotOnDevice.
type plainReader struct {
	ctx    context.Context
	st     store.Store
	file   []byte
	off    int64
	size   int64 // bytes stored
	buf    []byte
	closed bool
}

func newPlainReader(ctx context.Context, st store.Store, file []byte, off, size int64) *plainReader {
	return &plainReader{ctx: ctx, st: st, file: file, off: off, size: size}
}

func (r *plainReader) Read(p []byte) (int, error) {
	if r.closed {
		return 0, errors.New("client: read of a closed attachment")
	}
	if len(r.buf) == 0 {
		if r.off >= r.size {
			return 0, io.EOF
		}
		n := r.off / mediaChunk
		var b []byte
		err := r.st.View(r.ctx, func(tx store.Tx) (err error) {
			b, err = tx.Get(bMedia, chunkKey(r.file, n))
			return err
		})
		if errors.Is(err, store.ErrNotFound) {
			return 0, ErrNotOnDevice
		}
		if err != nil {
			return 0, fmt.Errorf("read attachment: %w", err)
		}
		skip := r.off - n*mediaChunk
		if skip >= int64(len(b)) {
			return 0, fmt.Errorf("read attachment: %w: short chunk", errMalformed)
		}
		r.buf = b[skip:min(int64(len(b)), r.size-n*mediaChunk)]
	}
	k := copy(p, r.buf)
	r.buf = r.buf[k:]
	r.off += int64(k)
	return k, nil
}

func (r *plainReader) Close() error {
	r.closed, r.buf = true, nil
	return nil
}

// evict removes cached files, those of the chats used longest ago first
// (and, within a chat, the files stored first), until at most limit
// bytes of media are kept (limit 0: every cached file). Pinned files,
// and those in keep (being transferred), stay. Their attachments are
// TransferRemote again; it returns their events.
func (c *Client) evict(tx store.Tx, limit int64, keep func(file []byte) bool) ([]EventTransfer, error) {
	type cached struct {
		key  []byte
		f    *mediaFile
		used int64
	}
	var all []cached
	var used int64
	err := tx.Scan(bMediaFiles, nil, func(k, v []byte) error {
		f, err := parseMediaFile(v)
		if err != nil {
			return err
		}
		used += f.Stored
		if !f.Pinned && !keep(k) {
			all = append(all, cached{key: slices.Clone(k), f: f})
		}
		return nil
	})
	if err != nil || used <= limit {
		return nil, err
	}
	for i := range all {
		b, err := tx.Get(bMediaUsed, all[i].f.Conversation[:])
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return nil, err
		case len(b) == 8:
			all[i].used = int64(binary.BigEndian.Uint64(b))
		}
	}
	slices.SortStableFunc(all, func(a, b cached) int {
		if a.used != b.used {
			return cmp.Compare(a.used, b.used)
		}
		return cmp.Compare(a.f.At, b.f.At)
	})
	type evicted struct {
		author wire.UserID
		m      *Message
		index  []int
	}
	changed := map[[32]byte]*evicted{}
	var order []*evicted
	for _, e := range all {
		if used <= limit {
			break
		}
		author, id, index, ok := parseFileKey(e.key)
		if !ok {
			continue
		}
		if err := deleteFile(tx, e.key); err != nil {
			return nil, err
		}
		used -= e.f.Stored
		var mk [32]byte
		copy(mk[:], e.key)
		ev := changed[mk]
		if ev == nil {
			m, err := c.loadMessage(tx, author, id)
			if err != nil {
				return nil, err
			}
			if m == nil {
				continue
			}
			ev = &evicted{author: author, m: m}
			changed[mk] = ev
			order = append(order, ev)
		}
		if index < len(ev.m.Attachments) && ev.m.Attachments[index].onRelay() {
			a := &ev.m.Attachments[index]
			a.Transfer, a.Done, a.Failure = TransferRemote, 0, ""
			ev.index = append(ev.index, index)
		}
	}
	var evs []EventTransfer
	for _, ev := range order {
		if err := c.putMessage(tx, ev.m, ev.m.State); err != nil {
			return nil, err
		}
		for _, i := range ev.index {
			evs = append(evs, transferEvent(ev.author, ev.m, i, nil))
		}
	}
	return evs, nil
}

func binaryUint64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
