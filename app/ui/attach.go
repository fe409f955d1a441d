package ui

import (
	"context"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Attaching: files chosen with the composer's button (on a phone, a menu
// offers photos and videos, the camera, or any file), dropped on the
// conversation or pasted into the composer wait in a tray above it, each
// with its thumbnail (made on the device, thumbs.go), name, size and a
// button that removes it. What is typed in the composer is their caption.
// Send sends them, client.MaxAttachments to a message (more go as more
// messages, the caption with the first), reading each browser File a
// slice at a time (blobReader).

// Inputs of the attach button and its menu.
const (
	attachFileID   = "attach-file"   // any files
	attachMediaID  = "attach-media"  // photos and videos
	attachCameraID = "attach-camera" // the camera
)

// trayFile is a file waiting in the tray.
type trayFile struct {
	id   int
	file app.Value // the browser's File
	name string
	typ  string
	size int64

	// prev is written by the goroutine that makes it, before it closes
	// ready; only then is it read.
	prev  mediaPreview
	ready chan struct{}
	thumb string // a blob: URL of the thumbnail, once made
}

// tray is the files to send with the next message.
type tray struct {
	files   []*trayFile
	next    int
	err     string // why a file was left out, or why sending failed
	sending bool
	menu    bool // the attach menu is open
}

// clear empties the tray and lets go of its thumbnails.
func (t *tray) clear() {
	for _, f := range t.files {
		revokeURL(f.thumb)
	}
	t.files, t.err, t.menu = nil, "", false
}

// canAttach reports whether the composer is there to send files with.
func (c *conversation) canAttach() bool {
	if c.isGroup() {
		g := c.grp.group
		return g != nil && g.Status != client.GroupInvited && g.Status != client.GroupLeft && g.Status != client.GroupRemoved
	}
	return c.contact.State != client.ContactRequest && c.contact.State != client.ContactBlocked
}

// fileList copies the Files of a FileList (an input's, a paste's or a
// drop's) so that they outlive it.
func fileList(files app.Value) []app.Value {
	if files == nil || !files.Truthy() {
		return nil
	}
	out := make([]app.Value, 0, files.Length())
	for i := 0; i < files.Length(); i++ {
		out = append(out, files.Index(i))
	}
	return out
}

// baseName is a file's name without any path, as it is sent.
func baseName(name string) string {
	name = path.Base(strings.ReplaceAll(name, "\\", "/"))
	if name == "." || name == "/" {
		return ""
	}
	return name
}

// addFiles puts files in the tray and starts making their thumbnails;
// a file over client.MaxAttachmentSize, or empty, is left out and the
// tray says so.
func (c *conversation) addFiles(ctx app.Context, files []app.Value) {
	if len(files) == 0 || !c.canAttach() || c.media.tray.sending {
		return
	}
	ctx = c.mediaCtx(ctx)
	t := &c.media.tray
	t.err, t.menu = "", false
	var left []string
	for _, file := range files {
		f := &trayFile{
			file:  file,
			name:  baseName(file.Get("name").String()),
			typ:   file.Get("type").String(),
			size:  int64(file.Get("size").Float()),
			ready: make(chan struct{}),
		}
		if f.name == "" {
			f.name = "file"
		}
		if f.size <= 0 || f.size > client.MaxAttachmentSize {
			left = append(left, f.name)
			continue
		}
		t.next++
		f.id = t.next
		t.files = append(t.files, f)
		if !hasThumbnail(f.typ) {
			close(f.ready)
			continue
		}
		ctx.Async(func() {
			p, err := makePreview(context.Background(), f.file, f.typ)
			if err == nil {
				f.prev = p
			}
			close(f.ready)
			if err != nil {
				return
			}
			ctx.Dispatch(func(ctx app.Context) {
				if slices.Contains(c.media.tray.files, f) {
					f.thumb = blobURL(p.thumb, "image/jpeg")
				}
			})
		})
	}
	if len(left) > 0 {
		t.err = strings.Join(left, ", ") + ": files must be between 1 byte and 100 MB, so " + pluralIt(len(left)) + " left out."
	}
	ctx.Defer(func(app.Context) { focusID("composer") })
}

// pluralIt is "it was" or "they were".
func pluralIt(n int) string {
	if n == 1 {
		return "it was"
	}
	return "they were"
}

// removeFile takes a file out of the tray.
func (c *conversation) removeFile(id int) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		t := &c.media.tray
		if t.sending {
			return
		}
		for i, f := range t.files {
			if f.id == id {
				revokeURL(f.thumb)
				t.files = append(t.files[:i:i], t.files[i+1:]...)
				break
			}
		}
		t.err = ""
		ctx.Defer(func(app.Context) { focusID("composer") })
	}
}

