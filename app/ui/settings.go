package ui

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

// confirmKind is what the confirmation dialog asks about.
type confirmKind int

const (
	confirmNone confirmKind = iota
	confirmSignOut
	confirmRemoveDevice
	confirmClearMedia
	confirmRefuseDevice // a device waiting for approval (pending.go)
)

// settingsState is what the settings view shows.
type settingsState struct {
	acct         client.Account
	name         string // the profile name as stored
	nameSaved    bool
	nameErr      string
	savingName   bool
	readReceipts bool
	theme        string
	devices      []wire.DeviceInfo
	devicesErr   string
	loaded       bool
	confirm      confirmKind
	device       wire.DeviceID // with confirmRemoveDevice
	busy         bool          // signing out or removing a device
	err          string
	online       bool
	now          time.Time
	export       exportState
	media        storageState
	coop         app.UI // the Co-op card (coopSettings); nil in tests
	link         app.UI // the "Link a device" card (linkSend); nil in tests
	backup       app.UI // the Backup card (backupCard); nil in tests
	notify       app.UI // the Notifications card (notifySettings); nil in tests
}

// settingsPage is the profile name, read receipts, theme, this device and
// the account's others, and signing out.
type settingsPage struct {
	app.Compo
	s  *Session
	st settingsState
}

// OnMount loads the settings.
func (p *settingsPage) OnMount(ctx app.Context) {
	p.st.theme = loadTheme(ctx)
	p.st.acct, _ = p.s.account()
	ctx.Handle(actionEvent, func(ctx app.Context, a app.Action) {
		switch a.Value.(type) {
		case client.OwnDeviceSeen, client.Connected, client.DevicePending:
			p.loadDevices(ctx)
		default:
			ctx.PreventUpdate()
		}
	})
	ctx.Handle(actionDevicesChanged, func(ctx app.Context, a app.Action) { p.loadDevices(ctx) })
	p.load(ctx)
	p.loadDevices(ctx)
	p.loadStorage(ctx)
}

// OnDismount lets go of an exported file.
func (p *settingsPage) OnDismount() {
	p.st.export.release()
}

func (p *settingsPage) load(ctx app.Context) {
	s := p.s
	ctx.Async(func() {
		var name string
		var rr bool
		c, err := s.client()
		if err == nil {
			name, err = c.ProfileName(context.Background())
		}
		if err == nil {
			rr, err = c.ReadReceipts(context.Background())
		}
		ctx.Dispatch(func(ctx app.Context) {
			if err != nil {
				p.st.err = errorText(err, true)
				return
			}
			p.st.name, p.st.readReceipts, p.st.loaded = name, rr, true
		})
	})
}

func (p *settingsPage) loadDevices(ctx app.Context) {
	s := p.s
	ctx.Async(func() {
		var devs []wire.DeviceInfo
		c, err := s.client()
		if err == nil {
			rctx, cancel := withTimeout(context.Background())
			devs, err = c.Devices(rctx)
			cancel()
		}
		online := s.isOnline()
		ctx.Dispatch(func(ctx app.Context) {
			p.st.online = online
			if err != nil {
				if errors.Is(err, client.ErrOffline) || !online {
					p.st.devicesErr = "The list of your devices appears when you are online."
				} else {
					p.st.devicesErr = errorText(err, online)
				}
				return
			}
			slices.SortFunc(devs, func(a, b wire.DeviceInfo) int { return int(a.ID) - int(b.ID) })
			p.st.devices, p.st.devicesErr = devs, ""
		})
	})
}

