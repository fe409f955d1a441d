package client

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/internal/pb"
	"github.com/mutualcoop/mutual/relay/wire"
)

// The history archive carries what a device holds of the account's chats
// to another device of the same account: a device being linked, or one
// restoring a backup. WriteHistory writes it, ReadHistory merges it into
// this device's store; UploadHistory and RestoreHistory (historyblob.go)
// carry it through the relay, encrypted. It holds the profile name, the
// contacts, the group members' names, the groups (state, this account's
// standing, the secrets it holds), the chat summaries and every message
// with its place (Seq), state, author, group event and attachments'
// pointers; with HistoryOptions.Media, the attachments' files this device
// holds too. Never sessions, identity or prekey keys, sender keys,
// seen-IDs, the outbox, nor an outgoing message not yet sent (it belongs
// to the sending device's outbox).
//
// # Format
//
// The archive is historyMagic, then records, each a uvarint length (1 to
// maxHistoryRecord bytes) and a protobuf of that length with exactly one
// of these fields:
//
//	HistoryRecord {1 header, 2 profile, 3 contact (a contact record),
//	               4 group (a group record), 5 member name, 6 chat,
//	               7 message, 8 media, 9 end}
//	Header  {15 format version (1), 1 user ID, 2 contacts, 3 chats,
//	         4 messages, 5 groups, 6 attachments, 7 media bytes,
//	         8 records after the header, 9 written at (Unix ms), 10 media}
//	Profile {15 version, 1 name, 2 set at (Unix ms)}
//	MemberName {15 version, 1 user, 2 name, 3 set at}
//	Chat    {15 version, 1 conversation, 2 user, 3 group, 4 co-op}
//	Message {15 version, 1 seq, 2 message record}
//	Media   {15 version, 1 file (author 16 || message ID 16 || index 1),
//	         2 offset (a multiple of 256 KiB), 3 up to 256 KiB of the file}
//	End     as Header, with what was written
//
// The header comes first and the end last; contacts, groups, names and
// chats come before messages, and a message's conversation has its chat
// record before it. The records are those the store keeps (records.go,
// grouprecords.go), so a device reads them with the same decoders and
// limits. An attachment in the archive is TransferRemote (TransferExpired
// when the relay no longer has it, or never had it), without this
// device's own fields (upload token, progress, nonce); the media of a
// file, when present, comes before its message, whole (from offset 0 to
// its size, in order).

// historyMagic starts every archive.
const historyMagic = "mutual-history\n"

// Limits of an archive, which a reader enforces.
const (
	// maxHistoryRecord bounds one record: a message with ten attachments
	// and their thumbnails, a group of MaxGroupMembers, a media chunk.
	maxHistoryRecord = 1 << 20
	// maxHistoryContacts bounds the contacts (the relay's list, and
	// requests).
	maxHistoryContacts = 2 * wire.MaxListEntries
	// maxHistoryGroups bounds the groups, left ones included.
	maxHistoryGroups = 10 * maxSyncedGroups
	// maxHistoryChats bounds the conversations.
	maxHistoryChats = maxHistoryContacts + maxHistoryGroups + 1
	// maxHistoryNames bounds the group members' names.
	maxHistoryNames = 100_000
	// maxHistoryFiles bounds the attachments' files carried.
	maxHistoryFiles = 1_000_000
)

// Fields of HistoryRecord.
const (
	hHeader  pb.Number = 1
	hProfile pb.Number = 2
	hContact pb.Number = 3
	hGroup   pb.Number = 4
	hName    pb.Number = 5
	hChat    pb.Number = 6
	hMessage pb.Number = 7
	hMedia   pb.Number = 8
	hEnd     pb.Number = 9
)

// Errors of archives that callers branch on.
var (
	// ErrHistoryMalformed: the archive is not one, is damaged or breaks
	// a limit; nothing of it was imported. The error says what is wrong.
	ErrHistoryMalformed = errors.New("client: the history archive is malformed")
	// ErrHistoryOtherAccount: the archive is another account's.
	ErrHistoryOtherAccount = errors.New("client: the history archive is another account's")
)

