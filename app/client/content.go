package client

import (
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/mutualcoop/mutual/crypto/padding"
	"github.com/mutualcoop/mutual/relay/wire"
)

// contentKind says what an end-to-end encrypted message carries.
type contentKind uint32

const (
	kindText          contentKind = 1
	kindDelivered     contentKind = 2 // delivery receipt
	kindRead          contentKind = 3 // read receipt
	kindProfile       contentKind = 4 // the writer's profile (name)
	kindContacts      contentKind = 5 // the writer's contacts, to the account's own devices
	kindGroupState    contentKind = 6 // a group's state and a change to it
	kindSenderKey     contentKind = 7 // the writer's sender key for a group (and group secrets), to one device
	kindGroups        contentKind = 8 // the writer's groups, to the account's own devices
	kindJoinRequest   contentKind = 9 // a request to join a group with its invite link (invite.go)
	maxReceiptRefs                = 100
	maxContentTextLen             = MaxText
)

// content is the plaintext of every message, before padding:
//
//	Content {
//	  1  kind        uint32   1 text, 2 delivery receipt, 3 read receipt, 4 profile,
//	                          5 contacts sync, 6 group state, 7 sender key, 8 groups sync,
//	                          9 join request
//	  2  text        string   kind 1: UTF-8, at most MaxText bytes
//	  3  sent_at_ms  sint64   the writer's clock, Unix milliseconds; kind 4:
//	                 when the name was set, so that the newest wins
//	  4  refs        repeated bytes (16 each): kinds 2 and 3, the message IDs acknowledged (at most 100)
//	  5  peer        bytes (16): the other user of the 1:1 conversation, so
//	                 that the writer's other devices file their copy
//	  6  name        string   kinds 4, 6 and 7: the writer's profile name, UTF-8, at
//	                 most MaxProfileName bytes, no control characters,
//	                 line separators or bidirectional controls; absent:
//	                 no name
//	  7  address     string   kinds 1 (sent as a contact request) and 4: the
//	                 address the writer's account is registered under, in
//	                 canonical form, at most wire.MaxAddress bytes; a
//	                 claim the receiver confirms with a Lookup (claims.go)
//	  8  contacts    repeated SyncedContact: kind 5, at most
//	                 maxSyncedContacts (sync.go)
//	  9  group       bytes (16): the group a content of kinds 1, 2 and 3 sent
//	                 within a group, and of kinds 6 and 7, belongs to
//	  10 state       GroupState: kind 6, the group's state after the change
//	                 (groupstate.go)
//	  11 event       GroupEvent: kind 6, the change
//	  12 secrets     GroupSecrets: kinds 6 and 7, the group's secrets the
//	                 receiver may hold (sent to one account only)
//	  13 sender key  bytes: kind 7, a SenderKeyDistributionMessage
//	                 (crypto/senderkey)
//	  14 groups      repeated SyncedGroup: kind 8 (groupsync.go)
//	  15 version     uint32   1
//	  16 link secret bytes (32): kind 9 from the person who asks, the
//	                 invite link's secret they hold (invite.go)
//	  17 request     JoinRequest: kind 9, who asks (invite.go)
//	  18 attachments repeated Attachment: kind 1, at most MaxAttachments;
//	                 one with a bad field is dropped, the rest of the
//	                 message kept (attachments.go, parsePointer)
//	}
//	SyncedContact {
//	  1 user bytes (16), 2 verified address string, 3 profile name string,
//	  4 when it was set sint64 (their clock, Unix ms), 5 nickname string,
//	  6 state uint32 (ContactState: 1 allowed, 2 blocked), 7 accepted bool
//	}
//
// Unknown kinds decode (kind is kept) and are ignored by receivers, so
// that later kinds (reactions) reach older clients harmlessly; clients
// from before kind 4 ignore profiles so, and unknown fields are skipped.
//
// Each kind has its own file (text.go, receipt.go, profile.go, sync.go,
// groupreceive.go, groupsync.go, invite.go; attachments.go for field 18)
// with what sends it and its contentHandler; handlerFor names the
// handlers.
type content struct {
	Kind     contentKind
	Text     string
	SentAt   int64
	Refs     []wire.MessageID
	Peer     wire.UserID
	Name     string
	Address  string
	Contacts []syncedContact

	Group     wire.ConversationID
	State     *groupState
	Event     *GroupEvent
	Secrets   *groupSecrets
	SenderKey []byte
	Groups    []syncedGroup

	LinkSecret []byte
	Request    *joinRequest

	Attachments []Attachment
}

// contentHandler applies one decrypted content of its kind, in the
// transaction that stores it (ts): it writes what the content changes and
// adds to r the events to emit once the transaction commits, and whether
// anything was queued to send. A handler of content that a contact writes
// calls noteWriter first. An error is the store's: the whole batch of
// deliveries is then delivered again.
type contentHandler func(c *Client, ts *txState, in *incoming, r *received) error

