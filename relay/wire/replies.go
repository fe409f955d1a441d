package wire

import "google.golang.org/protobuf/encoding/protowire"

// Relay frame bodies.

// OK answers a request that has nothing else to say.
type OK struct{}

func (*OK) Type() Type               { return TypeOK }
func (*OK) appendTo(b []byte) []byte { return b }
func (*OK) decode(b []byte) error    { return fields(b, ignore) }

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
	e := enc{b}
	e.uint(1, uint64(m.Code))
	e.string(2, m.Message)
	e.uint(3, m.RetryAfterMS)
	return e.b
}

func (m *Error) decode(b []byte) error {
	return fields(b, func(f field) (err error) {
		switch f.num {
		case 1:
			var c uint32
			c, err = f.uint32()
			m.Code = Code(c)
		case 2:
			m.Message, err = f.text(1024)
		case 3:
			m.RetryAfterMS, err = f.uint64()
		}
		return err
	})
}

// Verified answers Verify: the account and the new device's credential,
// which the device keeps secret and presents in Auth from then on.
type Verified struct {
	User       UserID
	Device     DeviceID
	Credential []byte
	Created    bool // the account is new (first verification of the address)
}

func (*Verified) Type() Type { return TypeVerified }

func (m *Verified) appendTo(b []byte) []byte {
	e := enc{b}
	e.bytes(1, m.User[:])
	e.uint(2, uint64(m.Device))
	e.bytes(3, m.Credential)
	e.bool(4, m.Created)
	return e.b
}

