package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/internal/pb"
	"github.com/mutualcoop/mutual/relay/wire"
)

// ReadHistory reads an archive in two steps, so that nothing of one that
// turns out malformed reaches the device's data:
//
//  1. Staging: each record is decoded and checked (limits, references:
//     a message names a conversation the archive listed, a file is whole
//     and its message's size) as it arrives, and kept in the historyin
//     bucket, keyed so that the records sort into the order they are
//     applied in: the profile, contacts, names, groups and chats as they
//     came, then the files, then the messages by conversation and Seq.
//     The end record must match what came. On any error the staging area
//     is cleared and nothing else was written.
//  2. Applying: the staged records are merged into the store in
//     transactions of at most historyBatch records (mediaBatch chunks of
//     files), each deleting what it applied from the staging area.
//
// Merging makes importing twice the same as once, and keeps what the
// device has: the profile name, a contact's profile name and a group's
// state go by which is newer (a contact's verified address, nickname and
// acceptance fill what the device lacks, its state stays the device's,
// which the relay's list keeps true); messages go by author and ID, one
// the device has only moving on to a later state (and taking a file it
// lacks). A new message keeps its Seq when its conversation was empty
// here: the conversation's summary reserves the archive's Seqs in the
// first step of applying, so that messages arriving meanwhile go after
// them. In a conversation the device already had messages in, new ones
// from the archive go after those, in the archive's order. Summaries are
// kept as every message stored keeps them (unread counts, the newest
// message). A file comes in as this device's own copy (TransferLocal),
// kept within the media limit like a downloaded one.

// bHistoryIn is the staging area of ReadHistory: 'a' || record number
// (8) → a profile, contact, name, group or chat record (HistoryRecord);
// 'f' || file (33) || chunk (4) → up to mediaChunk bytes of a file;
// 'm' || conversation (16) || Seq (8) → a message record.
var bHistoryIn = []byte("historyin")

// historyBatch is how many records one transaction applies.
const historyBatch = 500

// ReadHistory merges an archive WriteHistory wrote on a device of this
// account into this device's store (see above); it refuses one of
// another account (ErrHistoryOtherAccount) or one that is malformed
// (ErrHistoryMalformed), writing nothing of it. progress (if not nil) is
// called as records are read and again as they are stored: Total is
// twice the archive's records. It returns what the archive held. Read
// the store again afterwards (Chats, Groups, Contacts).
func (c *Client) ReadHistory(ctx context.Context, r io.Reader, progress func(Progress)) (HistoryStats, error) {
	me, err := c.registered()
	if err != nil {
		return HistoryStats{}, err
	}
	c.historyMu.Lock()
	defer c.historyMu.Unlock()
	if err := c.clearHistoryStage(ctx); err != nil {
		return HistoryStats{}, fmt.Errorf("read history: %w", err)
	}
	s := &historyStage{c: c, me: me, progress: progress, chats: map[wire.ConversationID]*stagedChat{}, files: map[string]int64{}}
	err = s.read(ctx, r)
	if err == nil {
		err = c.applyHistory(ctx, s)
	}
	if err != nil {
		if cerr := c.clearHistoryStage(context.WithoutCancel(ctx)); cerr != nil {
			c.log.Warn("client: clear the history staging area", "err", cerr)
		}
		return HistoryStats{}, fmt.Errorf("read history: %w", err)
	}
	return s.got, nil
}

// stagedChat is what staging notes of a conversation.
type stagedChat struct {
	rec  historyChat
	last uint64 // the archive's highest Seq in it
	// after: the device had messages in it; the archive's go after them.
	after bool
}

// historyStage reads and stages an archive, then applies it.
type historyStage struct {
	c        *Client
	me       *self
	progress func(Progress)

	head    *historyHeader
	got     HistoryStats
	records int64 // read after the header
	applied int64
	nameN   int
	profile bool
	n       uint64 // the next 'a' number
	chats   map[wire.ConversationID]*stagedChat
	files   map[string]int64 // bytes staged, by file

	batch      []stagedKV
	batchBytes int

	// Applying: the files this import created (true once a message
	// took them), and those the device had already.
	created map[string]bool
	had     map[string]bool
}