// Progress says how far a long task has come: Done of Total units
// (records for WriteHistory and ReadHistory, bytes for transfers).
type Progress struct{ Done, Total int64 }

// HistoryStats counts what a history archive holds.
type HistoryStats struct {
	Contacts, Chats, Messages, Groups, Attachments int
	MediaBytes                                     int64 // of the files carried (HistoryOptions.Media)
}

// HistoryOptions says what WriteHistory puts in the archive.
type HistoryOptions struct {
	// Media includes the attachments' files this device holds (a backup:
	// the relay keeps blobs 30 days), not only their pointers (linking a
	// device, which downloads them from the relay on demand).
	Media bool
}

// historyHeader is the Header and End records.
type historyHeader struct {
	User    wire.UserID
	Stats   HistoryStats
	Records int64 // after the header (the end included)
	At      int64
	Media   bool
}

func (h *historyHeader) marshal() []byte {
	e := newEnc()
	e.id(1, h.User)
	e.uint(2, uint64(h.Stats.Contacts))
	e.uint(3, uint64(h.Stats.Chats))
	e.uint(4, uint64(h.Stats.Messages))
	e.uint(5, uint64(h.Stats.Groups))
	e.uint(6, uint64(h.Stats.Attachments))
	e.uint(7, uint64(h.Stats.MediaBytes))
	e.uint(8, uint64(h.Records))
	e.sint(9, h.At)
	e.bool(10, h.Media)
	return e.b
}

func parseHistoryHeader(b []byte) (*historyHeader, error) {
	h := new(historyHeader)
	count := func(f field, dst *int) error {
		n, err := f.uint64()
		if err == nil && n > 1<<40 {
			err = fmt.Errorf("%w: count %d", errMalformed, n)
		}
		*dst = int(n)
		return err
	}
	err := decodeRecord(b, func(f field) (err error) {
		var n int
		switch f.num {
		case 1:
			err = f.id((*[16]byte)(&h.User))
		case 2:
			err = count(f, &h.Stats.Contacts)
		case 3:
			err = count(f, &h.Stats.Chats)
		case 4:
			err = count(f, &h.Stats.Messages)
		case 5:
			err = count(f, &h.Stats.Groups)
		case 6:
			err = count(f, &h.Stats.Attachments)
		case 7:
			err = count(f, &n)
			h.Stats.MediaBytes = int64(n)
		case 8:
			err = count(f, &n)
			h.Records = int64(n)
		case 9:
			h.At, err = f.sint64()
		case 10:
			h.Media, err = f.bool()
		}
		return err
	})
	if err == nil && h.User.IsZero() {
		err = fmt.Errorf("%w: no user", errMalformed)
	}
	return h, err
}

// historyProfile is the Profile record.
type historyProfile struct {
	Name string
	At   int64
}

// historyName is the MemberName record.
type historyName struct {
	User wire.UserID
	memberName
}

func (n *historyName) marshal() []byte {
	e := newEnc()
	e.id(1, n.User)
	e.string(2, n.Name)
	e.sint(3, n.At)
	return e.b
}

// historyChat is the Chat record.
type historyChat struct {
	Conversation wire.ConversationID
	User         wire.UserID
	Group, Coop  bool
}

func (h *historyChat) marshal() []byte {
	e := newEnc()
	e.id(1, h.Conversation)
	e.id(2, h.User)
	e.bool(3, h.Group)
	e.bool(4, h.Coop)
	return e.b
}

// historyMedia is the Media record.
type historyMedia struct {
	File   []byte
	Offset int64
	Data   []byte
}

func (m *historyMedia) marshal() []byte {
	e := newEnc()
	e.bytes(1, m.File)
	e.uint(2, uint64(m.Offset))
	e.bytes(3, m.Data)
	return e.b
}

