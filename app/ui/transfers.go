package ui

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

// convMedia is what a conversation keeps of its attachments: the blob:
// URLs of what it shows (made when needed, let go of when the messages
// leave the window or the conversation closes), which photos are near
// the view, the files about to be sent (the tray) and the open viewer.
//
// A photo on the device is read (client.OpenAttachment) only once it
// comes near the view, which an IntersectionObserver on the messages
// tells: a long conversation does not hold every picture in memory.
type convMedia struct {
	me      wire.UserID       // this account: the author of outgoing messages
	urls    map[attKey]string // blob: URLs of files on this device
	thumbs  map[attKey]string // blob: URLs of inline thumbnails
	opening map[attKey]bool   // being read
	absent  map[attKey]bool   // not on the device after all: not read again before its next event
	near    map[string]bool   // data-keys of photos near the view
	failed  map[attKey]string // why Download or RetryTransfer failed before the client said so
	obs     app.Value         // the IntersectionObserver
	obsFunc app.Func          // its callback
	tray    tray              // attach.go
	viewer  *mediaViewer      // viewer.go; nil when closed

	// ctx is the conversation's own context, from OnMount: what an
	// event starts comes back through it, as the element the event came
	// from (a button a transfer replaces, an input the tray moves) may be
	// gone by then, and go-app drops what is dispatched to it.
	ctx     app.Context
	mounted bool
}

// mediaCtx is the conversation's own context once mounted, else ctx.
func (c *conversation) mediaCtx(ctx app.Context) app.Context {
	if c.media.mounted {
		return c.media.ctx
	}
	return ctx
}

// mountMedia prepares the conversation's attachments: who this account
// is, and the observer that tells which photos are near the view.
func (c *conversation) mountMedia(ctx app.Context) {
	c.media.urls = make(map[attKey]string)
	c.media.thumbs = make(map[attKey]string)
	c.media.opening = make(map[attKey]bool)
	c.media.absent = make(map[attKey]bool)
	c.media.near = make(map[string]bool)
	c.media.failed = make(map[attKey]string)
	if acct, ok := c.s.account(); ok {
		c.media.me = acct.User
	}
	c.media.ctx, c.media.mounted = ctx, true
	ctx.Handle(actionViewerClosed, c.onViewerClosed)
	io := app.Window().Get("IntersectionObserver")
	if !io.Truthy() {
		return
	}
	c.media.obsFunc = app.FuncOf(func(_ app.Value, args []app.Value) any {
		if len(args) == 0 {
			return nil
		}
		entries := args[0]
		type change struct {
			key  string
			near bool
		}
		changes := make([]change, 0, entries.Length())
		for i := 0; i < entries.Length(); i++ {
			e := entries.Index(i)
			changes = append(changes, change{
				key:  e.Get("target").Get("dataset").Get("key").String(),
				near: e.Get("isIntersecting").Bool(),
			})
		}
		ctx.Dispatch(func(ctx app.Context) {
			for _, ch := range changes {
				if ch.near {
					c.media.near[ch.key] = true
				} else {
					delete(c.media.near, ch.key)
				}
			}
			c.openShown(ctx)
		})
		return nil
	})
	c.media.obs = io.New(c.media.obsFunc, map[string]any{"rootMargin": "600px 0px"})
}

// dismountMedia lets go of every blob: URL and of the observer.
func (c *conversation) dismountMedia() {
	c.media.mounted = false
	if c.media.obs != nil {
		c.media.obs.Call("disconnect")
		c.media.obsFunc.Release()
		c.media.obs, c.media.obsFunc = nil, nil
	}
	for k, u := range c.media.urls {
		revokeURL(u)
		delete(c.media.urls, k)
	}
	for k, u := range c.media.thumbs {
		revokeURL(u)
		delete(c.media.thumbs, k)
	}
	c.media.tray.clear()
}

