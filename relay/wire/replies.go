package wire

import "github.com/mutualcoop/mutual/internal/pb"

// Relay frame bodies.

// OK answers a request that has nothing else to say.
type OK struct{}

func (*OK) Type() Type               { return TypeOK }
func (*OK) appendTo(b []byte) []byte { return b }
func (*OK) decode(b []byte) error    { return ignore(b) }

// Error answers a request that failed. Message is for people, Code for
// programs. RetryAfterMS is set with CodeRateLimited and CodeUnavailable.
type Error struct {
	Code         Code
	Message      string
	RetryAfterMS uint64
}

func (*Error) Type() Type { return TypeError }

func (m *Error) Error() string {
	if m.Message == "" {
		return m.Code.String()
	}
	return m.Code.String() + ": " + m.Message
}

func (m *Error) appendTo(b []byte) []byte {
	e := pb.Encoder(b)
	e.Uint(1, uint64(m.Code))
	e.String(2, m.Message)
	e.Uint(3, m.RetryAfterMS)
	return e
}

func (m *Error) decode(b []byte) error {
	return pb.ForEach(b, func(f pb.Field) (err error) {
		switch f.Num {
		case 1:
			var c uint32
			c, err = f.Uint32()
			m.Code = Code(c)
		case 2:
			m.Message, err = f.String(1024)
		case 3:
			m.RetryAfterMS, err = f.Uint64()
		}
		return err
	})
}

// CodeSent answers Register: a code is on its way. Token (random bytes,
// at most MaxCodeToken) binds the code to this request: the client keeps
// it until it sends Verify, and only a Verify that presents it can try
// the code.
type CodeSent struct {
	Token []byte
}

func (*CodeSent) Type() Type { return TypeCodeSent }

func (m *CodeSent) appendTo(b []byte) []byte {
	e := pb.Encoder(b)
	e.Bytes(1, m.Token)
	return e
}

func (m *CodeSent) decode(b []byte) error {
	return pb.ForEach(b, func(f pb.Field) (err error) {
		if f.Num == 1 {
			m.Token, err = f.Bytes(MaxCodeToken)
		}
		return err
	})
}

// Verified answers Verify, or Link once an existing device linked the new
// one: the account and the new device's credential, which the device
// keeps secret and presents in Auth from then on.
type Verified struct {
	User       UserID
	Device     DeviceID
	Credential []byte
	Created    bool // the account is new (first verification of the address)
	// Provision is LinkDevice.Provision, sealed to Link.Key by the device
	// that linked this one; only in the answer to Link.
	Provision []byte
	// PendingUntilMS, when not zero, says the device is held until then
	// (Unix ms): it signed in by code alone to an account whose devices
	// must approve it first (see CodeDevicePending).
	PendingUntilMS int64
}

func (*Verified) Type() Type { return TypeVerified }

func (m *Verified) appendTo(b []byte) []byte {
	e := pb.Encoder(b)
	e.Bytes(1, m.User[:])
	e.Uint(2, uint64(m.Device))
	e.Bytes(3, m.Credential)
	e.Bool(4, m.Created)
	e.Bytes(5, m.Provision)
	e.Sint(6, m.PendingUntilMS)
	return e
}

func (m *Verified) decode(b []byte) error {
	return pb.ForEach(b, func(f pb.Field) (err error) {
		switch f.Num {
		case 1:
			err = f.FixedBytes(m.User[:])
		case 2:
			var d uint32
			d, err = f.Uint32()
			m.Device = DeviceID(d)
		case 3:
			m.Credential, err = f.Bytes(MaxCredential)
		case 4:
			m.Created, err = f.Bool()
		case 5:
			m.Provision, err = f.Bytes(MaxProvision)
		case 6:
			m.PendingUntilMS, err = f.Sint64()
		}
		return err
	})
}

// Welcome answers Auth. Delivery of the device's inbox starts after it.
type Welcome struct {
	User           UserID
	Device         DeviceID
	ServerTimeMS   int64
	OneTimeLeft    uint32
	KEMOneTimeLeft uint32
	// CoopKey is the relay's Ed25519 public key that signs co-op notices
	// (CoopNotice); clients keep the first they see. Empty when the relay
	// has none.
	CoopKey []byte
	// PendingUntilMS, when not zero, says this device is held until then
	// (Unix ms), as in Verified: nothing is delivered to it meanwhile.
	PendingUntilMS int64
	// PushKey is the relay's VAPID public key (an uncompressed P-256
	// point, PushKeyLen bytes) for Web Push subscriptions; empty when the
	// relay sends no pushes.
	PushKey []byte
}

