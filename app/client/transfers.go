package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/relay/wire"
)

// transfers is what the client holds in memory of attachments' transfers:
// which ones run (so that one attachment never moves twice at once, and
// CancelTransfer can stop one), the files SendFiles is still copying, and
// the wake-ups of the upload and download workers. The store holds the
// rest.
type transfers struct {
	mu       sync.Mutex
	active   map[string]*activeTransfer // by fileKey
	copying  map[string]bool            // by fileKey
	upWake   chan struct{}
	downWake chan struct{}
}

// activeTransfer is a transfer running: cancel stops it; done is closed
// when it has stopped.
type activeTransfer struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func (t *transfers) init() {
	if t.active == nil {
		t.active = map[string]*activeTransfer{}
		t.copying = map[string]bool{}
		t.upWake = make(chan struct{}, 1)
		t.downWake = make(chan struct{}, 1)
	}
}

// start marks the file's transfer as running and returns its context, or
// the transfer already running (then ctx is nil).
func (t *transfers) start(ctx context.Context, file []byte) (context.Context, *activeTransfer) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.init()
	if a := t.active[string(file)]; a != nil {
		return nil, a
	}
	ctx, cancel := context.WithCancel(ctx)
	a := &activeTransfer{cancel: cancel, done: make(chan struct{})}
	t.active[string(file)] = a
	return ctx, a
}

// stop ends a transfer start began.
func (t *transfers) stop(file []byte, a *activeTransfer) {
	t.mu.Lock()
	defer t.mu.Unlock()
	a.cancel()
	close(a.done)
	delete(t.active, string(file))
}

