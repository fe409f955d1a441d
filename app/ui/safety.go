package ui

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
	qrcode "github.com/skip2/go-qrcode"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/crypto/safety"
	"github.com/mutualcoop/mutual/relay/wire"
)

// iconVerified is the mark of a contact whose safety number the user
// verified: a check in a circle.
const iconVerified = svgOpen + `<circle cx="12" cy="12" r="9"/><path d="M8 12.5l2.7 2.7L16 9.8"/>` + svgClose

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
	scanned    bool // their code for this device matched a scan
}

// safetyState is what the safety page shows.
type safetyState struct {
	name      string
	peer      wire.UserID
	changed   bool // the contact has an identity change not accepted
	verified  bool // the user marked the numbers verified
	devices   []safetyDevice
	loaded    bool
	accepting bool
	accepted  bool
	marking   bool // MarkVerified or ClearVerified is under way
	canScan   bool // the browser reads QR codes from the camera
	scanning  bool // the camera is on
	scanNote  string
	scanErr   string
	err       string
}

// safetyActions are what the safety page's controls do; nil in tests.
type safetyActions struct {
	accept, mark, clear, scan, stopScan app.EventHandler
}

// safetyPage shows the safety numbers with a contact, to compare aloud or
// by scanning, accepts a changed one and keeps the verified mark.
type safetyPage struct {
	app.Compo
	// Peer is the contact's user ID in hex.
	Peer string

	s       *Session
	ctx     app.Context // the page's own, for work that outlives an element
	st      safetyState
	numbers []client.SafetyNumber // what the page shows
	scan    *scanner
	scans   []*scanner // every scanner started, released with the page
}

// CompoID makes each contact's page its own component.
func (p *safetyPage) CompoID() string { return p.Peer }

// OnMount loads the numbers.
func (p *safetyPage) OnMount(ctx app.Context) {
	p.ctx = ctx
	p.st.peer, _ = wire.ParseUserID(strings.ToLower(p.Peer))
	p.st.name = displayName(client.Contact{User: p.st.peer})
	p.st.canScan = canScanCodes()
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

// OnDismount turns the camera off.
func (p *safetyPage) OnDismount() {
	for _, s := range p.scans {
		s.release()
	}
	p.scan, p.scans = nil, nil
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
			for i := range devices {
				devices[i].scanned = p.st.scannedDevice(devices[i])
			}
			p.numbers = nums
			p.st.name, p.st.changed, p.st.verified, p.st.devices, p.st.err = name, ct.IdentityChanged, !ct.Verified.IsZero(), devices, ""
			ctx.Page().SetTitle("Safety number with %s · Mutual", name)
		})
	})
}