// observeMedia has the observer watch the photos drawn, and reads those
// near the view; a photo watched already is not watched twice.
func (c *conversation) observeMedia(ctx app.Context) {
	if c.media.obs != nil {
		if sc := byID("messages"); sc.Truthy() {
			nodes := sc.Call("querySelectorAll", ".att-image[data-key]")
			for i := 0; i < nodes.Length(); i++ {
				c.media.obs.Call("observe", nodes.Index(i))
			}
		}
	} else {
		// Without an observer every photo counts as near.
		for _, m := range c.win.msgs {
			for i := range m.Attachments {
				c.media.near[c.keyOf(m, i).String()] = true
			}
		}
	}
	c.pruneMedia()
	c.openShown(ctx)
}

// pruneMedia lets go of the URLs of attachments no longer in the window.
func (c *conversation) pruneMedia() {
	in := make(map[attKey]bool)
	for _, m := range c.win.msgs {
		for i := range m.Attachments {
			in[c.keyOf(m, i)] = true
		}
	}
	for k, u := range c.media.urls {
		if !in[k] {
			revokeURL(u)
			delete(c.media.urls, k)
		}
	}
	for k, u := range c.media.thumbs {
		if !in[k] {
			revokeURL(u)
			delete(c.media.thumbs, k)
		}
	}
}

// keyOf names the ith attachment of m.
func (c *conversation) keyOf(m client.Message, i int) attKey {
	return attKey{author: authorOf(m, c.media.me), msg: m.ID, index: i}
}

// onDevice reports whether an attachment's bytes are on this device:
// downloaded, or sent from here (also while they upload).
func onDevice(m client.Message, a client.Attachment) bool {
	return a.Transfer == client.TransferLocal ||
		m.Outgoing && (a.Transfer == client.TransferUploading || a.Transfer == client.TransferPaused)
}

// openShown reads the photos near the view that are on the device and
// not read yet.
func (c *conversation) openShown(ctx app.Context) {
	for _, m := range c.win.msgs {
		for i, a := range m.Attachments {
			k := c.keyOf(m, i)
			if kindOf(a) != kindImage || !onDevice(m, a) || c.media.absent[k] ||
				c.media.urls[k] != "" || c.media.opening[k] || !c.media.near[k.String()] {
				continue
			}
			c.openURL(ctx, k, a.Type, nil)
		}
	}
}

// openURL reads an attachment on the device into a blob: URL, then calls
// then (if set) with it.
func (c *conversation) openURL(ctx app.Context, k attKey, typ string, then func(ctx app.Context, url string)) {
	ctx = c.mediaCtx(ctx)
	c.media.opening[k] = true
	s := c.s
	ctx.Async(func() {
		var blob app.Value
		cl, err := s.client()
		if err == nil {
			blob, err = openAttachmentBlob(context.Background(), cl, k, typ)
		}
		ctx.Dispatch(func(ctx app.Context) {
			delete(c.media.opening, k)
			if err != nil {
				if errors.Is(err, client.ErrNotOnDevice) && c.media.absent != nil {
					c.media.absent[k] = true
					c.reloadMessage(ctx, k)
				}
				return
			}
			url := objectURL(blob)
			if c.media.urls == nil { // the conversation closed meanwhile
				revokeURL(url)
				return
			}
			revokeURL(c.media.urls[k])
			c.media.urls[k] = url
			if then != nil {
				then(ctx, url)
			}
		})
	})
}

// thumbURL is the blob: URL of an attachment's inline thumbnail, made
// the first time it is drawn.
func (c *conversation) thumbURL(k attKey, a client.Attachment) string {
	if len(a.Thumbnail) == 0 || app.IsServer || c.media.thumbs == nil {
		return ""
	}
	if u, ok := c.media.thumbs[k]; ok {
		return u
	}
	u := blobURL(a.Thumbnail, thumbType(a.Thumbnail))
	c.media.thumbs[k] = u
	return u
}

// thumbType is a thumbnail's type by its first bytes: WebP or JPEG.
func thumbType(b []byte) string {
	if len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP" {
		return "image/webp"
	}
	return "image/jpeg"
}