// messageAuthor is who wrote m (the key of its index): this account for
// an outgoing message, the group's author, no one for a co-op notice, else
// the contact.
func messageAuthor(m *Message, self wire.UserID) wire.UserID {
	switch {
	case m.Outgoing:
		return self
	case !m.Author.IsZero():
		return m.Author
	case m.Conversation == wire.CoopConversation:
		return wire.UserID{}
	}
	return m.Peer
}

// archivedMessage is m as the archive carries it: its attachments
// without this device's own fields, on the relay or gone.
func archivedMessage(m *Message) *Message {
	cp := *m
	cp.Attachments = make([]Attachment, len(m.Attachments))
	for i, a := range m.Attachments {
		a.token, a.tokenExp, a.nonce, a.Done, a.Failure = nil, 0, nil, 0, ""
		if a.Transfer != TransferExpired && a.onRelay() {
			a.Transfer = TransferRemote
		} else {
			a.Transfer = TransferExpired
		}
		cp.Attachments[i] = a
	}
	return &cp
}

// historyWriter writes an archive's records and counts them.
type historyWriter struct {
	w        *bufio.Writer
	buf      []byte
	records  int64
	total    int64
	progress func(Progress)
}

func (hw *historyWriter) record(n pb.Number, body []byte) error {
	hw.buf = pb.AppendBytes(hw.buf[:0], n, body)
	if len(hw.buf) > maxHistoryRecord {
		return fmt.Errorf("a record of %d bytes", len(hw.buf))
	}
	var l [binary.MaxVarintLen64]byte
	if _, err := hw.w.Write(l[:binary.PutUvarint(l[:], uint64(len(hw.buf)))]); err != nil {
		return err
	}
	if _, err := hw.w.Write(hw.buf); err != nil {
		return err
	}
	hw.records++
	if hw.progress != nil && n != hHeader {
		hw.progress(Progress{Done: hw.records - 1, Total: max(hw.total, hw.records-1)})
	}
	return nil
}

// historyPlan is what WriteHistory reads first, in one transaction:
// everything but the messages and the media, which it reads a page at a
// time, and the counts for the header.
type historyPlan struct {
	profile  historyProfile
	contacts [][]byte
	names    []historyName
	groups   [][]byte
	chats    []historyChat
	last     map[wire.ConversationID]uint64
	stats    HistoryStats
	records  int64
}

// historyPage is how many messages WriteHistory reads in one transaction.
const historyPage = 256

// WriteHistory writes this device's history of the account's chats to w
// (see the format above): with opts.Media, the attachments' files it
// holds too. It reads the store in short transactions (a page of messages
// or a chunk of a file at a time), so it can run while the client works;
// what changes meanwhile may or may not be in it. progress (if not nil)
// is called after each record with the records written of those planned.
func (c *Client) WriteHistory(ctx context.Context, w io.Writer, opts HistoryOptions, progress func(Progress)) (HistoryStats, error) {
	me, err := c.registered()
	if err != nil {
		return HistoryStats{}, err
	}
	st, err := c.writeHistory(ctx, me, w, opts, progress)
	if err != nil {
		return HistoryStats{}, fmt.Errorf("write history: %w", err)
	}
	return st, nil
}