// onPick takes the files chosen in one of the attach inputs.
func (c *conversation) onPick(ctx app.Context, e app.Event) {
	input := ctx.JSSrc()
	files := fileList(input.Get("files"))
	input.Set("value", "") // the same file may be chosen again
	c.addFiles(ctx, files)
}

// onAttach opens the file chooser; on a touch screen, the menu of what
// to attach.
func (c *conversation) onAttach(ctx app.Context, e app.Event) {
	if coarsePointer() {
		c.media.tray.menu = !c.media.tray.menu
		if c.media.tray.menu {
			ctx.Defer(func(app.Context) { focusID("attach-menu-media") })
		}
		return
	}
	ctx.PreventUpdate()
	clickID(attachFileID)
}

// choose opens one of the inputs from the menu.
func (c *conversation) choose(id string) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		c.media.tray.menu = false
		clickID(id)
	}
}

// onMenuKey closes the menu on Escape.
func (c *conversation) onMenuKey(ctx app.Context, e app.Event) {
	if e.Get("key").String() != "Escape" {
		ctx.PreventUpdate()
		return
	}
	e.PreventDefault()
	e.Call("stopPropagation")
	c.media.tray.menu = false
	ctx.Defer(func(app.Context) { focusID("attach") })
}

// coarsePointer reports whether the main pointer is a finger.
func coarsePointer() bool {
	if app.IsServer {
		return false
	}
	return app.Window().Call("matchMedia", "(pointer: coarse)").Get("matches").Truthy()
}

// clickID clicks the element with the ID.
func clickID(id string) {
	if el := byID(id); el.Truthy() {
		el.Call("click")
	}
}

// attachButton is the composer's attach button and its hidden inputs;
// the menu when open.
func (c *conversation) attachButton() app.UI {
	input := func(id, accept, capture string) app.UI {
		in := app.Input().ID(id).Type("file").Class("attach-input").TabIndex(-1).Aria("hidden", "true").On("change", c.onPick)
		if id != attachCameraID {
			in = in.Multiple(true)
		}
		if accept != "" {
			in = in.Accept(accept)
		}
		if capture != "" {
			in = in.Attr("capture", capture)
		}
		return in
	}
	t := c.media.tray
	return app.Div().Class("attach").Body(
		app.Button().ID("attach").Type("button").Class("icon-button", "attach-button").
			Aria("label", "Attach files").Title("Attach").Aria("haspopup", "menu").Aria("expanded", t.menu).
			Disabled(t.sending).OnClick(c.onAttach).Body(icon(iconAttach)),
		input(attachFileID, "", ""),
		input(attachMediaID, "image/*,video/*", ""),
		input(attachCameraID, "image/*,video/*", "environment"),
		app.If(t.menu, func() app.UI {
			item := func(id, target, label, svg string) app.UI {
				return app.Button().ID(id).Type("button").Class("attach-item").Role("menuitem").
					OnClick(c.choose(target)).Body(icon(svg), app.Span().Text(label))
			}
			return app.Div().ID("attach-menu").Class("attach-menu").Role("menu").Aria("label", "Attach").
				OnKeyDown(c.onMenuKey).Body(
				item("attach-menu-media", attachMediaID, "Photo or video", iconImage),
				item("attach-menu-camera", attachCameraID, "Camera", iconCamera),
				item("attach-menu-file", attachFileID, "File", iconFile),
			)
		}),
	)
}

// Icons of attaching.
const (
	iconAttach = svgOpen + `<path d="M20.5 11.5 12 20a5.5 5.5 0 0 1-7.8-7.8l8.9-8.9a3.7 3.7 0 0 1 5.2 5.2l-8.8 8.8a1.8 1.8 0 0 1-2.6-2.6l8.1-8.1"/>` + svgClose
	iconImage  = svgOpen + `<rect x="3" y="4" width="18" height="16" rx="2"/><circle cx="9" cy="10" r="2"/><path d="m21 16-5-5-9 9"/>` + svgClose
	iconCamera = svgOpen + `<path d="M4 8h3l2-3h6l2 3h3a1 1 0 0 1 1 1v10a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1V9a1 1 0 0 1 1-1z"/><circle cx="12" cy="13.5" r="3.5"/>` + svgClose
)

