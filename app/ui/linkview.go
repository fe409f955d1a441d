package ui

import (
	"strconv"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

// linkLifetime is how long the relay keeps a link code: the new device
// shows its countdown and offers a new code after it.
const linkLifetime = 10 * time.Minute

// historyPercent is how far p is, 0 to 100; -1 while its total is unknown.
func historyPercent(p client.Progress) int {
	if p.Total <= 0 {
		return -1
	}
	n := p.Done * 100 / p.Total
	return int(min(max(n, 0), 100))
}

// historyBar draws p as a progress bar labelled by label, indeterminate
// while the total is unknown.
func historyBar(id, label string, p client.Progress) app.UI {
	bar := app.Progress().ID(id).Class("link-progress").Max(100).Aria("label", label)
	if n := historyPercent(p); n >= 0 {
		bar = bar.Value(n).Aria("valuetext", strconv.Itoa(n)+"%")
	}
	return bar
}

// untilText says until when a device is held: "Monday 9 June, 14:05",
// the year added when it is not this year's.
func untilText(t, now time.Time) string {
	t = t.In(now.Location())
	if t.Year() != now.Year() {
		return t.Format("Monday 2 January 2006, 15:04")
	}
	return t.Format("Monday 2 January, 15:04")
}

// linkPhase is where linking this new device stands.
type linkPhase int

const (
	linkStarting  linkPhase = iota // asking the relay for a code
	linkShowing                    // the code is shown; waiting for the other device
	linkReceiving                  // linked: the history arrives
	linkExpired                    // the code expired unused
	linkFailed                     // no code, or linking failed
)

// linkNewState is what the new device's link page shows.
type linkNewState struct {
	phase    linkPhase
	code     string // "XXXX-XXXX-XXXX"
	qrText   string // "mutual-link:…"
	qr       string // the QR code of qrText, SVG
	expires  time.Time
	now      time.Time
	address  string // the account's, once linked
	progress client.Progress
	err      string
}

// linkNewView draws the new device's page: the code to scan or type on
// the other device, its countdown, then the history arriving. newCode
// may be nil (tests).
func linkNewView(st linkNewState, newCode app.EventHandler) app.UI {
	var body app.UI
	switch st.phase {
	case linkStarting:
		body = app.P().ID("link-status").Class("hint").Role("status").Text("Asking the server for a code…")
	case linkShowing:
		left := st.expires.Sub(st.now)
		body = app.Div().Class("stack").Body(
			app.P().ID("link-explain").Class("lead").Text("On your other device, open Settings → Link a device, then scan this code or type it."),
			app.Figure().Class("link-qr-figure").Body(
				app.Div().ID("link-qr").Class("link-qr").DataSet("qr", st.qrText).Body(
					app.If(st.qr != "", func() app.UI { return app.Raw(st.qr) }),
				),
			),
			app.P().Class("link-code-label").Text("Or type this code:"),
			app.P().ID("link-code").Class("link-code").Aria("describedby", "link-explain").Text(st.code),
			// The clock ticks every second out of screen readers'
			// hearing; they get the time left in words.
			app.P().ID("link-countdown").Class("hint").Body(
				app.Text("The code expires in "),
				app.Span().Class("countdown").Aria("hidden", "true").Text(clockText(left)),
				app.Span().Class("sr-only").Text(waitText(left)),
				app.Text("."),
			),
		)
	case linkReceiving:
		who := "Linked."
		if st.address != "" {
			who = "Linked to " + plainAddress(st.address) + "."
		}
		body = app.Div().Class("stack").Body(
			app.P().ID("link-status").Class("success").Role("status").TabIndex(-1).Text(who),
			app.P().ID("link-history-hint").Class("hint").Text("Your chats are arriving from your other device. Keep this page open."),
			historyBar("link-progress", "Chats arriving", st.progress),
		)
	case linkExpired:
		body = app.Div().Class("stack").Body(
			app.P().ID("link-status").Class("hint").Role("status").Text("This code has expired: codes last 10 minutes. Make a new one, then scan or type it on your other device."),
			app.Button().ID("link-new-code").Type("button").Class("button", "button-primary").OnClick(newCode).Text("New code"),
		)
	case linkFailed:
		body = app.Div().Class("stack").Body(
			app.P().ID("link-error").Class("error").Role("alert").Text(st.err),
			app.Button().ID("link-new-code").Type("button").Class("button", "button-primary").OnClick(newCode).Text("Try again"),
		)
	}
	return app.Div().ID("link-page").Class("welcome").Body(
		app.Div().Class("welcome-card", "link-card").Body(
			app.Div().Class("welcome-logo").Body(icon(logo)),
			app.H1().TabIndex(-1).Text("Link this device"),
			body,
			app.If(st.phase != linkReceiving, func() app.UI {
				return app.P().Class("link-back").Body(
					app.A().ID("link-back").Href(pathWelcome).Text("Sign in with your email instead"),
				)
			}),
		),
	)
}

// linkSendState is what the settings' "Link a device" card shows.
type linkSendState struct {
	typed    string
	history  bool
	busy     bool
	progress client.Progress
	done     string // "Linked: <device name>"
	err      string
	canScan  bool
	scanning bool
	scanNote string
}

// linkSendHandlers are the card's event handlers; any may be nil (tests).
type linkSendHandlers struct {
	submit, history, scan, stopScan app.EventHandler
}

// linkSendView draws the card that links a new device to this account.
func linkSendView(st linkSendState, h linkSendHandlers) app.UI {
	label := "Link"
	if st.busy {
		label = "Linking…"
	}
	lead := "On the new device, open Mutual and choose “Link to a device you already have”. Then type the code it shows here."
	if st.canScan {
		lead = "On the new device, open Mutual and choose “Link to a device you already have”. Then scan the code it shows, or type it here."
	}
	return app.Section().ID("link-device").Class("card", "link-device").Aria("labelledby", "link-heading").Body(
		app.H2().ID("link-heading").Text("Link a device"),
		app.P().ID("link-lead").Class("hint").Text(lead),
		app.Form().Class("stack").NoValidate(true).OnSubmit(h.submit).Body(
			app.If(st.canScan, func() app.UI {
				return app.Div().Class("scan").Body(
					app.If(st.scanning, func() app.UI {
						return app.Video().ID("link-scan-video").Class("scan-video").Attr("playsinline", true).Attr("muted", true).Aria("label", "Camera")
					}),
					app.If(st.scanning, func() app.UI {
						return app.Button().ID("link-stop-scan").Type("button").Class("button").OnClick(h.stopScan).Text("Stop scanning")
					}).Else(func() app.UI {
						return app.Button().ID("link-scan").Type("button").Class("button").Disabled(st.busy).OnClick(h.scan).Text("Scan the code")
					}),
					app.P().ID("link-scan-status").Class("hint").Role("status").Text(st.scanNote),
				)
			}),
			app.Label().For("link-code-input").Text("Code"),
			app.Input().ID("link-code-input").Name("link-code").Type("text").Class("link-code-input").
				Attr("autocomplete", "off").Attr("autocapitalize", "characters").Spellcheck(false).
				MaxLength(2*wire.LinkCodeLen).Placeholder("K7QM-3D9X-PW2A").Value(st.typed).Disabled(st.busy).
				Aria("describedby", "link-code-hint link-error"),
			app.P().ID("link-code-hint").Class("hint").Text("12 letters and digits; hyphens, spaces and lower case are fine."),
			app.Div().Class("switch-row").Body(
				app.Input().ID("link-history").Type("checkbox").Class("switch").Checked(st.history).
					Disabled(st.busy).Aria("describedby", "link-history-hint").OnChange(h.history),
				app.Label().For("link-history").Text("Also send my history"),
			),
			app.P().ID("link-history-hint").Class("hint").Text("Your contacts, chats and messages go to the new device end-to-end encrypted. Photos and files follow when it opens them, while the server keeps them."),
			app.If(st.busy, func() app.UI {
				what := "Linking…"
				if st.history {
					what = "Sending your history…"
				}
				return app.Div().Class("stack").Body(
					app.P().ID("link-send-status").Class("hint").Role("status").Text(what),
					historyBar("link-send-progress", what, st.progress),
				)
			}),
			app.P().ID("link-error").Class("error").Role("alert").Text(st.err),
			app.If(st.done != "", func() app.UI {
				return app.P().ID("link-result").Class("success").Role("status").TabIndex(-1).Text(st.done)
			}),
			app.Button().ID("link-submit").Type("submit").Class("button", "button-primary").Disabled(st.busy).Text(label),
		),
	)
}
