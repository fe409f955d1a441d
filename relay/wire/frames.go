package wire

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/mutualcoop/mutual/internal/pb"
)

// Version is the protocol version served at /v1/ws.
const Version = 1

// CodeDigits is how many decimal digits the sign-in codes a relay mails
// have, unless its operator chose fewer (relay/auth's Config.CodeDigits):
// what clients ask people to type.
const CodeDigits = 8

// Limits. The relay closes a connection whose frame breaks one of them.
const (
	MaxFrameSize      = 512 << 10 // a whole client frame
	MaxClientReadSize = 2 << 20   // what a client should accept from the relay
	MaxRecipients     = 256       // device entries in one Send of a message or request
	// MaxGroupRecipients is the most device entries in one Send of
	// KindGroup: MaxGroupMembers members with 16 devices each.
	MaxGroupRecipients = MaxGroupMembers * 16
	MaxGroupMembers    = 1024     // users on a group's member list, and in one SetGroup
	MaxGroupProof      = 32       // bytes of the secret presented in SetGroup.Proof
	MaxCiphertext      = 96 << 10 // one recipient device's ciphertext
	MaxAddress         = 320      // bytes of an address as typed
	MaxCode            = 16       // bytes of an authentication code
	MaxCodeToken       = 32       // bytes of the token that binds Verify to its Register
	MaxDeviceName      = 64       // bytes of a device name
	MaxCredential      = 64       // bytes of a device credential
	MaxKey             = 2048     // bytes of one public key (ML-KEM-1024 keys are 1,569)
	MaxSignature       = 128      // bytes of one signature
	MaxPrekeys         = 100      // one-time prekeys of each kind in one PublishKeys
	MaxListEntries     = 10000    // entries in a Contacts or Devices reply
	MaxClientName      = 64       // bytes of the client's self-description
	// MaxBlobSize is the most bytes of one attachment's blob (its
	// encrypted, padded content) a relay accepts.
	MaxBlobSize  = 100<<20 + 6<<20
	MaxBlobToken = 32 // bytes of an upload token
	// MaxLinkKey is the most bytes of the public key a new device offers
	// in Link (an ML-KEM-768 + X25519 encapsulation key is 1,216).
	MaxLinkKey      = 4096
	MaxProvision    = 8 << 10 // bytes of the sealed provisioning message in LinkDevice and Verified
	MaxBackupSealed = 1 << 10 // bytes of a backup's sealed key material
	MaxPushEndpoint = 1024    // bytes of a Web Push endpoint URL
	MaxMuted        = 1000    // conversations in one SetPush's muted list
)

// Type is a frame type: the field number of the frame's body in the Frame
// message. Numbers below 40 are sent by clients, from 40 by the relay.
type Type uint32

// Frame types.
const (
	TypeRegister      Type = 10 // client: ask for a code to an address
	TypeVerify        Type = 11 // client: prove the code, get a device credential
	TypeAuth          Type = 12 // client: authenticate a registered device
	TypePublishKeys   Type = 13
	TypeFetchBundles  Type = 14
	TypeLookup        Type = 15
	TypeSend          Type = 16
	TypeAck           Type = 17
	TypeSetContact    Type = 18
	TypeListContacts  Type = 19
	TypeListDevices   Type = 20
	TypeRemoveDevice  Type = 21
	TypeSetGroup      Type = 22
	TypeUpload        Type = 23 // client: ask to upload a blob (or resume one)
	TypeCoop          Type = 24 // client: the co-op's figures, membership, costs, roles
	TypeLink          Type = 25 // client, unauthenticated: a new device asks to be linked
	TypeFetchLink     Type = 26 // client: look up a link by its code
	TypeLinkDevice    Type = 27 // client: authorise the device waiting on a link
	TypeApproveDevice Type = 28 // client: approve a held device
	TypeBackup        Type = 29 // client: the account's encrypted backup
	TypeSetPush       Type = 30 // client: this device's Web Push subscription

	TypeOK           Type = 40
	TypeError        Type = 41
	TypeVerified     Type = 42
	TypeWelcome      Type = 43
	TypeBundles      Type = 44
	TypeFound        Type = 45
	TypeAccepted     Type = 46
	TypeRejected     Type = 47
	TypeDeliver      Type = 48
	TypeContacts     Type = 49
	TypeDevices      Type = 50
	TypeNotice       Type = 51
	TypeCodeSent     Type = 52
	TypeUploadGrant  Type = 53
	TypeCoopInfo     Type = 54
	TypeCoopCheckout Type = 55
	TypeLinkCode     Type = 56
	TypeLinkKeys     Type = 57
	TypeLinked       Type = 58
	TypeBackupInfo   Type = 59
)

