package bus

import (
	"fmt"

	"github.com/mutualcoop/mutual/internal/pb"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Parcel is what the relay keeps in the value of a bus record: one message
// with the header the gateway stamped and a ciphertext per recipient
// device. On InTopic a parcel holds every recipient device of the message;
// on a user's inbox topic, only that user's devices, or it is a
// KindRejected notice to the sender. A group message (wire.KindGroup)
// also holds its Shared ciphertext, once per parcel: once on InTopic, and
// once in each recipient's inbox record, beside the parts of that user's
// devices (which may be empty). Clients never see a parcel: the
// gateway takes from it the Envelope of one device (EnvelopeFor).
//
// Its encoding is a protobuf message (docs/architecture.md has the schema)
// that shares its header fields with wire.Envelope. Buses keep parcels for
// their retention time: the encoding must stay readable across versions.
type Parcel struct {
	MessageID    wire.MessageID
	Conversation wire.ConversationID
	Sender       wire.UserID
	SenderDevice wire.DeviceID
	ServerTimeMS int64
	Kind         wire.Kind
	Recipients   []wire.Recipient
	Shared       []byte      // KindGroup: the ciphertext every recipient device gets
	Code         wire.Code   // KindRejected
	Subject      wire.UserID // KindRejected: the recipient that refused
	// Silent: the sender said the message need not wake its recipients
	// (wire.Send.Silent); the router asks for no push.
	Silent bool
}

// AppendParcel appends the encoding of p to b.
func AppendParcel(b []byte, p *Parcel) []byte {
	e := pb.Encoder(b)
	e.Bytes(1, p.MessageID[:])
	e.Bytes(2, p.Conversation[:])
	e.Bytes(3, p.Sender[:])
	e.Uint(4, uint64(p.SenderDevice))
	e.Sint(5, p.ServerTimeMS)
	e.Uint(6, uint64(p.Kind))
	for i := range p.Recipients {
		e.Message(7, func(b []byte) []byte { return wire.AppendRecipient(b, &p.Recipients[i]) })
	}
	e.Uint(8, uint64(p.Code))
	e.ID(9, p.Subject)
	e.Bytes(10, p.Shared)
	e.Bool(11, p.Silent)
	return e
}

// DecodeParcel decodes a parcel. Its errors wrap wire.ErrMalformed.
func DecodeParcel(b []byte) (*Parcel, error) {
	p := new(Parcel)
	err := pb.ForEach(b, func(f pb.Field) (err error) {
		switch f.Num {
		case 1:
			err = f.FixedBytes(p.MessageID[:])
		case 2:
			err = f.FixedBytes(p.Conversation[:])
		case 3:
			err = f.FixedBytes(p.Sender[:])
		case 4:
			var d uint32
			d, err = f.Uint32()
			p.SenderDevice = wire.DeviceID(d)
		case 5:
			p.ServerTimeMS, err = f.Sint64()
		case 6:
			var k uint32
			k, err = f.Uint32()
			p.Kind = wire.Kind(k)
		case 7:
			if len(p.Recipients) == wire.MaxGroupRecipients {
				return fmt.Errorf("%w: more than %d recipients", wire.ErrMalformed, wire.MaxGroupRecipients)
			}
			var raw []byte
			if raw, err = f.ByteSlice(); err != nil {
				return err
			}
			var r wire.Recipient
			if r, err = wire.DecodeRecipient(raw); err == nil {
				p.Recipients = append(p.Recipients, r)
			}
		case 8:
			var c uint32
			c, err = f.Uint32()
			p.Code = wire.Code(c)
		case 9:
			err = f.FixedBytes(p.Subject[:])
		case 10:
			p.Shared, err = f.Bytes(wire.MaxCiphertext)
		case 11:
			p.Silent, err = f.Bool()
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// EnvelopeFor returns the envelope of p for one device of the inbox's
// user, and false when p carries nothing for that device. A KindRejected
// parcel concerns every device of the sender, a KindCoop one every
// device of the user. A group message's envelope
// carries the Shared ciphertext and the device's own part, which may be
// empty; a device the parcel does not name gets neither.
func (p *Parcel) EnvelopeFor(d wire.DeviceID) (wire.Envelope, bool) {
	env := wire.Envelope{
		MessageID: p.MessageID, Conversation: p.Conversation,
		Sender: p.Sender, SenderDevice: p.SenderDevice,
		ServerTimeMS: p.ServerTimeMS, Kind: p.Kind,
		Code: p.Code, Subject: p.Subject, Shared: p.Shared,
	}
	if p.Kind == wire.KindRejected || p.Kind == wire.KindCoop {
		return env, true
	}
	for i := range p.Recipients {
		if p.Recipients[i].Device == d {
			env.Ciphertext = p.Recipients[i].Ciphertext
			return env, true
		}
	}
	return env, false
}