// scannedDevice reports whether d's number, unchanged, matched a scan.
func (st safetyState) scannedDevice(d safetyDevice) bool {
	for _, o := range st.devices {
		if o.device == d.device && o.scanned && strings.Join(o.groups, "") == strings.Join(d.groups, "") {
			return true
		}
	}
	return false
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

// mark marks the numbers on the page verified.
func (p *safetyPage) mark(ctx app.Context, e app.Event) {
	p.setVerified(ctx, true, "")
}

// clear takes the verified mark back.
func (p *safetyPage) clear(ctx app.Context, e app.Event) {
	p.setVerified(ctx, false, "")
}

// setVerified marks the numbers shown verified, or clears the mark, and
// says note when it is done.
func (p *safetyPage) setVerified(ctx app.Context, verified bool, note string) {
	if p.st.marking {
		return
	}
	p.st.marking = true
	s, peer, nums := p.s, p.st.peer, p.numbers
	ctx.Async(func() {
		c, err := s.client()
		if err == nil {
			if verified {
				err = c.MarkVerified(context.Background(), peer, nums)
			} else {
				err = c.ClearVerified(context.Background(), peer)
			}
		}
		ctx.Dispatch(func(ctx app.Context) {
			p.st.marking = false
			switch {
			case errors.Is(err, client.ErrSafetyNumberStale):
				p.st.err = "The safety number changed while you were comparing. Compare the new one."
			case err != nil:
				p.st.err = errorText(err, true)
			default:
				p.st.err, p.st.verified, p.st.scanNote = "", verified, note
			}
			p.load(ctx)
			ctx.NewAction(actionChatsChanged)
		})
	})
}

// startScan turns the camera on to read the contact's code.
func (p *safetyPage) startScan(ctx app.Context, e app.Event) {
	if p.st.scanning || !p.st.canScan {
		return
	}
	p.st.scanning, p.st.scanErr, p.st.scanNote = true, "", "Point the camera at "+p.st.name+"'s code."
	// Through the page's context: the button pressed is replaced by the
	// render, and go-app drops work for an element no longer there.
	p.ctx.Defer(func(ctx app.Context) {
		if !p.st.scanning {
			return
		}
		// The scanner finds the video element by its ID whenever it
		// needs it: it may not be drawn yet, or be drawn again.
		p.scan = startScanner(ctx, "scan-video", p.scanned, func(ctx app.Context, why string) {
			p.endScan()
			p.st.scanErr, p.st.scanNote = why, ""
		})
		p.scans = append(p.scans, p.scan)
	})
}

// stopScan turns the camera off.
func (p *safetyPage) stopScan(ctx app.Context, e app.Event) {
	p.endScan()
	p.st.scanNote = ""
}

func (p *safetyPage) endScan() {
	p.scan.stop()
	p.scan, p.st.scanning = nil, false
}

// scanned compares a code the camera read with the numbers shown.
func (p *safetyPage) scanned(ctx app.Context, text string) {
	res := compareScanned(p.numbers, p.st.devices, text, p.st.name)
	if res.ignore {
		p.st.scanNote = res.note
		return
	}
	p.endScan()
	p.st.scanNote, p.st.scanErr = res.note, res.err
	if res.device == 0 {
		return
	}
	for i := range p.st.devices {
		if p.st.devices[i].device == res.device {
			p.st.devices[i].scanned = true
		}
	}
	if res.all {
		p.setVerified(ctx, true, res.note)
	}
}

// scanResult is what a scanned code means for the page.
type scanResult struct {
	device wire.DeviceID // the device whose number it matched, 0 if none
	all    bool          // every device's number has now matched a scan
	ignore bool          // not a safety-number code: keep scanning
	note   string
	err    string
}

// compareScanned compares the text a QR code reader gave (see
// scannedPayloads) with numbers, the contact's safety numbers, of which
// devices says which matched a scan already.
func compareScanned(numbers []client.SafetyNumber, devices []safetyDevice, text, name string) scanResult {
	// The most telling failure wins: another pair of keys, then another
	// version, then not a safety-number code at all.
	var err error = safety.ErrMalformed
	for _, b := range scannedPayloads(text) {
		n, e := client.MatchScanned(numbers, b)
		switch {
		case e == nil:
			res := scanResult{device: n.Device, all: true}
			for _, d := range devices {
				if d.device != n.Device && !d.scanned {
					res.all = false
				}
			}
			if res.all {
				res.note = "The codes match. " + name + " is marked as verified."
			} else {
				res.note = "The code of device " + strconv.FormatUint(uint64(n.Device), 10) + " matches. Scan the code of each of " + name + "'s other devices too."
			}
			return res
		case errors.Is(e, client.ErrScanMismatch):
			err = e
		case errors.Is(e, safety.ErrVersionMismatch) && !errors.Is(err, client.ErrScanMismatch):
			err = e
		}
	}
	switch {
	case errors.Is(err, safety.ErrMalformed):
		return scanResult{ignore: true, note: "That is not a Mutual safety-number code. Point the camera at " + name + "'s code."}
	case errors.Is(err, safety.ErrVersionMismatch):
		return scanResult{err: "That code was made by another version of the app. Compare the numbers instead."}
	}
	return scanResult{err: "The codes do not match. Make sure it is " + name + "'s code for this conversation; if it still does not match, someone may be in the middle. Don't mark them as verified."}
}

// Render draws the page.
func (p *safetyPage) Render() app.UI {
	return safetyView(p.st, safetyActions{accept: p.accept, mark: p.mark, clear: p.clear, scan: p.startScan, stopScan: p.stopScan})
}

// safetyView draws the safety page.
func safetyView(st safetyState, on safetyActions) app.UI {
	lead := "Compare these numbers with " + st.name + "'s, in person or on a call. If they match, nobody is in the middle of your conversation."
	if st.canScan {
		lead = "Compare these numbers with " + st.name + "'s, in person or on a call, or scan their code. If they match, nobody is in the middle of your conversation."
	}
	return app.Div().Class("page", "safety").Body(
		app.Div().Class("page-head").Body(
			app.A().Class("icon-button", "back").Href(chatPath(st.peer)).Aria("label", "Back to the chat").Body(icon(iconBack)),
			app.H1().TabIndex(-1).Text("Safety number"),
		),
		app.P().Class("lead").Text(lead),
		app.If(st.changed, func() app.UI {
			return app.Div().Class("card", "banner-warning").Role("alert").Body(
				app.P().Body(
					app.Strong().Text("Your safety number with "+st.name+" changed. "),
					app.Text("They may have a new phone or reinstalled Mutual, or someone may be trying to intercept your messages. Messages to them wait until you accept the new number."),
				),
				app.Button().ID("accept-identity").Type("button").Class("button", "button-primary").
					Disabled(st.accepting).OnClick(on.accept).Text("I've checked it — accept the new safety number"),
			)
		}),
		app.If(st.accepted && !st.changed, func() app.UI {
			return app.P().Class("success").Role("status").Text("New safety number accepted. Waiting messages are being sent.")
		}),
		app.P().Class("error").Role("alert").Text(st.err),
		app.If(st.loaded && len(st.devices) == 0 && st.err == "", func() app.UI {
			return app.P().Class("hint").Text("There is no safety number yet: it appears once you have exchanged a message.")
		}),
		app.If(len(st.devices) > 0, func() app.UI { return verification(st, on) }),
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
				app.If(d.scanned, func() app.UI { return app.Span().Class("badge", "badge-verified").Text("Code matched") }),
				app.Div().Class("safety-body").Body(
					app.P().ID(id).Class("safety-number").Body(groupSpans(d.groups)...),
					app.Figure().Class("safety-qr-figure").Body(
						app.Div().ID(qrID).Class("safety-qr").Body(
							app.If(d.qr != "", func() app.UI { return app.Raw(d.qr) }),
						),
						app.FigCaption().Class("hint").Text("Your code, for "+st.name+" to scan"),
					),
				),
			)
		}),
	)
}