func (p *settingsPage) saveName(ctx app.Context, e app.Event) {
	e.PreventDefault()
	if p.st.savingName {
		return
	}
	name := strings.TrimSpace(byID("display-name").Get("value").String())
	if len(name) > client.MaxProfileName {
		p.st.nameErr = "That name is too long: " + strconv.Itoa(client.MaxProfileName) + " bytes at most."
		return
	}
	p.st.savingName, p.st.nameErr, p.st.nameSaved = true, "", false
	s := p.s
	ctx.Async(func() {
		c, err := s.client()
		if err == nil {
			err = c.SetProfileName(context.Background(), name)
		}
		ctx.Dispatch(func(ctx app.Context) {
			p.st.savingName = false
			if err != nil {
				p.st.nameErr = profileNameError(err)
				return
			}
			p.st.name, p.st.nameSaved = name, true
		})
	})
}

// profileNameError explains a refused profile name.
func profileNameError(err error) string {
	if errors.Is(err, client.ErrBadProfileName) {
		return "That name cannot be used: it is too long or contains control characters."
	}
	return errorText(err, true)
}

func (p *settingsPage) setReadReceipts(ctx app.Context, e app.Event) {
	on := ctx.JSSrc().Get("checked").Bool()
	p.st.readReceipts = on
	s := p.s
	ctx.Async(func() {
		c, err := s.client()
		if err == nil {
			err = c.SetReadReceipts(context.Background(), on)
		}
		ctx.Dispatch(func(ctx app.Context) {
			if err != nil {
				p.st.readReceipts = !on
				p.st.err = errorText(err, true)
			}
		})
	})
}

func (p *settingsPage) setTheme(ctx app.Context, e app.Event) {
	p.st.theme = normTheme(ctx.JSSrc().Get("value").String())
	saveTheme(ctx, p.st.theme)
}

// ask opens the confirmation dialog.
func (p *settingsPage) ask(kind confirmKind, device wire.DeviceID) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		p.st.confirm, p.st.device, p.st.online = kind, device, p.s.isOnline()
		ctx.Defer(func(app.Context) {
			dlg := byID("confirm-dialog")
			switch {
			case !dlg.Truthy():
			case dlg.Get("showModal").Truthy():
				if !dlg.Get("open").Bool() {
					dlg.Call("showModal")
				}
			default:
				dlg.Call("setAttribute", "open", "")
			}
		})
	}
}

// closeDialog closes the dialog (Cancel, or after the action).
func (p *settingsPage) closeDialog(ctx app.Context, e app.Event) {
	if dlg := byID("confirm-dialog"); dlg.Truthy() && dlg.Get("open").Bool() {
		dlg.Call("close")
	}
	if !p.st.busy {
		p.st.confirm = confirmNone
	}
}

// onDialogClose follows the dialog closing by itself (Escape). The close
// event comes a moment after the dialog closed: if it was opened again
// since, it stays as it is.
func (p *settingsPage) onDialogClose(ctx app.Context, e app.Event) {
	if dlg := byID("confirm-dialog"); dlg.Truthy() && dlg.Get("open").Bool() {
		return
	}
	if !p.st.busy {
		p.st.confirm = confirmNone
	}
}

func (p *settingsPage) confirmed(ctx app.Context, e app.Event) {
	e.PreventDefault()
	if p.st.busy || p.st.confirm == confirmNone {
		return
	}
	if p.st.confirm == confirmClearMedia {
		p.closeDialog(ctx, e)
		p.clearMedia(ctx)
		return
	}
	p.st.busy, p.st.err = true, ""
	s, kind, device := p.s, p.st.confirm, p.st.device
	ctx.Async(func() {
		var err error
		switch kind {
		case confirmSignOut:
			err = s.SignOut(context.Background())
		case confirmRemoveDevice, confirmRefuseDevice:
			var c *client.Client
			if c, err = s.client(); err == nil {
				rctx, cancel := withTimeout(context.Background())
				err = c.RemoveDevice(rctx, device)
				cancel()
			}
		}
		online := s.isOnline()
		ctx.Dispatch(func(ctx app.Context) {
			p.st.busy = false
			if kind == confirmSignOut {
				// The Session navigates to onboarding.
				return
			}
			p.closeDialog(ctx, e)
			if err != nil {
				p.st.err = errorText(err, online)
				return
			}
			p.loadDevices(ctx)
		})
	})
}

