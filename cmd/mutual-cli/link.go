package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

// link makes this home, not registered yet, a device of an account used
// elsewhere: it shows the code and its QR code, and waits for a device of
// the account to enter it ('devices link').
func (c *cli) link(ctx context.Context, args []string) error {
	if len(args) > 1 {
		return usageError("link takes at most a name for this device")
	}
	name := defaultDeviceName
	if len(args) == 1 {
		name = args[0]
	}
	if len(name) > wire.MaxDeviceName {
		return usageError("a device name has at most %d bytes", wire.MaxDeviceName)
	}
	s, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	l, err := s.client.StartLink(ctx, name)
	if errors.Is(err, client.ErrRegistered) {
		return errors.New("this home is a device of an account already: link another device from it with 'devices link CODE'")
	}
	if err != nil {
		return explain(err)
	}
	defer l.Close()
	q, err := qrcode.New(l.QR(), qrcode.Medium)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "On a device where you use Mutual, enter this code (or scan the QR code):\n\n    %s\n\n%s\n", l.Code(), q.ToSmallString(false))
	fmt.Fprintf(c.stdout, "Waiting (the code works for %v)...\n", time.Until(l.Expires()).Round(time.Minute))
	res, err := l.Wait(ctx, func(p client.Progress) {
		fmt.Fprintf(c.stderr, "history: %d of %d\n", p.Done, p.Total)
	})
	if err != nil {
		return explainLink(err)
	}
	fmt.Fprintf(c.stdout, "Linked: this is device %d of %s.\n", res.Account.Device, displayAddress(res.Account.Address))
	switch {
	case res.HistoryErr != nil:
		fmt.Fprintf(c.stderr, "mutual-cli: the history could not be brought over: %v\n", res.HistoryErr)
	case res.History.Messages > 0 || res.History.Contacts > 0:
		fmt.Fprintf(c.stdout, "Brought over %d contacts, %d chats and %d messages.\n", res.History.Contacts, res.History.Chats, res.History.Messages)
	}
	return nil
}

// deviceCommand runs 'devices link', 'devices approve' and 'devices
// refuse'.
func (c *cli) deviceCommand(ctx context.Context, sub string, args []string) error {
	switch sub {
	case "link":
		return c.linkDevice(ctx, args)
	case "approve", "refuse":
		if len(args) != 1 {
			return usageError("devices %s takes one device ID ('mutual-cli devices')", sub)
		}
		id, err := strconv.ParseUint(args[0], 10, 32)
		if err != nil || id == 0 {
			return usageError("%q is not a device ID ('mutual-cli devices')", args[0])
		}
		s, err := c.online(ctx)
		if err != nil {
			return err
		}
		defer s.close()
		d := wire.DeviceID(id)
		if sub == "approve" {
			if err := s.client.ApproveDevice(ctx, d); err != nil {
				return explainLink(err)
			}
			fmt.Fprintf(c.stdout, "Device %d is approved: it gets your messages from now on.\n", d)
			return nil
		}
		if me, err := s.client.Account(); err == nil && me.Device == d {
			return errors.New("that is this device: refuse another one")
		}
		if err := s.client.RemoveDevice(ctx, d); err != nil {
			return explainLink(err)
		}
		fmt.Fprintf(c.stdout, "Device %d is refused and signed out.\n", d)
		return nil
	}
	return usageError("devices takes link, approve or refuse, or --json")
}

// linkDevice links the device showing a code to this account.
func (c *cli) linkDevice(ctx context.Context, args []string) error {
	history := true
	var rest []string
	for _, a := range args {
		if a == "--no-history" || a == "-no-history" {
			history = false
			continue
		}
		rest = append(rest, a)
	}
	if len(rest) == 0 {
		return usageError("devices link takes the code the new device shows, and optionally --no-history")
	}
	code := strings.Join(rest, " ") // a code typed with spaces is one argument or three
	s, err := c.online(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	d, err := s.client.LinkDevice(ctx, code, history, func(p client.Progress) {
		fmt.Fprintf(c.stderr, "history: %d of %d\n", p.Done, p.Total)
	})
	if err != nil {
		return explainLink(err)
	}
	fmt.Fprintf(c.stdout, "Linked device %d.\n", d)
	return nil
}

// explainLink turns what linking and approving may meet into sentences.
func explainLink(err error) error {
	var we *wire.Error
	switch {
	case errors.Is(err, wire.ErrBadLinkCode):
		return errors.New("that is not a link code: it looks like XXXX-XXXX-XXXX")
	case errors.Is(err, client.ErrDevicePending):
		return errors.New("this device waits for approval itself: approve it from another of your devices first")
	case !errors.As(err, &we):
		return err
	}
	switch we.Code {
	case wire.CodeNotFound:
		return errors.New("no device is waiting with that code (it may have expired: start again on the new device)")
	case wire.CodeCodeExpired:
		return errors.New("the code expired before a device entered it: run 'link' again")
	case wire.CodeTooLarge:
		return errors.New("the account has as many devices as it may: remove one first")
	case wire.CodeDevicePending:
		return errors.New("this device waits for approval itself: approve it from another of your devices first")
	}
	return explain(err)
}

// deviceState says whether a listed device was linked or waits for
// approval.
func deviceState(d wire.DeviceInfo) string {
	switch {
	case d.PendingUntilMS > 0:
		return fmt.Sprintf("  waiting for approval until %s ('devices approve %d' or 'devices refuse %d')",
			time.UnixMilli(d.PendingUntilMS).UTC().Format("2006-01-02 15:04 UTC"), d.ID, d.ID)
	case d.Linked:
		return "  linked"
	}
	return ""
}
