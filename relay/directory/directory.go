package directory

import (
	"context"
	"errors"
	"time"

	"github.com/mutualcoop/mutual/relay/limit"
	"github.com/mutualcoop/mutual/relay/wire"
)

var (
	// ErrNotFound is returned when the user, device, code or key asked for
	// does not exist.
	ErrNotFound = errors.New("directory: not found")
	// ErrNoPrekeys is returned by ClaimBundle when the device never published
	// a signed prekey (or lacks its identity key, or has no KEM prekey: no
	// one-time KEM prekey left and no last-resort one). Nothing is consumed.
	ErrNoPrekeys = errors.New("directory: device has no prekeys")
	// ErrInvalid wraps the errors for input a caller should have refused:
	// keys without a public key or signature, an unknown contact state,
	// empty hashes, negative limits.
	ErrInvalid = errors.New("directory: invalid input")
	// ErrFull is returned by SetContact when a new entry would take the
	// owner's contact list past its bound, and by ChangeGroup when a
	// group's list or a user's number of lists would pass theirs. Nothing
	// is written.
	ErrFull = errors.New("directory: contact list full")
)

// Device is one registered device of a user.
type Device struct {
	User     wire.UserID
	ID       wire.DeviceID
	Name     string
	CredHash []byte // hash of the device credential; the credential itself is never stored
	Created  time.Time
	LastSeen time.Time // the day (UTC midnight) it last acknowledged a delivery, or was added
	Offset   int64     // committed offset in the user's inbox: next record to deliver
	// PendingUntil is when the device's hold ends, or zero once it is
	// approved (see AddVerifiedDevice). A held device is in Devices but
	// not in DeviceIDs, and does not count in InboxFloors.
	PendingUntil time.Time
	Linked       bool // added by a link (ClaimLink)
}

// Held reports whether the device is held: it waits for approval.
func (d Device) Held() bool { return !d.PendingUntil.IsZero() }

// InboxFloor is the lowest committed offset over a user's devices: every
// device has acknowledged every record of the inbox below it.
type InboxFloor struct {
	User    wire.UserID
	Offset  int64 // meaningless when Devices is 0
	Devices int   // how many devices the user has
}

// Prekey is a public prekey as published by a device: an ID the client
// chose, the public key bytes, and for signed keys the signature. The relay
// does not interpret Public or Signature.
type Prekey struct {
	ID        uint32
	Public    []byte
	Signature []byte
}

// Keys is what a device publishes. Fields left empty keep their stored value;
// OneTime and KEMOneTime are added to the device's pools.
type Keys struct {
	Identity      []byte   // the device's public identity key
	Signed        *Prekey  // signed EC prekey (replaces the current one)
	KEMLastResort *Prekey  // signed last-resort KEM prekey (replaces)
	OneTime       []Prekey // one-time EC prekeys to add
	KEMOneTime    []Prekey // signed one-time KEM prekeys to add
	// Vouch, when set, replaces the vouch kept with the identity key.
	// Without it, an Identity other than the stored one clears the stored
	// vouch: a vouch is for one identity key.
	Vouch *Vouch
}

// Vouch is one device's signature over another's identity key, opaque to
// the relay (wire.Vouch).
type Vouch struct {
	Device    wire.DeviceID
	Signature []byte
}

// Bundle is what a sender fetches to start a session with one device. Each
// one-time key in it has been removed from the store: it is handed out once.
type Bundle struct {
	Device          wire.DeviceID
	Identity        []byte
	Signed          Prekey
	OneTime         *Prekey // nil when the pool is empty
	KEM             Prekey  // a one-time KEM prekey, or the last-resort one
	KEMIsLastResort bool
	Vouch           *Vouch // kept with Identity; nil if none
}

// PrekeyCounts says how many one-time prekeys a device has left.
type PrekeyCounts struct {
	OneTime    int
	KEMOneTime int
}

// ContactState is what a user has said about another user.
type ContactState int

const (
	// None: no decision. Messages are refused; contact requests go through
	// (rate-limited).
	None ContactState = iota
	// Allowed: on the allowlist; messages are delivered.
	Allowed
	// Blocked: nothing from this user is delivered, not even requests.
	Blocked
)

// Contact is one entry of a user's contact list.
type Contact struct {
	User    wire.UserID
	State   ContactState
	Updated time.Time
}