// trayView is the tray above the composer. Empty, it is an empty
// element, so that the composer after it stays the same element (with
// what is typed in it) when the tray comes and goes.
func (c *conversation) trayView() app.UI {
	t := c.media.tray
	if len(t.files) == 0 && t.err == "" {
		return app.Div().Class("tray", "tray-empty")
	}
	messages := (len(t.files) + client.MaxAttachments - 1) / client.MaxAttachments
	return app.Div().ID("attach-tray").Class("tray").Role("region").Aria("label", "Files to send").Body(
		app.If(len(t.files) > 0, func() app.UI {
			return app.Ul().Class("tray-list").Body(app.Range(t.files).Slice(func(i int) app.UI {
				f := t.files[i]
				return app.Li().Class("tray-item").DataSet("name", f.name).Body(
					app.If(f.thumb != "", func() app.UI {
						return app.Img().Class("tray-thumb").Src(f.thumb).Alt("")
					}).Else(func() app.UI {
						return app.Span().Class("tray-thumb", "tray-icon").Body(icon(iconFile))
					}),
					app.Span().Class("tray-name").Title(f.name).Text(f.name),
					app.Span().Class("tray-size").Text(sizeText(f.size)),
					app.Button().Type("button").Class("tray-remove").Aria("label", "Remove "+f.name).Title("Remove").
						Disabled(t.sending).OnClick(c.removeFile(f.id)).Body(icon(iconClose)),
				)
			}))
		}),
		app.If(messages > 1, func() app.UI {
			return app.P().Class("hint", "tray-hint").Text(strconv.Itoa(len(t.files)) + " files go as " + strconv.Itoa(messages) +
				" messages: at most " + strconv.Itoa(client.MaxAttachments) + " in one.")
		}),
		app.If(t.sending, func() app.UI {
			return app.P().Class("hint", "tray-status").Role("status").Text("Preparing " + countText(len(t.files), "file") + "…")
		}),
		app.If(t.err != "", func() app.UI {
			return app.P().ID("tray-error").Class("error").Role("alert").Text(t.err)
		}),
	)
}

// sendTray sends the tray's files with caption: the caption with the
// first client.MaxAttachments of them, the others in more messages. The
// tray empties once they are all on the device (SendFiles copies them)
// and the messages show with their uploads under way; if one cannot be
// sent, the tray keeps the files not sent and says why.
func (c *conversation) sendTray(ctx app.Context, caption string) {
	t := &c.media.tray
	if t.sending || len(t.files) == 0 {
		return
	}
	t.sending, t.err, t.menu = true, "", false
	ctx = c.mediaCtx(ctx)
	files := append([]*trayFile(nil), t.files...)
	s, peer, conv, group, me := c.s, c.peer, c.conv, c.isGroup(), c.media.me
	ctx.Async(func() {
		cl, err := s.client()
		sent := 0
		for err == nil && sent < len(files) {
			batch := files[sent:min(len(files), sent+client.MaxAttachments)]
			text := ""
			if sent == 0 {
				text = caption
			}
			var id wire.MessageID
			id, err = sendBatch(cl, peer, conv, group, text, batch)
			if err != nil {
				break
			}
			sent += len(batch)
			m, merr := cl.Message(context.Background(), me, id)
			done := batch
			ctx.Dispatch(func(ctx app.Context) {
				c.dropSent(done)
				if merr == nil {
					c.showSent(ctx, m)
				}
			})
		}
		online := s.isOnline()
		ctx.Dispatch(func(ctx app.Context) {
			c.media.tray.sending = false
			if err != nil {
				c.media.tray.err = errorText(err, online)
				if sent == 0 {
					if ta := byID("composer"); ta.Truthy() && ta.Get("value").String() == "" {
						ta.Set("value", caption)
						growComposer(ta)
					}
				}
			}
			ctx.NewAction(actionChatsChanged)
		})
	})
}

// sendBatch sends files (at most client.MaxAttachments) with text, once
// their thumbnails are made.
func sendBatch(cl *client.Client, peer wire.UserID, conv wire.ConversationID, group bool, text string, batch []*trayFile) (wire.MessageID, error) {
	files := make([]client.File, 0, len(batch))
	for _, f := range batch {
		<-f.ready
		files = append(files, client.File{
			Name:      f.name,
			Type:      f.typ,
			Size:      f.size,
			Content:   newBlobReader(f.file, f.size),
			Width:     f.prev.width,
			Height:    f.prev.height,
			Duration:  f.prev.duration,
			Thumbnail: f.prev.thumb,
		})
	}
	if group {
		return cl.SendGroupFiles(context.Background(), conv, text, files...)
	}
	return cl.SendFiles(context.Background(), peer, text, files...)
}

// dropSent takes files that were sent out of the tray.
func (c *conversation) dropSent(sent []*trayFile) {
	t := &c.media.tray
	kept := t.files[:0:0]
	for _, f := range t.files {
		if slices.Contains(sent, f) {
			revokeURL(f.thumb)
			continue
		}
		kept = append(kept, f)
	}
	t.files = kept
}

// showSent shows a message just sent, at the end of the conversation.
func (c *conversation) showSent(ctx app.Context, m client.Message) {
	if c.win.hasNewer {
		c.loadNewest(ctx)
		return
	}
	if !c.win.has(m.ID) {
		c.win.add(m, true)
	}
	c.toBottom, c.anchor, c.fresh = true, nil, 0
	ctx.Defer(c.afterRender)
}
