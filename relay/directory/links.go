package directory

import (
	"fmt"
	"time"

	"github.com/mutualcoop/mutual/relay/wire"
)

// NewDevice is a device signed in by code alone (Verify), for
// AddVerifiedDevice. Account protection: when the account has an
// approved device whose last-seen day (or creation) is at or after
// ActiveSince, the new device is held until HoldUntil; otherwise (the
// first device of an account, or one whose devices are all long unused)
// it is approved at once. A zero HoldUntil never holds.
type NewDevice struct {
	Name        string
	CredHash    []byte
	Offset      int64 // the inbox offset it starts at
	HoldUntil   time.Time
	ActiveSince time.Time
}

// Link is a new device's request to be linked to an account: what it sent
// (Key, Identity, DeviceName), the hash of the credential the gateway it
// waits on made for it, and once a device of an account claimed it
// (ClaimLink), that account, the device it became and the provisioning
// message sealed for it.
type Link struct {
	Code       string // wire.LinkCode of Key and Identity
	Key        []byte
	Identity   []byte
	DeviceName string
	CredHash   []byte
	Expires    time.Time

	User      wire.UserID   // zero until claimed
	Device    wire.DeviceID // zero until claimed
	Provision []byte
}

// Claimed reports whether a device of an account claimed the link.
func (l Link) Claimed() bool { return l.Device != 0 }

// Check reports whether l can be stored by CreateLink: a code, keys, a
// credential hash and an expiry, unclaimed. The errors wrap ErrInvalid.
func (l Link) Check() error {
	switch {
	case l.Code == "":
		return fmt.Errorf("%w: link without a code", ErrInvalid)
	case len(l.Key) == 0 || len(l.Identity) == 0:
		return fmt.Errorf("%w: link without keys", ErrInvalid)
	case l.Expires.IsZero():
		return fmt.Errorf("%w: link without an expiry", ErrInvalid)
	case l.Claimed() || !l.User.IsZero() || len(l.Provision) > 0:
		return fmt.Errorf("%w: a new link is unclaimed", ErrInvalid)
	}
	return CheckHash("credential hash", l.CredHash)
}
