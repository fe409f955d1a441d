package wire

import "fmt"

// Code is a stable error or rejection reason. Numbers never change meaning;
// new ones are only added.
type Code uint32

// Error and rejection codes.
const (
	CodeBadRequest        Code = 1  // the frame is well-formed but its content is not acceptable
	CodeUnauthenticated   Code = 2  // wrong device credential
	CodeBadAddress        Code = 3  // the address cannot be parsed
	CodeUnsupportedScheme Code = 4  // tel: and irc: are reserved for later
	CodeRateLimited       Code = 5  // try again after Error.RetryAfterMS
	CodeBadCode           Code = 6  // wrong code, or no code pending for the address
	CodeCodeExpired       Code = 7  // the code is older than its lifetime
	CodeTooManyAttempts   Code = 8  // the code was guessed wrong too often and is void
	CodeNotFound          Code = 9  // no such user or device
	CodeNoPrekeys         Code = 10 // the user's devices have published no keys
	CodeTooLarge          Code = 11
	CodeTooManyRecipients Code = 12
	CodeNotAccepted       Code = 13 // the recipient has not accepted the sender (or has blocked them)
	CodeDeliveryFailed    Code = 14 // the code could not be delivered to the address
	CodeInternal          Code = 15
	CodeStaleDevices      Code = 16 // the recipient list does not match the user's devices: see Rejected.Devices
	CodeUnavailable       Code = 17 // the relay is shutting down or overloaded; retry
	CodeBadKind           Code = 18 // the Send kind is not one a client may send
	CodeNoDevices         Code = 19 // the user exists but has no device signed in
	CodeForbidden         Code = 20 // SetGroup: the proof does not give that right, or the sender is not a member
	CodeExists            Code = 21 // SetGroup create: the group ID is taken
	CodeQuotaExceeded     Code = 22 // Upload: the account's upload bytes for the day are used up; see RetryAfterMS
	// CodeDevicePending: this device signed in by code alone and waits
	// for approval by one of the account's devices (Verified and Welcome
	// say until when); it may not do this yet.
	CodeDevicePending Code = 23
)

var codeNames = map[Code]string{
	CodeBadRequest: "bad_request", CodeUnauthenticated: "unauthenticated",
	CodeBadAddress: "bad_address", CodeUnsupportedScheme: "unsupported_scheme",
	CodeRateLimited: "rate_limited", CodeBadCode: "bad_code",
	CodeCodeExpired: "code_expired", CodeTooManyAttempts: "too_many_attempts",
	CodeNotFound: "not_found", CodeNoPrekeys: "no_prekeys", CodeTooLarge: "too_large",
	CodeTooManyRecipients: "too_many_recipients", CodeNotAccepted: "not_accepted",
	CodeDeliveryFailed: "delivery_failed", CodeInternal: "internal",
	CodeStaleDevices: "stale_devices", CodeUnavailable: "unavailable",
	CodeBadKind: "bad_kind", CodeNoDevices: "no_devices",
	CodeForbidden: "forbidden", CodeExists: "exists",
	CodeQuotaExceeded: "quota_exceeded", CodeDevicePending: "device_pending",
}

func (c Code) String() string {
	if s, ok := codeNames[c]; ok {
		return s
	}
	return fmt.Sprintf("code(%d)", uint32(c))
}

// WebSocket close codes the relay uses (RFC 6455 registers 4000-4999 for
// private use). The close reason is a short human-readable text. A frame
// over MaxFrameSize closes the connection with the standard 1009 (message
// too big).
const (
	CloseProtocolError  = 4000 // a frame could not be decoded
	CloseAuthRequired   = 4001 // a frame other than register/verify/auth before authentication
	CloseAuthFailed     = 4002 // authentication failed
	CloseUnknownFrame   = 4003 // a frame type this version does not know
	CloseTooSlow        = 4004 // the client did not read fast enough; reconnect and resume
	CloseIdle           = 4005 // no frame within the idle or authentication deadline
	CloseReplaced       = 4006 // the same device connected again; this older connection ends
	CloseDeviceRemoved  = 4007 // the device was removed from the account
	CloseShutdown       = 4008 // the relay is restarting; reconnect with backoff
	CloseWrongDirection = 4009 // a frame type only the relay sends
	CloseApproved       = 4010 // this held device was approved: reconnect, delivery starts
)

// Kind says what a message is to the relay.
type Kind uint32

const (
	KindMessage  Kind = 1 // delivered only if the recipient allows the sender
	KindRequest  Kind = 2 // a contact request: may reach a stranger, rate-limited
	KindRejected Kind = 3 // sent by the relay to the sender: a message was not delivered
	KindGroup    Kind = 4 // to the joined members of the group named by the conversation
	// KindCoop: a co-op notice the relay wrote and signed (CoopNotice), in
	// Shared, for every device of the user; the sender is the zero user and
	// the conversation CoopConversation. Only the relay writes it: a Send
	// of this kind is refused.
	KindCoop Kind = 5
)

// ContactState is what a user has said about another user; the relay's
// router enforces it.
type ContactState uint32

const (
	ContactNone    ContactState = 0
	ContactAllowed ContactState = 1
	ContactBlocked ContactState = 2
)

// NoticeKind says what a Notice is about.
type NoticeKind uint32

const (
	// NoticePrekeysLow: the device's one-time prekeys run low; publish more.
	NoticePrekeysLow NoticeKind = 1
	// NoticeRetentionGap: records the device had not acknowledged expired
	// before it came back; delivery resumes at Notice.Oldest.
	NoticeRetentionGap NoticeKind = 2
	// NoticeDevicePending: a device signed in to the account by code
	// alone and is held until one of the account's devices approves it
	// (ApproveDevice) or the hold ends; Notice.Device names it. Sent to
	// the account's connected, approved devices.
	NoticeDevicePending NoticeKind = 3
)
