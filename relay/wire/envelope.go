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
	Ciphertext   []byte // for this device alone; with KindGroup, possibly empty
	Shared       []byte // KindGroup: the ciphertext every recipient device got
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
	e.Bytes(10, m.Shared)
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
		case 10:
			m.Shared, err = f.Bytes(MaxCiphertext)
		}
		return err
	})
}