type stagedKV struct {
	k, v []byte
	msg  bool // check that no message has the key yet
}

// malformed wraps a reason as ErrHistoryMalformed.
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrHistoryMalformed, fmt.Sprintf(format, args...))
}

// read stages the whole archive.
func (s *historyStage) read(ctx context.Context, r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	magic := make([]byte, len(historyMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != historyMagic {
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return err
		}
		return malformed("not a history archive")
	}
	buf := make([]byte, 0, 64<<10)
	for {
		num, body, err := nextHistoryRecord(br, &buf)
		if err != nil {
			return err
		}
		if s.head == nil {
			if num != hHeader {
				return malformed("no header")
			}
			h, err := parseHistoryHeader(body)
			if err != nil {
				return malformed("header: %v", err)
			}
			if h.User != s.me.User {
				return ErrHistoryOtherAccount
			}
			s.head = h
			continue
		}
		s.records++
		if err := s.stage(ctx, num, body); err != nil {
			return err
		}
		if s.progress != nil {
			s.progress(Progress{Done: s.records, Total: s.total()})
		}
		if num == hEnd {
			if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
				if err != nil {
					return err
				}
				return malformed("data after the end")
			}
			return s.flush(ctx)
		}
	}
}

// total is the progress's Total: every record read, then stored.
func (s *historyStage) total() int64 { return 2 * max(s.head.Records, s.records) }

// nextHistoryRecord reads one record: its one field's number and body.
func nextHistoryRecord(br *bufio.Reader, buf *[]byte) (pb.Number, []byte, error) {
	var n uint64
	for i := 0; ; i++ {
		b, err := br.ReadByte()
		if errors.Is(err, io.EOF) {
			return 0, nil, malformed("the archive ends without its end record")
		}
		if err != nil {
			return 0, nil, err
		}
		if i == 3 { // maxHistoryRecord takes three bytes
			return 0, nil, malformed("a record's length over %d", maxHistoryRecord)
		}
		n |= uint64(b&0x7f) << (7 * i)
		if b < 0x80 {
			break
		}
	}
	if n == 0 || n > maxHistoryRecord {
		return 0, nil, malformed("a record of %d bytes", n)
	}
	b := slices.Grow((*buf)[:0], int(n))[:n]
	*buf = b
	if _, err := io.ReadFull(br, b); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, nil, malformed("a record cut short")
		}
		return 0, nil, err
	}
	f, used, err := pb.Next(b)
	if err != nil {
		return 0, nil, malformed("record: %v", err)
	}
	body, err := f.ByteSlice()
	if err != nil || used != len(b) || f.Num < hHeader || f.Num > hEnd {
		return 0, nil, malformed("a record that is not one of the archive's")
	}
	return f.Num, body, nil
}

