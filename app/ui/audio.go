package ui

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/app/client"
)

// audioAttachment draws an audio file or a voice note: its name and
// duration, the browser's player once it is on the device (from its
// blob: URL), and its transfer's progress and controls until then.
func audioAttachment(v attView) app.UI {
	a := v.att
	name := a.Name
	if a.Voice {
		name = "Voice message"
	}
	info := sizeText(a.Size)
	if a.Duration > 0 {
		info = durationText(a.Duration)
	}
	return app.Div().Class("att", "att-audio").DataSet("key", v.key.String()).DataSet("name", v.att.Name).DataSet("transfer", transferName(a.Transfer)).Body(
		app.Div().Class("att-file-body").Body(
			app.P().Class("att-name").Title(a.Name).Text(name),
			app.P().Class("att-info").Text(info),
			app.If(v.url != "", func() app.UI {
				return app.Audio().Class("att-player").Src(v.url).Controls(true).Preload("metadata").Aria("label", name)
			}),
			app.If(v.moving(), func() app.UI { return progressBar(v) }),
			app.If(a.Transfer == client.TransferExpired, func() app.UI {
				return app.P().Class("att-note", "att-gone-text").Text(expiredText)
			}),
			transferNote(v),
		),
		app.If(a.Transfer != client.TransferLocal || v.url == "", func() app.UI { return audioControl(v) }),
	)
}

// audioControl is the button of an audio attachment not yet playable:
// Play (reads it from the device), or the file's controls.
func audioControl(v attView) app.UI {
	if v.att.Transfer == client.TransferLocal {
		return app.Button().Type("button").Class("button", "att-play-audio").Aria("label", "Play "+v.att.Name).
			OnClick(v.onOpen).Body(icon(iconPlay), app.Span().Text("Play"))
	}
	return fileControl(v)
}