// attachmentsOf draws a message's attachments.
func (c *conversation) attachmentsOf(m client.Message) app.UI {
	items := make([]app.UI, 0, len(m.Attachments))
	media := 0
	for i, a := range m.Attachments {
		k := c.keyOf(m, i)
		if inViewer(a) {
			media++
		}
		a := a
		if f := c.media.failed[k]; f != "" && a.Transfer == client.TransferRemote {
			// Download failed before it started (offline, say).
			a.Transfer, a.Failure = client.TransferFailed, f
		}
		open := c.openViewer(m, i)
		if kindOf(a) == kindAudio {
			open = c.openAudio(k, a.Type)
		}
		items = append(items, attachmentView(attView{
			key: k, msg: m, att: a,
			url: c.media.urls[k], thumb: c.thumbURL(k, a),
			onOpen: open, onDownload: c.download(k), onCancel: c.cancelTransfer(k),
			onRetry: c.retryTransfer(k), onSave: c.save(k, a),
		}))
	}
	classes := []string{"attachments"}
	if media > 1 {
		classes = append(classes, "attachments-grid")
	}
	return app.Div().Class(classes...).Body(items...)
}

// onTransfer follows an attachment's transfer: its progress, its end.
func (c *conversation) onTransfer(ctx app.Context, ev client.EventTransfer) {
	if ev.Conversation != c.conv {
		ctx.PreventUpdate()
		return
	}
	k := attKey{author: ev.Author, msg: ev.Message, index: ev.Index}
	for i := range c.win.msgs {
		m := &c.win.msgs[i]
		if m.ID != ev.Message || authorOf(*m, c.media.me) != ev.Author || ev.Index >= len(m.Attachments) {
			continue
		}
		old := m.Attachments[ev.Index]
		a := old
		a.Transfer, a.Done = ev.Transfer, ev.Done
		if ev.Size > 0 {
			a.Size = ev.Size
		}
		if ev.Err != nil {
			a.Failure = transferErrText(ev.Err, c.s.isOnline())
		} else if ev.Transfer != client.TransferFailed {
			a.Failure = ""
		}
		delete(c.media.failed, k)
		delete(c.media.absent, k)
		if !onDevice(*m, a) && c.media.urls[k] != "" {
			// Cleared from the device: it is downloaded again first.
			revokeURL(c.media.urls[k])
			delete(c.media.urls, k)
		}
		m.Attachments = slices.Clone(m.Attachments)
		m.Attachments[ev.Index] = a
		if a.Transfer == old.Transfer && a.Failure == old.Failure &&
			(attView{att: a}).percent() == (attView{att: old}).percent() {
			ctx.PreventUpdate()
			return
		}
		if onDevice(*m, a) {
			c.openShown(ctx)
		}
		return
	}
	ctx.PreventUpdate()
}

// transferErrText says why a transfer failed.
func transferErrText(err error, online bool) string {
	switch {
	case errors.Is(err, client.ErrAttachmentGone):
		return expiredText + "."
	case errors.Is(err, client.ErrAttachmentTooLarge):
		return "Files can be at most 100 MB."
	case errors.Is(err, context.Canceled):
		return ""
	}
	var we *wire.Error
	if errors.As(err, &we) || !online || errors.Is(err, client.ErrOffline) {
		return errorText(err, online)
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && strings.HasPrefix(msg, "client:") {
		msg = msg[i+2:]
	}
	if msg != "" {
		msg = strings.ToUpper(msg[:1]) + msg[1:]
		if !strings.HasSuffix(msg, ".") {
			msg += "."
		}
	}
	return msg
}

// reloadMessage reads a message again after the client said its
// attachment is not where the page thought (cleared from the device).
func (c *conversation) reloadMessage(ctx app.Context, k attKey) {
	ctx = c.mediaCtx(ctx)
	s := c.s
	ctx.Async(func() {
		var m client.Message
		cl, err := s.client()
		if err == nil {
			m, err = cl.Message(context.Background(), k.author, k.msg)
		}
		ctx.Dispatch(func(ctx app.Context) {
			if err == nil {
				c.win.update(m)
			}
		})
	})
}

// transferCall runs one of the client's transfer controls for the
// attachment; a failure shows on it until the client says otherwise.
func (c *conversation) transferCall(k attKey, call func(ctx context.Context, cl *client.Client) error) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		e.Call("stopPropagation")
		delete(c.media.failed, k)
		ctx = c.mediaCtx(ctx)
		s := c.s
		ctx.Async(func() {
			cl, err := s.client()
			if err == nil {
				err = call(context.Background(), cl)
			}
			online := s.isOnline()
			ctx.Dispatch(func(ctx app.Context) {
				if err != nil && !errors.Is(err, context.Canceled) && c.media.failed != nil {
					if t := transferErrText(err, online); t != "" {
						c.media.failed[k] = t
					}
				}
			})
		})
	}
}

