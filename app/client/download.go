package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/crypto/attachment"
	"github.com/mutualcoop/mutual/relay/wire"
)

// A download streams the blob (GET) through crypto/attachment.Decrypt
// into the store, mediaBatch chunks a transaction, each with the
// attachment's progress. A cut one resumes from the last whole chunk
// stored: the blob up to there is made again from the stored plaintext
// (encryption is deterministic given the key and the blob's nonce, kept
// from the first try), so that Decrypt checks the whole blob's digest
// while only the rest comes from the relay (a Range request). A blob that
// fails its checks leaves nothing stored; one the relay no longer has is
// TransferExpired.

// Download fetches an attachment to this device (resuming a cut one),
// checking it; progress arrives as EventTransfer. Images and voice notes
// up to AutoDownloadSize are downloaded when they arrive (while Run
// runs). It returns nil once the attachment is TransferLocal (also when
// it already was), ErrAttachmentGone when the relay no longer has it,
// and an error wrapping crypto/attachment.ErrTampered for a blob that is
// not the one the message named. Download needs no Run: it talks HTTP
// to the relay itself.
func (c *Client) Download(ctx context.Context, author wire.UserID, msg wire.MessageID, index int) error {
	if _, err := c.registered(); err != nil {
		return err
	}
	if err := c.download(ctx, author, msg, index, true); err != nil {
		return fmt.Errorf("download: %w", err)
	}
	return nil
}