// PushKeyLen is the length of Welcome.PushKey and of SetPush.P256dh: an
// uncompressed P-256 point.
const PushKeyLen = 65

func (*Welcome) Type() Type { return TypeWelcome }

func (m *Welcome) appendTo(b []byte) []byte {
	e := pb.Encoder(b)
	e.Bytes(1, m.User[:])
	e.Uint(2, uint64(m.Device))
	e.Sint(3, m.ServerTimeMS)
	e.Uint(4, uint64(m.OneTimeLeft))
	e.Uint(5, uint64(m.KEMOneTimeLeft))
	e.Bytes(6, m.CoopKey)
	e.Sint(7, m.PendingUntilMS)
	e.Bytes(8, m.PushKey)
	return e
}

func (m *Welcome) decode(b []byte) error {
	return pb.ForEach(b, func(f pb.Field) (err error) {
		switch f.Num {
		case 1:
			err = f.FixedBytes(m.User[:])
		case 2:
			var d uint32
			d, err = f.Uint32()
			m.Device = DeviceID(d)
		case 3:
			m.ServerTimeMS, err = f.Sint64()
		case 4:
			m.OneTimeLeft, err = f.Uint32()
		case 5:
			m.KEMOneTimeLeft, err = f.Uint32()
		case 6:
			m.CoopKey, err = f.Bytes(CoopKeyLen)
		case 7:
			m.PendingUntilMS, err = f.Sint64()
		case 8:
			m.PushKey, err = f.Bytes(PushKeyLen)
		}
		return err
	})
}

// Bundle is what a sender needs to start a session with one device.
type Bundle struct {
	Device        DeviceID
	Identity      []byte
	Signed        Prekey
	OneTime       *Prekey // nil when the device's pool is empty
	KEM           Prekey
	KEMLastResort bool   // KEM is the device's last-resort key, not a one-time one
	Vouch         *Vouch // as the device published it with Identity; nil if none
}

func (m *Bundle) appendTo(b []byte) []byte {
	e := pb.Encoder(b)
	e.Uint(1, uint64(m.Device))
	e.Bytes(2, m.Identity)
	e.Message(3, m.Signed.appendTo)
	if m.OneTime != nil {
		e.Message(4, m.OneTime.appendTo)
	}
	e.Message(5, m.KEM.appendTo)
	e.Bool(6, m.KEMLastResort)
	if m.Vouch != nil {
		e.Message(7, m.Vouch.appendTo)
	}
	return e
}

func (m *Bundle) decode(b []byte) error {
	return pb.ForEach(b, func(f pb.Field) (err error) {
		switch f.Num {
		case 1:
			var d uint32
			d, err = f.Uint32()
			m.Device = DeviceID(d)
		case 2:
			m.Identity, err = f.Bytes(MaxKey)
		case 3:
			err = decodeNested(f, &m.Signed)
		case 4:
			m.OneTime, err = nested[Prekey](f)
		case 5:
			err = decodeNested(f, &m.KEM)
		case 6:
			m.KEMLastResort, err = f.Bool()
		case 7:
			m.Vouch, err = nested[Vouch](f)
		}
		return err
	})
}

// Bundles answers FetchBundles: one bundle per device of User.
type Bundles struct {
	User    UserID
	Bundles []Bundle
}

// MaxDevices is the most devices one account may have.
const MaxDevices = 16

func (*Bundles) Type() Type { return TypeBundles }

func (m *Bundles) appendTo(b []byte) []byte {
	e := pb.Encoder(b)
	e.Bytes(1, m.User[:])
	for i := range m.Bundles {
		e.Message(2, m.Bundles[i].appendTo)
	}
	return e
}

func (m *Bundles) decode(b []byte) error {
	return pb.ForEach(b, func(f pb.Field) (err error) {
		switch f.Num {
		case 1:
			err = f.FixedBytes(m.User[:])
		case 2:
			m.Bundles, err = appendNested(m.Bundles, f, MaxDevices, "bundles")
		}
		return err
	})
}

// Found answers Lookup.
type Found struct {
	User UserID
}

func (*Found) Type() Type { return TypeFound }

func (m *Found) appendTo(b []byte) []byte {
	e := pb.Encoder(b)
	e.Bytes(1, m.User[:])
	return e
}