// verification is the verified mark and the ways to earn it: marking
// after comparing the numbers, or scanning the contact's code where the
// browser can.
func verification(st safetyState, on safetyActions) app.UI {
	var status app.UI
	if st.verified {
		status = app.Div().ID("verified-status").Class("verified-status").Body(
			app.P().Class("verified-line").Body(icon(iconVerified), app.Strong().Text("Marked as verified")),
			app.P().Class("hint").Text("You compared your safety numbers with "+st.name+". If their number changes, the mark is removed."),
			app.Button().ID("clear-verified").Type("button").Class("button").Disabled(st.marking).OnClick(on.clear).Text("Clear verification"),
		)
	} else {
		status = app.Div().ID("verified-status").Class("verified-status").Body(
			app.P().Class("hint").Text("Not verified yet. Once every digit matches "+st.name+"'s screen, mark them as verified."),
			app.Button().ID("mark-verified").Type("button").Class("button", "button-primary").Disabled(st.marking).OnClick(on.mark).Text("Mark as verified"),
		)
	}
	var scan app.UI
	if st.canScan {
		scan = app.Div().Class("scan").Body(
			app.If(st.scanning, func() app.UI {
				return app.Video().ID("scan-video").Class("scan-video").Attr("playsinline", true).Attr("muted", true).Aria("label", "Camera")
			}),
			app.If(st.scanning, func() app.UI {
				return app.Button().ID("stop-scan").Type("button").Class("button").OnClick(on.stopScan).Text("Stop scanning")
			}).Else(func() app.UI {
				return app.Button().ID("scan-code").Type("button").Class("button").OnClick(on.scan).Text("Scan " + st.name + "'s code")
			}),
			app.P().ID("scan-status").Class("hint").Role("status").Text(st.scanNote),
			app.P().ID("scan-error").Class("error").Role("alert").Text(st.scanErr),
		)
	} else {
		scan = app.P().ID("scan-unavailable").Class("hint").Text("This browser can't scan codes, so compare the numbers: read them aloud to each other, in person or on a call. If every digit matches, mark them as verified.")
	}
	return app.Section().ID("verification").Class("card", "verification").Aria("label", "Verification").Body(status, scan)
}

// verifiedMark is the mark in a chat's header of a contact whose safety
// number the user verified, or nil.
func verifiedMark(ct client.Contact) app.UI {
	if ct.Verified.IsZero() {
		return nil
	}
	return app.Span().ID("verified-mark").Class("verified-mark").Role("img").
		Aria("label", "Safety number verified").Title("Safety number verified").Body(icon(iconVerified))
}
