package ui

import (
	"bytes"
	"context"
	"strconv"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/app/client"
)

// exportKind is the format of an exported file.
type exportKind int

const (
	exportJSON exportKind = iota // client.Archive as JSON
	exportText                   // client.Archive as text
)

// exportState is an export of the chats: under way, ready to save, or
// failed.
type exportState struct {
	busy     bool
	err      string
	url      string // the file, a blob: URL, once made
	name     string // the file's name
	chats    int
	messages int
}

// release lets go of the file's blob: URL.
func (e *exportState) release() {
	if e.url != "" {
		if u := app.Window().Get("URL"); u.Truthy() {
			u.Call("revokeObjectURL", e.url)
		}
		e.url = ""
	}
}

// exportChats saves the chats this device holds as a file: the client
// core writes the archive, the browser saves it through a link to a Blob
// with a download name, clicked at once and left on the page.
func (p *settingsPage) exportChats(kind exportKind) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		if p.st.export.busy {
			return
		}
		p.st.export.release()
		p.st.export = exportState{busy: true}
		s := p.s
		ctx.Async(func() {
			var a *client.Archive
			var buf bytes.Buffer
			c, err := s.client()
			if err == nil {
				a, err = c.Export(context.Background())
			}
			if err == nil && kind == exportText {
				err = a.WriteText(&buf)
			} else if err == nil {
				err = a.WriteJSON(&buf)
			}
			ctx.Dispatch(func(ctx app.Context) {
				if err != nil {
					p.st.export = exportState{err: "Your chats could not be exported: " + errorText(err, true)}
					return
				}
				name := exportName(a, kind)
				url := blobURL(buf.Bytes(), exportType(kind))
				p.st.export = exportState{url: url, name: name, chats: len(a.Conversations), messages: a.Messages()}
				ctx.Defer(func(app.Context) {
					if l := app.Window().Get("document").Call("querySelector", "a.export-download"); l.Truthy() {
						l.Call("click")
					}
				})
			})
		})
	}
}

// exportName names the file after the day it was exported.
func exportName(a *client.Archive, kind exportKind) string {
	ext := ".json"
	if kind == exportText {
		ext = ".txt"
	}
	return "mutual-chats-" + a.ExportedAt.Format("2006-01-02") + ext
}

// exportType is the file's media type.
func exportType(kind exportKind) string {
	if kind == exportText {
		return "text/plain;charset=utf-8"
	}
	return "application/json"
}

// blobURL puts b in a Blob of the media type and returns its blob: URL.
func blobURL(b []byte, typ string) string {
	win := app.Window()
	arr := win.Get("Uint8Array").New(len(b))
	app.CopyBytesToJS(arr, b)
	blob := win.Get("Blob").New([]any{arr}, map[string]any{"type": typ})
	return win.Get("URL").Call("createObjectURL", blob).String()
}

// exportView offers to export the chats, says that only what this device
// holds goes in, and, once a file is made, links to it (jsonID
// "-download"). textID and exportText may be empty and nil: no text
// export is offered.
func exportView(st exportState, jsonID, textID string, exportJSON, exportText app.EventHandler) app.UI {
	label := "Export chats"
	if st.busy {
		label = "Exporting…"
	}
	return app.Div().Class("export").Body(
		app.P().Class("hint").Text("Exporting saves a file with your contacts and every message on this device, with times and senders. It holds only what this device has: nothing comes from your other devices or the server."),
		app.Div().Class("row").Body(
			app.Button().ID(jsonID).Type("button").Class("button").Disabled(st.busy).OnClick(exportJSON).Text(label),
			app.If(textID != "", func() app.UI {
				return app.Button().ID(textID).Type("button").Class("button", "button-ghost").Disabled(st.busy).
					OnClick(exportText).Text("Export as text")
			}),
		),
		app.If(st.err != "", func() app.UI { return app.P().Class("error").Role("alert").Text(st.err) }),
		app.If(st.url != "", func() app.UI {
			return app.P().Class("success").Role("status").Body(
				app.Text("Exported "+countText(st.chats, "chat")+" and "+countText(st.messages, "message")+": "),
				app.A().ID(jsonID+"-download").Class("export-download").Href(st.url).Attr("download", st.name).Text(st.name),
			)
		}),
	)
}

// countText is "1 chat", "3 chats".
func countText(n int, one string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + one + "s"
}