// Render draws the page.
func (p *settingsPage) Render() app.UI {
	p.st.now = p.s.now()
	p.st.coop = &coopSettings{s: p.s}
	p.st.link = &linkSend{s: p.s}
	p.st.backup = &backupCard{s: p.s}
	p.st.notify = &notifySettings{s: p.s}
	return settingsView(p.st, settingsHandlers{
		saveName: p.saveName, readReceipts: p.setReadReceipts, theme: p.setTheme,
		ask: p.ask, cancel: p.closeDialog, closed: p.onDialogClose, confirm: p.confirmed,
		exportJSON: p.exportChats(exportJSON), exportText: p.exportChats(exportText),
		mediaLimit: p.setMediaLimit, approve: p.approve,
	})
}

// settingsHandlers are the settings view's event handlers; any may be nil
// (tests).
type settingsHandlers struct {
	saveName, readReceipts, theme app.EventHandler
	ask                           func(confirmKind, wire.DeviceID) app.EventHandler
	cancel, closed, confirm       app.EventHandler
	exportJSON, exportText        app.EventHandler
	mediaLimit                    app.EventHandler
	approve                       func(wire.DeviceID) app.EventHandler
}

// settingsView draws the settings page.
func settingsView(st settingsState, h settingsHandlers) app.UI {
	ask := func(k confirmKind, d wire.DeviceID) app.EventHandler {
		if h.ask == nil {
			return nil
		}
		return h.ask(k, d)
	}
	saveLabel := "Save"
	if st.savingName {
		saveLabel = "Saving…"
	}
	option := func(value, label string) app.UI {
		return app.Option().Value(value).Selected(st.theme == value).Text(label)
	}
	approve := func(d wire.DeviceID) app.EventHandler {
		if h.approve == nil {
			return nil
		}
		return h.approve(d)
	}
	return app.Div().Class("page", "settings").Body(
		app.H1().TabIndex(-1).Text("Settings"),
		app.P().Class("error").Role("alert").Text(st.err),
		app.Section().Class("card").Aria("labelledby", "profile-heading").Body(
			app.H2().ID("profile-heading").Text("Profile"),
			app.Form().Class("inline-form").OnSubmit(h.saveName).Body(
				app.Label().For("display-name").Text("Display name"),
				app.Div().Class("row").Body(
					app.Input().ID("display-name").Type("text").Attr("autocomplete", "nickname").
						MaxLength(client.MaxProfileName).Placeholder("Your name").Value(st.name).
						Aria("describedby", "display-name-hint"),
					app.Button().ID("save-name").Type("submit").Class("button", "button-primary").
						Disabled(st.savingName).Text(saveLabel),
				),
				app.P().ID("display-name-hint").Class("hint").Text("Your contacts see this name. It is sent to them end-to-end encrypted."),
				app.If(st.nameErr != "", func() app.UI { return app.P().Class("error").Role("alert").Text(st.nameErr) }),
				app.If(st.nameSaved, func() app.UI { return app.P().Class("success").Role("status").Text("Saved.") }),
			),
		),
		app.Section().Class("card").Aria("labelledby", "privacy-heading").Body(
			app.H2().ID("privacy-heading").Text("Privacy"),
			app.Div().Class("switch-row").Body(
				// Off until the setting is read: a switch flipped before
				// that would start from a state that is not the user's.
				app.Input().ID("read-receipts").Type("checkbox").Class("switch").Checked(st.readReceipts).
					Disabled(!st.loaded).Aria("describedby", "read-receipts-hint").OnChange(h.readReceipts),
				app.Label().For("read-receipts").Text("Send read receipts"),
			),
			app.P().ID("read-receipts-hint").Class("hint").Text("Let people know when you have read their messages. If you turn them off, you won't see others' either. Delivery receipts are always sent."),
		),
		st.notify,
		st.coop,
		app.Section().Class("card").Aria("labelledby", "appearance-heading").Body(
			app.H2().ID("appearance-heading").Text("Appearance"),
			app.Label().For("theme").Text("Theme"),
			app.Select().ID("theme").OnChange(h.theme).Body(
				option(themeSystem, "Same as the system"),
				option(themeLight, "Light"),
				option(themeDark, "Dark"),
			),
		),
		app.Section().Class("card").Aria("labelledby", "device-heading").Body(
			app.H2().ID("device-heading").Text("This device"),
			app.Dl().ID("device-info").Class("facts").Body(
				app.Dt().Text("Account"),
				app.Dd().Text(plainAddress(st.acct.Address)),
				app.Dt().Text("This device"),
				app.Dd().Text(thisDeviceName(st.devices, st.acct.Device)),
			),
			app.H3().Text("Your devices"),
			app.If(st.devicesErr != "", func() app.UI { return app.P().Class("hint").Text(st.devicesErr) }),
			app.Ul().ID("devices").Class("people").Body(
				app.Range(st.devices).Slice(func(i int) app.UI {
					d := st.devices[i]
					this := d.ID == st.acct.Device
					return app.Li().Class("person", "device").DataSet("device", strconv.FormatUint(uint64(d.ID), 10)).Body(
						app.Div().Class("person-body").Body(
							app.Span().Class("person-name").Text(deviceLabel(d)),
							app.Span().Class("person-sub").Text(lastSeen(d, this, st.now)),
							deviceMark(d, st.now),
						),
						app.If(this, func() app.UI { return app.Span().Class("badge").Text("This device") }).
							ElseIf(!pendingUntil(d).IsZero(), func() app.UI {
								return app.Div().Class("row", "device-actions").Body(
									app.Button().Type("button").Class("button", "button-primary", "approve-device").Disabled(st.busy).
										Aria("label", "Approve "+deviceLabel(d)).OnClick(approve(d.ID)).Text("Approve"),
									app.Button().Type("button").Class("button", "refuse-device").Disabled(st.busy).
										Aria("label", "Refuse "+deviceLabel(d)).OnClick(ask(confirmRefuseDevice, d.ID)).Text("Refuse"),
								)
							}).
							Else(func() app.UI {
								return app.Button().Type("button").Class("button", "remove-device").
									Aria("label", "Remove "+deviceLabel(d)).OnClick(ask(confirmRemoveDevice, d.ID)).Text("Remove")
							}),
					)
				}),
			),
		),
		st.link,
		storageView(st.media, h.mediaLimit, ask(confirmClearMedia, 0)),
		st.backup,
		app.Section().Class("card").Aria("labelledby", "signout-heading").Body(
			app.H2().ID("signout-heading").Text("Sign out"),
			app.P().ID("sign-out-hint").Class("hint").Text(signOutText(st)),
			exportView(st.export, "export", "export-text", h.exportJSON, h.exportText),
			app.Button().ID("sign-out").Type("button").Class("button", "button-danger").
				OnClick(ask(confirmSignOut, 0)).Text("Sign out of this device"),
		),
		confirmDialog(st, h),
	)
}