// cancel stops the file's transfer if one runs, and waits until it has.
func (t *transfers) cancel(ctx context.Context, file []byte) error {
	t.mu.Lock()
	t.init()
	a := t.active[string(file)]
	t.mu.Unlock()
	if a == nil {
		return nil
	}
	a.cancel()
	select {
	case <-a.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// busy reports whether a file is being transferred or copied.
func (t *transfers) busy(file []byte) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.init()
	return t.active[string(file)] != nil || t.copying[string(file)]
}

func (t *transfers) setCopying(file []byte, on bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.init()
	if on {
		t.copying[string(file)] = true
	} else {
		delete(t.copying, string(file))
	}
}

// wakes returns the channels that wake the upload and download workers.
func (t *transfers) wakes() (up, down chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.init()
	return t.upWake, t.downWake
}

// pokeUploads wakes the upload worker.
func (c *Client) pokeUploads() {
	up, _ := c.tr.wakes()
	select {
	case up <- struct{}{}:
	default:
	}
}

// pokeDownloads wakes the download worker.
func (c *Client) pokeDownloads() {
	_, down := c.tr.wakes()
	select {
	case down <- struct{}{}:
	default:
	}
}

// SendFiles sends files (at most MaxAttachments) with a caption (which
// may be empty) to a contact. It returns once the files are copied on the
// device and the message is stored, StateSending with its attachments
// TransferUploading; uploads run in the background (Run), resume after a
// restart or a cut connection where they stopped, and the message is
// sent when every upload is done (offline: when the connection is back),
// then goes on as Send's do. It fails as Send does for someone who is not
// an allowed contact, with ErrAttachmentTooLarge for a file over
// MaxAttachmentSize, ErrTooManyAttachments, and ErrBadAttachment for a
// file with no content or an unusable name, type, thumbnail or waveform.
func (c *Client) SendFiles(ctx context.Context, contact wire.UserID, caption string, files ...File) (wire.MessageID, error) {
	id, err := c.sendFiles(ctx, func(tx store.Tx, me *self, m *Message) error {
		if contact.IsZero() {
			return ErrCoopConversation
		}
		ct, err := getContact(tx, me.User, contact)
		if err != nil {
			return err
		}
		if err := canSend(ct); err != nil {
			return err
		}
		m.Conversation, m.Peer = ct.Conversation, contact
		return nil
	}, caption, files)
	if err != nil {
		return wire.MessageID{}, fmt.Errorf("send files: %w", err)
	}
	return id, nil
}

// SendGroupFiles sends files with a caption to a group, as SendFiles
// does to a contact; it fails as SendGroup does for a group this account
// is not a member of.
func (c *Client) SendGroupFiles(ctx context.Context, group wire.ConversationID, caption string, files ...File) (wire.MessageID, error) {
	id, err := c.sendFiles(ctx, func(tx store.Tx, me *self, m *Message) error {
		if _, err := c.joinedGroup(tx, group); err != nil {
			return err
		}
		m.Conversation, m.Author = group, me.User
		return nil
	}, caption, files)
	if err != nil {
		return wire.MessageID{}, fmt.Errorf("send files to group: %w", err)
	}
	return id, nil
}

// sendFiles checks the files, copies them into the store and stores the
// message with its upload record; to fills in where it goes (and refuses
// a conversation it cannot go to), checked first and again in the
// transaction that stores the message.
func (c *Client) sendFiles(ctx context.Context, to func(tx store.Tx, me *self, m *Message) error, caption string, files []File) (wire.MessageID, error) {
	me, err := c.registered()
	if err != nil {
		return wire.MessageID{}, err
	}
	switch {
	case len(files) == 0:
		return wire.MessageID{}, fmt.Errorf("%w: no file", ErrBadAttachment)
	case len(files) > MaxAttachments:
		return wire.MessageID{}, ErrTooManyAttachments
	}
	if caption != "" {
		if err := checkText(caption); err != nil {
			return wire.MessageID{}, err
		}
	}
	for i := range files {
		files[i].Name = baseName(files[i].Name)
		if err := checkFile(&files[i]); err != nil {
			return wire.MessageID{}, err
		}
	}
	err = c.st.View(ctx, func(tx store.Tx) error { return to(tx, me, new(Message)) })
	if err != nil {
		return wire.MessageID{}, err
	}
	id := wire.NewMessageID()
	keys := make([][]byte, len(files))
	copied := 0
	defer func() {
		for _, k := range keys[:copied] {
			c.tr.setCopying(k, false)
		}
	}()
	atts := make([]Attachment, len(files))
	for i := range files {
		f := &files[i]
		keys[i] = fileKey(me.User, id, i)
		c.tr.setCopying(keys[i], true)
		copied++
		a := Attachment{
			Name: f.Name, Type: fileType(f), Size: f.Size, Width: f.Width, Height: f.Height,
			Duration: f.Duration, Thumbnail: bytes.Clone(f.Thumbnail), Waveform: bytes.Clone(f.Waveform),
			Voice: f.Voice, Transfer: TransferUploading,
			key: make([]byte, blobKeySize), nonce: make([]byte, blobNonceSize),
		}
		if _, err := io.ReadFull(c.cfg.Rand, a.key); err != nil {
			return wire.MessageID{}, fmt.Errorf("attachment key: %w", err)
		}
		if _, err := io.ReadFull(c.cfg.Rand, a.nonce); err != nil {
			return wire.MessageID{}, fmt.Errorf("attachment nonce: %w", err)
		}
		atts[i] = a
	}
	msg := &Message{
		ID: id, Outgoing: true, SenderDevice: me.Device, Text: caption, State: StateSending, Attachments: atts,
	}
	for i := range files {
		if err := c.copyFile(ctx, keys[i], &files[i]); err != nil {
			c.dropFiles(keys[:i+1])
			return wire.MessageID{}, err
		}
	}
	var evicted []EventTransfer
	err = c.update(ctx, func(ts *txState) error {
		if err := to(ts.tx, me, msg); err != nil {
			return err
		}
		msg.SentAt = c.now()
		for _, k := range keys {
			f, err := loadMediaFile(ts.tx, k)
			if err != nil {
				return err
			}
			if f == nil {
				return fmt.Errorf("%w: a copied file is gone", ErrNotOnDevice)
			}
			f.Conversation = msg.Conversation
			if err := ts.tx.Put(bMediaFiles, k, f.marshal()); err != nil {
				return err
			}
		}
		if err := c.insertMessage(ts.tx, me.User, msg); err != nil {
			return err
		}
		if err := ts.tx.Put(bUploads, id[:], nil); err != nil {
			return err
		}
		if err := c.noteUsed(ts.tx, msg.Conversation); err != nil {
			return err
		}
		var err error
		evicted, err = c.evictOver(ts.tx)
		return err
	})
	if err != nil {
		c.dropFiles(keys)
		return wire.MessageID{}, err
	}
	c.emitTransfers(evicted)
	c.pokeUploads()
	return id, nil
}

// copyFile reads f's content into the store as the file k, pinned (an
// outgoing file not yet uploaded), mediaBatch chunks a transaction. The
// content must be exactly f.Size bytes.
func (c *Client) copyFile(ctx context.Context, k []byte, f *File) error {
	rec := &mediaFile{Pinned: true, At: unixMS(c.now())}
	buf := make([]byte, mediaChunk*mediaBatch)
	for rec.Stored < f.Size {
		want := min(int64(len(buf)), f.Size-rec.Stored)
		n, err := io.ReadFull(f.Content, buf[:want])
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("%w: %q is shorter than its size %d", ErrBadAttachment, f.Name, f.Size)
		}
		if err != nil {
			return fmt.Errorf("read %q: %w", f.Name, err)
		}
		var chunks [][]byte
		for b := buf[:n]; len(b) > 0; {
			k := min(len(b), mediaChunk)
			chunks = append(chunks, b[:k])
			b = b[k:]
		}
		err = c.st.Update(ctx, func(tx store.Tx) error {
			r := *rec
			if err := putChunks(tx, k, &r, chunks); err != nil {
				return err
			}
			*rec = r
			return nil
		})
		if err != nil {
			return fmt.Errorf("keep %q on the device: %w", f.Name, err)
		}
	}
	var one [1]byte
	if n, _ := f.Content.Read(one[:]); n > 0 {
		return fmt.Errorf("%w: %q is longer than its size %d", ErrBadAttachment, f.Name, f.Size)
	}
	return nil
}