// download runs one attachment's download, or waits for the one already
// running and reports how it ended. A manual download (Download) that
// stops on an error that may pass (the network) leaves the attachment
// TransferFailed, for RetryTransfer; the downloader's stays queued and
// is tried again.
func (c *Client) download(ctx context.Context, author wire.UserID, id wire.MessageID, index int, manual bool) error {
	k := fileKey(author, id, index)
	for {
		tctx, at := c.tr.start(ctx, k)
		if tctx == nil {
			select {
			case <-at.done:
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		err := c.downloadOnce(tctx, author, id, index, true)
		switch {
		case err == nil:
		case ctx.Err() == nil && tctx.Err() != nil:
			err = context.Canceled // CancelTransfer
		case manual && ctx.Err() == nil && !errors.Is(err, ErrAttachmentGone) && !errors.Is(err, attachment.ErrTampered) &&
			!errors.Is(err, ErrNoSuchAttachment) && !errors.Is(err, ErrNotOnDevice):
			if ferr := c.failDownload(ctx, author, id, index, err); ferr != nil {
				c.log.Warn("client: record a failed download", "err", ferr)
			}
		}
		c.tr.stop(k, at)
		return err
	}
}

// downloadOnce downloads the attachment; again says whether a failed
// check of a resumed download may start over once from the blob's
// start.
func (c *Client) downloadOnce(ctx context.Context, author wire.UserID, id wire.MessageID, index int, again bool) error {
	k := fileKey(author, id, index)
	var a Attachment
	var stored int64
	var ev *EventTransfer
	err := c.st.Update(ctx, func(tx store.Tx) error {
		ev = nil
		m, err := c.loadAttachment(tx, author, id, index)
		if err != nil {
			return err
		}
		a = m.Attachments[index]
		switch {
		case a.Transfer == TransferLocal:
			return tx.Delete(bDownloads, k)
		case a.Transfer == TransferExpired:
			return ErrAttachmentGone
		case !a.onRelay():
			return ErrNotOnDevice // an outgoing file whose upload is not done
		}
		f, err := loadMediaFile(tx, k)
		if err != nil {
			return err
		}
		if f == nil {
			f = &mediaFile{Conversation: m.Conversation, At: unixMS(c.now())}
			if err := tx.Put(bMediaFiles, k, f.marshal()); err != nil {
				return err
			}
		}
		stored = f.Stored
		if stored%mediaChunk != 0 && stored < a.Size {
			stored = 0 // not a whole number of chunks: start over
		}
		if stored > 0 && len(a.nonce) != attachment.NonceSize {
			stored = 0
		}
		pa := &m.Attachments[index]
		pa.Transfer, pa.Done, pa.Failure = TransferDownloading, stored, ""
		if err := c.putMessage(tx, m, m.State); err != nil {
			return err
		}
		// Queued while it runs: after a crash the downloader finishes it.
		if err := tx.Put(bDownloads, k, nil); err != nil {
			return err
		}
		e := transferEvent(author, m, index, nil)
		ev = &e
		return nil
	})
	if err != nil || ev == nil {
		return err
	}
	c.emit(*ev)
	if stored >= a.Size {
		return c.downloaded(ctx, author, id, index)
	}
	err = c.fetch(ctx, k, &a, stored, func(done int64, nonce []byte, chunks [][]byte) error {
		return c.storeDownloaded(ctx, author, id, index, done, nonce, chunks)
	})
	switch {
	case err == nil:
		return c.downloaded(ctx, author, id, index)
	case errors.Is(err, attachment.ErrTampered) && stored > 0 && again:
		if err := c.dropDownload(ctx, author, id, index, 0, ""); err != nil {
			return err
		}
		return c.downloadOnce(ctx, author, id, index, false)
	case errors.Is(err, attachment.ErrTampered):
		if derr := c.dropDownload(ctx, author, id, index, TransferFailed, attachment.ErrTampered.Error()); derr != nil {
			return derr
		}
		return err
	case errors.Is(err, ErrAttachmentGone), errors.Is(err, errBlobUnknown):
		if derr := c.dropDownload(ctx, author, id, index, TransferExpired, ErrAttachmentGone.Error()); derr != nil {
			return derr
		}
		return ErrAttachmentGone
	}
	return err
}

// fetch streams a's blob from the relay through Decrypt, handing store
// the plaintext from stored on in batches: done is the plaintext stored
// after them, nonce the blob's.
func (c *Client) fetch(ctx context.Context, k []byte, a *Attachment, stored int64, store func(done int64, nonce []byte, chunks [][]byte) error) error {
	blobSize := attachment.BlobSize(a.Size)
	var from int64
	var prefix io.Reader
	if stored > 0 {
		from = attachment.NonceSize + stored/attachment.ChunkSize*(attachment.ChunkSize+attachment.TagSize)
		enc, err := attachment.Encrypt(a.key, a.nonce, a.Size, newPlainReader(ctx, c.st, k, 0, stored), 0)
		if err != nil {
			return err
		}
		prefix = io.LimitReader(enc, from)
	}
	body, err := c.getBlob(ctx, a.blob, from, blobSize)
	if err != nil {
		return err
	}
	defer body.Close()
	if stored == 0 {
		nr := &nonceReader{r: body}
		plain, err := attachment.Decrypt(a.key, a.Size, a.digest, nr)
		if err != nil {
			return err
		}
		return c.storePlain(plain, a.Size, 0, func(done int64, chunks [][]byte) error {
			return store(done, nr.nonce, chunks)
		})
	}
	plain, err := attachment.Decrypt(a.key, a.Size, a.digest, io.MultiReader(prefix, body))
	if err != nil {
		return err
	}
	if _, err := io.CopyN(io.Discard, plain, stored); err != nil {
		return err
	}
	return c.storePlain(plain, a.Size, stored, func(done int64, chunks [][]byte) error {
		return store(done, a.nonce, chunks)
	})
}

// storePlain reads plain from done to size, handing it to store in
// batches of mediaBatch chunks.
func (c *Client) storePlain(plain io.Reader, size, done int64, store func(done int64, chunks [][]byte) error) error {
	buf := make([]byte, mediaChunk*mediaBatch)
	for done < size {
		n, err := io.ReadFull(plain, buf[:min(int64(len(buf)), size-done)])
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
				return attachment.ErrTampered
			}
			return err
		}
		var chunks [][]byte
		for b := buf[:n]; len(b) > 0; {
			k := min(len(b), mediaChunk)
			chunks = append(chunks, b[:k])
			b = b[k:]
		}
		done += int64(n)
		if done == size {
			// The last bytes come only once the whole blob is checked;
			// make sure nothing follows.
			var one [1]byte
			if m, err := plain.Read(one[:]); m > 0 || (err != nil && !errors.Is(err, io.EOF)) {
				if err == nil {
					err = attachment.ErrTampered
				}
				return err
			}
		}
		if err := store(done, chunks); err != nil {
			return err
		}
	}
	return nil
}

