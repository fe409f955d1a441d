package client

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/crypto/attachment"
	"github.com/mutualcoop/mutual/relay/wire"
)

// An outgoing message with attachments waits in the uploads bucket (not
// in the outbox) while its files upload; the upload worker (uploader,
// run by Run on each connection) takes the messages in order, and each
// file in turn:
//
//  1. Upload (a WebSocket frame) with the blob's size gives the blob's
//     ID and a token for its HTTP requests; an expired token is renewed
//     with Upload naming the blob.
//  2. HEAD says how much of the blob the relay has.
//  3. The blob is made again from the stored plaintext
//     (crypto/attachment.Encrypt, deterministic given the key and nonce
//     SendFiles drew): the part the relay has only feeds the digest, the
//     rest goes in PATCH requests of patchSize bytes, each recorded as
//     progress once the relay took it.
//  4. At the end the digest is known and the attachment is uploaded.
//
// A cut request or a failed one is tried again from step 2 after a
// backoff; without a connection nothing moves until there is one again.
// The relay refusing the file (too_large, quota_exceeded) fails the
// attachment (TransferFailed) until RetryTransfer; CancelTransfer pauses
// it. When every file of a message is uploaded the message goes into the
// outbox, as Send's and SendGroup's do, and the outbox sends it.

// transientError marks an upload error worth trying again after a backoff
// (the network, the relay busy).
type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

// uploader is the background worker of uploads, one per connection. It
// returns when ctx ends; what fails is retried after a backoff.
func (c *Client) uploader(ctx context.Context, conn *transport.Conn) error {
	up, _ := c.tr.wakes()
	if err := c.dropOrphans(ctx); err != nil && ctx.Err() == nil {
		c.emit(Failure{Err: err})
	}
	failures := 0
	for {
		err := c.runUploads(ctx, conn)
		if ctx.Err() != nil {
			return nil
		}
		delay := time.Duration(0)
		if err != nil {
			failures++
			delay = transferBackoff(failures)
			var te *transientError
			if !errors.As(err, &te) {
				c.emit(Failure{Err: err})
			}
			c.log.Debug("client: upload failed", "err", err, "retry_in", delay)
		} else {
			failures = 0
		}
		if !c.sleep(ctx, up, delay) {
			return nil
		}
	}
}