// download fetches an attachment to the device; its progress comes as
// events.
func (c *conversation) download(k attKey) app.EventHandler {
	return c.transferCall(k, func(ctx context.Context, cl *client.Client) error {
		return cl.Download(ctx, k.author, k.msg, k.index)
	})
}

// cancelTransfer pauses an upload or a download.
func (c *conversation) cancelTransfer(k attKey) app.EventHandler {
	return c.transferCall(k, func(ctx context.Context, cl *client.Client) error {
		return cl.CancelTransfer(ctx, k.author, k.msg, k.index)
	})
}

// retryTransfer resumes a paused transfer or tries a failed one again;
// a download that failed before it started starts again.
func (c *conversation) retryTransfer(k attKey) app.EventHandler {
	retry := c.transferCall(k, func(ctx context.Context, cl *client.Client) error {
		return cl.RetryTransfer(ctx, k.author, k.msg, k.index)
	})
	download := c.download(k)
	return func(ctx app.Context, e app.Event) {
		if c.media.failed[k] != "" {
			download(ctx, e)
			return
		}
		retry(ctx, e)
	}
}

// save has the browser save a file that is on the device, under its
// name.
func (c *conversation) save(k attKey, a client.Attachment) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		e.Call("stopPropagation")
		if u := c.media.urls[k]; u != "" {
			saveURL(u, a.Name)
			return
		}
		if c.media.opening[k] {
			return
		}
		name := a.Name
		c.openURL(ctx, k, a.Type, func(ctx app.Context, url string) { saveURL(url, name) })
	}
}

// openAudio reads an audio attachment on the device into a blob: URL for
// its player, and plays it.
func (c *conversation) openAudio(k attKey, typ string) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		e.Call("stopPropagation")
		if c.media.urls[k] != "" || c.media.opening[k] {
			return
		}
		c.openURL(ctx, k, typ, func(ctx app.Context, url string) {
			ctx.Defer(func(app.Context) {
				if p := app.Window().Get("document").Call("querySelector", `.att[data-key="`+k.String()+`"] audio`); p.Truthy() {
					p.Call("play")
				}
			})
		})
	}
}

// openViewer opens the full-screen viewer on the ith attachment of m.
func (c *conversation) openViewer(m client.Message, i int) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		e.Call("stopPropagation")
		c.media.viewer = newMediaViewer(c.s, c.conv, c.media.me, client.MediaItem{Message: m, Index: i})
	}
}

// onViewerClosed forgets the viewer once it is closed.
func (c *conversation) onViewerClosed(ctx app.Context, a app.Action) {
	if v, ok := a.Value.(*mediaViewer); !ok || v != c.media.viewer {
		ctx.PreventUpdate()
		return
	}
	c.media.viewer = nil
}

// viewerView is the open viewer, or nil.
func (c *conversation) viewerView() app.UI {
	if c.media.viewer == nil {
		return nil
	}
	return c.media.viewer
}