// stage checks one record and queues it for the staging area.
func (s *historyStage) stage(ctx context.Context, num pb.Number, b []byte) error {
	me := s.me.User
	switch num {
	case hHeader:
		return malformed("a second header")
	case hProfile:
		var p historyProfile
		err := decodeRecord(b, func(f field) (err error) {
			switch f.num {
			case 1:
				p.Name, err = f.string(MaxProfileName)
			case 2:
				p.At, err = f.sint64()
			}
			return err
		})
		if err == nil {
			err = checkProfileName(p.Name)
		}
		if err != nil {
			return malformed("profile: %v", err)
		}
		if s.profile {
			return malformed("a second profile")
		}
		s.profile = true
	case hContact:
		ct, err := parseContact(b, me)
		switch {
		case err != nil:
			return malformed("%v", err)
		case ct.User.IsZero() || ct.User == me:
			return malformed("a contact without a user, or this account")
		case ct.State < ContactAllowed || ct.State > ContactRequest:
			return malformed("a contact in state %d", ct.State)
		case s.got.Contacts == maxHistoryContacts:
			return malformed("more than %d contacts", maxHistoryContacts)
		}
		s.got.Contacts++
	case hName:
		var n historyName
		err := decodeRecord(b, func(f field) (err error) {
			switch f.num {
			case 1:
				err = f.id((*[16]byte)(&n.User))
			case 2:
				n.Name, err = f.string(MaxProfileName)
			case 3:
				n.At, err = f.sint64()
			}
			return err
		})
		if err == nil {
			err = checkProfileName(n.Name)
		}
		if err != nil {
			return malformed("member name: %v", err)
		}
		if n.User.IsZero() || s.nameN == maxHistoryNames {
			return malformed("a member name without a user, or over %d", maxHistoryNames)
		}
		s.nameN++
	case hGroup:
		g, err := parseGroupRecord(b)
		switch {
		case err != nil:
			return malformed("%v", err)
		case g.Status < GroupInvited || g.Status > GroupRemoved:
			return malformed("a group in status %d", g.Status)
		case s.got.Groups == maxHistoryGroups:
			return malformed("more than %d groups", maxHistoryGroups)
		}
		s.got.Groups++
	case hChat:
		return s.stageChat(ctx, b)
	case hMessage:
		return s.stageMessage(ctx, b)
	case hMedia:
		return s.stageMedia(ctx, b)
	case hEnd:
		end, err := parseHistoryHeader(b)
		switch {
		case err != nil:
			return malformed("end: %v", err)
		case end.User != me || end.Stats != s.got || end.Records != s.records:
			return malformed("the end record does not match the archive")
		}
		return nil
	}
	return s.put(ctx, stagedKV{k: binary.BigEndian.AppendUint64([]byte{'a'}, s.next()), v: pb.AppendBytes(nil, num, b)})
}

func (s *historyStage) next() uint64 { s.n++; return s.n }

func (s *historyStage) stageChat(ctx context.Context, b []byte) error {
	var h historyChat
	err := decodeRecord(b, func(f field) (err error) {
		switch f.num {
		case 1:
			err = f.id((*[16]byte)(&h.Conversation))
		case 2:
			err = f.id((*[16]byte)(&h.User))
		case 3:
			h.Group, err = f.bool()
		case 4:
			h.Coop, err = f.bool()
		}
		return err
	})
	me := s.me.User
	switch {
	case err != nil:
		return malformed("chat: %v", err)
	case h.Conversation == wire.ConversationID{}:
		return malformed("a chat without a conversation")
	case h.Coop && (h.Group || h.Conversation != wire.CoopConversation || !h.User.IsZero()):
		return malformed("a co-op chat that is not the co-op's")
	case h.Group && (!h.User.IsZero() || h.Conversation == wire.CoopConversation):
		return malformed("a group chat with a user")
	case !h.Group && !h.Coop && (h.User.IsZero() || h.User == me || h.Conversation != DirectConversation(me, h.User)):
		return malformed("a chat that is not with its user")
	case s.chats[h.Conversation] != nil:
		return malformed("a chat listed twice")
	case len(s.chats) == maxHistoryChats:
		return malformed("more than %d chats", maxHistoryChats)
	}
	s.chats[h.Conversation] = &stagedChat{rec: h}
	s.got.Chats++
	return s.put(ctx, stagedKV{k: binary.BigEndian.AppendUint64([]byte{'a'}, s.next()), v: pb.AppendBytes(nil, hChat, b)})
}