func (c *Client) writeHistory(ctx context.Context, me *self, w io.Writer, opts HistoryOptions, progress func(Progress)) (HistoryStats, error) {
	plan, err := c.planHistory(ctx, me, opts)
	if err != nil {
		return HistoryStats{}, err
	}
	hw := &historyWriter{w: bufio.NewWriterSize(w, 64<<10), total: plan.records, progress: progress}
	if _, err := hw.w.WriteString(historyMagic); err != nil {
		return HistoryStats{}, err
	}
	head := &historyHeader{User: me.User, Stats: plan.stats, Records: plan.records, At: unixMS(c.now()), Media: opts.Media}
	if err := hw.record(hHeader, head.marshal()); err != nil {
		return HistoryStats{}, err
	}
	var got HistoryStats
	if plan.profile.Name != "" {
		e := newEnc()
		e.string(1, plan.profile.Name)
		e.sint(2, plan.profile.At)
		if err := hw.record(hProfile, e.b); err != nil {
			return got, err
		}
	}
	for _, b := range plan.contacts {
		if err := hw.record(hContact, b); err != nil {
			return got, err
		}
		got.Contacts++
	}
	for i := range plan.names {
		if err := hw.record(hName, plan.names[i].marshal()); err != nil {
			return got, err
		}
	}
	for _, b := range plan.groups {
		if err := hw.record(hGroup, b); err != nil {
			return got, err
		}
		got.Groups++
	}
	for i := range plan.chats {
		if err := hw.record(hChat, plan.chats[i].marshal()); err != nil {
			return got, err
		}
		got.Chats++
	}
	for i := range plan.chats {
		conv := plan.chats[i].Conversation
		if err := c.writeMessages(ctx, me, hw, conv, plan.last[conv], opts, &got); err != nil {
			return got, err
		}
	}
	end := &historyHeader{User: me.User, Stats: got, Records: hw.records, At: head.At, Media: opts.Media}
	if err := hw.record(hEnd, end.marshal()); err != nil {
		return got, err
	}
	if err := hw.w.Flush(); err != nil {
		return got, err
	}
	return got, nil
}

// planHistory reads the profile, contacts, names, groups and chats, and
// counts the messages and media.
func (c *Client) planHistory(ctx context.Context, me *self, opts HistoryOptions) (*historyPlan, error) {
	var p *historyPlan
	err := c.st.View(ctx, func(tx store.Tx) error {
		p = &historyPlan{last: map[wire.ConversationID]uint64{}}
		a, err := mustAccount(tx)
		if err != nil {
			return err
		}
		p.profile = historyProfile{Name: a.ProfileName, At: a.ProfileAt}
		if a.ProfileName != "" {
			p.records++
		}
		err = tx.Scan(bContacts, nil, func(_, v []byte) error {
			ct, err := parseContact(v, me.User)
			if err != nil {
				return err
			}
			ct.IdentityChanged, ct.Verified = false, time.Time{}
			p.contacts = append(p.contacts, ct.marshal())
			return nil
		})
		if err != nil {
			return err
		}
		err = tx.Scan(bMemberNames, nil, func(k, v []byte) error {
			n, err := parseMemberName(v)
			if err != nil || len(k) != 16 {
				return err
			}
			hn := historyName{memberName: *n}
			copy(hn.User[:], k)
			p.names = append(p.names, hn)
			return nil
		})
		if err != nil {
			return err
		}
		err = tx.Scan(bGroups, nil, func(_, v []byte) error {
			g, err := parseGroupRecord(v)
			if err != nil {
				return err
			}
			g.Rotate = false // sender keys stay on their device
			p.groups = append(p.groups, g.marshal())
			return nil
		})
		if err != nil {
			return err
		}
		err = tx.Scan(bChats, nil, func(k, v []byte) error {
			r, err := parseChat(v, me.User)
			if err != nil || len(k) != 16 {
				return err
			}
			var conv wire.ConversationID
			copy(conv[:], k)
			p.chats = append(p.chats, historyChat{Conversation: conv, User: r.User, Group: r.Group, Coop: r.Coop})
			p.last[conv] = r.LastSeq
			return nil
		})
		if err != nil {
			return err
		}
		err = tx.Scan(bMessages, nil, func(k, v []byte) error {
			m, err := parseMessage(v)
			if err != nil {
				return err
			}
			if m.Outgoing && unsent(m.State) {
				return nil
			}
			p.stats.Messages++
			for i := range m.Attachments {
				p.stats.Attachments++
				if !opts.Media {
					continue
				}
				n, err := localFileSize(tx, fileKey(messageAuthor(m, me.User), m.ID, i), &m.Attachments[i])
				if err != nil {
					return err
				}
				p.stats.MediaBytes += n
				p.records += (n + mediaChunk - 1) / mediaChunk
			}
			return nil
		})
		if err != nil {
			return err
		}
		p.stats.Contacts, p.stats.Groups, p.stats.Chats = len(p.contacts), len(p.groups), len(p.chats)
		p.records += int64(len(p.contacts) + len(p.names) + len(p.groups) + len(p.chats) + p.stats.Messages + 1)
		return nil
	})
	return p, err
}

