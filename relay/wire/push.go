package wire

import "github.com/mutualcoop/mutual/internal/pb"

// PushAuthLen is the length of SetPush.Auth, the subscription's
// authentication secret (RFC 8291).
const PushAuthLen = 16

// SetPush sets this device's Web Push subscription, as the browser's
// PushManager gave it, or removes it when Endpoint is empty. Muted lists
// conversations the relay should not push for (at most MaxMuted); each
// SetPush replaces the whole list. Answer: OK, or Error (bad_request for
// an endpoint that is not https or whose host the relay does not allow,
// or a malformed key; unavailable when the relay sends no pushes).
type SetPush struct {
	Endpoint string // an https URL, at most MaxPushEndpoint bytes
	P256dh   []byte // PushKeyLen bytes: an uncompressed P-256 point
	Auth     []byte // PushAuthLen bytes
	Muted    []ConversationID
}

func (*SetPush) Type() Type { return TypeSetPush }

func (m *SetPush) appendTo(b []byte) []byte {
	e := pb.Encoder(b)
	e.String(1, m.Endpoint)
	e.Bytes(2, m.P256dh)
	e.Bytes(3, m.Auth)
	for i := range m.Muted {
		e.Bytes(4, m.Muted[i][:])
	}
	return e
}

func (m *SetPush) decode(b []byte) error {
	return pb.ForEach(b, func(f pb.Field) (err error) {
		switch f.Num {
		case 1:
			m.Endpoint, err = f.String(MaxPushEndpoint)
		case 2:
			m.P256dh, err = f.Bytes(PushKeyLen)
		case 3:
			m.Auth, err = f.Bytes(PushAuthLen)
		case 4:
			if len(m.Muted) == MaxMuted {
				return malformed("more than %d muted conversations", MaxMuted)
			}
			var c ConversationID
			if err = f.FixedBytes(c[:]); err == nil {
				m.Muted = append(m.Muted, c)
			}
		}
		return err
	})
}