// confirmDialog asks before signing out or removing a device. It is a
// modal <dialog>: focus stays inside and Escape closes it.
func confirmDialog(st settingsState, h settingsHandlers) app.UI {
	title, text, id, label := "", "", "", ""
	switch st.confirm {
	case confirmSignOut:
		title = "Sign out of this device?"
		text = signOutText(st)
		if !st.online {
			text += " You are offline: your account will list this device until you remove it from another one."
		}
		id, label = "confirm-sign-out", "Sign out"
		if st.busy {
			label = "Signing out…"
		}
	case confirmRemoveDevice:
		title = "Remove this device?"
		text = deviceLabelByID(st.devices, st.device) + " will be signed out of your account and will no longer receive your messages."
		id, label = "confirm-remove-device", "Remove"
		if st.busy {
			label = "Removing…"
		}
	case confirmRefuseDevice:
		title = "Refuse this device?"
		text = deviceLabelByID(st.devices, st.device) + " signed in with an email code. Refused, it is signed out of your account and receives none of your messages."
		id, label = "confirm-refuse-device", "Refuse"
		if st.busy {
			label = "Refusing…"
		}
	case confirmClearMedia:
		title = "Clear cached media?"
		text = "The photos, videos, files and voice notes you received are removed from this device. You can download them again while the server keeps them, for 30 days after they were sent."
		id, label = "confirm-clear-media", "Clear"
	default:
		id, label = "confirm-sign-out", "Sign out"
	}
	return app.Dialog().ID("confirm-dialog").Class("dialog").Aria("labelledby", "confirm-title").
		Aria("describedby", "confirm-text").On("close", h.closed).Body(
		app.Form().Class("stack").OnSubmit(h.confirm).Body(
			app.H2().ID("confirm-title").Text(title),
			app.P().ID("confirm-text").Text(text),
			app.If(st.confirm == confirmSignOut, func() app.UI {
				return exportView(st.export, "confirm-export", "", h.exportJSON, nil)
			}),
			app.Div().Class("row", "row-end").Body(
				app.Button().ID("cancel-confirm").Type("button").Class("button").
					Disabled(st.busy).OnClick(h.cancel).Text("Cancel"),
				app.Button().ID(id).Type("submit").Class("button", "button-danger").
					Disabled(st.busy).Text(label),
			),
		),
	)
}

