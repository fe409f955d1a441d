package client

import (
	"fmt"

	"github.com/mutualcoop/mutual/crypto/keys"
	"github.com/mutualcoop/mutual/internal/pb"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Local records. Field numbers never change meaning; field 15 is the
// format version (codec.go).

// accountRecord is the registered device and its counters.
//
//	{1 user, 2 device, 3 credential, 4 address, 5 device name,
//	 6 next one-time prekey ID, 7 next KEM prekey ID, 8 next signed prekey ID,
//	 9 current signed prekey ID, 10 current last-resort KEM prekey ID,
//	 11 keys published, 12 read receipts off, 13 retired (the account-wide
//	 message sequence of layout 0), 14 next outbox sequence,
//	 16 profile name, 17 when it was set (Unix ms), 18 storage layout,
//	 19 when the one-time prekeys were last refilled (Unix ms)}
type accountRecord struct {
	User            wire.UserID
	Device          wire.DeviceID
	Credential      []byte
	Address         string
	DeviceName      string
	NextPreKeyID    uint32
	NextKEMID       uint32
	NextSignedID    uint32
	SignedID        uint32
	LastResortID    uint32
	Published       bool
	ReadReceiptsOff bool
	OutboxSeq       uint64
	ProfileName     string
	ProfileAt       int64
	Layout          uint32 // see layoutChats
	RefilledAt      int64  // Unix ms; see refillWait
}

func (r *accountRecord) marshal() []byte {
	e := newEnc()
	e.id(1, r.User)
	e.uint(2, uint64(r.Device))
	e.bytes(3, r.Credential)
	e.string(4, r.Address)
	e.string(5, r.DeviceName)
	e.uint(6, uint64(r.NextPreKeyID))
	e.uint(7, uint64(r.NextKEMID))
	e.uint(8, uint64(r.NextSignedID))
	e.uint(9, uint64(r.SignedID))
	e.uint(10, uint64(r.LastResortID))
	e.bool(11, r.Published)
	e.bool(12, r.ReadReceiptsOff)
	e.uint(14, r.OutboxSeq)
	e.string(16, r.ProfileName)
	e.sint(17, r.ProfileAt)
	e.uint(18, uint64(r.Layout))
	e.sint(19, r.RefilledAt)
	return e.b
}

func parseAccount(b []byte) (*accountRecord, error) {
	r := new(accountRecord)
	err := decodeRecord(b, func(f field) (err error) {
		var u uint32
		switch f.num {
		case 1:
			err = f.id((*[16]byte)(&r.User))
		case 2:
			u, err = f.uint32()
			r.Device = wire.DeviceID(u)
		case 3:
			r.Credential, err = f.copyBytes(wire.MaxCredential)
		case 4:
			r.Address, err = f.string(wire.MaxAddress)
		case 5:
			r.DeviceName, err = f.string(wire.MaxDeviceName)
		case 6:
			r.NextPreKeyID, err = f.uint32()
		case 7:
			r.NextKEMID, err = f.uint32()
		case 8:
			r.NextSignedID, err = f.uint32()
		case 9:
			r.SignedID, err = f.uint32()
		case 10:
			r.LastResortID, err = f.uint32()
		case 11:
			r.Published, err = f.bool()
		case 12:
			r.ReadReceiptsOff, err = f.bool()
		case 14:
			r.OutboxSeq, err = f.uint64()
		case 16:
			r.ProfileName, err = f.string(MaxProfileName)
		case 17:
			r.ProfileAt, err = f.sint64()
		case 18:
			r.Layout, err = f.uint32()
		case 19:
			r.RefilledAt, err = f.sint64()
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("account record: %w", err)
	}
	if r.User.IsZero() || r.Device == 0 || len(r.Credential) == 0 {
		return nil, fmt.Errorf("account record: %w: no user, device or credential", errMalformed)
	}
	return r, nil
}

// contactRecord: {1 user, 2 address, 3 nickname, 4 state, 5 accepted,
// 6 identity changed, 7 added (Unix ms), 8 profile name, 9 when they set
// it (their clock, Unix ms), 10 when the relay accepted the last request
// to them (its clock, Unix ms), 11 verified address, 12 address mismatch,
// 13 the address they gave, not checked yet, 14 the last address they gave
// that a Lookup did not confirm, 20 when the user marked their safety
// numbers verified (Unix ms)}
func (c *Contact) marshal() []byte {
	e := newEnc()
	e.id(1, c.User)
	e.string(2, c.Address)
	e.string(3, c.Nickname)
	e.uint(4, uint64(c.State))
	e.bool(5, c.Accepted)
	e.bool(6, c.IdentityChanged)
	e.sint(7, unixMS(c.Added))
	e.string(8, c.ProfileName)
	e.sint(9, c.profileAt)
	e.sint(10, unixMS(c.RequestSent))
	e.string(11, c.VerifiedAddress)
	e.bool(12, c.AddressMismatch)
	e.string(13, c.claim)
	e.string(14, c.refused)
	e.sint(20, unixMS(c.Verified))
	return e.b
}

// MaxNickname is the longest nickname, in bytes.
const MaxNickname = 256

func parseContact(b []byte, self wire.UserID) (*Contact, error) {
	c := new(Contact)
	err := decodeRecord(b, func(f field) (err error) {
		switch f.num {
		case 1:
			err = f.id((*[16]byte)(&c.User))
		case 2:
			c.Address, err = f.string(wire.MaxAddress)
		case 3:
			c.Nickname, err = f.string(MaxNickname)
		case 4:
			var s uint32
			s, err = f.uint32()
			c.State = ContactState(s)
		case 5:
			c.Accepted, err = f.bool()
		case 6:
			c.IdentityChanged, err = f.bool()
		case 7:
			var ms int64
			ms, err = f.sint64()
			c.Added = fromMS(ms)
		case 8:
			c.ProfileName, err = f.string(MaxProfileName)
		case 9:
			c.profileAt, err = f.sint64()
		case 10:
			var ms int64
			ms, err = f.sint64()
			c.RequestSent = fromMS(ms)
		case 11:
			c.VerifiedAddress, err = f.string(wire.MaxAddress)
		case 12:
			c.AddressMismatch, err = f.bool()
		case 13:
			c.claim, err = f.string(wire.MaxAddress)
		case 14:
			c.refused, err = f.string(wire.MaxAddress)
		case 20:
			var ms int64
			ms, err = f.sint64()
			c.Verified = fromMS(ms)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("contact record: %w", err)
	}
	if c.VerifiedAddress == "" && c.Address != "" {
		// A record from before addresses were confirmed: only AddContact
		// set Address, and its Lookup found the contact there.
		c.VerifiedAddress = canonicalAddress(c.Address)
	}
	c.Conversation = DirectConversation(self, c.User)
	return c, nil
}

// messageRecord: {1 ID, 2 conversation, 3 peer, 4 outgoing, 5 sender
// device, 6 text, 7 sent at (ms), 8 server time (ms), 9 state, 10 failure
// code, 11 attempt (how many times the user sent it again, Retry),
// 12 attachments (repeated, Attachment.marshalRecord), 20 author (a group's message), 21 event (a group's system line: a
// GroupEvent, groupstate.go), 22 a co-op notice (wire.AppendCoopNotice)}
func (m *Message) marshal() []byte {
	e := newEnc()
	e.id(1, m.ID)
	e.id(2, m.Conversation)
	e.id(3, m.Peer)
	e.bool(4, m.Outgoing)
	e.uint(5, uint64(m.SenderDevice))
	e.string(6, m.Text)
	e.sint(7, unixMS(m.SentAt))
	e.sint(8, unixMS(m.ServerTime))
	e.uint(9, uint64(m.State))
	e.uint(10, uint64(m.Failure))
	e.uint(11, uint64(m.Attempt))
	for i := range m.Attachments {
		e.message(12, m.Attachments[i].marshalRecord())
	}
	e.id(20, m.Author)
	if m.Event != nil {
		e.message(21, marshalEvent(m.Event))
	}
	if m.Coop != nil {
		e.message(22, wire.AppendCoopNotice(nil, m.Coop))
	}
	return e.b
}

func parseMessage(b []byte) (*Message, error) {
	m := new(Message)
	err := decodeRecord(b, func(f field) (err error) {
		var u uint32
		var ms int64
		switch f.num {
		case 1:
			err = f.id((*[16]byte)(&m.ID))
		case 2:
			err = f.id((*[16]byte)(&m.Conversation))
		case 3:
			err = f.id((*[16]byte)(&m.Peer))
		case 4:
			m.Outgoing, err = f.bool()
		case 5:
			u, err = f.uint32()
			m.SenderDevice = wire.DeviceID(u)
		case 6:
			m.Text, err = f.string(MaxText)
		case 7:
			ms, err = f.sint64()
			m.SentAt = fromMS(ms)
		case 8:
			ms, err = f.sint64()
			m.ServerTime = fromMS(ms)
		case 9:
			u, err = f.uint32()
			m.State = MessageState(u)
		case 10:
			u, err = f.uint32()
			m.Failure = wire.Code(u)
		case 11:
			m.Attempt, err = f.uint32()
		case 12:
			var a Attachment
			if err = f.wantBytes(); err == nil {
				a, err = parseAttachmentRecord(f.b)
				m.Attachments = append(m.Attachments, a)
			}
		case 20:
			err = f.id((*[16]byte)(&m.Author))
		case 21:
			if err = f.wantBytes(); err == nil {
				m.Event, err = parseGroupEvent(f.b)
			}
		case 22:
			if err = f.wantBytes(); err == nil {
				m.Coop, err = wire.DecodeCoopNotice(f.b)
			}
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("message record: %w", err)
	}
	return m, nil
}

// outboxEntry is one message waiting for the relay's Accepted. Until it
// is encrypted it holds only the padded plaintext; once encrypted (in
// the same transaction that stored the advanced sessions) its
// ciphertexts are sent as they are, with the same message ID, until the
// relay accepts them. While its peer has no device signed in (the relay
// answered no_devices) it also says since when, and when to try again
// (see awayDelay).
//
//	{1 message ID, 2 conversation, 3 peer, 4 content kind, 5 padded plaintext,
//	 6 encrypted, 7 wire kind, 8 recipients: repeated {1 user, 2 device, 3 ciphertext},
//	 9 waiting since (this device's clock, Unix ms; absent: not waiting),
//	 10 no_devices answers since then, 11 next try (Unix ms),
//	 12 last FetchBundles answered no_devices (Unix ms),
//	 20 group (a group entry: to every member who joined, with peer
//	    absent; or, within the group, to the peer alone),
//	 21 shared ciphertext (sealed: the content, encrypted once with this
//	    device's sender key), 22 the sender key distribution message from
//	    before that encryption (for devices found later), 23 recipients
//	    get the group's secrets they may hold,
//	 24 pre-sends: repeated {1 message ID, 2 recipients as field 8}: sent
//	    in order before the entry itself when the recipients' own parts
//	    do not fit one frame with it}
type outboxEntry struct {
	seq          uint64 // the key; not encoded
	MessageID    wire.MessageID
	Conversation wire.ConversationID
	Peer         wire.UserID
	ContentKind  contentKind
	Padded       []byte
	Encrypted    bool
	Kind         wire.Kind
	Recipients   []wire.Recipient
	Away         awayState

	Group   wire.ConversationID
	Shared  []byte
	Dist    []byte
	Secrets bool
	Pre     []preSend
}

// preSend is one Send of kind group without a shared part, carrying
// devices' own parts of a group entry ahead of it (see commitGroupEntry).
type preSend struct {
	MessageID  wire.MessageID
	Recipients []wire.Recipient
}

// inGroup reports whether e is sent within a group (Send of kind group).
func (e *outboxEntry) inGroup() bool { return e.Group != wire.ConversationID{} }

// shared reports whether e goes to every member of its group, with one
// ciphertext for all (rather than to its peer alone).
func (e *outboxEntry) shared() bool { return e.inGroup() && e.Peer.IsZero() }

// awayState is how an outbox entry waits for its peer to have a device
// signed in again; the zero value: it does not.
type awayState struct {
	Since   int64  // Unix ms: when the relay first said the peer has no device
	Tries   uint32 // no_devices answers since
	NextTry int64  // Unix ms: when to ask again (a new connection asks at once)
	Fetched int64  // Unix ms: the last FetchBundles that said no_devices
}

// waiting reports whether the entry waits for its peer to have a device.
func (a awayState) waiting() bool { return a.Since != 0 }

func (o *outboxEntry) marshal() []byte {
	e := newEnc()
	e.id(1, o.MessageID)
	e.id(2, o.Conversation)
	e.id(3, o.Peer)
	e.uint(4, uint64(o.ContentKind))
	e.bytes(5, o.Padded)
	e.bool(6, o.Encrypted)
	e.uint(7, uint64(o.Kind))
	appendRecipients(e, 8, o.Recipients)
	e.sint(9, o.Away.Since)
	e.uint(10, uint64(o.Away.Tries))
	e.sint(11, o.Away.NextTry)
	e.sint(12, o.Away.Fetched)
	e.id(20, o.Group)
	e.bytes(21, o.Shared)
	e.bytes(22, o.Dist)
	e.bool(23, o.Secrets)
	for _, p := range o.Pre {
		pe := &enc{}
		pe.id(1, p.MessageID)
		appendRecipients(pe, 2, p.Recipients)
		e.message(24, pe.b)
	}
	return e.b
}

func appendRecipients(e *enc, n pb.Number, rs []wire.Recipient) {
	for _, r := range rs {
		re := &enc{}
		re.id(1, r.User)
		re.uint(2, uint64(r.Device))
		re.bytes(3, r.Ciphertext)
		e.message(n, re.b)
	}
}

// parseRecipient reads one recipient (user, device, ciphertext) of an
// outbox entry.
func parseRecipient(f field) (wire.Recipient, error) {
	var r wire.Recipient
	if err := f.wantBytes(); err != nil {
		return r, err
	}
	err := decodeFields(f.b, func(g field) (err error) {
		switch g.num {
		case 1:
			err = g.id((*[16]byte)(&r.User))
		case 2:
			var d uint32
			d, err = g.uint32()
			r.Device = wire.DeviceID(d)
		case 3:
			r.Ciphertext, err = g.copyBytes(wire.MaxCiphertext)
		}
		return err
	})
	return r, err
}

func parseOutbox(b []byte) (*outboxEntry, error) {
	o := new(outboxEntry)
	err := decodeRecord(b, func(f field) (err error) {
		var u uint32
		switch f.num {
		case 1:
			err = f.id((*[16]byte)(&o.MessageID))
		case 2:
			err = f.id((*[16]byte)(&o.Conversation))
		case 3:
			err = f.id((*[16]byte)(&o.Peer))
		case 4:
			u, err = f.uint32()
			o.ContentKind = contentKind(u)
		case 5:
			o.Padded, err = f.copyBytes(wire.MaxCiphertext)
		case 6:
			o.Encrypted, err = f.bool()
		case 7:
			u, err = f.uint32()
			o.Kind = wire.Kind(u)
		case 8:
			if len(o.Recipients) == wire.MaxGroupRecipients {
				return fmt.Errorf("%w: more than %d recipients", errMalformed, wire.MaxGroupRecipients)
			}
			var r wire.Recipient
			if r, err = parseRecipient(f); err == nil {
				o.Recipients = append(o.Recipients, r)
			}
		case 9:
			o.Away.Since, err = f.sint64()
		case 10:
			o.Away.Tries, err = f.uint32()
		case 11:
			o.Away.NextTry, err = f.sint64()
		case 12:
			o.Away.Fetched, err = f.sint64()
		case 20:
			err = f.id((*[16]byte)(&o.Group))
		case 21:
			o.Shared, err = f.copyBytes(wire.MaxCiphertext)
		case 22:
			o.Dist, err = f.copyBytes(maxSenderKey)
		case 23:
			o.Secrets, err = f.bool()
		case 24:
			if len(o.Pre) == wire.MaxGroupMembers {
				return fmt.Errorf("%w: more than %d pre-sends", errMalformed, wire.MaxGroupMembers)
			}
			var p preSend
			if p, err = parsePreSend(f); err == nil {
				o.Pre = append(o.Pre, p)
			}
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("outbox entry: %w", err)
	}
	return o, nil
}

func parsePreSend(f field) (preSend, error) {
	var p preSend
	if err := f.wantBytes(); err != nil {
		return p, err
	}
	err := decodeFields(f.b, func(g field) (err error) {
		switch g.num {
		case 1:
			err = g.id((*[16]byte)(&p.MessageID))
		case 2:
			if len(p.Recipients) == wire.MaxGroupRecipients {
				return fmt.Errorf("%w: more than %d recipients", errMalformed, wire.MaxGroupRecipients)
			}
			var r wire.Recipient
			if r, err = parseRecipient(g); err == nil {
				p.Recipients = append(p.Recipients, r)
			}
		}
		return err
	})
	return p, err
}

// identityStatus is what the user said about a remote device's identity
// key.
type identityStatus uint32

const (
	identityTrusted    identityStatus = 1 // first seen (trust on first use) or accepted
	identityUnverified identityStatus = 2 // new or changed since the contact was known; not accepted yet
	// identityRemoved: the relay no longer lists the device. The record
	// stays so that the account counts as known: a device that appears
	// later is a change to accept, not a first contact.
	identityRemoved identityStatus = 3
	// identityUnchecked: a new device met through a message it wrote,
	// whose vouch the worker has still to check (vouch.go); nothing is
	// encrypted to it meanwhile, and no warning is raised yet.
	identityUnchecked identityStatus = 4
)

// identityRecord is a remote device's identity key and its status:
// {1 key (33 bytes), 2 status, 3 first seen (Unix ms)}.
type identityRecord struct {
	Key       keys.PublicKey
	Status    identityStatus
	FirstSeen int64
}

func (r *identityRecord) marshal() []byte {
	e := newEnc()
	e.bytes(1, r.Key.Bytes())
	e.uint(2, uint64(r.Status))
	e.sint(3, r.FirstSeen)
	return e.b
}

func parseIdentity(b []byte) (*identityRecord, error) {
	r := new(identityRecord)
	err := decodeRecord(b, func(f field) (err error) {
		switch f.num {
		case 1:
			if err = f.wantBytes(); err == nil {
				r.Key, err = keys.NewPublicKey(f.b)
			}
		case 2:
			var s uint32
			s, err = f.uint32()
			r.Status = identityStatus(s)
		case 3:
			r.FirstSeen, err = f.sint64()
		}
		return err
	})
	if err == nil && r.Key.IsZero() {
		err = fmt.Errorf("%w: no key", errMalformed)
	}
	if err != nil {
		return nil, fmt.Errorf("identity record: %w", err)
	}
	return r, nil
}