func (m *Verified) decode(b []byte) error {
	return fields(b, func(f field) (err error) {
		switch f.num {
		case 1:
			err = f.fixed(m.User[:])
		case 2:
			var d uint32
			d, err = f.uint32()
			m.Device = DeviceID(d)
		case 3:
			m.Credential, err = f.copyBytes(MaxCredential)
		case 4:
			m.Created, err = f.bool()
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
}

func (*Welcome) Type() Type { return TypeWelcome }

func (m *Welcome) appendTo(b []byte) []byte {
	e := enc{b}
	e.bytes(1, m.User[:])
	e.uint(2, uint64(m.Device))
	e.int(3, m.ServerTimeMS)
	e.uint(4, uint64(m.OneTimeLeft))
	e.uint(5, uint64(m.KEMOneTimeLeft))
	return e.b
}

func (m *Welcome) decode(b []byte) error {
	return fields(b, func(f field) (err error) {
		switch f.num {
		case 1:
			err = f.fixed(m.User[:])
		case 2:
			var d uint32
			d, err = f.uint32()
			m.Device = DeviceID(d)
		case 3:
			m.ServerTimeMS, err = f.sint64()
		case 4:
			m.OneTimeLeft, err = f.uint32()
		case 5:
			m.KEMOneTimeLeft, err = f.uint32()
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
	KEMLastResort bool // KEM is the device's last-resort key, not a one-time one
}

func (m *Bundle) appendTo(b []byte) []byte {
	e := enc{b}
	e.uint(1, uint64(m.Device))
	e.bytes(2, m.Identity)
	e.message(3, &m.Signed)
	if m.OneTime != nil {
		e.message(4, m.OneTime)
	}
	e.message(5, &m.KEM)
	e.bool(6, m.KEMLastResort)
	return e.b
}

func (m *Bundle) decode(b []byte) error {
	return fields(b, func(f field) (err error) {
		var p *Prekey
		switch f.num {
		case 1:
			var d uint32
			d, err = f.uint32()
			m.Device = DeviceID(d)
		case 2:
			m.Identity, err = f.copyBytes(MaxKey)
		case 3:
			if p, err = decodePrekey(f); err == nil {
				m.Signed = *p
			}
		case 4:
			m.OneTime, err = decodePrekey(f)
		case 5:
			if p, err = decodePrekey(f); err == nil {
				m.KEM = *p
			}
		case 6:
			m.KEMLastResort, err = f.bool()
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
	e := enc{b}
	e.bytes(1, m.User[:])
	for i := range m.Bundles {
		e.message(2, &m.Bundles[i])
	}
	return e.b
}

func (m *Bundles) decode(b []byte) error {
	return fields(b, func(f field) (err error) {
		switch f.num {
		case 1:
			err = f.fixed(m.User[:])
		case 2:
			if err = f.wantBytes(); err != nil {
				return err
			}
			if len(m.Bundles) == MaxDevices {
				return malformed("more than %d bundles", MaxDevices)
			}
			var bu Bundle
			if err = bu.decode(f.bytes); err == nil {
				m.Bundles = append(m.Bundles, bu)
			}
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
	e := enc{b}
	e.bytes(1, m.User[:])
	return e.b
}

func (m *Found) decode(b []byte) error {
	return fields(b, func(f field) error {
		if f.num == 1 {
			return f.fixed(m.User[:])
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
	e := enc{b}
	e.bytes(1, m.MessageID[:])
	e.int(2, m.ServerTimeMS)
	return e.b
}

func (m *Accepted) decode(b []byte) error {
	return fields(b, func(f field) (err error) {
		switch f.num {
		case 1:
			err = f.fixed(m.MessageID[:])
		case 2:
			m.ServerTimeMS, err = f.sint64()
		}
		return err
	})
}

// Rejected answers Send when the relay refuses the message outright. With
// CodeStaleDevices, User and Devices say which user's device list the
// sender must refresh and what it is now.
type Rejected struct {
	MessageID MessageID
	Code      Code
	Message   string
	User      UserID
	Devices   []DeviceID
}

func (*Rejected) Type() Type { return TypeRejected }

func (m *Rejected) appendTo(b []byte) []byte {
	e := enc{b}
	e.bytes(1, m.MessageID[:])
	e.uint(2, uint64(m.Code))
	e.string(3, m.Message)
	if !m.User.IsZero() {
		e.bytes(4, m.User[:])
	}
	e.b = appendPackedDevices(e.b, 5, m.Devices)
	return e.b
}

func (m *Rejected) decode(b []byte) error {
	return fields(b, func(f field) (err error) {
		switch f.num {
		case 1:
			err = f.fixed(m.MessageID[:])
		case 2:
			var c uint32
			c, err = f.uint32()
			m.Code = Code(c)
		case 3:
			m.Message, err = f.text(1024)
		case 4:
			err = f.fixed(m.User[:])
		case 5:
			m.Devices, err = decodeDevices(m.Devices, f)
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
	e := enc{b}
	e.uint(1, uint64(m.Offset))
	e.message(2, &m.Envelope)
	return e.b
}

func (m *Deliver) decode(b []byte) error {
	return fields(b, func(f field) (err error) {
		switch f.num {
		case 1:
			var v uint64
			v, err = f.uint64()
			m.Offset = int64(v)
		case 2:
			if err = f.wantBytes(); err == nil {
				err = m.Envelope.decode(f.bytes)
			}
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
	e := enc{b}
	e.bytes(1, m.User[:])
	e.uint(2, uint64(m.State))
	e.int(3, m.UpdatedMS)
	return e.b
}

func (m *ContactEntry) decode(b []byte) error {
	return fields(b, func(f field) (err error) {
		switch f.num {
		case 1:
			err = f.fixed(m.User[:])
		case 2:
			var s uint32
			s, err = f.uint32()
			m.State = ContactState(s)
		case 3:
			m.UpdatedMS, err = f.sint64()
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
	e := enc{b}
	for i := range m.Entries {
		e.message(1, &m.Entries[i])
	}
	return e.b
}

func (m *Contacts) decode(b []byte) error {
	return fields(b, func(f field) (err error) {
		if f.num != 1 {
			return nil
		}
		if err = f.wantBytes(); err != nil {
			return err
		}
		if len(m.Entries) == MaxListEntries {
			return malformed("more than %d contacts", MaxListEntries)
		}
		var c ContactEntry
		if err = c.decode(f.bytes); err == nil {
			m.Entries = append(m.Entries, c)
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
}

func (m *DeviceInfo) appendTo(b []byte) []byte {
	e := enc{b}
	e.uint(1, uint64(m.ID))
	e.string(2, m.Name)
	e.int(3, m.CreatedMS)
	e.int(4, m.LastSeenMS)
	return e.b
}

func (m *DeviceInfo) decode(b []byte) error {
	return fields(b, func(f field) (err error) {
		switch f.num {
		case 1:
			var d uint32
			d, err = f.uint32()
			m.ID = DeviceID(d)
		case 2:
			m.Name, err = f.text(MaxDeviceName)
		case 3:
			m.CreatedMS, err = f.sint64()
		case 4:
			m.LastSeenMS, err = f.sint64()
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
	e := enc{b}
	for i := range m.Devices {
		e.message(1, &m.Devices[i])
	}
	return e.b
}

func (m *Devices) decode(b []byte) error {
	return fields(b, func(f field) (err error) {
		if f.num != 1 {
			return nil
		}
		if err = f.wantBytes(); err != nil {
			return err
		}
		if len(m.Devices) == MaxDevices {
			return malformed("more than %d devices", MaxDevices)
		}
		var d DeviceInfo
		if err = d.decode(f.bytes); err == nil {
			m.Devices = append(m.Devices, d)
		}
		return err
	})
}

// Notice tells a device something it did not ask about.
type Notice struct {
	Kind           NoticeKind
	OneTimeLeft    uint32 // NoticePrekeysLow
	KEMOneTimeLeft uint32 // NoticePrekeysLow
	Oldest         int64  // NoticeRetentionGap: the first offset still retained
}

func (*Notice) Type() Type { return TypeNotice }

func (m *Notice) appendTo(b []byte) []byte {
	e := enc{b}
	e.uint(1, uint64(m.Kind))
	e.uint(2, uint64(m.OneTimeLeft))
	e.uint(3, uint64(m.KEMOneTimeLeft))
	e.uint(4, uint64(m.Oldest))
	return e.b
}

func (m *Notice) decode(b []byte) error {
	return fields(b, func(f field) (err error) {
		switch f.num {
		case 1:
			var k uint32
			k, err = f.uint32()
			m.Kind = NoticeKind(k)
		case 2:
			m.OneTimeLeft, err = f.uint32()
		case 3:
			m.KEMOneTimeLeft, err = f.uint32()
		case 4:
			var v uint64
			v, err = f.uint64()
			m.Oldest = int64(v)
		}
		return err
	})
}

// appendPackedDevices appends a packed repeated uint32 field.
func appendPackedDevices(b []byte, n num, ds []DeviceID) []byte {
	if len(ds) == 0 {
		return b
	}
	var p []byte
	for _, d := range ds {
		p = protowire.AppendVarint(p, uint64(d))
	}
	e := enc{b}
	e.bytes(n, p)
	return e.b
}

// decodeDevices accepts a repeated uint32 field packed or not, as proto3
// parsers must.
func decodeDevices(list []DeviceID, f field) ([]DeviceID, error) {
	add := func(v uint64) error {
		if v > 1<<32-1 {
			return malformed("device out of range")
		}
		if len(list) == MaxDevices {
			return malformed("more than %d devices", MaxDevices)
		}
		list = append(list, DeviceID(v))
		return nil
	}
	if f.typ != protowire.BytesType {
		v, err := f.uint64()
		if err != nil {
			return list, err
		}
		return list, add(v)
	}
	b := f.bytes
	for len(b) > 0 {
		v, l := protowire.ConsumeVarint(b)
		if l < 0 {
			return list, malformed("bad packed varint")
		}
		if err := add(v); err != nil {
			return list, err
		}
		b = b[l:]
	}
	return list, nil
}