var typeNames = map[Type]string{
	TypeRegister: "register", TypeVerify: "verify", TypeAuth: "auth",
	TypePublishKeys: "publish_keys", TypeFetchBundles: "fetch_bundles",
	TypeLookup: "lookup", TypeSend: "send", TypeAck: "ack",
	TypeSetContact: "set_contact", TypeListContacts: "list_contacts",
	TypeListDevices: "list_devices", TypeRemoveDevice: "remove_device",
	TypeSetGroup: "set_group", TypeUpload: "upload", TypeCoop: "coop",
	TypeOK: "ok", TypeError: "error", TypeVerified: "verified",
	TypeWelcome: "welcome", TypeBundles: "bundles", TypeFound: "found",
	TypeAccepted: "accepted", TypeRejected: "rejected", TypeDeliver: "deliver",
	TypeContacts: "contacts", TypeDevices: "devices", TypeNotice: "notice",
	TypeCodeSent: "code_sent", TypeUploadGrant: "upload_grant",
	TypeCoopInfo: "coop_info", TypeCoopCheckout: "coop_checkout",
	TypeLink: "link", TypeFetchLink: "fetch_link", TypeLinkDevice: "link_device",
	TypeApproveDevice: "approve_device", TypeBackup: "backup",
	TypeSetPush: "set_push", TypeLinkCode: "link_code", TypeLinkKeys: "link_keys",
	TypeLinked: "linked", TypeBackupInfo: "backup_info",
}

func (t Type) String() string {
	if s, ok := typeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// Body is the content of a frame: one of the types in this package.
type Body interface {
	Type() Type
	appendTo(b []byte) []byte
	decode(b []byte) error
}

// Frame is one WebSocket binary message. ID correlates a request with its
// reply: the relay echoes a request's ID in its answer; frames the relay
// sends on its own (Deliver, Notice) carry ID 0.
type Frame struct {
	ID   uint64
	Body Body
}

// ErrUnknownFrame is returned by DecodeFrame for a body type this version
// does not know.
var ErrUnknownFrame = errors.New("wire: unknown frame type")

// AppendFrame appends the encoding of f to b.
func AppendFrame(b []byte, f Frame) []byte {
	e := pb.Encoder(b)
	e.Uint(1, f.ID)
	e.Message(pb.Number(f.Body.Type()), f.Body.appendTo)
	return e
}

// Encode returns the encoding of f.
func Encode(f Frame) []byte { return AppendFrame(nil, f) }

// DecodeFrame decodes one frame. It fails with an error wrapping
// ErrMalformed, or with ErrUnknownFrame.
func DecodeFrame(b []byte) (Frame, error) {
	var f Frame
	var unknown Type
	err := pb.ForEach(b, func(fl pb.Field) error {
		switch {
		case fl.Num == 1:
			id, err := fl.Uint64()
			f.ID = id
			return err
		case fl.Type != protowire.VarintType && fl.Type != protowire.BytesType:
			return nil // a fixed-size field or a group is no body: an unknown field
		}
		if f.Body != nil || unknown != 0 {
			return malformed("more than one body")
		}
		body := newBody(Type(fl.Num))
		if body == nil {
			unknown = Type(fl.Num)
			return nil
		}
		if err := decodeNested(fl, body); err != nil {
			return fmt.Errorf("%s: %w", body.Type(), err)
		}
		f.Body = body
		return nil
	})
	if err != nil {
		return Frame{}, err
	}
	if unknown != 0 {
		return Frame{}, fmt.Errorf("%w: %d", ErrUnknownFrame, uint32(unknown))
	}
	if f.Body == nil {
		return Frame{}, malformed("no body")
	}
	return f, nil
}

func newBody(t Type) Body {
	switch t {
	case TypeRegister:
		return new(Register)
	case TypeVerify:
		return new(Verify)
	case TypeAuth:
		return new(Auth)
	case TypePublishKeys:
		return new(PublishKeys)
	case TypeFetchBundles:
		return new(FetchBundles)
	case TypeLookup:
		return new(Lookup)
	case TypeSend:
		return new(Send)
	case TypeAck:
		return new(Ack)
	case TypeSetContact:
		return new(SetContact)
	case TypeListContacts:
		return new(ListContacts)
	case TypeListDevices:
		return new(ListDevices)
	case TypeRemoveDevice:
		return new(RemoveDevice)
	case TypeSetGroup:
		return new(SetGroup)
	case TypeUpload:
		return new(Upload)
	case TypeCoop:
		return new(Coop)
	case TypeOK:
		return new(OK)
	case TypeError:
		return new(Error)
	case TypeVerified:
		return new(Verified)
	case TypeWelcome:
		return new(Welcome)
	case TypeBundles:
		return new(Bundles)
	case TypeFound:
		return new(Found)
	case TypeAccepted:
		return new(Accepted)
	case TypeRejected:
		return new(Rejected)
	case TypeDeliver:
		return new(Deliver)
	case TypeContacts:
		return new(Contacts)
	case TypeDevices:
		return new(Devices)
	case TypeNotice:
		return new(Notice)
	case TypeCodeSent:
		return new(CodeSent)
	case TypeUploadGrant:
		return new(UploadGrant)
	case TypeCoopInfo:
		return new(CoopInfo)
	case TypeCoopCheckout:
		return new(CoopCheckout)
	case TypeLink:
		return new(Link)
	case TypeFetchLink:
		return new(FetchLink)
	case TypeLinkDevice:
		return new(LinkDevice)
	case TypeApproveDevice:
		return new(ApproveDevice)
	case TypeBackup:
		return new(Backup)
	case TypeSetPush:
		return new(SetPush)
	case TypeLinkCode:
		return new(LinkStarted)
	case TypeLinkKeys:
		return new(LinkKeys)
	case TypeLinked:
		return new(Linked)
	case TypeBackupInfo:
		return new(BackupInfo)
	}
	return nil
}
