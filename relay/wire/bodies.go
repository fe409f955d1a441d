package wire

// Client frame bodies. Each decode checks the limits of its fields; the
// relay checks meaning (for example that a recipient exists).

// Register asks the relay to send an authentication code to Address.
// Answer: OK, or Error (bad_address, unsupported_scheme, rate_limited,
// delivery_failed).
type Register struct {
	Address string
}

func (*Register) Type() Type { return TypeRegister }

func (m *Register) appendTo(b []byte) []byte {
	e := enc{b}
	e.string(1, m.Address)
	return e.b
}

func (m *Register) decode(b []byte) error {
	return fields(b, func(f field) (err error) {
		if f.num == 1 {
			m.Address, err = f.text(MaxAddress)
		}
		return err
	})
}

// Verify proves the code sent to Address and registers a new device.
// Answer: Verified (and the connection is then authenticated as that
// device), or Error (bad_code, code_expired, too_many_attempts, rate_limited).
type Verify struct {
	Address    string
	Code       string
	DeviceName string
}

func (*Verify) Type() Type { return TypeVerify }

func (m *Verify) appendTo(b []byte) []byte {
	e := enc{b}
	e.string(1, m.Address)
	e.string(2, m.Code)
	e.string(3, m.DeviceName)
	return e.b
}

func (m *Verify) decode(b []byte) error {
	return fields(b, func(f field) (err error) {
		switch f.num {
		case 1:
			m.Address, err = f.text(MaxAddress)
		case 2:
			m.Code, err = f.text(MaxCode)
		case 3:
			m.DeviceName, err = f.text(MaxDeviceName)
		}
		return err
	})
}

// Auth authenticates a registered device. Answer: Welcome, or the
// connection closes with CloseAuthFailed.
type Auth struct {
	User       UserID
	Device     DeviceID
	Credential []byte
	Client     string // free text such as "mutual-cli/1"; for metrics only
}

func (*Auth) Type() Type { return TypeAuth }

func (m *Auth) appendTo(b []byte) []byte {
	e := enc{b}
	e.bytes(1, m.User[:])
	e.uint(2, uint64(m.Device))
	e.bytes(3, m.Credential)
	e.string(4, m.Client)
	return e.b
}

func (m *Auth) decode(b []byte) error {
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
			m.Client, err = f.text(MaxClientName)
		}
		return err
	})
}

// Prekey is a public prekey with the ID its device chose and, for signed
// prekeys, the signature by the device's identity key. Opaque to the relay.
type Prekey struct {
	ID        uint32
	Public    []byte
	Signature []byte
}

func (m *Prekey) appendTo(b []byte) []byte {
	e := enc{b}
	e.uint(1, uint64(m.ID))
	e.bytes(2, m.Public)
	e.bytes(3, m.Signature)
	return e.b
}

func (m *Prekey) decode(b []byte) error {
	return fields(b, func(f field) (err error) {
		switch f.num {
		case 1:
			m.ID, err = f.uint32()
		case 2:
			m.Public, err = f.copyBytes(MaxKey)
		case 3:
			m.Signature, err = f.copyBytes(MaxSignature)
		}
		return err
	})
}

func decodePrekey(f field) (*Prekey, error) {
	if err := f.wantBytes(); err != nil {
		return nil, err
	}
	p := new(Prekey)
	return p, p.decode(f.bytes)
}

// PublishKeys stores the device's public keys. Empty fields keep what the
// relay has; one-time keys are added to the device's pools. Answer: OK.
type PublishKeys struct {
	Identity      []byte
	Signed        *Prekey
	KEMLastResort *Prekey
	OneTime       []Prekey
	KEMOneTime    []Prekey
}

func (*PublishKeys) Type() Type { return TypePublishKeys }

func (m *PublishKeys) appendTo(b []byte) []byte {
	e := enc{b}
	e.bytes(1, m.Identity)
	if m.Signed != nil {
		e.message(2, m.Signed)
	}
	if m.KEMLastResort != nil {
		e.message(3, m.KEMLastResort)
	}
	for i := range m.OneTime {
		e.message(4, &m.OneTime[i])
	}
	for i := range m.KEMOneTime {
		e.message(5, &m.KEMOneTime[i])
	}
	return e.b
}

func (m *PublishKeys) decode(b []byte) error {
	return fields(b, func(f field) (err error) {
		var p *Prekey
		switch f.num {
		case 1:
			m.Identity, err = f.copyBytes(MaxKey)
		case 2:
			m.Signed, err = decodePrekey(f)
		case 3:
			m.KEMLastResort, err = decodePrekey(f)
		case 4:
			if len(m.OneTime) == MaxPrekeys {
				return malformed("more than %d one-time prekeys", MaxPrekeys)
			}
			if p, err = decodePrekey(f); err == nil {
				m.OneTime = append(m.OneTime, *p)
			}
		case 5:
			if len(m.KEMOneTime) == MaxPrekeys {
				return malformed("more than %d KEM one-time prekeys", MaxPrekeys)
			}
			if p, err = decodePrekey(f); err == nil {
				m.KEMOneTime = append(m.KEMOneTime, *p)
			}
		}
		return err
	})
}

// FetchBundles asks for a prekey bundle for every device of User, claiming
// one one-time prekey of each kind per device. Answer: Bundles, or Error
// (not_found, no_prekeys, rate_limited).
type FetchBundles struct {
	User UserID
}

func (*FetchBundles) Type() Type { return TypeFetchBundles }

func (m *FetchBundles) appendTo(b []byte) []byte {
	e := enc{b}
	e.bytes(1, m.User[:])
	return e.b
}

