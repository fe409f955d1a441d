package wire

import "github.com/mutualcoop/mutual/internal/pb"

// Client frame bodies. Each decode checks the limits of its fields; the
// relay checks meaning (for example that a recipient exists).

// Register asks the relay to send an authentication code to Address.
// Answer: CodeSent, whose token the client presents in Verify, or Error
// (bad_address, unsupported_scheme, rate_limited, delivery_failed).
type Register struct {
	Address string
}

func (*Register) Type() Type { return TypeRegister }

func (m *Register) appendTo(b []byte) []byte {
	e := pb.Encoder(b)
	e.String(1, m.Address)
	return e
}

func (m *Register) decode(b []byte) error {
	return pb.ForEach(b, func(f pb.Field) (err error) {
		if f.Num == 1 {
			m.Address, err = f.String(MaxAddress)
		}
		return err
	})
}

// Verify proves the code sent to Address and registers a new device.
// Token is CodeSent.Token from the Register that asked for the code: a
// code can only be tried by whoever asked for it. Answer: Verified (and
// the connection is then authenticated as that device), or Error
// (bad_code, code_expired, too_many_attempts, rate_limited).
type Verify struct {
	Address    string
	Code       string
	DeviceName string
	Token      []byte
}

func (*Verify) Type() Type { return TypeVerify }

func (m *Verify) appendTo(b []byte) []byte {
	e := pb.Encoder(b)
	e.String(1, m.Address)
	e.String(2, m.Code)
	e.String(3, m.DeviceName)
	e.Bytes(4, m.Token)
	return e
}

