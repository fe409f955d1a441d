package ui

import (
	"context"
	"strconv"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
	qrcode "github.com/skip2/go-qrcode"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

// qrSVG draws a QR code of payload as an SVG document: one path of the
// dark modules, black on white whatever the theme (scanners expect dark
// on light), with the quiet zone the standard requires.
func qrSVG(payload []byte, label string) (string, error) {
	q, err := qrcode.New(string(payload), qrcode.Medium)
	if err != nil {
		return "", err
	}
	bm := q.Bitmap()
	n := strconv.Itoa(len(bm))
	var b strings.Builder
	b.WriteString(`<svg class="qr" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ` + n + ` ` + n +
		`" role="img" shape-rendering="crispEdges" aria-label="` + attrEscape(label) + `"><rect width="` + n + `" height="` + n + `" fill="#fff"/><path fill="#000" d="`)
	for y, row := range bm {
		for x := 0; x < len(row); {
			if !row[x] {
				x++
				continue
			}
			start := x
			for x < len(row) && row[x] {
				x++
			}
			run := strconv.Itoa(x - start)
			b.WriteString("M" + strconv.Itoa(start) + " " + strconv.Itoa(y) + "h" + run + "v1h-" + run + "z")
		}
	}
	b.WriteString(`"/></svg>`)
	return b.String(), nil
}

// attrEscape escapes text for an attribute value in double quotes.
func attrEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", `"`, "&quot;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// digitGroups splits a safety number into groups of five digits.
func digitGroups(digits string) []string {
	var out []string
	for len(digits) > 5 {
		out = append(out, digits[:5])
		digits = digits[5:]
	}
	if digits != "" {
		out = append(out, digits)
	}
	return out
}

// groupSpans are the groups of a safety number, a space between each
// (for copying and for screen readers) and a span around each (for the
// grid).
func groupSpans(groups []string) []app.UI {
	out := make([]app.UI, 0, 2*len(groups))
	for i, g := range groups {
		if i > 0 {
			out = append(out, app.Text(" "))
		}
		out = append(out, app.Span().Class("digits").Text(g))
	}
	return out
}

// safetyDevice is the safety number with one device of the contact.
type safetyDevice struct {
	device     wire.DeviceID
	groups     []string
	qr         string // SVG, empty if it could not be drawn
	unverified bool
}

// safetyState is what the safety page shows.
type safetyState struct {
	name      string
	peer      wire.UserID
	changed   bool // the contact has an identity change not accepted
	devices   []safetyDevice
	loaded    bool
	accepting bool
	accepted  bool
	err       string
}

// safetyPage shows the safety numbers with a contact, to compare aloud or
// by scanning, and accepts a changed one.
type safetyPage struct {
	app.Compo
	// Peer is the contact's user ID in hex.
	Peer string

	s  *Session
	st safetyState
}

// CompoID makes each contact's page its own component.
func (p *safetyPage) CompoID() string { return p.Peer }

// OnMount loads the numbers.
func (p *safetyPage) OnMount(ctx app.Context) {
	p.st.peer, _ = wire.ParseUserID(strings.ToLower(p.Peer))
	p.st.name = displayName(client.Contact{User: p.st.peer})
	ctx.Handle(actionEvent, func(ctx app.Context, a app.Action) {
		switch ev := a.Value.(type) {
		case client.IdentityChanged:
			if ev.Contact == p.st.peer {
				p.load(ctx)
				return
			}
		case client.ContactChanged:
			if ev.User == p.st.peer {
				p.load(ctx)
				return
			}
		}
		ctx.PreventUpdate()
	})
	p.load(ctx)
}

func (p *safetyPage) load(ctx app.Context) {
	s, peer := p.s, p.st.peer
	ctx.Async(func() {
		ct, err := contactOrRequest(context.Background(), s, peer)
		var nums []client.SafetyNumber
		if err == nil {
			var c *client.Client
			if c, err = s.client(); err == nil {
				nums, err = c.SafetyNumbers(context.Background(), peer)
			}
		}
		name := displayName(ct)
		devices := make([]safetyDevice, 0, len(nums))
		for _, n := range nums {
			d := safetyDevice{device: n.Device, groups: digitGroups(n.Fingerprint.Displayable()), unverified: n.Unverified}
			d.qr, _ = qrSVG(n.Fingerprint.Scannable(), "QR code of your safety number with "+name)
			devices = append(devices, d)
		}
		ctx.Dispatch(func(ctx app.Context) {
			p.st.loaded = true
			if err != nil {
				p.st.err = errorText(err, true)
				return
			}
			p.st.name, p.st.changed, p.st.devices, p.st.err = name, ct.IdentityChanged, devices, ""
			ctx.Page().SetTitle("Safety number with %s · Mutual", name)
		})
	})
}

func (p *safetyPage) accept(ctx app.Context, e app.Event) {
	if p.st.accepting {
		return
	}
	p.st.accepting = true
	s, peer := p.s, p.st.peer
	ctx.Async(func() {
		c, err := s.client()
		if err == nil {
			err = c.AcceptIdentity(context.Background(), peer)
		}
		ctx.Dispatch(func(ctx app.Context) {
			p.st.accepting = false
			if err != nil {
				p.st.err = errorText(err, true)
				return
			}
			p.st.accepted = true
			p.load(ctx)
			ctx.NewAction(actionChatsChanged)
		})
	})
}

// Render draws the page.
func (p *safetyPage) Render() app.UI { return safetyView(p.st, p.accept) }

// safetyView draws the safety page; accept may be nil (tests).
func safetyView(st safetyState, accept app.EventHandler) app.UI {
	return app.Div().Class("page", "safety").Body(
		app.Div().Class("page-head").Body(
			app.A().Class("icon-button", "back").Href(chatPath(st.peer)).Aria("label", "Back to the chat").Body(icon(iconBack)),
			app.H1().TabIndex(-1).Text("Safety number"),
		),
		app.P().Class("lead").Text("Compare these numbers with "+st.name+"'s, in person or on a call, or scan each other's code. If they match, nobody is in the middle of your conversation."),
		app.If(st.changed, func() app.UI {
			return app.Div().Class("card", "banner-warning").Role("alert").Body(
				app.P().Body(
					app.Strong().Text("Your safety number with "+st.name+" changed. "),
					app.Text("They may have a new phone or reinstalled Mutual, or someone may be trying to intercept your messages. Messages to them wait until you accept the new number."),
				),
				app.Button().ID("accept-identity").Type("button").Class("button", "button-primary").
					Disabled(st.accepting).OnClick(accept).Text("I've checked it — accept the new safety number"),
			)
		}),
		app.If(st.accepted && !st.changed, func() app.UI {
			return app.P().Class("success").Role("status").Text("New safety number accepted. Waiting messages are being sent.")
		}),
		app.P().Class("error").Role("alert").Text(st.err),
		app.If(st.loaded && len(st.devices) == 0 && st.err == "", func() app.UI {
			return app.P().Class("hint").Text("There is no safety number yet: it appears once you have exchanged a message.")
		}),
		app.Range(st.devices).Slice(func(i int) app.UI {
			d := st.devices[i]
			id, qrID := "safety-number", "safety-qr"
			if i > 0 {
				n := strconv.Itoa(i + 1)
				id, qrID = id+"-"+n, qrID+"-"+n
			}
			var title app.UI
			if len(st.devices) > 1 {
				title = app.H2().Text("Device " + strconv.FormatUint(uint64(d.device), 10))
			}
			return app.Section().Class("card", "safety-device").Body(
				title,
				app.If(d.unverified, func() app.UI { return app.Span().Class("badge", "badge-warning").Text("Changed") }),
				app.Div().Class("safety-body").Body(
					app.P().ID(id).Class("safety-number").Body(groupSpans(d.groups)...),
					app.Div().ID(qrID).Class("safety-qr").Body(
						app.If(d.qr != "", func() app.UI { return app.Raw(d.qr) }),
					),
				),
			)
		}),
	)
}