func (m *FetchBundles) decode(b []byte) error {
	return fields(b, func(f field) error {
		if f.num == 1 {
			return f.fixed(m.User[:])
		}
		return nil
	})
}

// Lookup asks which user is registered under an address. Answer: Found, or
// Error (not_found, bad_address, rate_limited).
type Lookup struct {
	Address string
}

func (*Lookup) Type() Type { return TypeLookup }

func (m *Lookup) appendTo(b []byte) []byte {
	e := enc{b}
	e.string(1, m.Address)
	return e.b
}

func (m *Lookup) decode(b []byte) error {
	return fields(b, func(f field) (err error) {
		if f.num == 1 {
			m.Address, err = f.text(MaxAddress)
		}
		return err
	})
}

// Recipient is one device a message is encrypted for.
type Recipient struct {
	User       UserID
	Device     DeviceID
	Ciphertext []byte
}

func (m *Recipient) appendTo(b []byte) []byte {
	e := enc{b}
	e.bytes(1, m.User[:])
	e.uint(2, uint64(m.Device))
	e.bytes(3, m.Ciphertext)
	return e.b
}

func (m *Recipient) decode(b []byte) error {
	return fields(b, func(f field) (err error) {
		switch f.num {
		case 1:
			err = f.fixed(m.User[:])
		case 2:
			var d uint32
			d, err = f.uint32()
			m.Device = DeviceID(d)
		case 3:
			m.Ciphertext, err = f.copyBytes(MaxCiphertext)
		}
		return err
	})
}

func decodeRecipients(list []Recipient, f field) ([]Recipient, error) {
	if err := f.wantBytes(); err != nil {
		return list, err
	}
	if len(list) == MaxRecipients {
		return list, malformed("more than %d recipients", MaxRecipients)
	}
	var r Recipient
	if err := r.decode(f.bytes); err != nil {
		return list, err
	}
	return append(list, r), nil
}

// Send submits a message: one ciphertext per recipient device (the sender's
// own other devices included, for their copy). Answer: Accepted once the
// message is durable, or Rejected. The relay stamps the sender itself.
type Send struct {
	MessageID    MessageID
	Conversation ConversationID
	Kind         Kind // KindMessage or KindRequest
	Recipients   []Recipient
}

func (*Send) Type() Type { return TypeSend }

func (m *Send) appendTo(b []byte) []byte {
	e := enc{b}
	e.bytes(1, m.MessageID[:])
	e.bytes(2, m.Conversation[:])
	e.uint(3, uint64(m.Kind))
	for i := range m.Recipients {
		e.message(4, &m.Recipients[i])
	}
	return e.b
}

func (m *Send) decode(b []byte) error {
	return fields(b, func(f field) (err error) {
		switch f.num {
		case 1:
			err = f.fixed(m.MessageID[:])
		case 2:
			err = f.fixed(m.Conversation[:])
		case 3:
			var k uint32
			k, err = f.uint32()
			m.Kind = Kind(k)
		case 4:
			m.Recipients, err = decodeRecipients(m.Recipients, f)
		}
		return err
	})
}

// Ack says the device has durably stored every record up to and including
// Offset. No answer.
type Ack struct {
	Offset int64
}

func (*Ack) Type() Type { return TypeAck }

func (m *Ack) appendTo(b []byte) []byte {
	e := enc{b}
	e.uint(1, uint64(m.Offset))
	return e.b
}

func (m *Ack) decode(b []byte) error {
	return fields(b, func(f field) error {
		if f.num == 1 {
			v, err := f.uint64()
			if v > 1<<62 {
				return malformed("offset out of range")
			}
			m.Offset = int64(v)
			return err
		}
		return nil
	})
}

// SetContact records what the user decides about another user: allow
// (add as a contact, or accept a request), block, or none (remove).
// Answer: OK.
type SetContact struct {
	User  UserID
	State ContactState
}

func (*SetContact) Type() Type { return TypeSetContact }

func (m *SetContact) appendTo(b []byte) []byte {
	e := enc{b}
	e.bytes(1, m.User[:])
	e.uint(2, uint64(m.State))
	return e.b
}

func (m *SetContact) decode(b []byte) error {
	return fields(b, func(f field) (err error) {
		switch f.num {
		case 1:
			err = f.fixed(m.User[:])
		case 2:
			var s uint32
			s, err = f.uint32()
			m.State = ContactState(s)
		}
		return err
	})
}

// ListContacts asks for the user's contact list. Answer: Contacts.
type ListContacts struct{}

func (*ListContacts) Type() Type               { return TypeListContacts }
func (*ListContacts) appendTo(b []byte) []byte { return b }
func (*ListContacts) decode(b []byte) error    { return fields(b, ignore) }

// ListDevices asks for the user's devices. Answer: Devices.
type ListDevices struct{}

func (*ListDevices) Type() Type               { return TypeListDevices }
func (*ListDevices) appendTo(b []byte) []byte { return b }
func (*ListDevices) decode(b []byte) error    { return fields(b, ignore) }

// RemoveDevice removes one of the user's devices (this one, to sign out).
// Answer: OK; the removed device's connections close with
// CloseDeviceRemoved.
type RemoveDevice struct {
	Device DeviceID
}

func (*RemoveDevice) Type() Type { return TypeRemoveDevice }

func (m *RemoveDevice) appendTo(b []byte) []byte {
	e := enc{b}
	e.uint(1, uint64(m.Device))
	return e.b
}

func (m *RemoveDevice) decode(b []byte) error {
	return fields(b, func(f field) error {
		if f.num == 1 {
			d, err := f.uint32()
			m.Device = DeviceID(d)
			return err
		}
		return nil
	})
}

func ignore(field) error { return nil }