// localFileSize is the size of an attachment's file if this device holds
// all of it, else 0.
func localFileSize(tx store.Tx, file []byte, a *Attachment) (int64, error) {
	if a.Transfer == TransferDownloading || a.Size <= 0 {
		return 0, nil
	}
	f, err := loadMediaFile(tx, file)
	if f == nil || err != nil || f.Stored < a.Size {
		return 0, err
	}
	return a.Size, nil
}

// writeMessages writes a conversation's messages up to last, newest
// first, a page a transaction, each after its media when asked.
func (c *Client) writeMessages(ctx context.Context, me *self, hw *historyWriter, conv wire.ConversationID, last uint64, opts HistoryOptions, got *HistoryStats) error {
	type row struct {
		seq uint64
		m   *Message
	}
	before := messageKey(conv, last+1)
	for {
		var page []row
		err := c.st.View(ctx, func(tx store.Tx) error {
			page = page[:0]
			err := tx.ScanBefore(bMessages, conv[:], before, func(k, v []byte) error {
				m, err := parseMessage(v)
				if err != nil {
					return err
				}
				page = append(page, row{seqFromKey(k[len(conv):]), m})
				if len(page) == historyPage {
					return errPageFull
				}
				return nil
			})
			if errors.Is(err, errPageFull) {
				err = nil
			}
			return err
		})
		if err != nil {
			return err
		}
		for _, r := range page {
			if r.m.Outgoing && unsent(r.m.State) {
				continue // the sending device's outbox has it
			}
			if opts.Media {
				if err := c.writeMedia(ctx, me, hw, r.m, got); err != nil {
					return err
				}
			}
			e := newEnc()
			e.uint(1, r.seq)
			e.message(2, archivedMessage(r.m).marshal())
			if err := hw.record(hMessage, e.b); err != nil {
				return err
			}
			got.Messages++
			got.Attachments += len(r.m.Attachments)
		}
		if len(page) < historyPage {
			return nil
		}
		before = messageKey(conv, page[len(page)-1].seq)
	}
}

// writeMedia writes the files of m's attachments this device holds whole,
// a chunk a transaction.
func (c *Client) writeMedia(ctx context.Context, me *self, hw *historyWriter, m *Message, got *HistoryStats) error {
	author := messageAuthor(m, me.User)
	for i := range m.Attachments {
		a := &m.Attachments[i]
		file := fileKey(author, m.ID, i)
		var size int64
		err := c.st.View(ctx, func(tx store.Tx) (err error) {
			size, err = localFileSize(tx, file, a)
			return err
		})
		if err != nil || size == 0 {
			return err
		}
		for off := int64(0); off < size; off += mediaChunk {
			var b []byte
			err := c.st.View(ctx, func(tx store.Tx) (err error) {
				b, err = tx.Get(bMedia, chunkKey(file, off/mediaChunk))
				return err
			})
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("%w: an attachment was cleared while it was written", ErrNotOnDevice)
			}
			if err != nil {
				return err
			}
			if want := min(mediaChunk, size-off); int64(len(b)) < want {
				return fmt.Errorf("%w: short chunk of an attachment", errMalformed)
			} else {
				b = b[:want]
			}
			rec := &historyMedia{File: file, Offset: off, Data: b}
			if err := hw.record(hMedia, rec.marshal()); err != nil {
				return err
			}
			got.MediaBytes += int64(len(b))
		}
	}
	return nil
}
