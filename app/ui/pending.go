package ui

import (
	"context"
	"strconv"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

// heldUntil is when this device stops being held by account protection
// (it signed in with an email code alone, while the account had another
// device); zero unless it is held.
func (s *Session) heldUntil() time.Time {
	if !s.Registered() {
		return time.Time{}
	}
	c, err := s.client()
	if err != nil {
		return time.Time{}
	}
	return c.PendingUntil()
}

// pendingUntil is when a device of the account stops being held; zero
// unless it is.
func pendingUntil(d wire.DeviceInfo) time.Time {
	if d.PendingUntilMS <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(d.PendingUntilMS)
}

// deviceNumber is a device's ID as the page's element IDs have it.
func deviceNumber(d wire.DeviceID) string { return strconv.FormatUint(uint64(d), 10) }

// pendingDevices are the devices of devs, other than this one, that wait
// for approval.
func pendingDevices(devs []wire.DeviceInfo, this wire.DeviceID) []wire.DeviceInfo {
	var out []wire.DeviceInfo
	for _, d := range devs {
		if d.ID != this && !pendingUntil(d).IsZero() {
			out = append(out, d)
		}
	}
	return out
}

// deviceMark says, under a device in the list, that it waits for
// approval or that it was linked; nil otherwise.
func deviceMark(d wire.DeviceInfo, now time.Time) app.UI {
	if until := pendingUntil(d); !until.IsZero() {
		return app.Span().Class("person-sub", "device-pending").Text("Waiting for approval (until " + untilText(until, now) + ")")
	}
	if d.Linked {
		return app.Span().Class("badge", "badge-linked").Text("Linked")
	}
	return nil
}

// approveDevice approves a device held by account protection.
func approveDevice(s *Session, d wire.DeviceID) error {
	c, err := s.client()
	if err != nil {
		return err
	}
	ctx, cancel := withTimeout(context.Background())
	defer cancel()
	return c.ApproveDevice(ctx, d)
}

// approve approves a device from the settings' list.
func (p *settingsPage) approve(d wire.DeviceID) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		if p.st.busy {
			return
		}
		p.st.busy, p.st.err = true, ""
		s := p.s
		ctx.Async(func() {
			err := approveDevice(s, d)
			online := s.isOnline()
			ctx.Dispatch(func(ctx app.Context) {
				p.st.busy = false
				if err != nil {
					p.st.err = errorText(err, online)
					return
				}
				ctx.NewActionWithValue(actionAnnounce, deviceLabelByID(p.st.devices, d)+" is approved.")
				ctx.NewAction(actionDevicesChanged)
			})
		})
	}
}

// approvalBanner asks, over every page but the settings (whose list of
// devices asks too), about each device of the account that signed in
// with an email code and waits for approval: Approve, or Refuse after a
// question.
type approvalBanner struct {
	app.Compo
	s *Session

	pending  []wire.DeviceInfo
	now      time.Time
	refusing wire.DeviceID // the device Refuse asks about
	busy     bool
	err      string
}

// OnMount loads the devices, and again when one waits or the list
// changes.
func (b *approvalBanner) OnMount(ctx app.Context) {
	ctx.Handle(actionEvent, func(ctx app.Context, a app.Action) {
		switch a.Value.(type) {
		case client.DevicePending, client.Connected, client.OwnDeviceSeen:
			b.load(ctx)
		default:
			ctx.PreventUpdate()
		}
	})
	ctx.Handle(actionDevicesChanged, func(ctx app.Context, a app.Action) { b.load(ctx) })
	b.load(ctx)
}

func (b *approvalBanner) load(ctx app.Context) {
	s := b.s
	acct, ok := s.account()
	if !ok || !s.heldUntil().IsZero() {
		return
	}
	ctx.Async(func() {
		c, err := s.client()
		var devs []wire.DeviceInfo
		if err == nil {
			rctx, cancel := withTimeout(context.Background())
			devs, err = c.Devices(rctx)
			cancel()
		}
		if err != nil {
			// Offline, most likely: the banner waits for the next
			// connection.
			return
		}
		ctx.Dispatch(func(ctx app.Context) {
			b.pending = pendingDevices(devs, acct.Device)
		})
	})
}

func (b *approvalBanner) approve(d wire.DeviceID) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		b.act(ctx, d, "approved", func() error { return approveDevice(b.s, d) })
	}
}

// askRefuse asks before refusing d.
func (b *approvalBanner) askRefuse(d wire.DeviceID) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		b.refusing, b.err = d, ""
		ctx.Defer(func(app.Context) { focusID("cancel-refuse") })
	}
}

func (b *approvalBanner) cancelRefuse(ctx app.Context, e app.Event) {
	d := b.refusing
	b.refusing = 0
	ctx.Defer(func(app.Context) { focusID("refuse-" + deviceNumber(d)) })
}

func (b *approvalBanner) refuse(d wire.DeviceID) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		b.act(ctx, d, "refused", func() error {
			c, err := b.s.client()
			if err != nil {
				return err
			}
			rctx, cancel := withTimeout(context.Background())
			defer cancel()
			return c.RemoveDevice(rctx, d)
		})
	}
}

