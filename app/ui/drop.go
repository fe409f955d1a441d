package ui

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// filesNotice is what a conversation says when a photo or file is pasted
// or dropped into it: Mutual sends text only.
const filesNotice = "Photos and files can't be sent yet: Mutual sends text for now."

// carriesFiles reports whether a DataTransfer (of a paste, a drag or a
// drop) holds files: its types list "Files" (while dragging, the files
// themselves cannot be read).
func carriesFiles(dt app.Value) bool {
	return hasType(dt, "Files") || (dt.Truthy() && dt.Get("files").Truthy() && dt.Get("files").Length() > 0)
}

// hasType reports whether a DataTransfer's types list typ.
func hasType(dt app.Value, typ string) bool {
	if !dt.Truthy() {
		return false
	}
	types := dt.Get("types")
	if !types.Truthy() {
		return false
	}
	for i := 0; i < types.Length(); i++ {
		if types.Index(i).String() == typ {
			return true
		}
	}
	return false
}

// onPaste lets text paste into the composer as always; pasted files (a
// photo, a screenshot) show the notice instead. A paste of a file with
// its text (some apps add the file's name) still pastes the text.
func (c *conversation) onPaste(ctx app.Context, e app.Event) {
	dt := e.Get("clipboardData")
	if !carriesFiles(dt) {
		ctx.PreventUpdate()
		return
	}
	if !hasType(dt, "text/plain") {
		e.PreventDefault()
	}
	c.showFiles = true
}

// onDragOver makes the conversation the target of a file dragged over
// it, so that dropping it there does not open the file in place of the
// app.
func (c *conversation) onDragOver(ctx app.Context, e app.Event) {
	ctx.PreventUpdate()
	if carriesFiles(e.Get("dataTransfer")) {
		e.PreventDefault()
	}
}

// onDrop takes a dropped file (and does not let the browser open it) and
// shows the notice.
func (c *conversation) onDrop(ctx app.Context, e app.Event) {
	if !carriesFiles(e.Get("dataTransfer")) {
		ctx.PreventUpdate()
		return
	}
	e.PreventDefault()
	c.showFiles = true
}

// dismissFiles hides the notice and gives the composer the focus back.
func (c *conversation) dismissFiles(ctx app.Context, e app.Event) {
	c.showFiles = false
	ctx.Defer(func(app.Context) { focusID("composer") })
}

// filesNote is the notice next to the composer, or nil.
func (c *conversation) filesNote() app.UI {
	if !c.showFiles {
		return nil
	}
	return app.Div().ID("files-notice").Class("files-notice").Role("status").Body(
		app.P().Text(filesNotice),
		app.Button().ID("dismiss-files-notice").Type("button").Class("icon-button").
			Aria("label", "Dismiss").Title("Dismiss").OnClick(c.dismissFiles).Text("×"),
	)
}
