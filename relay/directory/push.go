package directory

import (
	"context"
	"fmt"
	"time"

	"github.com/mutualcoop/mutual/relay/wire"
)

// PushSubscription is one device's Web Push subscription: where its push
// service takes pushes for it, the keys pushes are encrypted to, and the
// conversations it does not want to be woken for. A device has at most
// one; it goes with the device.
type PushSubscription struct {
	User     wire.UserID
	Device   wire.DeviceID
	Endpoint string
	P256dh   []byte
	Auth     []byte
	Muted    []wire.ConversationID
	Updated  time.Time
	// OnlineUntil is the device's presence as the gateways of a cluster
	// record it (SetPushPresence): connected to one of them until then.
	// Zero when it is not connected, or presence is not recorded.
	OnlineUntil time.Time
}

// DeviceRef names one device of one user.
type DeviceRef struct {
	User   wire.UserID
	Device wire.DeviceID
}

// Pushes keeps the devices' push subscriptions (migration 0012_push).
type Pushes interface {
	// SetPushSubscription stores s as its device's subscription,
	// replacing any other, or returns ErrNotFound when there is no such
	// device. A subscription that fails Check is refused with ErrInvalid.
	SetPushSubscription(ctx context.Context, s PushSubscription) error
	// DeletePushSubscription deletes a device's subscription: any, with
	// an empty endpoint; otherwise only while its endpoint is still that
	// one (a push service's "gone" must not delete the subscription the
	// device made since). Deleting nothing is no error.
	DeletePushSubscription(ctx context.Context, user wire.UserID, device wire.DeviceID, endpoint string) error
	// PushSubscriptions lists the subscriptions of user's devices in
	// device order.
	PushSubscriptions(ctx context.Context, user wire.UserID) ([]PushSubscription, error)
	// SetPushPresence records that the devices are connected until until
	// (zero: they are not), for the subscriptions they have; devices
	// without one are skipped.
	SetPushPresence(ctx context.Context, devices []DeviceRef, until time.Time) error
	// CountPushSubscriptions says how many subscriptions are stored.
	CountPushSubscriptions(ctx context.Context) (int64, error)
}

// Check reports whether s can be stored: it names a device, its endpoint
// is not empty and at most wire.MaxPushEndpoint bytes, its keys have their
// sizes, and it mutes at most wire.MaxMuted conversations. The errors wrap
// ErrInvalid. (What endpoints a relay sends to is the gateway's check.)
func (s PushSubscription) Check() error {
	switch {
	case s.User.IsZero() || s.Device == 0:
		return fmt.Errorf("%w: push subscription of no device", ErrInvalid)
	case s.Endpoint == "" || len(s.Endpoint) > wire.MaxPushEndpoint:
		return fmt.Errorf("%w: push endpoint of %d bytes", ErrInvalid, len(s.Endpoint))
	case len(s.P256dh) != wire.PushKeyLen:
		return fmt.Errorf("%w: push key of %d bytes, want %d", ErrInvalid, len(s.P256dh), wire.PushKeyLen)
	case len(s.Auth) != wire.PushAuthLen:
		return fmt.Errorf("%w: push auth secret of %d bytes, want %d", ErrInvalid, len(s.Auth), wire.PushAuthLen)
	case len(s.Muted) > wire.MaxMuted:
		return fmt.Errorf("%w: %d muted conversations, at most %d", ErrInvalid, len(s.Muted), wire.MaxMuted)
	}
	return nil
}

// MutedBytes is how the directory stores s.Muted: the IDs one after the
// other.
func (s PushSubscription) MutedBytes() []byte {
	b := make([]byte, 0, len(s.Muted)*len(wire.ConversationID{}))
	for _, c := range s.Muted {
		b = append(b, c[:]...)
	}
	return b
}

// ParseMuted reads what MutedBytes wrote.
func ParseMuted(b []byte) ([]wire.ConversationID, error) {
	var c wire.ConversationID
	if len(b)%len(c) != 0 {
		return nil, fmt.Errorf("muted conversations of %d bytes", len(b))
	}
	out := make([]wire.ConversationID, 0, len(b)/len(c))
	for ; len(b) > 0; b = b[len(c):] {
		copy(c[:], b)
		out = append(out, c)
	}
	return out, nil
}

// IsMuted reports whether s mutes conv.
func (s PushSubscription) IsMuted(conv wire.ConversationID) bool {
	for _, c := range s.Muted {
		if c == conv {
			return true
		}
	}
	return false
}