// Code is a pending authentication code for an address. An address may
// have several, one per request, told apart by Token.
type Code struct {
	Token    []byte // hash of the token the request was answered with
	Hash     []byte // keyed hash of the code
	Expires  time.Time
	Attempts int // failed verification attempts so far
}

// Directory is the relay's account store. Implementations are safe for
// concurrent use by many processes sharing the same database.
type Directory interface {
	// Pushes keeps the devices' Web Push subscriptions.
	Pushes

	// Account returns the user registered under the keyed address hash, or
	// ErrNotFound.
	Account(ctx context.Context, addrHash []byte) (wire.UserID, error)
	// CreateAccount returns the user for addrHash, creating one with the
	// given new ID if there is none; created says which happened.
	CreateAccount(ctx context.Context, addrHash []byte, id wire.UserID) (user wire.UserID, created bool, err error)
	// MoveAccount returns the user registered under addrHash. When there
	// is none, it first moves the account registered under from (an
	// address hash of an older form) to addrHash, atomically. It returns
	// ErrNotFound when neither hash has an account.
	MoveAccount(ctx context.Context, from, addrHash []byte) (wire.UserID, error)
	// UserCreated returns when the user's account was created, or
	// ErrNotFound.
	UserCreated(ctx context.Context, user wire.UserID) (time.Time, error)

	// AddDevice registers a new device for user with a hashed credential.
	// Its offset starts at the given inbox offset.
	AddDevice(ctx context.Context, user wire.UserID, name string, credHash []byte, offset int64) (wire.DeviceID, error)
	// AddVerifiedDevice registers a device signed in by code alone (see
	// NewDevice: it may be held), checking the account's devices and
	// adding it in one transaction, and returns it.
	AddVerifiedDevice(ctx context.Context, user wire.UserID, nd NewDevice) (Device, error)
	// ApproveDevice ends a device's hold and moves its offset to offset
	// (the end of the inbox: it never reads what came while it was held),
	// or returns ErrNotFound when the user has no such held device.
	ApproveDevice(ctx context.Context, user wire.UserID, id wire.DeviceID, offset int64) error
	// Device returns one device, or ErrNotFound.
	Device(ctx context.Context, user wire.UserID, id wire.DeviceID) (Device, error)
	// Devices lists a user's devices in ID order.
	Devices(ctx context.Context, user wire.UserID) ([]Device, error)
	// DeviceIDs returns the IDs of the approved devices of several users
	// at once, each user's in ascending order; a user without approved
	// devices (or without an account) has no entry. Held devices are left
	// out: nothing is sent to them.
	DeviceIDs(ctx context.Context, users []wire.UserID) (map[wire.UserID][]wire.DeviceID, error)
	// RemoveDevice deletes a device with its prekeys, or returns
	// ErrNotFound. Its ID is never given to another device of the user.
	RemoveDevice(ctx context.Context, user wire.UserID, id wire.DeviceID) error
	// CommitOffsets records delivery offsets (and last-seen times) for
	// several devices in one transaction. An offset never moves backwards,
	// nor does a last-seen time; a zero Seen leaves it as it is. Last-seen
	// times are stored to the day (Day). Devices that no longer exist are
	// skipped.
	CommitOffsets(ctx context.Context, offsets []DeviceOffset) error
	// InboxFloors returns, for up to limit users with IDs after after in
	// ID order, the lowest committed offset over their approved devices
	// (a held device reads nothing of the inbox: its approval moves it to
	// the end). Users without approved devices are listed with Devices 0.
	// A zero after starts at the first user.
	InboxFloors(ctx context.Context, after wire.UserID, limit int) ([]InboxFloor, error)

	// PublishKeys stores a device's public keys (and vouch, see Keys), or
	// returns ErrNotFound. A
	// one-time prekey published again under the same ID replaces the stored
	// one. Keys that fail Keys.Validate are refused with ErrInvalid. The pools
	// are not bounded here: the caller limits how many keys a device may add.
	PublishKeys(ctx context.Context, user wire.UserID, device wire.DeviceID, k Keys) error
	// ClaimBundle hands out a bundle for one device, removing the one-time
	// prekeys it contains. Concurrent claims never receive the same one-time
	// key. One-time prekeys are handed out oldest first. ErrNotFound when
	// the device does not exist, ErrNoPrekeys when it has no complete bundle.
	ClaimBundle(ctx context.Context, user wire.UserID, device wire.DeviceID) (Bundle, error)
	// LastResortBundle returns the bundle of a device as its one-time
	// pools give out when empty: no one-time EC prekey and the last-resort
	// KEM prekey. It consumes nothing. ErrNotFound when the device does not
	// exist, ErrNoPrekeys when it lacks its identity key, signed prekey or
	// last-resort KEM prekey.
	LastResortBundle(ctx context.Context, user wire.UserID, device wire.DeviceID) (Bundle, error)
	// PrekeyCounts says how many one-time prekeys a device has left, or
	// returns ErrNotFound.
	PrekeyCounts(ctx context.Context, user wire.UserID, device wire.DeviceID) (PrekeyCounts, error)

	// SetContact records owner's decision about other. Setting None removes
	// the entry (whether or not other exists). Allowed or Blocked needs other
	// to be a user (else ErrNotFound), and owner may hold at most max
	// entries: a new one past that is refused with ErrFull, while an
	// existing entry can always be changed. The check and the write are
	// one step: concurrent calls for one owner never pass max together.
	SetContact(ctx context.Context, owner, other wire.UserID, state ContactState, max int) error
	// ContactState returns owner's decision about other (None if there is none).
	ContactState(ctx context.Context, owner, other wire.UserID) (ContactState, error)
	// Contacts lists at most max of owner's contact entries (Allowed or
	// Blocked) in order of user ID; the database reads no more than that.
	Contacts(ctx context.Context, owner wire.UserID, max int) ([]Contact, error)
	// NoteRequest records the contact request id from one user to another
	// at now and reports whether it is within the limits: at most one per
	// pair per pairWindow, and at most perSender from one sender per
	// senderWindow. A request over the limits is not recorded. Records
	// older than both windows are pruned.
	//
	// A request is counted once: noting the same id from the same sender to
	// the same recipient again, while its record is kept, reports ok without
	// counting it again, so that a request routed twice (a batch retried
	// after a failed append or a crash, a client resending it) is neither
	// refused nor charged twice.
	NoteRequest(ctx context.Context, from, to wire.UserID, id wire.MessageID, now time.Time, lim RequestLimits) (ok bool, err error)

	// ChangeGroup applies one change of a group's member list in one
	// transaction with its checks (ApplyGroupChange has the rules and the
	// errors): of concurrent changes, from any process, each sees the
	// others' whole or not at all, and together they never pass lim.
	ChangeGroup(ctx context.Context, c GroupChange, lim GroupLimits) error
	// GroupMembers returns the users who have joined a group (not those
	// only invited), or ErrNotFound when there is no such group.
	GroupMembers(ctx context.Context, group wire.ConversationID) ([]wire.UserID, error)
	// SharesGroup reports whether a and b have both joined one group.
	SharesGroup(ctx context.Context, a, b wire.UserID) (bool, error)

	// PutCode stores a pending code for an address hash under c.Token,
	// replacing only a code with the same token.
	PutCode(ctx context.Context, addrHash []byte, c Code) error
	// GetCode returns the code pending for addrHash under token, or
	// ErrNotFound.
	GetCode(ctx context.Context, addrHash, token []byte) (Code, error)
	// FailCode counts a failed attempt against the code pending for
	// addrHash under token and returns the new count, or ErrNotFound.
	FailCode(ctx context.Context, addrHash, token []byte) (attempts int, err error)
	// DeleteCode removes the code pending for addrHash under token (after
	// success, expiry or too many attempts). It returns ErrNotFound when
	// there was no such code: of two relays verifying the same code at
	// once, exactly one deletes it, and only that one signs the device in.
	DeleteCode(ctx context.Context, addrHash, token []byte) error
	// CountCodeRequest records a code request for addrHash at now and returns
	// how many were recorded since now-window (including this one). It also
	// prunes request records older than the window and codes that expired
	// before now. The window must be positive.
	CountCodeRequest(ctx context.Context, addrHash []byte, now time.Time, window time.Duration) (int, error)

	// CreateBlob records a new blob's upload (b.Check says what it
	// needs), if the owner's uploads stay within lim: ErrFull when the
	// owner already has lim.Unfinished unfinished uploads, ErrQuota when
	// the bytes granted since lim.Since with b's would pass lim.Bytes,
	// ErrExists when the ID is taken. The checks and the write are one
	// step: concurrent calls for one owner, from any process, never pass
	// lim together.
	CreateBlob(ctx context.Context, b Blob, lim BlobLimits) error
	// Blob returns a blob's record, deleted ones included, or ErrNotFound.
	Blob(ctx context.Context, id wire.BlobID) (Blob, error)
	// RenewBlobToken replaces the token hash and its expiry of an
	// unfinished upload of owner's and returns the record, or ErrNotFound
	// when there is no such upload (unknown, another owner's, complete or
	// deleted).
	RenewBlobToken(ctx context.Context, id wire.BlobID, owner wire.UserID, tokenHash []byte, expires time.Time) (Blob, error)
	// CompleteBlob records that a blob's upload completed at at. It is
	// idempotent: a completed blob keeps its first time. ErrNotFound when
	// there is no such blob, or it is deleted.
	CompleteBlob(ctx context.Context, id wire.BlobID, at time.Time) error
	// BlobUsage says what owner was granted since since (the bytes, and
	// the oldest grant's time) and how many uploads it has unfinished.
	BlobUsage(ctx context.Context, owner wire.UserID, since time.Time) (BlobUsage, error)
	// ExpiredBlobs lists up to limit blobs whose bytes are to be deleted:
	// not deleted yet, and either expired by now or unfinished and
	// granted before unfinishedBefore.
	ExpiredBlobs(ctx context.Context, now, unfinishedBefore time.Time, limit int) ([]wire.BlobID, error)
	// DeleteBlob records that a blob's bytes were deleted at at; the
	// record stays (a download then learns the blob is gone) until
	// PurgeBlobs. Deleting a deleted or unknown blob does nothing.
	DeleteBlob(ctx context.Context, id wire.BlobID, at time.Time) error
	// PurgeBlobs removes up to limit records of deleted blobs that
	// expired before before, and says how many it removed.
	PurgeBlobs(ctx context.Context, before time.Time, limit int) (int64, error)

	// CreateLink stores a link a new device waits on, unclaimed. It
	// returns ErrExists when a link with the same code is stored and not
	// expired at now (an expired one is replaced).
	CreateLink(ctx context.Context, l Link, now time.Time) error
	// Link returns the link stored under code, expired or claimed ones
	// included, or ErrNotFound.
	Link(ctx context.Context, code string) (Link, error)
	// ClaimLink adds the device waiting on the link code to user's
	// account, with the link's name and credential hash, not held, marked
	// linked, at inbox offset offset, and records the account, the
	// device and provision in the link, in one transaction. It returns
	// the new device's ID, or ErrNotFound when there is no unclaimed link
	// under code that expires after now (or no such user): of concurrent
	// claims, from any process, one succeeds.
	ClaimLink(ctx context.Context, code string, user wire.UserID, provision []byte, offset int64, now time.Time) (wire.DeviceID, error)
	// DeleteLink removes the link stored under code and returns it as it
	// was, or returns ErrNotFound.
	DeleteLink(ctx context.Context, code string) (Link, error)
	// DeleteExpiredLinks removes up to limit links that expired before
	// before, and says how many it removed.
	DeleteExpiredLinks(ctx context.Context, before time.Time, limit int) (int64, error)

	// Limits returns the rate-limit store kept in the directory, shared by
	// every process that uses it: of concurrent Takes on one key, from any
	// process, never more are granted than the bucket holds. Keys are at
	// most MaxLimitKey bytes; a negative charge is refused with ErrInvalid.
	// Buckets that have been full for LimitPruneSlack are pruned as Takes
	// go.
	Limits() limit.Store

	// Ping reports whether the database answers, for health checks. It
	// reads and writes nothing.
	Ping(ctx context.Context) error
	Close() error
}

// DeviceOffset is one device's delivery position.
type DeviceOffset struct {
	User   wire.UserID
	Device wire.DeviceID
	Offset int64
	Seen   time.Time
}

// RequestLimits bounds contact requests. A zero PairWindow disables the
// per-pair limit; a zero PerSender or SenderWindow disables the per-sender
// limit.
type RequestLimits struct {
	PairWindow   time.Duration // one request per (from, to) per window
	PerSender    int           // at most this many requests from one sender ...
	SenderWindow time.Duration // ... per this window
}