func (m *Found) decode(b []byte) error {
	return pb.ForEach(b, func(f pb.Field) error {
		if f.Num == 1 {
			return f.FixedBytes(m.User[:])
		}
		return nil
	})
}

// Accepted answers Send: the message is durable and will be routed.
// Routing may still refuse it for a recipient; the sender then receives a
// KindRejected envelope in its inbox.
type Accepted struct {
	MessageID    MessageID
	ServerTimeMS int64
}

func (*Accepted) Type() Type { return TypeAccepted }

func (m *Accepted) appendTo(b []byte) []byte {
	e := pb.Encoder(b)
	e.Bytes(1, m.MessageID[:])
	e.Sint(2, m.ServerTimeMS)
	return e
}

func (m *Accepted) decode(b []byte) error {
	return pb.ForEach(b, func(f pb.Field) (err error) {
		switch f.Num {
		case 1:
			err = f.FixedBytes(m.MessageID[:])
		case 2:
			m.ServerTimeMS, err = f.Sint64()
		}
		return err
	})
}

// Rejected answers Send when the relay refuses the message outright. With
// CodeStaleDevices, User and Devices say which user's device list the
// sender must refresh and what it is now; with CodeNotAccepted, User is
// the recipient who has not accepted the sender. RetryAfterMS is set with
// CodeRateLimited and CodeUnavailable.
type Rejected struct {
	MessageID    MessageID
	Code         Code
	Message      string
	User         UserID
	Devices      []DeviceID
	RetryAfterMS uint64
}

func (*Rejected) Type() Type { return TypeRejected }

func (m *Rejected) appendTo(b []byte) []byte {
	e := pb.Encoder(b)
	e.Bytes(1, m.MessageID[:])
	e.Uint(2, uint64(m.Code))
	e.String(3, m.Message)
	e.ID(4, m.User)
	pb.Packed(&e, 5, m.Devices)
	e.Uint(6, m.RetryAfterMS)
	return e
}

func (m *Rejected) decode(b []byte) error {
	return pb.ForEach(b, func(f pb.Field) (err error) {
		switch f.Num {
		case 1:
			err = f.FixedBytes(m.MessageID[:])
		case 2:
			var c uint32
			c, err = f.Uint32()
			m.Code = Code(c)
		case 3:
			m.Message, err = f.String(1024)
		case 4:
			err = f.FixedBytes(m.User[:])
		case 5:
			m.Devices, err = decodeDevices(m.Devices, f)
		case 6:
			m.RetryAfterMS, err = f.Uint64()
		}
		return err
	})
}

// Deliver carries one inbox record to a device. The device stores it, then
// sends Ack with the offset (acks may be batched: an Ack covers every
// earlier offset).
type Deliver struct {
	Offset   int64
	Envelope Envelope
}

func (*Deliver) Type() Type { return TypeDeliver }

func (m *Deliver) appendTo(b []byte) []byte {
	e := pb.Encoder(b)
	e.Uint(1, uint64(m.Offset))
	e.Message(2, m.Envelope.appendTo)
	return e
}

func (m *Deliver) decode(b []byte) error {
	return pb.ForEach(b, func(f pb.Field) (err error) {
		switch f.Num {
		case 1:
			var v uint64
			v, err = f.Uint64()
			m.Offset = int64(v)
		case 2:
			err = decodeNested(f, &m.Envelope)
		}
		return err
	})
}

// ContactEntry is one entry of a contact list.
type ContactEntry struct {
	User      UserID
	State     ContactState
	UpdatedMS int64
}

func (m *ContactEntry) appendTo(b []byte) []byte {
	e := pb.Encoder(b)
	e.Bytes(1, m.User[:])
	e.Uint(2, uint64(m.State))
	e.Sint(3, m.UpdatedMS)
	return e
}

func (m *ContactEntry) decode(b []byte) error {
	return pb.ForEach(b, func(f pb.Field) (err error) {
		switch f.Num {
		case 1:
			err = f.FixedBytes(m.User[:])
		case 2:
			var s uint32
			s, err = f.Uint32()
			m.State = ContactState(s)
		case 3:
			m.UpdatedMS, err = f.Sint64()
		}
		return err
	})
}

// Contacts answers ListContacts.
type Contacts struct {
	Entries []ContactEntry
}

func (*Contacts) Type() Type { return TypeContacts }