// storeDownloaded stores a batch of a download's plaintext and its
// progress.
func (c *Client) storeDownloaded(ctx context.Context, author wire.UserID, id wire.MessageID, index int, done int64, nonce []byte, chunks [][]byte) error {
	k := fileKey(author, id, index)
	var ev EventTransfer
	err := c.st.Update(ctx, func(tx store.Tx) error {
		m, err := c.loadAttachment(tx, author, id, index)
		if err != nil {
			return err
		}
		f, err := loadMediaFile(tx, k)
		if err != nil {
			return err
		}
		if f == nil {
			return ErrNotOnDevice // cleared meanwhile
		}
		if err := putChunks(tx, k, f, chunks); err != nil {
			return err
		}
		if f.Stored != done {
			return fmt.Errorf("%w: stored %d bytes of a download, expected %d", errMalformed, f.Stored, done)
		}
		a := &m.Attachments[index]
		a.Done = done
		if len(nonce) == attachment.NonceSize {
			a.nonce = nonce
		}
		if err := c.putMessage(tx, m, m.State); err != nil {
			return err
		}
		ev = transferEvent(author, m, index, nil)
		return nil
	})
	if err != nil {
		return err
	}
	c.emit(ev)
	return nil
}

// downloaded records a download's end: the attachment is on the device;
// cached media beyond the limit is evicted.
func (c *Client) downloaded(ctx context.Context, author wire.UserID, id wire.MessageID, index int) error {
	k := fileKey(author, id, index)
	var evs []EventTransfer
	err := c.st.Update(ctx, func(tx store.Tx) error {
		evs = nil
		m, err := c.loadAttachment(tx, author, id, index)
		if err != nil {
			return err
		}
		a := &m.Attachments[index]
		a.Transfer, a.Done, a.Failure = TransferLocal, a.Size, ""
		if err := c.putMessage(tx, m, m.State); err != nil {
			return err
		}
		if err := tx.Delete(bDownloads, k); err != nil {
			return err
		}
		if err := c.noteUsed(tx, m.Conversation); err != nil {
			return err
		}
		evs = append(evs, transferEvent(author, m, index, nil))
		limit, err := mediaLimit(tx)
		if err != nil {
			return err
		}
		more, err := c.evict(tx, limit, func(f []byte) bool { return string(f) == string(k) || c.tr.busy(f) })
		evs = append(evs, more...)
		return err
	})
	if err != nil {
		return err
	}
	c.emitTransfers(evs)
	return nil
}

// dropDownload deletes what a download stored and sets the attachment to
// t (TransferRemote when t is 0), with why it failed.
func (c *Client) dropDownload(ctx context.Context, author wire.UserID, id wire.MessageID, index int, t Transfer, why string) error {
	k := fileKey(author, id, index)
	var ev EventTransfer
	err := c.st.Update(context.WithoutCancel(ctx), func(tx store.Tx) error {
		m, err := c.loadAttachment(tx, author, id, index)
		if err != nil {
			return err
		}
		if err := deleteFile(tx, k); err != nil {
			return err
		}
		if t != 0 {
			if err := tx.Delete(bDownloads, k); err != nil {
				return err
			}
		} else {
			t = TransferRemote
		}
		a := &m.Attachments[index]
		a.Transfer, a.Done, a.Failure, a.nonce = t, 0, why, nil
		if err := c.putMessage(tx, m, m.State); err != nil {
			return err
		}
		var everr error
		if why != "" {
			everr = errors.New(why)
		}
		ev = transferEvent(author, m, index, everr)
		return nil
	})
	if err != nil {
		return err
	}
	c.emit(ev)
	return nil
}

// failDownload records that a download stopped on an error that may pass
// (the network, the relay): what is stored stays, for RetryTransfer.
func (c *Client) failDownload(ctx context.Context, author wire.UserID, id wire.MessageID, index int, cause error) error {
	return c.setTransfer(context.WithoutCancel(ctx), author, id, index, func(tx store.Tx, a *Attachment) (bool, error) {
		if a.Transfer != TransferDownloading {
			return false, nil
		}
		a.Transfer, a.Failure = TransferFailed, truncate(cause.Error(), maxFailure)
		return true, tx.Delete(bDownloads, fileKey(author, id, index))
	})
}