func (m *Verify) decode(b []byte) error {
	return pb.ForEach(b, func(f pb.Field) (err error) {
		switch f.Num {
		case 1:
			m.Address, err = f.String(MaxAddress)
		case 2:
			m.Code, err = f.String(MaxCode)
		case 3:
			m.DeviceName, err = f.String(MaxDeviceName)
		case 4:
			m.Token, err = f.Bytes(MaxCodeToken)
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
	e := pb.Encoder(b)
	e.Bytes(1, m.User[:])
	e.Uint(2, uint64(m.Device))
	e.Bytes(3, m.Credential)
	e.String(4, m.Client)
	return e
}

func (m *Auth) decode(b []byte) error {
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
			m.Client, err = f.String(MaxClientName)
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
	e := pb.Encoder(b)
	e.Uint(1, uint64(m.ID))
	e.Bytes(2, m.Public)
	e.Bytes(3, m.Signature)
	return e
}

func (m *Prekey) decode(b []byte) error {
	return pb.ForEach(b, func(f pb.Field) (err error) {
		switch f.Num {
		case 1:
			m.ID, err = f.Uint32()
		case 2:
			m.Public, err = f.Bytes(MaxKey)
		case 3:
			m.Signature, err = f.Bytes(MaxSignature)
		}
		return err
	})
}

// PublishKeys stores the device's public keys. Empty fields keep what the
// relay has; one-time keys are added to the device's pools. Answer: OK.
type PublishKeys struct {
	Identity      []byte
	Signed        *Prekey
	KEMLastResort *Prekey
	OneTime       []Prekey
	KEMOneTime    []Prekey
	// Vouch is the signature of one of the account's devices over this
	// device's identity key (see Vouch), kept with Identity and handed out
	// in every Bundle of the device. A new Identity without a Vouch clears
	// the one the relay held.
	Vouch *Vouch
}

func (*PublishKeys) Type() Type { return TypePublishKeys }

func (m *PublishKeys) appendTo(b []byte) []byte {
	e := pb.Encoder(b)
	e.Bytes(1, m.Identity)
	if m.Signed != nil {
		e.Message(2, m.Signed.appendTo)
	}
	if m.KEMLastResort != nil {
		e.Message(3, m.KEMLastResort.appendTo)
	}
	for i := range m.OneTime {
		e.Message(4, m.OneTime[i].appendTo)
	}
	for i := range m.KEMOneTime {
		e.Message(5, m.KEMOneTime[i].appendTo)
	}
	if m.Vouch != nil {
		e.Message(6, m.Vouch.appendTo)
	}
	return e
}

func (m *PublishKeys) decode(b []byte) error {
	return pb.ForEach(b, func(f pb.Field) (err error) {
		switch f.Num {
		case 1:
			m.Identity, err = f.Bytes(MaxKey)
		case 2:
			m.Signed, err = nested[Prekey](f)
		case 3:
			m.KEMLastResort, err = nested[Prekey](f)
		case 4:
			m.OneTime, err = appendNested(m.OneTime, f, MaxPrekeys, "one-time prekeys")
		case 5:
			m.KEMOneTime, err = appendNested(m.KEMOneTime, f, MaxPrekeys, "KEM one-time prekeys")
		case 6:
			m.Vouch, err = nested[Vouch](f)
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
	e := pb.Encoder(b)
	e.Bytes(1, m.User[:])
	return e
}

func (m *FetchBundles) decode(b []byte) error {
	return pb.ForEach(b, func(f pb.Field) error {
		if f.Num == 1 {
			return f.FixedBytes(m.User[:])
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
	e := pb.Encoder(b)
	e.String(1, m.Address)
	return e
}

func (m *Lookup) decode(b []byte) error {
	return pb.ForEach(b, func(f pb.Field) (err error) {
		if f.Num == 1 {
			m.Address, err = f.String(MaxAddress)
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
	e := pb.Encoder(b)
	e.Bytes(1, m.User[:])
	e.Uint(2, uint64(m.Device))
	e.Bytes(3, m.Ciphertext)
	return e
}

func (m *Recipient) decode(b []byte) error {
	return pb.ForEach(b, func(f pb.Field) (err error) {
		switch f.Num {
		case 1:
			err = f.FixedBytes(m.User[:])
		case 2:
			var d uint32
			d, err = f.Uint32()
			m.Device = DeviceID(d)
		case 3:
			m.Ciphertext, err = f.Bytes(MaxCiphertext)
		}
		return err
	})
}

// AppendRecipient appends the encoding of r, a Recipient message, to b.
// The relay's bus parcels hold recipients in this form.
func AppendRecipient(b []byte, r *Recipient) []byte { return r.appendTo(b) }

// DecodeRecipient decodes a Recipient message within the limits of Send.
func DecodeRecipient(b []byte) (Recipient, error) {
	var r Recipient
	err := r.decode(b)
	return r, err
}

// Send submits a message: one ciphertext per recipient device (the sender's
// own other devices included, for their copy). Answer: Accepted once the
// message is durable, or Rejected. The relay stamps the sender itself.
//
// A Send of KindGroup goes to the members of the group whose ID is
// Conversation. Its Shared ciphertext, encrypted once, reaches every
// recipient device; a Recipient's own Ciphertext is then optional (a
// small part for that device alone, such as a sender key it lacks).
type Send struct {
	MessageID    MessageID
	Conversation ConversationID
	Kind         Kind // KindMessage, KindRequest or KindGroup
	Recipients   []Recipient
	Shared       []byte // KindGroup: the ciphertext for every recipient device
	// Silent says the message need not wake its recipients (a receipt,
	// a profile, a sync): the relay sends no push for it.
	Silent bool
}

func (*Send) Type() Type { return TypeSend }

func (m *Send) appendTo(b []byte) []byte {
	e := pb.Encoder(b)
	e.Bytes(1, m.MessageID[:])
	e.Bytes(2, m.Conversation[:])
	e.Uint(3, uint64(m.Kind))
	for i := range m.Recipients {
		e.Message(4, m.Recipients[i].appendTo)
	}
	e.Bytes(5, m.Shared)
	e.Bool(6, m.Silent)
	return e
}

func (m *Send) decode(b []byte) error {
	return pb.ForEach(b, func(f pb.Field) (err error) {
		switch f.Num {
		case 1:
			err = f.FixedBytes(m.MessageID[:])
		case 2:
			err = f.FixedBytes(m.Conversation[:])
		case 3:
			var k uint32
			k, err = f.Uint32()
			m.Kind = Kind(k)
		case 4:
			m.Recipients, err = appendNested(m.Recipients, f, MaxGroupRecipients, "recipients")
		case 5:
			m.Shared, err = f.Bytes(MaxCiphertext)
		case 6:
			m.Silent, err = f.Bool()
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
	e := pb.Encoder(b)
	e.Uint(1, uint64(m.Offset))
	return e
}

func (m *Ack) decode(b []byte) error {
	return pb.ForEach(b, func(f pb.Field) error {
		if f.Num == 1 {
			v, err := f.Uint64()
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
	e := pb.Encoder(b)
	e.Bytes(1, m.User[:])
	e.Uint(2, uint64(m.State))
	return e
}

func (m *SetContact) decode(b []byte) error {
	return pb.ForEach(b, func(f pb.Field) (err error) {
		switch f.Num {
		case 1:
			err = f.FixedBytes(m.User[:])
		case 2:
			var s uint32
			s, err = f.Uint32()
			m.State = ContactState(s)
		}
		return err
	})
}

// ListContacts asks for the user's contact list. Answer: Contacts.
type ListContacts struct{}

func (*ListContacts) Type() Type               { return TypeListContacts }
func (*ListContacts) appendTo(b []byte) []byte { return b }
func (*ListContacts) decode(b []byte) error    { return ignore(b) }

// ListDevices asks for the user's devices. Answer: Devices.
type ListDevices struct{}

func (*ListDevices) Type() Type               { return TypeListDevices }
func (*ListDevices) appendTo(b []byte) []byte { return b }
func (*ListDevices) decode(b []byte) error    { return ignore(b) }

// RemoveDevice removes one of the user's devices (this one, to sign out).
// Answer: OK; the removed device's connections close with
// CloseDeviceRemoved.
type RemoveDevice struct {
	Device DeviceID
}

func (*RemoveDevice) Type() Type { return TypeRemoveDevice }

func (m *RemoveDevice) appendTo(b []byte) []byte {
	e := pb.Encoder(b)
	e.Uint(1, uint64(m.Device))
	return e
}

func (m *RemoveDevice) decode(b []byte) error {
	return pb.ForEach(b, func(f pb.Field) error {
		if f.Num == 1 {
			d, err := f.Uint32()
			m.Device = DeviceID(d)
			return err
		}
		return nil
	})
}

// GroupOp is what a SetGroup does.
type GroupOp uint32

// Group operations.
const (
	GroupCreate GroupOp = 1 // a new group: the sender joined, Users invited
	GroupAdd    GroupOp = 2 // invite Users (Proof: the admins' or the adders' secret)
	GroupRemove GroupOp = 3 // take Users off the list (Proof: the admins' secret)
	GroupJoin   GroupOp = 4 // the sender accepts an invitation, or joins with the link's secret as Proof
	GroupLeave  GroupOp = 5 // the sender leaves, or declines an invitation
	GroupKeys   GroupOp = 6 // replace the hashes (Proof: the admins' secret)
)

// SetGroup changes the relay's member list of a group. The relay keeps,
// per group, who is on the list (invited, or joined) and three SHA-256
// hashes: of the admins' secret, of the adders' secret and of the invite
// link's secret. The secrets travel end to end between members; the relay
// learns who presents one, never who holds which role. Answer: OK, or
// Error (forbidden, exists, not_found, too_large, rate_limited).
type SetGroup struct {
	Group     ConversationID
	Op        GroupOp
	Users     []UserID
	Proof     []byte // a secret whose SHA-256 the relay holds
	AdminHash []byte // GroupCreate, GroupKeys: 32 bytes
	AddHash   []byte // GroupCreate, GroupKeys: 32 bytes
	LinkHash  []byte // GroupCreate, GroupKeys: 32 bytes, or empty for no link
}

func (*SetGroup) Type() Type { return TypeSetGroup }

func (m *SetGroup) appendTo(b []byte) []byte {
	e := pb.Encoder(b)
	e.Bytes(1, m.Group[:])
	e.Uint(2, uint64(m.Op))
	for i := range m.Users {
		e.Bytes(3, m.Users[i][:])
	}
	e.Bytes(4, m.Proof)
	e.Bytes(5, m.AdminHash)
	e.Bytes(6, m.AddHash)
	e.Bytes(7, m.LinkHash)
	return e
}

func (m *SetGroup) decode(b []byte) error {
	return pb.ForEach(b, func(f pb.Field) (err error) {
		switch f.Num {
		case 1:
			err = f.FixedBytes(m.Group[:])
		case 2:
			var op uint32
			op, err = f.Uint32()
			m.Op = GroupOp(op)
		case 3:
			if len(m.Users) == MaxGroupMembers {
				return malformed("more than %d users", MaxGroupMembers)
			}
			var u UserID
			if err = f.FixedBytes(u[:]); err == nil {
				m.Users = append(m.Users, u)
			}
		case 4:
			m.Proof, err = f.Bytes(MaxGroupProof)
		case 5:
			m.AdminHash, err = f.Bytes(32)
		case 6:
			m.AddHash, err = f.Bytes(32)
		case 7:
			m.LinkHash, err = f.Bytes(32)
		}
		return err
	})
}