// dropFiles deletes files whose message was not stored (SendFiles
// failed). The store's error is logged: the next run of the upload
// worker drops such files too (dropOrphans).
func (c *Client) dropFiles(keys [][]byte) {
	err := c.st.Update(context.Background(), func(tx store.Tx) error {
		for _, k := range keys {
			if err := deleteFile(tx, k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		c.log.Warn("client: drop the files of a message not sent", "err", err)
	}
}

// evictOver evicts cached media until within the limit, sparing the
// files being transferred.
func (c *Client) evictOver(tx store.Tx) ([]EventTransfer, error) {
	limit, err := mediaLimit(tx)
	if err != nil {
		return nil, err
	}
	return c.evict(tx, limit, c.tr.busy)
}

// emitTransfers emits transfer events in order.
func (c *Client) emitTransfers(evs []EventTransfer) {
	for _, ev := range evs {
		c.emit(ev)
	}
}

// loadAttachment loads a message and checks that it has attachment index.
func (c *Client) loadAttachment(tx store.Tx, author wire.UserID, id wire.MessageID, index int) (*Message, error) {
	m, err := c.loadMessage(tx, author, id)
	if err != nil {
		return nil, err
	}
	if m == nil || index < 0 || index >= len(m.Attachments) {
		return nil, ErrNoSuchAttachment
	}
	return m, nil
}

// transferEvent is the event of m's attachment i as it now is.
func transferEvent(author wire.UserID, m *Message, i int, err error) EventTransfer {
	a := &m.Attachments[i]
	return EventTransfer{
		Author: author, Message: m.ID, Conversation: m.Conversation, Index: i,
		Transfer: a.Transfer, Done: a.Done, Size: a.Size, Err: err,
	}
}

// OpenAttachment reads an attachment that is on this device: one
// downloaded, or sent from here (also while it uploads); ErrNotOnDevice
// otherwise. Opening marks the chat's media as used (for eviction). The
// reader reads the store a chunk at a time; close it when done.
func (c *Client) OpenAttachment(ctx context.Context, author wire.UserID, msg wire.MessageID, index int) (io.ReadCloser, error) {
	k := fileKey(author, msg, index)
	var size int64
	err := c.st.Update(ctx, func(tx store.Tx) error {
		m, err := c.loadAttachment(tx, author, msg, index)
		if err != nil {
			return err
		}
		a := &m.Attachments[index]
		f, err := loadMediaFile(tx, k)
		if err != nil {
			return err
		}
		if f == nil || f.Stored < a.Size || a.Transfer == TransferDownloading {
			return ErrNotOnDevice
		}
		size = a.Size
		return c.noteUsed(tx, m.Conversation)
	})
	if err != nil {
		return nil, fmt.Errorf("open attachment: %w", err)
	}
	return newPlainReader(ctx, c.st, k, 0, size), nil
}

// Media lists a conversation's attachments, newest message first (the
// gallery); within a message, in order.
func (c *Client) Media(ctx context.Context, conv wire.ConversationID) ([]MediaItem, error) {
	var out []MediaItem
	err := c.st.View(ctx, func(tx store.Tx) error {
		out = out[:0]
		return tx.ScanBefore(bMessages, conv[:], nil, func(k, v []byte) error {
			if !hasAttachments(v) {
				return nil
			}
			m, err := parseMessage(v)
			if err != nil {
				return err
			}
			m.Seq = seqFromKey(k[len(conv):])
			for i := range m.Attachments {
				out = append(out, MediaItem{Message: *m, Index: i})
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	return out, nil
}

// hasAttachments reports, without decoding the rest, whether a message
// record has attachments (field 12).
func hasAttachments(v []byte) bool {
	found := false
	_ = decodeFields(v, func(f field) error {
		if f.num == 12 {
			found = true
			return errPageFull
		}
		return nil
	})
	return found
}

// MediaUsage says how many bytes of attachments this device keeps and
// its limit.
func (c *Client) MediaUsage(ctx context.Context) (used, limit int64, err error) {
	err = c.st.View(ctx, func(tx store.Tx) error {
		used = 0
		if limit, err = mediaLimit(tx); err != nil {
			return err
		}
		return tx.Scan(bMediaFiles, nil, func(_, v []byte) error {
			f, err := parseMediaFile(v)
			if err != nil {
				return err
			}
			used += f.Stored
			return nil
		})
	})
	if err != nil {
		return 0, 0, fmt.Errorf("media usage: %w", err)
	}
	return used, limit, nil
}

// SetMediaLimit changes how many bytes of attachments this device keeps
// (default DefaultMediaLimit, at least MinMediaLimit, else
// ErrMediaLimit) and clears cached media (received attachments, and sent
// ones the relay has, the chats used longest ago first) until within it.
// Outgoing files not yet uploaded are never cleared. A cleared
// attachment is TransferRemote again: Download fetches it while the
// relay keeps it.
func (c *Client) SetMediaLimit(ctx context.Context, limit int64) error {
	if limit < MinMediaLimit {
		return ErrMediaLimit
	}
	var evs []EventTransfer
	err := c.st.Update(ctx, func(tx store.Tx) (err error) {
		if err := tx.Put(bMediaConf, kMediaLimit, binaryUint64(uint64(limit))); err != nil {
			return err
		}
		evs, err = c.evict(tx, limit, c.tr.busy)
		return err
	})
	if err != nil {
		return fmt.Errorf("set media limit: %w", err)
	}
	c.emitTransfers(evs)
	return nil
}

// ClearMedia clears all cached media (as SetMediaLimit does to stay
// within its limit), except outgoing files not yet uploaded and files
// being transferred.
func (c *Client) ClearMedia(ctx context.Context) error {
	var evs []EventTransfer
	err := c.st.Update(ctx, func(tx store.Tx) (err error) {
		evs, err = c.evict(tx, 0, c.tr.busy)
		return err
	})
	if err != nil {
		return fmt.Errorf("clear media: %w", err)
	}
	c.emitTransfers(evs)
	return nil
}

// CancelTransfer pauses an upload or a download (TransferPaused), also a
// download waiting to start; RetryTransfer resumes it. An attachment
// that is not moving is left as it is.
func (c *Client) CancelTransfer(ctx context.Context, author wire.UserID, msg wire.MessageID, index int) error {
	k := fileKey(author, msg, index)
	if err := c.setTransfer(ctx, author, msg, index, func(tx store.Tx, a *Attachment) (bool, error) {
		if a.Transfer != TransferUploading && a.Transfer != TransferDownloading {
			return false, nil
		}
		a.Transfer = TransferPaused
		return true, tx.Delete(bDownloads, k)
	}); err != nil {
		return fmt.Errorf("cancel transfer: %w", err)
	}
	if err := c.tr.cancel(ctx, k); err != nil {
		return fmt.Errorf("cancel transfer: %w", err)
	}
	return nil
}

// RetryTransfer resumes a paused or failed upload or download, where it
// stopped, in the background (Run); progress arrives as EventTransfer.
// An attachment that is not paused or failed is left as it is.
func (c *Client) RetryTransfer(ctx context.Context, author wire.UserID, msg wire.MessageID, index int) error {
	k := fileKey(author, msg, index)
	up := false
	err := c.setTransfer(ctx, author, msg, index, func(tx store.Tx, a *Attachment) (bool, error) {
		if a.Transfer != TransferPaused && a.Transfer != TransferFailed {
			return false, nil
		}
		a.Failure = ""
		if up = !a.onRelay(); up {
			a.Transfer = TransferUploading
			return true, nil
		}
		a.Transfer = TransferDownloading
		return true, tx.Put(bDownloads, k, nil)
	})
	if err != nil {
		return fmt.Errorf("retry transfer: %w", err)
	}
	if up {
		c.pokeUploads()
	} else {
		c.pokeDownloads()
	}
	return nil
}

// setTransfer changes an attachment with fn in a transaction, and emits
// its EventTransfer if fn says it changed.
func (c *Client) setTransfer(ctx context.Context, author wire.UserID, id wire.MessageID, index int, fn func(tx store.Tx, a *Attachment) (bool, error)) error {
	var ev *EventTransfer
	err := c.st.Update(ctx, func(tx store.Tx) error {
		ev = nil
		m, err := c.loadAttachment(tx, author, id, index)
		if err != nil {
			return err
		}
		changed, err := fn(tx, &m.Attachments[index])
		if err != nil || !changed {
			return err
		}
		if err := c.putMessage(tx, m, m.State); err != nil {
			return err
		}
		e := transferEvent(author, m, index, nil)
		ev = &e
		return nil
	})
	if err == nil && ev != nil {
		c.emit(*ev)
	}
	return err
}