func (s *historyStage) stageMessage(ctx context.Context, b []byte) error {
	var seq uint64
	var m *Message
	err := decodeRecord(b, func(f field) (err error) {
		switch f.num {
		case 1:
			seq, err = f.uint64()
		case 2:
			if err = f.wantBytes(); err == nil {
				m, err = parseMessage(f.b)
			}
		}
		return err
	})
	if err == nil && m == nil {
		err = errors.New("no message")
	}
	if err != nil {
		return malformed("message: %v", err)
	}
	ch := s.chats[m.Conversation]
	if ch == nil {
		return malformed("a message of a conversation the archive does not list")
	}
	if err := checkHistoryMessage(m, seq, s.me.User, &ch.rec); err != nil {
		return malformed("message %s: %v", m.ID, err)
	}
	author := messageAuthor(m, s.me.User)
	for i := range m.Attachments {
		file := fileKey(author, m.ID, i)
		if n, ok := s.files[string(file)]; ok && n != m.Attachments[i].Size {
			return malformed("message %s: a file of %d bytes for an attachment of %d", m.ID, n, m.Attachments[i].Size)
		}
		s.got.Attachments++
	}
	ch.last = max(ch.last, seq)
	s.got.Messages++
	k := binary.BigEndian.AppendUint64(append([]byte{'m'}, m.Conversation[:]...), seq)
	inner, _ := historyMessageBody(b)
	return s.put(ctx, stagedKV{k: k, v: inner, msg: true})
}

// historyMessageBody returns the message record of a Message record.
func historyMessageBody(b []byte) ([]byte, error) {
	var body []byte
	err := decodeFields(b, func(f field) error {
		if f.num == 2 {
			body = bytes.Clone(f.b)
		}
		return nil
	})
	return body, err
}

// checkHistoryMessage checks a message of the archive against its
// conversation and the limits a received one has.
func checkHistoryMessage(m *Message, seq uint64, me wire.UserID, ch *historyChat) error {
	switch {
	case seq == 0 || seq > 1<<48:
		return fmt.Errorf("Seq %d", seq)
	case m.ID == wire.MessageID{}:
		return errors.New("no ID")
	case m.Outgoing && unsent(m.State):
		return errors.New("an outgoing message not yet sent")
	case m.Outgoing && rank(m.State) < 2:
		return fmt.Errorf("outgoing in state %d", m.State)
	case !m.Outgoing && m.State != StateReceived && m.State != StateRead:
		return fmt.Errorf("incoming in state %d", m.State)
	case len(m.Attachments) > MaxAttachments:
		return ErrTooManyAttachments
	}
	switch {
	case ch.Coop:
		if m.Coop == nil || m.Outgoing || !m.Author.IsZero() || !m.Peer.IsZero() || m.Event != nil {
			return errors.New("not a co-op notice")
		}
	case ch.Group:
		if m.Author.IsZero() || (m.Outgoing && m.Author != me) || m.Coop != nil {
			return errors.New("not a group's message")
		}
	default:
		if !m.Author.IsZero() || m.Peer != ch.User || m.Event != nil || m.Coop != nil {
			return errors.New("not a message of its conversation")
		}
	}
	for i := range m.Attachments {
		a := &m.Attachments[i]
		switch a.Transfer {
		case TransferRemote:
			if _, err := parsePointer(a.marshalPointer()); err != nil {
				return err
			}
		case TransferExpired:
			if a.Size < 0 || a.Size > MaxAttachmentSize {
				return fmt.Errorf("an attachment of %d bytes", a.Size)
			}
			if err := checkType(a.Type); err != nil {
				return err
			}
			if err := checkName(a.Name); err != nil {
				return err
			}
		default:
			return fmt.Errorf("an attachment %s", a.Transfer)
		}
	}
	return nil
}