// deviceLabel names a device in the list.
func deviceLabel(d wire.DeviceInfo) string {
	name := strings.TrimSpace(d.Name)
	if name == "" || !utf8.ValidString(name) {
		name = "Device"
	}
	return name + " (#" + strconv.FormatUint(uint64(d.ID), 10) + ")"
}

func deviceLabelByID(devs []wire.DeviceInfo, id wire.DeviceID) string {
	for _, d := range devs {
		if d.ID == id {
			return deviceLabel(d)
		}
	}
	return "Device #" + strconv.FormatUint(uint64(id), 10)
}

// thisDeviceName names this device, from the list if it is known.
func thisDeviceName(devs []wire.DeviceInfo, id wire.DeviceID) string {
	if id == 0 {
		return ""
	}
	return deviceLabelByID(devs, id)
}

// lastSeen says when a device was last connected.
func lastSeen(d wire.DeviceInfo, this bool, now time.Time) string {
	switch {
	case this:
		return "Active now"
	case d.LastSeenMS <= 0:
		return "Never connected"
	default:
		return "Last active " + chatTime(time.UnixMilli(d.LastSeenMS), now)
	}
}

// otherDevices counts the account's devices other than this one, from
// the list the relay gave; known is false while there is no list.
func otherDevices(st settingsState) (n int, known bool) {
	if len(st.devices) == 0 {
		return 0, false
	}
	for _, d := range st.devices {
		if d.ID != st.acct.Device {
			n++
		}
	}
	return n, true
}

// signOutText says what signing out does to this device's chats, and
// whether the account lives on elsewhere.
func signOutText(st settingsState) string {
	n, known := otherDevices(st)
	switch {
	case !known:
		return "Signing out erases your chats and keys from this device for good. Mutual cannot tell now whether your account is signed in on other devices; export your chats first to keep them."
	case n == 0:
		return "This is your only device: signing out erases your chats from it for good. Export them first to keep them."
	case n == 1:
		return "Signing out erases your chats and keys from this device. Your account stays signed in on 1 other device, which keeps what it has received."
	default:
		return "Signing out erases your chats and keys from this device. Your account stays signed in on " + strconv.Itoa(n) + " other devices, which keep what they have received."
	}
}