func (m *Contacts) appendTo(b []byte) []byte {
	e := pb.Encoder(b)
	for i := range m.Entries {
		e.Message(1, m.Entries[i].appendTo)
	}
	return e
}

func (m *Contacts) decode(b []byte) error {
	return pb.ForEach(b, func(f pb.Field) (err error) {
		if f.Num == 1 {
			m.Entries, err = appendNested(m.Entries, f, MaxListEntries, "contacts")
		}
		return err
	})
}

// DeviceInfo describes one device of the account.
type DeviceInfo struct {
	ID         DeviceID
	Name       string
	CreatedMS  int64
	LastSeenMS int64
	// PendingUntilMS, when not zero, says the device is held until then
	// (Unix ms): ApproveDevice approves it, RemoveDevice refuses it.
	PendingUntilMS int64
	Linked         bool // the device was added by LinkDevice
}

func (m *DeviceInfo) appendTo(b []byte) []byte {
	e := pb.Encoder(b)
	e.Uint(1, uint64(m.ID))
	e.String(2, m.Name)
	e.Sint(3, m.CreatedMS)
	e.Sint(4, m.LastSeenMS)
	e.Sint(5, m.PendingUntilMS)
	e.Bool(6, m.Linked)
	return e
}

func (m *DeviceInfo) decode(b []byte) error {
	return pb.ForEach(b, func(f pb.Field) (err error) {
		switch f.Num {
		case 1:
			var d uint32
			d, err = f.Uint32()
			m.ID = DeviceID(d)
		case 2:
			m.Name, err = f.String(MaxDeviceName)
		case 3:
			m.CreatedMS, err = f.Sint64()
		case 4:
			m.LastSeenMS, err = f.Sint64()
		case 5:
			m.PendingUntilMS, err = f.Sint64()
		case 6:
			m.Linked, err = f.Bool()
		}
		return err
	})
}

// Devices answers ListDevices.
type Devices struct {
	Devices []DeviceInfo
}

func (*Devices) Type() Type { return TypeDevices }

func (m *Devices) appendTo(b []byte) []byte {
	e := pb.Encoder(b)
	for i := range m.Devices {
		e.Message(1, m.Devices[i].appendTo)
	}
	return e
}

func (m *Devices) decode(b []byte) error {
	return pb.ForEach(b, func(f pb.Field) (err error) {
		if f.Num == 1 {
			m.Devices, err = appendNested(m.Devices, f, MaxDevices, "devices")
		}
		return err
	})
}

// Notice tells a device something it did not ask about.
type Notice struct {
	Kind           NoticeKind
	OneTimeLeft    uint32   // NoticePrekeysLow
	KEMOneTimeLeft uint32   // NoticePrekeysLow
	Oldest         int64    // NoticeRetentionGap: the first offset still retained
	Device         DeviceID // NoticeDevicePending: the held device
}

func (*Notice) Type() Type { return TypeNotice }

func (m *Notice) appendTo(b []byte) []byte {
	e := pb.Encoder(b)
	e.Uint(1, uint64(m.Kind))
	e.Uint(2, uint64(m.OneTimeLeft))
	e.Uint(3, uint64(m.KEMOneTimeLeft))
	e.Uint(4, uint64(m.Oldest))
	e.Uint(5, uint64(m.Device))
	return e
}

func (m *Notice) decode(b []byte) error {
	return pb.ForEach(b, func(f pb.Field) (err error) {
		switch f.Num {
		case 1:
			var k uint32
			k, err = f.Uint32()
			m.Kind = NoticeKind(k)
		case 2:
			m.OneTimeLeft, err = f.Uint32()
		case 3:
			m.KEMOneTimeLeft, err = f.Uint32()
		case 4:
			var v uint64
			v, err = f.Uint64()
			m.Oldest = int64(v)
		case 5:
			var d uint32
			d, err = f.Uint32()
			m.Device = DeviceID(d)
		}
		return err
	})
}

// decodeDevices adds the values of a repeated uint32 field to list.
func decodeDevices(list []DeviceID, f pb.Field) ([]DeviceID, error) {
	err := f.Varints(func(v uint64) error {
		if v > 1<<32-1 {
			return malformed("device out of range")
		}
		if len(list) == MaxDevices {
			return malformed("more than %d devices", MaxDevices)
		}
		list = append(list, DeviceID(v))
		return nil
	})
	return list, err
}