func (s *historyStage) stageMedia(ctx context.Context, b []byte) error {
	var m historyMedia
	err := decodeRecord(b, func(f field) (err error) {
		var n uint64
		switch f.num {
		case 1:
			m.File, err = f.copyBytes(33)
		case 2:
			n, err = f.uint64()
			m.Offset = int64(min(n, 1<<62))
		case 3:
			m.Data, err = f.copyBytes(mediaChunk)
		}
		return err
	})
	if err != nil {
		return malformed("media: %v", err)
	}
	if _, _, _, ok := parseFileKey(m.File); !ok {
		return malformed("media of no attachment")
	}
	have, ok := s.files[string(m.File)]
	switch {
	case !ok && len(s.files) == maxHistoryFiles:
		return malformed("more than %d files", maxHistoryFiles)
	case m.Offset != have || have%mediaChunk != 0:
		return malformed("a file's chunks out of order")
	case len(m.Data) == 0 || m.Offset+int64(len(m.Data)) > MaxAttachmentSize:
		return malformed("a file's chunk of %d bytes at %d", len(m.Data), m.Offset)
	}
	s.files[string(m.File)] = have + int64(len(m.Data))
	s.got.MediaBytes += int64(len(m.Data))
	k := binary.BigEndian.AppendUint32(append([]byte{'f'}, m.File...), uint32(m.Offset/mediaChunk))
	return s.put(ctx, stagedKV{k: k, v: m.Data})
}

// put queues a staged record, writing the queue when it is full.
func (s *historyStage) put(ctx context.Context, kv stagedKV) error {
	s.batch = append(s.batch, kv)
	s.batchBytes += len(kv.k) + len(kv.v)
	if len(s.batch) >= historyBatch || s.batchBytes >= mediaChunk*mediaBatch {
		return s.flush(ctx)
	}
	return nil
}

// flush writes the queued records into the staging area.
func (s *historyStage) flush(ctx context.Context) error {
	if len(s.batch) == 0 {
		return nil
	}
	err := s.c.st.Update(ctx, func(tx store.Tx) error {
		for _, kv := range s.batch {
			if kv.msg {
				if _, err := tx.Get(bHistoryIn, kv.k); err == nil {
					return malformed("two messages at one place")
				} else if !errors.Is(err, store.ErrNotFound) {
					return err
				}
			}
			if err := tx.Put(bHistoryIn, kv.k, kv.v); err != nil {
				return err
			}
		}
		return nil
	})
	s.batch, s.batchBytes = s.batch[:0], 0
	return err
}

// clearHistoryStage empties the staging area, historyBatch keys a
// transaction.
func (c *Client) clearHistoryStage(ctx context.Context) error {
	for {
		n := 0
		err := c.st.Update(ctx, func(tx store.Tx) error {
			keys, err := stagedKeys(tx, nil, historyBatch)
			n = len(keys)
			for _, k := range keys {
				if err == nil {
					err = tx.Delete(bHistoryIn, k)
				}
			}
			return err
		})
		if err != nil || n < historyBatch {
			return err
		}
	}
}

// stagedKeys returns up to n keys of the staging area with prefix.
func stagedKeys(tx store.Tx, prefix []byte, n int) ([][]byte, error) {
	var keys [][]byte
	err := tx.Scan(bHistoryIn, prefix, func(k, _ []byte) error {
		keys = append(keys, bytes.Clone(k))
		if len(keys) == n {
			return errPageFull
		}
		return nil
	})
	if errors.Is(err, errPageFull) {
		err = nil
	}
	return keys, err
}

// staged returns up to n staged records with prefix.
func staged(tx store.Tx, prefix []byte, n int) ([]stagedKV, error) {
	var out []stagedKV
	err := tx.Scan(bHistoryIn, prefix, func(k, v []byte) error {
		out = append(out, stagedKV{k: bytes.Clone(k), v: bytes.Clone(v)})
		if len(out) == n {
			return errPageFull
		}
		return nil
	})
	if errors.Is(err, errPageFull) {
		err = nil
	}
	return out, err
}

