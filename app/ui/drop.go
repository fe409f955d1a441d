package ui

import (
	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

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
// photo, a screenshot) go to the tray instead, to be sent with the
// message.
func (c *conversation) onPaste(ctx app.Context, e app.Event) {
	dt := e.Get("clipboardData")
	if !carriesFiles(dt) {
		ctx.PreventUpdate()
		return
	}
	files := fileList(dt.Get("files"))
	if len(files) == 0 {
		ctx.PreventUpdate()
		return
	}
	e.PreventDefault()
	c.addFiles(ctx, files)
}

// onDragOver makes the conversation the target of a file dragged over
// it, so that dropping it there does not open the file in place of the
// app.
func (c *conversation) onDragOver(ctx app.Context, e app.Event) {
	ctx.PreventUpdate()
	if dt := e.Get("dataTransfer"); carriesFiles(dt) {
		e.PreventDefault()
		if c.canAttach() {
			dt.Set("dropEffect", "copy")
		} else {
			dt.Set("dropEffect", "none")
		}
	}
}

// onDrop takes dropped files (and does not let the browser open them)
// to the tray.
func (c *conversation) onDrop(ctx app.Context, e app.Event) {
	dt := e.Get("dataTransfer")
	if !carriesFiles(dt) {
		ctx.PreventUpdate()
		return
	}
	e.PreventDefault()
	c.addFiles(ctx, fileList(dt.Get("files")))
}
