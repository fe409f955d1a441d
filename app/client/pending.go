package client

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Account protection. A device that signs in by an emailed code alone to
// an account that has a device in use is held by the relay (for 7 days at
// most) until one of the account's devices approves it (ApproveDevice)
// or refuses it (RemoveDevice). The relay tells the held device in
// Verified and in each Welcome (PendingUntil), delivers nothing to it and
// leaves it out of the account's device list, so nobody encrypts to it;
// the account's other devices get a DevicePending event (the relay's
// notice) and see it in Devices (DeviceInfo.PendingUntilMS). A held
// device publishes its keys and waits: its worker sends nothing (the
// outbox keeps what is written meanwhile) and asks nothing else of the
// relay. When it is approved, the relay closes its connection with
// wire.CloseApproved; Run reconnects at once, and the first Welcome that
// no longer holds it makes a DeviceApproved event. A device linked from
// another (LinkDevice) is never held.

// ErrDevicePending: this device is held by account protection (see
// PendingUntil) and may not do this until one of the account's devices
// approves it.
var ErrDevicePending = errors.New("client: this device waits for approval by another device of the account")

// DevicePending: a device signed in to this account by code alone and is
// held until one of the account's devices approves it (ApproveDevice) or
// refuses it (RemoveDevice).
type DevicePending struct{ Device wire.DeviceID }

// DeviceApproved: this device, held by account protection, was approved
// (or its hold ended): it is delivered to from now on.
type DeviceApproved struct{}

func (DevicePending) event()  {}
func (DeviceApproved) event() {}

// kPending is the key, in bLink, of until when this device is held.
var kPending = []byte("pending")

// PendingUntil returns until when the relay holds this device (it signed
// in by code alone; see ErrDevicePending), as the relay last said; zero
// unless it is held.
func (c *Client) PendingUntil() time.Time {
	ms := c.heldUntil.Load()
	if ms == 0 {
		return time.Time{}
	}
	return fromMS(ms)
}

// ApproveDevice lets a device of this account that the relay holds (a
// DevicePending event, or DeviceInfo.PendingUntilMS in Devices) be
// delivered to. Refusing it is RemoveDevice. It needs Run's connection.
func (c *Client) ApproveDevice(ctx context.Context, d wire.DeviceID) error {
	if !c.PendingUntil().IsZero() {
		return fmt.Errorf("approve device: %w", ErrDevicePending)
	}
	conn, err := c.connection(ctx)
	if err != nil {
		return err
	}
	if _, err := transport.Call[*wire.OK](ctx, conn, &wire.ApproveDevice{Device: d}); err != nil {
		return fmt.Errorf("approve device: %w", err)
	}
	return nil
}

// loadHeld reads until when this device is held, as last stored.
func (c *Client) loadHeld(ctx context.Context) error {
	return c.st.View(ctx, func(tx store.Tx) error {
		ms, err := heldUntil(tx)
		c.heldUntil.Store(ms)
		return err
	})
}

func heldUntil(tx store.Tx) (int64, error) {
	b, err := tx.Get(bLink, kPending)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return 0, nil
	case err != nil:
		return 0, err
	case len(b) != 8:
		return 0, fmt.Errorf("%w: hold of %d bytes", errMalformed, len(b))
	}
	return int64(binary.BigEndian.Uint64(b)), nil
}

func putHeld(tx store.Tx, ms int64) error {
	if ms == 0 {
		return tx.Delete(bLink, kPending)
	}
	return tx.Put(bLink, kPending, binary.BigEndian.AppendUint64(nil, uint64(ms)))
}

// setHeld records until when the relay holds this device (0: not held),
// from a Welcome, and emits DeviceApproved if it was held and no longer
// is.
func (c *Client) setHeld(ctx context.Context, ms int64) error {
	was := int64(0)
	err := c.st.Update(ctx, func(tx store.Tx) (err error) {
		if was, err = heldUntil(tx); err != nil || was == ms {
			return err
		}
		return putHeld(tx, ms)
	})
	if err != nil {
		return fmt.Errorf("record the hold: %w", err)
	}
	c.heldUntil.Store(ms)
	if was != 0 && ms == 0 {
		c.emit(DeviceApproved{})
	}
	return nil
}

// approved reports whether the relay closed the connection because this
// held device was approved: Run reconnects at once.
func approved(err error) bool {
	var ce *transport.CloseError
	return errors.As(err, &ce) && ce.Code == wire.CloseApproved
}

// heldWorker is the worker of a held device's connection: its keys are
// kept published, and nothing else goes to the relay until the relay
// approves it (and closes the connection) or the connection ends.
func (c *Client) heldWorker(ctx context.Context, conn *transport.Conn, keys *keyUpkeep) error {
	for {
		select {
		case <-keys.due():
			if err := keys.run(ctx, keys.ec, keys.kem); err != nil {
				if !isRelayError(err) {
					return err
				}
				c.emit(Failure{Err: err})
			}
		case n, ok := <-conn.Notices():
			if !ok {
				return errConnEnded
			}
			if err := c.handleNotice(ctx, keys, n); err != nil {
				if !isRelayError(err) {
					return err
				}
				c.emit(Failure{Err: err})
			}
		case <-ctx.Done():
			return nil
		}
	}
}