// applyHistory merges the staging area into the store.
func (c *Client) applyHistory(ctx context.Context, s *historyStage) error {
	s.created, s.had = map[string]bool{}, map[string]bool{}
	defer func() {
		for f := range s.created {
			c.tr.setCopying([]byte(f), false)
		}
	}()
	for _, phase := range []struct {
		prefix byte
		n      int
		apply  func(ts *txState, kv stagedKV) error
	}{
		{'a', historyBatch, s.applyRecord},
		{'f', mediaBatch, s.applyMedia},
		{'m', historyBatch, s.applyMessage},
	} {
		for {
			var n int
			err := c.update(ctx, func(ts *txState) error {
				kvs, err := staged(ts.tx, []byte{phase.prefix}, phase.n)
				if err != nil {
					return err
				}
				n = len(kvs)
				for _, kv := range kvs {
					if err := phase.apply(ts, kv); err != nil {
						return err
					}
					if err := ts.tx.Delete(bHistoryIn, kv.k); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
			s.applied += int64(n)
			if s.progress != nil && n > 0 {
				s.progress(Progress{Done: min(s.records+s.applied, s.total()), Total: s.total()})
			}
			if n < phase.n {
				break
			}
		}
	}
	// Files whose message did not take them (it had its own) go.
	var drop [][]byte
	for f, taken := range s.created {
		if !taken {
			drop = append(drop, []byte(f))
		}
	}
	for len(drop) > 0 {
		n := min(len(drop), historyBatch)
		err := c.st.Update(ctx, func(tx store.Tx) error {
			for _, f := range drop[:n] {
				if err := deleteFile(tx, f); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		drop = drop[n:]
	}
	var evs []EventTransfer
	err := c.st.Update(ctx, func(tx store.Tx) (err error) {
		evs, err = c.evictOver(tx)
		return err
	})
	if err != nil {
		return err
	}
	c.emitTransfers(evs)
	if s.progress != nil {
		s.progress(Progress{Done: s.total(), Total: s.total()})
	}
	return nil
}

// applyRecord merges a profile, contact, name, group or chat.
func (s *historyStage) applyRecord(ts *txState, kv stagedKV) error {
	c, me := s.c, s.me.User
	f, _, err := pb.Next(kv.v)
	if err != nil {
		return err
	}
	b, err := f.ByteSlice()
	if err != nil {
		return err
	}
	switch f.Num {
	case hProfile:
		var p historyProfile
		err := decodeRecord(b, func(f field) (err error) {
			switch f.num {
			case 1:
				p.Name, err = f.string(MaxProfileName)
			case 2:
				p.At, err = f.sint64()
			}
			return err
		})
		if err != nil {
			return err
		}
		a, err := mustAccount(ts.tx)
		if err != nil || p.At <= a.ProfileAt {
			return err
		}
		a.ProfileName, a.ProfileAt = p.Name, p.At
		return putAccount(ts.tx, a)
	case hContact:
		in, err := parseContact(b, me)
		if err != nil {
			return err
		}
		return c.mergeContact(ts, in)
	case hName:
		var n historyName
		err := decodeRecord(b, func(f field) (err error) {
			switch f.num {
			case 1:
				err = f.id((*[16]byte)(&n.User))
			case 2:
				n.Name, err = f.string(MaxProfileName)
			case 3:
				n.At, err = f.sint64()
			}
			return err
		})
		if err != nil {
			return err
		}
		return noteMemberName(ts.tx, n.User, n.Name, n.At)
	case hGroup:
		in, err := parseGroupRecord(b)
		if err != nil {
			return err
		}
		return c.mergeGroup(ts, in)
	case hChat:
		ch := s.chats[wire.ConversationID(b16(b))]
		if ch == nil {
			return fmt.Errorf("%w: a staged chat not read", errMalformed)
		}
		return c.reserveChat(ts, ch)
	}
	return fmt.Errorf("%w: staged record %d", errMalformed, f.Num)
}

// b16 reads field 1 (a 16-byte ID) of a record; zero if it has none.
func b16(b []byte) [16]byte {
	var id [16]byte
	_ = decodeFields(b, func(f field) error {
		if f.num == 1 {
			return f.id(&id)
		}
		return nil
	})
	return id
}

// mergeContact takes a contact of the archive: one the device does not
// know as it is (without the safety numbers' verification, which is
// this device's own); into one it knows, the verified address, a newer
// profile name, a nickname and acceptance it lacks.
func (c *Client) mergeContact(ts *txState, in *Contact) error {
	ct, err := getContact(ts.tx, c.me().User, in.User)
	if err != nil {
		return err
	}
	if ct == nil {
		in.IdentityChanged, in.Verified = false, time.Time{}
		return c.putContact(ts, in)
	}
	changed := verifyAddress(ct, canonicalAddress(in.VerifiedAddress))
	if in.profileAt > ct.profileAt {
		ct.ProfileName, ct.profileAt, changed = in.ProfileName, in.profileAt, true
	}
	if ct.Nickname == "" && in.Nickname != "" {
		ct.Nickname, changed = in.Nickname, true
	}
	if ct.Address == "" && in.Address != "" {
		ct.Address, changed = in.Address, true
	}
	if in.Accepted && !ct.Accepted && ct.State == ContactAllowed {
		ct.accept()
		changed = true
	}
	if !changed {
		return nil
	}
	return c.putContact(ts, ct)
}

// mergeGroup takes a group of the archive the device does not know, or
// a newer state of one it knows; of the same state, the secrets it
// lacks. Sender keys are not in the archive: this device makes its own.
func (c *Client) mergeGroup(ts *txState, in *groupRecord) error {
	me := c.me().User
	g, err := loadGroup(ts.tx, in.State.ID)
	if err != nil {
		return err
	}
	switch {
	case g == nil:
		in.Rotate = false
		g = in
	case in.State.Version > g.State.Version:
		in.Since, in.Rotate = g.Since, g.Rotate
		g = in
	case in.State.Version == g.State.Version && g.Status == in.Status:
		changed := false
		for _, p := range []struct{ held, got *[]byte }{
			{&g.Secrets.Admin, &in.Secrets.Admin}, {&g.Secrets.Add, &in.Secrets.Add}, {&g.Secrets.Link, &in.Secrets.Link},
		} {
			if len(*p.held) == 0 && len(*p.got) > 0 {
				*p.held, changed = *p.got, true
			}
		}
		if !changed {
			return nil
		}
	default:
		return nil
	}
	g.trimSecrets(me)
	if err := putGroup(ts.tx, g); err != nil {
		return err
	}
	chat, err := c.loadChat(ts.tx, g.State.ID)
	if chat == nil && err == nil {
		err = putChat(ts.tx, g.State.ID, &chatRecord{Group: true})
	}
	return err
}

// reserveChat makes a conversation's summary if the device has none,
// and reserves the archive's Seqs in a conversation without messages
// here; in one with messages the archive's go after them.
func (c *Client) reserveChat(ts *txState, ch *stagedChat) error {
	conv := ch.rec.Conversation
	r, err := c.loadChat(ts.tx, conv)
	if err != nil {
		return err
	}
	if r == nil {
		r = &chatRecord{User: ch.rec.User, Group: ch.rec.Group, Coop: ch.rec.Coop}
		if !ch.rec.User.IsZero() {
			if r.Contact, err = getContact(ts.tx, c.me().User, ch.rec.User); err != nil {
				return err
			}
		}
	}
	if r.LastSeq > 0 {
		ch.after = true
		return nil
	}
	r.LastSeq = ch.last
	return putChat(ts.tx, conv, r)
}

// applyMedia stores a chunk of a file the device does not have.
func (s *historyStage) applyMedia(ts *txState, kv stagedKV) error {
	if len(kv.k) != 1+33+4 {
		return fmt.Errorf("%w: staged media key", errMalformed)
	}
	file := kv.k[1:34]
	if s.had[string(file)] {
		return nil
	}
	f, err := loadMediaFile(ts.tx, file)
	if err != nil {
		return err
	}
	if _, ours := s.created[string(file)]; !ours {
		if f != nil {
			s.had[string(file)] = true
			return nil
		}
		f = &mediaFile{At: ts.now}
		s.created[string(file)] = false
		s.c.tr.setCopying(file, true) // not an orphan while its message comes
	}
	if f == nil || f.Stored != int64(binary.BigEndian.Uint32(kv.k[34:]))*mediaChunk {
		return fmt.Errorf("%w: a file's chunk out of order", errMalformed)
	}
	return putChunks(ts.tx, file, f, [][]byte{kv.v})
}

// applyMessage merges one message.
func (s *historyStage) applyMessage(ts *txState, kv stagedKV) error {
	c, me := s.c, s.me.User
	if len(kv.k) != 1+16+8 {
		return fmt.Errorf("%w: staged message key", errMalformed)
	}
	var conv wire.ConversationID
	copy(conv[:], kv.k[1:])
	seq := seqFromKey(kv.k[17:])
	m, err := parseMessage(kv.v)
	if err != nil {
		return err
	}
	author := messageAuthor(m, me)
	held, err := c.loadMessage(ts.tx, author, m.ID)
	if err != nil {
		return err
	}
	if held != nil {
		was, changed := held.State, false
		switch {
		case held.Outgoing && rank(m.State) > rank(held.State):
			held.State, held.Failure, changed = m.State, m.Failure, true
		case !held.Outgoing && held.State == StateReceived && m.State == StateRead:
			held.State, changed = StateRead, true
		}
		for i := range held.Attachments {
			a := &held.Attachments[i]
			if a.Transfer != TransferRemote && a.Transfer != TransferExpired && a.Transfer != TransferFailed {
				continue
			}
			took, err := s.takeFile(ts, author, held, i)
			if err != nil {
				return err
			}
			changed = changed || took
		}
		if !changed {
			return nil
		}
		return c.putMessage(ts.tx, held, was)
	}
	for i := range m.Attachments {
		if _, err := s.takeFile(ts, author, m, i); err != nil {
			return err
		}
	}
	chat, err := c.chatFor(ts.tx, conv, m.Peer)
	if err != nil {
		return err
	}
	m.Seq = 0
	if ch := s.chats[conv]; ch != nil && !ch.after {
		if _, err := ts.tx.Get(bMessages, messageKey(conv, seq)); errors.Is(err, store.ErrNotFound) {
			m.Seq = seq
		} else if err != nil {
			return err
		}
	}
	if m.Seq == 0 {
		m.Seq = chat.LastSeq + 1
	}
	k := messageKey(conv, m.Seq)
	if err := ts.tx.Put(bMsgIndex, authoredKey(author, m.ID), k); err != nil {
		return err
	}
	if err := ts.tx.Put(bMessages, k, m.marshal()); err != nil {
		return err
	}
	chat.noteMessage(m, 0)
	return putChat(ts.tx, conv, chat)
}

// takeFile makes attachment i of m this device's own copy when the
// archive brought its whole file, and reports whether it did.
func (s *historyStage) takeFile(ts *txState, author wire.UserID, m *Message, i int) (bool, error) {
	file := fileKey(author, m.ID, i)
	if _, ours := s.created[string(file)]; !ours {
		return false, nil
	}
	a := &m.Attachments[i]
	f, err := loadMediaFile(ts.tx, file)
	if f == nil || err != nil || f.Stored != a.Size {
		return false, err
	}
	f.Conversation, f.Pinned = m.Conversation, !a.onRelay()
	if err := ts.tx.Put(bMediaFiles, file, f.marshal()); err != nil {
		return false, err
	}
	s.created[string(file)] = true
	a.Transfer, a.Done, a.Failure = TransferLocal, a.Size, ""
	return true, s.c.noteUsed(ts.tx, m.Conversation)
}