// act approves or refuses d and says it was done.
func (b *approvalBanner) act(ctx app.Context, d wire.DeviceID, done string, call func() error) {
	if b.busy {
		return
	}
	b.busy, b.err = true, ""
	name := deviceLabelByID(b.pending, d)
	online := b.s.isOnline()
	ctx.Async(func() {
		err := call()
		ctx.Dispatch(func(ctx app.Context) {
			b.busy = false
			if err != nil {
				b.err = errorText(err, online)
				return
			}
			b.refusing = 0
			ctx.NewActionWithValue(actionAnnounce, name+" is "+done+".")
			ctx.NewAction(actionDevicesChanged)
		})
	})
}

// Render draws a banner for each device waiting.
func (b *approvalBanner) Render() app.UI {
	b.now = b.s.now()
	return app.Div().ID("approvals").Class("approvals").Body(
		app.Range(b.pending).Slice(func(i int) app.UI {
			d := b.pending[i]
			n := deviceNumber(d.ID)
			name := deviceLabel(d)
			if b.refusing == d.ID {
				return app.Div().ID("approval-"+n).Class("banner", "banner-approval", "banner-danger").Role("alert").Body(
					app.P().Body(
						app.Strong().Text("Refuse "+name+"?"),
						app.Text(" It will be signed out of your account and receive none of your messages."),
					),
					app.Div().Class("row").Body(
						app.Button().ID("confirm-refuse").Type("button").Class("button", "button-danger").
							Disabled(b.busy).OnClick(b.refuse(d.ID)).Text("Refuse"),
						app.Button().ID("cancel-refuse").Type("button").Class("button").
							Disabled(b.busy).OnClick(b.cancelRefuse).Text("Cancel"),
					),
					app.If(b.err != "", func() app.UI { return app.P().Class("error").Text(b.err) }),
				)
			}
			return app.Div().ID("approval-"+n).Class("banner", "banner-approval").Role("alert").DataSet("device", n).Body(
				app.P().Body(
					app.Text("A new device signed in to your account with an email code. Was it you?"),
					app.Span().Class("approval-device").Text(name+", waiting until "+untilText(pendingUntil(d), b.now)),
				),
				app.Div().Class("row").Body(
					app.Button().ID("approve-"+n).Type("button").Class("button", "button-primary").
						Disabled(b.busy).Aria("label", "Approve "+name).OnClick(b.approve(d.ID)).Text("Approve"),
					app.Button().ID("refuse-"+n).Type("button").Class("button").
						Disabled(b.busy).Aria("label", "Refuse "+name).OnClick(b.askRefuse(d.ID)).Text("Refuse"),
				),
				app.If(b.err != "", func() app.UI { return app.P().Class("error").Text(b.err) }),
			)
		}),
	)
}

// heldPage is what a device held by account protection shows instead of
// the chats: that it waits for approval on another device, or until the
// end of the wait, and a way to sign out.
type heldPage struct {
	app.Compo
	s *Session

	signingOut bool
	err        string
}

func (p *heldPage) signOut(ctx app.Context, e app.Event) {
	if p.signingOut {
		return
	}
	p.signingOut, p.err = true, ""
	s := p.s
	ctx.Async(func() {
		err := s.SignOut(context.Background())
		ctx.Dispatch(func(ctx app.Context) {
			p.signingOut = false
			if err != nil {
				p.err = errorText(err, true)
			}
		})
	})
}

// Render draws the page.
func (p *heldPage) Render() app.UI {
	return heldView(p.s.heldUntil(), p.s.now(), p.signingOut, p.err, p.signOut)
}

// heldView draws the page of a held device; signOut may be nil (tests).
func heldView(until, now time.Time, signingOut bool, err string, signOut app.EventHandler) app.UI {
	label := "Sign out of this device"
	if signingOut {
		label = "Signing out…"
	}
	return app.Div().ID("held").Class("welcome").Body(
		app.Div().Class("welcome-card").Body(
			app.Div().Class("welcome-logo").Body(icon(logo)),
			app.H1().TabIndex(-1).Text("Waiting for approval"),
			app.P().Class("lead").Text("This device signed in with an email code alone. To keep your account safe, it receives your messages once you approve it on a device where you already use Mutual (Settings → Your devices), or from "+untilText(until, now)+" if nobody refuses it before."),
			app.P().ID("held-hint").Class("hint").Text("Keep this page open: it changes as soon as the device is approved."),
			app.P().Class("hint").Body(
				app.Text("Meanwhile you can bring your chats here from a backup: "),
				app.A().ID("held-restore").Href(pathRestore).Text("restore a backup"),
				app.Text("."),
			),
			app.P().Class("error").Role("alert").Text(err),
			app.Button().ID("held-sign-out").Type("button").Class("button", "button-danger").
				Disabled(signingOut).OnClick(signOut).Text(label),
		),
	)
}
