package wire

import "github.com/mutualcoop/mutual/internal/pb"

// Envelope is a message as a device receives it: the header the relay
// stamped and the ciphertext for that device alone.
type Envelope struct {
	MessageID    MessageID
	Conversation ConversationID
	Sender       UserID   // stamped by the relay from the authenticated connection
	SenderDevice DeviceID // likewise
	ServerTimeMS int64    // when the relay accepted the message
	Kind         Kind
	Ciphertext   []byte
	// With KindRejected: why and for whom the message with MessageID was
	// not delivered.
	Code    Code
	Subject UserID
}

func (m *Envelope) appendTo(b []byte) []byte {
	e := pb.Encoder(b)
	e.Bytes(1, m.MessageID[:])
	e.Bytes(2, m.Conversation[:])
	e.Bytes(3, m.Sender[:])
	e.Uint(4, uint64(m.SenderDevice))
	e.Sint(5, m.ServerTimeMS)
	e.Uint(6, uint64(m.Kind))
	e.Bytes(7, m.Ciphertext)
	e.Uint(8, uint64(m.Code))
	e.ID(9, m.Subject)
	return e
}

func (m *Envelope) decode(b []byte) error {
	return pb.ForEach(b, func(f pb.Field) (err error) {
		switch f.Num {
		case 1:
			err = f.FixedBytes(m.MessageID[:])
		case 2:
			err = f.FixedBytes(m.Conversation[:])
		case 3:
			err = f.FixedBytes(m.Sender[:])
		case 4:
			var d uint32
			d, err = f.Uint32()
			m.SenderDevice = DeviceID(d)
		case 5:
			m.ServerTimeMS, err = f.Sint64()
		case 6:
			var k uint32
			k, err = f.Uint32()
			m.Kind = Kind(k)
		case 7:
			m.Ciphertext, err = f.Bytes(MaxCiphertext)
		case 8:
			var c uint32
			c, err = f.Uint32()
			m.Code = Code(c)
		case 9:
			err = f.FixedBytes(m.Subject[:])
		}
		return err
	})
}

// Record is what the relay keeps on the bus: on the `in` topic, a message
// as submitted with every recipient device; on a user's inbox topic, the
// same message with only that user's devices. Clients never see a Record.
type Record struct {
	MessageID    MessageID
	Conversation ConversationID
	Sender       UserID
	SenderDevice DeviceID
	ServerTimeMS int64
	Kind         Kind
	Recipients   []Recipient
	Code         Code   // KindRejected
	Subject      UserID // KindRejected: the recipient that refused
}

// AppendRecord appends the encoding of r to b.
func AppendRecord(b []byte, r *Record) []byte {
	e := pb.Encoder(b)
	e.Bytes(1, r.MessageID[:])
	e.Bytes(2, r.Conversation[:])
	e.Bytes(3, r.Sender[:])
	e.Uint(4, uint64(r.SenderDevice))
	e.Sint(5, r.ServerTimeMS)
	e.Uint(6, uint64(r.Kind))
	for i := range r.Recipients {
		e.Message(7, r.Recipients[i].appendTo)
	}
	e.Uint(8, uint64(r.Code))
	e.ID(9, r.Subject)
	return e
}

// DecodeRecord decodes a bus record.
func DecodeRecord(b []byte) (*Record, error) {
	r := new(Record)
	err := pb.ForEach(b, func(f pb.Field) (err error) {
		switch f.Num {
		case 1:
			err = f.FixedBytes(r.MessageID[:])
		case 2:
			err = f.FixedBytes(r.Conversation[:])
		case 3:
			err = f.FixedBytes(r.Sender[:])
		case 4:
			var d uint32
			d, err = f.Uint32()
			r.SenderDevice = DeviceID(d)
		case 5:
			r.ServerTimeMS, err = f.Sint64()
		case 6:
			var k uint32
			k, err = f.Uint32()
			r.Kind = Kind(k)
		case 7:
			r.Recipients, err = appendNested(r.Recipients, f, MaxRecipients, "recipients")
		case 8:
			var c uint32
			c, err = f.Uint32()
			r.Code = Code(c)
		case 9:
			err = f.FixedBytes(r.Subject[:])
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// EnvelopeFor returns the envelope of r for one device of the inbox's
// user, and false when r carries nothing for that device. A KindRejected
// record concerns every device of the sender.
func (r *Record) EnvelopeFor(d DeviceID) (Envelope, bool) {
	env := Envelope{
		MessageID: r.MessageID, Conversation: r.Conversation,
		Sender: r.Sender, SenderDevice: r.SenderDevice,
		ServerTimeMS: r.ServerTimeMS, Kind: r.Kind,
		Code: r.Code, Subject: r.Subject,
	}
	if r.Kind == KindRejected {
		return env, true
	}
	for i := range r.Recipients {
		if r.Recipients[i].Device == d {
			env.Ciphertext = r.Recipients[i].Ciphertext
			return env, true
		}
	}
	return env, false
}