// handlerFor returns the handler of a content kind, or nil for a kind
// this build does not read (such content is dropped, see apply). A new
// kind is a new file with its handler, and a case here.
func handlerFor(k contentKind) contentHandler {
	switch k {
	case kindText:
		return (*Client).receiveText
	case kindDelivered, kindRead:
		return (*Client).receiveReceipt
	case kindProfile:
		return (*Client).receiveProfile
	case kindContacts:
		return (*Client).receiveContacts
	case kindGroupState:
		return (*Client).receiveInvitation
	case kindGroups:
		return (*Client).receiveGroups
	case kindJoinRequest:
		return (*Client).receiveJoinRequest
	}
	return nil
}

func (m *content) marshal() []byte {
	e := newEnc()
	e.uint(1, uint64(m.Kind))
	e.string(2, m.Text)
	e.sint(3, m.SentAt)
	for _, r := range m.Refs {
		e.bytes(4, r[:])
	}
	e.id(5, m.Peer)
	e.string(6, m.Name)
	e.string(7, m.Address)
	for i := range m.Contacts {
		e.message(8, m.Contacts[i].marshal())
	}
	e.id(9, m.Group)
	if m.State != nil {
		e.message(10, m.State.marshal())
	}
	if m.Event != nil {
		e.message(11, marshalEvent(m.Event))
	}
	if m.Secrets != nil {
		e.message(12, m.Secrets.marshal())
	}
	e.bytes(13, m.SenderKey)
	for i := range m.Groups {
		e.message(14, m.Groups[i].marshal())
	}
	e.bytes(16, m.LinkSecret)
	if m.Request != nil {
		e.message(17, m.Request.marshal())
	}
	for i := range m.Attachments {
		e.message(18, m.Attachments[i].marshalPointer())
	}
	return e.b
}

func parseContent(b []byte) (*content, error) {
	m := new(content)
	err := decodeRecord(b, func(f field) (err error) {
		switch f.num {
		case 1:
			var k uint32
			k, err = f.uint32()
			m.Kind = contentKind(k)
		case 2:
			m.Text, err = f.string(maxContentTextLen)
			if err == nil && !utf8.ValidString(m.Text) {
				err = fmt.Errorf("%w: text is not UTF-8", errMalformed)
			}
		case 3:
			m.SentAt, err = f.sint64()
		case 4:
			if len(m.Refs) == maxReceiptRefs {
				return fmt.Errorf("%w: more than %d references", errMalformed, maxReceiptRefs)
			}
			var id wire.MessageID
			if err = f.id((*[16]byte)(&id)); err == nil {
				m.Refs = append(m.Refs, id)
			}
		case 5:
			err = f.id((*[16]byte)(&m.Peer))
		case 6:
			if m.Name, err = f.string(MaxProfileName); err == nil {
				if perr := checkProfileName(m.Name); perr != nil {
					err = fmt.Errorf("%w: %w", errMalformed, perr)
				}
			}
		case 7:
			m.Address, err = f.string(wire.MaxAddress)
		case 8:
			if len(m.Contacts) == maxSyncedContacts {
				return fmt.Errorf("%w: more than %d contacts", errMalformed, maxSyncedContacts)
			}
			var sc syncedContact
			if sc, err = parseSyncedContact(f); err == nil {
				m.Contacts = append(m.Contacts, sc)
			}
		case 9:
			err = f.id((*[16]byte)(&m.Group))
		case 10:
			if err = f.wantBytes(); err == nil {
				m.State, err = parseGroupState(f.b)
			}
		case 11:
			if err = f.wantBytes(); err == nil {
				m.Event, err = parseGroupEvent(f.b)
			}
		case 12:
			if err = f.wantBytes(); err == nil {
				m.Secrets, err = parseGroupSecrets(f.b)
			}
		case 13:
			m.SenderKey, err = f.copyBytes(maxSenderKey)
		case 14:
			if len(m.Groups) == maxSyncedGroups {
				return fmt.Errorf("%w: more than %d groups", errMalformed, maxSyncedGroups)
			}
			var sg syncedGroup
			if sg, err = parseSyncedGroup(f); err == nil {
				m.Groups = append(m.Groups, sg)
			}
		case 16:
			m.LinkSecret, err = f.copyBytes(secretSize)
		case 17:
			if err = f.wantBytes(); err == nil {
				m.Request, err = parseJoinRequest(f.b)
			}
		case 18:
			if err = f.wantBytes(); err == nil && len(m.Attachments) < MaxAttachments {
				if a, perr := parsePointer(f.b); perr == nil {
					m.Attachments = append(m.Attachments, a)
				}
			}
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("content: %w", err)
	}
	return m, nil
}

// sealContent encodes and pads c: what is encrypted for each device.
func sealContent(c *content) ([]byte, error) {
	return padding.Pad(c.marshal())
}

// openContent unpads and decodes a decrypted plaintext.
func openContent(plaintext []byte) (*content, error) {
	b, err := padding.Unpad(plaintext)
	if err != nil {
		return nil, fmt.Errorf("content: %w", err)
	}
	return parseContent(b)
}

func unixMS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}