// nonceReader keeps the first attachment.NonceSize bytes read through it.
type nonceReader struct {
	r     io.Reader
	nonce []byte
}

func (n *nonceReader) Read(p []byte) (int, error) {
	k, err := n.r.Read(p)
	if need := attachment.NonceSize - len(n.nonce); need > 0 && k > 0 {
		n.nonce = append(n.nonce, p[:min(need, k)]...)
	}
	return k, err
}

// downloader is the background worker of downloads (one per connection):
// it runs those queued (automatic ones, RetryTransfer) one at a time,
// oldest first, and tries one that failed on the network again after a
// backoff. It returns when ctx ends.
func (c *Client) downloader(ctx context.Context) error {
	_, wake := c.tr.wakes()
	failures := 0
	for {
		next, err := c.nextDownload(ctx)
		if err == nil && next != nil {
			author, id, index, _ := parseFileKey(next)
			err = c.download(ctx, author, id, index, false)
			switch {
			case err == nil, errors.Is(err, ErrAttachmentGone), errors.Is(err, attachment.ErrTampered),
				errors.Is(err, ErrNoSuchAttachment), errors.Is(err, ErrNotOnDevice):
				failures = 0
				err = c.unqueue(ctx, next)
			case errors.Is(err, context.Canceled) && ctx.Err() == nil:
				failures, err = 0, nil // paused
			}
			if err == nil {
				continue
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		delay := time.Duration(0)
		if err != nil {
			c.log.Debug("client: download failed", "err", err)
			failures++
			delay = transferBackoff(failures)
		}
		if !c.sleep(ctx, wake, delay) {
			return nil
		}
	}
}

// nextDownload returns the oldest queued download, nil if none.
func (c *Client) nextDownload(ctx context.Context) ([]byte, error) {
	var next []byte
	err := c.st.View(ctx, func(tx store.Tx) error {
		next = nil
		return tx.Scan(bDownloads, nil, func(k, _ []byte) error {
			if _, _, _, ok := parseFileKey(k); ok && !c.tr.busy(k) {
				next = append([]byte(nil), k...)
				return errPageFull
			}
			return nil
		})
	})
	if errors.Is(err, errPageFull) {
		err = nil
	}
	return next, err
}

func (c *Client) unqueue(ctx context.Context, k []byte) error {
	return c.st.Update(ctx, func(tx store.Tx) error { return tx.Delete(bDownloads, k) })
}

// transferBackoff is the wait after n failed tries in a row: a second,
// doubling up to a minute.
func transferBackoff(n int) time.Duration {
	d := time.Second
	for i := 1; i < n && d < time.Minute; i++ {
		d *= 2
	}
	return min(d, time.Minute)
}

// sleep waits for a wake-up, delay (0: no time limit) or the end of ctx;
// false when ctx ended.
func (c *Client) sleep(ctx context.Context, wake <-chan struct{}, delay time.Duration) bool {
	var t <-chan time.Time
	if delay > 0 {
		timer := time.NewTimer(delay)
		defer timer.Stop()
		t = timer.C
	}
	select {
	case <-wake:
	case <-t:
	case <-ctx.Done():
		return false
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// receiveAttachments queues the automatic downloads of a message being
// received (before it is stored): images and voice notes up to
// AutoDownloadSize, when auto (from a contact, or from this account) says
// so. The others stay TransferRemote until Download.
func (c *Client) receiveAttachments(ts *txState, author wire.UserID, m *Message, auto bool, r *received) error {
	if !auto {
		return nil
	}
	for i := range m.Attachments {
		a := &m.Attachments[i]
		if (!a.Image() && !a.Voice) || a.Size > AutoDownloadSize {
			continue
		}
		if err := ts.tx.Put(bDownloads, fileKey(author, m.ID, i), nil); err != nil {
			return err
		}
		a.Transfer = TransferDownloading
		r.downloads = true
	}
	return nil
}