// runUploads goes through the messages waiting for uploads, oldest first,
// and stops at the first error that is not the attachment's own.
func (c *Client) runUploads(ctx context.Context, conn *transport.Conn) error {
	var ids []wire.MessageID
	err := c.st.View(ctx, func(tx store.Tx) error {
		ids = ids[:0]
		return tx.Scan(bUploads, nil, func(k, _ []byte) error {
			var id wire.MessageID
			if len(k) == len(id) {
				copy(id[:], k)
				ids = append(ids, id)
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("load uploads: %w", err)
	}
	me := c.me()
	for _, id := range ids {
		var m *Message
		err := c.st.View(ctx, func(tx store.Tx) (err error) {
			m, err = c.loadMessage(tx, me.User, id)
			return err
		})
		if err != nil {
			return err
		}
		if m == nil {
			if err := c.st.Update(ctx, func(tx store.Tx) error { return tx.Delete(bUploads, id[:]) }); err != nil {
				return err
			}
			continue
		}
		for i := range m.Attachments {
			if m.Attachments[i].Transfer != TransferUploading {
				continue
			}
			if err := c.uploadOne(ctx, conn, id, i); err != nil {
				return err
			}
		}
		if err := c.sendUploaded(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// uploadOne uploads one attachment of an outgoing message. An error the
// relay gives for the file itself fails the attachment and is not
// returned; a cancelled upload (CancelTransfer) returns nil.
func (c *Client) uploadOne(ctx context.Context, conn *transport.Conn, id wire.MessageID, index int) error {
	me := c.me()
	k := fileKey(me.User, id, index)
	tctx, at := c.tr.start(ctx, k)
	if tctx == nil {
		return nil
	}
	err := c.upload(tctx, conn, id, index)
	paused := ctx.Err() == nil && tctx.Err() != nil
	c.tr.stop(k, at)
	switch {
	case err == nil:
		return nil
	case paused:
		return nil // by CancelTransfer
	case errors.Is(err, ErrNoSuchAttachment):
		return nil // the message was deleted
	}
	var we *wire.Error
	var why string
	switch {
	case errors.As(err, &we) && we.Code == wire.CodeTooLarge, errors.Is(err, errBlobTooLarge):
		why = ErrAttachmentTooLarge.Error()
	case errors.As(err, &we) && we.Code == wire.CodeQuotaExceeded:
		why = "the relay takes no more files from this account today; try again later"
	case errors.Is(err, ErrNotOnDevice):
		why = "the file is no longer on this device"
	default:
		return err
	}
	return c.setTransfer(ctx, me.User, id, index, func(tx store.Tx, a *Attachment) (bool, error) {
		if a.Transfer != TransferUploading {
			return false, nil
		}
		a.Transfer, a.Failure = TransferFailed, why
		return true, nil
	})
}

// upload moves one attachment's blob to the relay (steps 1 to 4 above).
func (c *Client) upload(ctx context.Context, conn *transport.Conn, id wire.MessageID, index int) error {
	me := c.me()
	k := fileKey(me.User, id, index)
	a, err := c.outgoing(ctx, id, index)
	if err != nil {
		return err
	}
	blobSize := attachment.BlobSize(a.Size)
	if a.blob.IsZero() || c.now().Add(time.Minute).UnixMilli() > a.tokenExp {
		if a, err = c.grant(ctx, conn, id, index, a.blob); err != nil {
			return err
		}
	}
	off, err := c.headBlob(ctx, a.blob, a.token)
	switch {
	case errors.Is(err, errBlobToken):
		if a, err = c.grant(ctx, conn, id, index, a.blob); err == nil {
			off, err = c.headBlob(ctx, a.blob, a.token)
		}
	case errors.Is(err, errBlobUnknown):
		// The relay no longer has the upload (unfinished for too long):
		// start again with a new blob.
		if a, err = c.grant(ctx, conn, id, index, wire.BlobID{}); err == nil {
			off, err = c.headBlob(ctx, a.blob, a.token)
		}
	}
	if err != nil {
		return &transientError{fmt.Errorf("upload offset: %w", err)}
	}
	if off > blobSize {
		return fmt.Errorf("the relay has %d bytes of a blob of %d", off, blobSize)
	}
	enc, err := attachment.Encrypt(a.key, a.nonce, a.Size, newPlainReader(ctx, c.st, k, 0, a.Size), 0)
	if err != nil {
		return err
	}
	h := attachment.Digest()
	if _, err := io.CopyN(h, enc, off); err != nil {
		return fmt.Errorf("encrypt the file again: %w", err)
	}
	buf := make([]byte, min(patchSize, blobSize))
	for off < blobSize {
		n := min(int64(len(buf)), blobSize-off)
		if _, err := io.ReadFull(enc, buf[:n]); err != nil {
			return fmt.Errorf("encrypt the file: %w", err)
		}
		h.Write(buf[:n])
		next, err := c.patchBlob(ctx, a.blob, a.token, off, buf[:n])
		if err == nil && next != off+n {
			err = fmt.Errorf("the relay took the upload to %d, not %d", next, off+n)
		}
		if err != nil {
			if errors.Is(err, errBlobTooLarge) {
				return err
			}
			return &transientError{fmt.Errorf("upload: %w", err)}
		}
		off = next
		if off < blobSize {
			if err := c.uploadProgress(ctx, id, index, min(a.Size, attachment.PlainOffset(off))); err != nil {
				return err
			}
		}
	}
	return c.uploaded(ctx, id, index, h)
}

// outgoing loads an attachment of an outgoing message.
func (c *Client) outgoing(ctx context.Context, id wire.MessageID, index int) (Attachment, error) {
	var a Attachment
	err := c.st.View(ctx, func(tx store.Tx) error {
		m, err := c.loadAttachment(tx, c.me().User, id, index)
		if err != nil {
			return err
		}
		a = m.Attachments[index]
		return nil
	})
	return a, err
}

// grant asks the relay for an upload of the attachment's blob (blob
// zero: a new one) and stores the blob's ID and token.
func (c *Client) grant(ctx context.Context, conn *transport.Conn, id wire.MessageID, index int, blob wire.BlobID) (Attachment, error) {
	a, err := c.outgoing(ctx, id, index)
	if err != nil {
		return a, err
	}
	size := uint64(attachment.BlobSize(a.Size))
	reply, err := conn.Request(ctx, &wire.Upload{Size: size, Blob: blob})
	var we *wire.Error
	if errors.As(err, &we) && we.Code == wire.CodeNotFound && !blob.IsZero() {
		reply, err = conn.Request(ctx, &wire.Upload{Size: size})
	}
	if err != nil {
		if errors.As(err, &we) && (we.Code == wire.CodeTooLarge || we.Code == wire.CodeQuotaExceeded) {
			return a, err
		}
		return a, &transientError{fmt.Errorf("ask to upload: %w", err)}
	}
	g, ok := reply.(*wire.UploadGrant)
	if !ok || g.Size != size {
		return a, fmt.Errorf("ask to upload: unexpected answer %T", reply)
	}
	err = c.st.Update(ctx, func(tx store.Tx) error {
		m, err := c.loadAttachment(tx, c.me().User, id, index)
		if err != nil {
			return err
		}
		p := &m.Attachments[index]
		p.blob, p.token, p.tokenExp = g.Blob, g.Token, g.ExpiresMS
		a = *p
		return c.putMessage(tx, m, m.State)
	})
	return a, err
}

// uploadProgress records how much of an attachment's plaintext the relay
// has.
func (c *Client) uploadProgress(ctx context.Context, id wire.MessageID, index int, done int64) error {
	return c.setTransfer(ctx, c.me().User, id, index, func(_ store.Tx, a *Attachment) (bool, error) {
		if a.Transfer != TransferUploading || a.Done == done {
			return false, nil
		}
		a.Done = done
		return true, nil
	})
}

// uploaded records the end of an upload: the blob's digest, the
// attachment on the device (TransferLocal) and its file no longer pinned.
func (c *Client) uploaded(ctx context.Context, id wire.MessageID, index int, h hash.Hash) error {
	k := fileKey(c.me().User, id, index)
	digest := h.Sum(nil)
	return c.setTransfer(ctx, c.me().User, id, index, func(tx store.Tx, a *Attachment) (bool, error) {
		a.digest, a.token, a.tokenExp = digest, nil, 0
		a.Transfer, a.Done, a.Failure = TransferLocal, a.Size, ""
		f, err := loadMediaFile(tx, k)
		if f == nil || err != nil {
			return true, err
		}
		f.Pinned = false
		return true, tx.Put(bMediaFiles, k, f.marshal())
	})
}

// sendUploaded puts a message whose attachments are all uploaded into the
// outbox, as Send or SendGroup would have, and wakes the outbox. A
// message whose contact can no longer be written to (blocked, removed)
// or whose group this account left fails, as it would in the outbox.
func (c *Client) sendUploaded(ctx context.Context, id wire.MessageID) error {
	me := c.me()
	var changed *Message
	queued := false
	err := c.update(ctx, func(ts *txState) error {
		changed, queued = nil, false
		m, err := c.loadMessage(ts.tx, me.User, id)
		if err != nil {
			return err
		}
		if _, err := ts.tx.Get(bUploads, id[:]); errors.Is(err, store.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if m != nil {
			for i := range m.Attachments {
				if !m.Attachments[i].onRelay() {
					return nil // still uploading (or paused, or failed)
				}
			}
		}
		if err := ts.tx.Delete(bUploads, id[:]); err != nil {
			return err
		}
		if m == nil || !unsent(m.State) {
			return nil
		}
		queued, err = c.queueAttachments(ts, m)
		if err != nil || queued {
			return err
		}
		was := m.State
		m.State, m.Failure = StateFailed, wire.CodeNotAccepted
		changed = m
		return c.putMessage(ts.tx, m, was)
	})
	if err != nil {
		return fmt.Errorf("send a message whose files are uploaded: %w", err)
	}
	if changed != nil {
		c.emit(MessageStateChanged{Message: *changed})
	}
	if queued {
		c.poke()
	}
	return nil
}

// queueAttachments puts m (its caption and its attachments' pointers)
// into the outbox to its contact or its group, and reports false if it
// can no longer go there.
func (c *Client) queueAttachments(ts *txState, m *Message) (bool, error) {
	t := &content{Kind: kindText, Text: m.Text, SentAt: unixMS(m.SentAt), Attachments: m.Attachments}
	if !m.Author.IsZero() {
		_, err := c.joinedGroup(ts.tx, m.Conversation)
		if errors.Is(err, ErrNoSuchGroup) || errors.Is(err, ErrNotMember) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		_, err = c.newGroupEntry(ts.tx, m.ID, m.Conversation, wire.UserID{}, t, false)
		return err == nil, err
	}
	ct, err := getContact(ts.tx, c.me().User, m.Peer)
	if err != nil {
		return false, err
	}
	if canSend(ct) != nil {
		return false, nil
	}
	return true, c.enqueueID(ts.tx, m.ID, m.Peer, t)
}

// resendFiles queues a failed message with attachments again (Retry),
// whose record the caller then stores: into the outbox if its files are
// uploaded, else back to the uploads (uploading reports it), its failed
// or paused uploads tried again.
func (c *Client) resendFiles(ts *txState, m *Message) (uploading bool, err error) {
	for i := range m.Attachments {
		if !m.Attachments[i].onRelay() {
			for j := range m.Attachments {
				if a := &m.Attachments[j]; !a.onRelay() {
					a.Transfer, a.Failure = TransferUploading, ""
				}
			}
			return true, ts.tx.Put(bUploads, m.ID[:], nil)
		}
	}
	ok, err := c.queueAttachments(ts, m)
	if err == nil && !ok {
		err = ErrNotContact
	}
	return false, err
}

// countUploads adds to n the messages waiting for uploads that are
// moving (none of their files paused or failed): Unsent counts them.
func (c *Client) countUploads(tx store.Tx, n *int) error {
	var ids []wire.MessageID
	err := tx.Scan(bUploads, nil, func(k, _ []byte) error {
		var id wire.MessageID
		if len(k) == len(id) {
			copy(id[:], k)
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, id := range ids {
		m, err := c.loadMessage(tx, c.me().User, id)
		if m == nil || err != nil {
			return err
		}
		moving := true
		for i := range m.Attachments {
			if t := m.Attachments[i].Transfer; t == TransferPaused || t == TransferFailed {
				moving = false
			}
		}
		if moving {
			*n++
		}
	}
	return nil
}

// dropOrphans deletes the files of messages that were never stored
// (SendFiles stopped by a crash), and the uploads of messages gone.
func (c *Client) dropOrphans(ctx context.Context) error {
	var orphans [][]byte
	err := c.st.View(ctx, func(tx store.Tx) error {
		orphans = orphans[:0]
		return tx.Scan(bMediaFiles, nil, func(k, _ []byte) error {
			author, id, _, ok := parseFileKey(k)
			if !ok || c.tr.busy(k) {
				return nil
			}
			kk := authoredKey(author, id)
			if _, err := tx.Get(bMsgIndex, kk); errors.Is(err, store.ErrNotFound) {
				orphans = append(orphans, append([]byte(nil), k...))
			} else if err != nil {
				return err
			}
			return nil
		})
	})
	if err != nil || len(orphans) == 0 {
		return err
	}
	return c.st.Update(ctx, func(tx store.Tx) error {
		for _, k := range orphans {
			author, id, _, _ := parseFileKey(k)
			if _, err := tx.Get(bMsgIndex, authoredKey(author, id)); err == nil || c.tr.busy(k) {
				continue
			}
			if err := deleteFile(tx, k); err != nil {
				return err
			}
		}
		return nil
	})
}
