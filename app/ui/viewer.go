package ui

import (
	"context"
	"math"
	"slices"
	"strconv"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

// actionViewerClosed: the viewer (its *mediaViewer the action's value)
// was closed; whoever opened it drops it.
const actionViewerClosed = "mutual/viewer-closed"

// swipeDistance is how far a finger moves sideways, in CSS pixels, for a
// swipe to show the next or previous photo.
const swipeDistance = 50

// mediaViewer is the full-screen viewer of a conversation's photos and
// videos: a modal <dialog> over the app (it keeps the focus inside, and
// Escape closes it), the photo or video at the size of the screen, its
// caption, Save, and the conversation's other photos and videos with the
// arrow keys, the buttons at the sides, or a swipe. What is not on the
// device yet is downloaded when shown, its thumbnail blurred meanwhile.
// Whoever shows it (a conversation, the gallery) drops it on
// actionViewerClosed.
type mediaViewer struct {
	app.Compo

	s     *Session
	conv  wire.ConversationID
	me    wire.UserID
	first client.MediaItem // shown first, and until the list is read

	items    []client.MediaItem // the conversation's photos and videos, oldest first
	pos      int
	urls     map[attKey]string
	thumbs   map[attKey]string
	opening  map[attKey]bool
	asked    map[attKey]bool   // a download was asked for
	failed   map[attKey]string // why reading or downloading failed
	touchX   float64
	touchY   float64
	touching bool
	ctx      app.Context // its own, from OnMount (see convMedia.ctx)
}

// newMediaViewer returns a viewer of the conversation's photos and
// videos that opens on it.
func newMediaViewer(s *Session, conv wire.ConversationID, me wire.UserID, it client.MediaItem) *mediaViewer {
	return &mediaViewer{s: s, conv: conv, me: me, first: it}
}

// CompoID makes each opening a viewer of its own.
func (v *mediaViewer) CompoID() string {
	return "viewer-" + v.keyOf(v.first).String()
}

// keyOf names an item's attachment.
func (v *mediaViewer) keyOf(it client.MediaItem) attKey {
	return attKey{author: authorOf(it.Message, v.me), msg: it.Message.ID, index: it.Index}
}

// OnMount opens the dialog, shows the first item and reads the
// conversation's others.
func (v *mediaViewer) OnMount(ctx app.Context) {
	v.items = []client.MediaItem{v.first}
	v.urls = make(map[attKey]string)
	v.thumbs = make(map[attKey]string)
	v.opening = make(map[attKey]bool)
	v.asked = make(map[attKey]bool)
	v.failed = make(map[attKey]string)
	v.ctx = ctx
	ctx.Handle(actionEvent, v.onEvent)
	ctx.Defer(func(app.Context) { showDialog("viewer") })
	v.prepare(ctx)
	v.loadItems(ctx)
}

// OnDismount lets go of the blob: URLs.
func (v *mediaViewer) OnDismount() {
	for k, u := range v.urls {
		revokeURL(u)
		delete(v.urls, k)
	}
	for k, u := range v.thumbs {
		revokeURL(u)
		delete(v.thumbs, k)
	}
}

// loadItems reads the conversation's photos and videos (client.Media,
// newest first) and keeps them oldest first, on the one shown.
func (v *mediaViewer) loadItems(ctx app.Context) {
	s, conv := v.s, v.conv
	ctx.Async(func() {
		var all []client.MediaItem
		cl, err := s.client()
		if err == nil {
			all, err = cl.Media(context.Background(), conv)
		}
		ctx.Dispatch(func(ctx app.Context) {
			if err != nil {
				return
			}
			items := oldestFirst(all, v.keyOf)
			cur := v.keyOf(v.items[v.pos])
			pos := slices.IndexFunc(items, func(it client.MediaItem) bool { return v.keyOf(it) == cur })
			if pos < 0 {
				ctx.PreventUpdate()
				return
			}
			v.items, v.pos = items, pos
		})
	})
}

// oldestFirst turns Media's list (newest message first, a message's
// attachments in order) into the viewer's: the photos and videos, oldest
// message first, a message's in order.
func oldestFirst(all []client.MediaItem, keyOf func(client.MediaItem) attKey) []client.MediaItem {
	items := make([]client.MediaItem, 0, len(all))
	for end := len(all); end > 0; {
		start := end - 1
		for start > 0 && keyOf(all[start-1]).msg == keyOf(all[end-1]).msg && keyOf(all[start-1]).author == keyOf(all[end-1]).author {
			start--
		}
		for _, it := range all[start:end] {
			if it.Index < len(it.Message.Attachments) && inViewer(it.Attachment()) {
				items = append(items, it)
			}
		}
		end = start
	}
	return items
}

// current is the item shown.
func (v *mediaViewer) current() client.MediaItem { return v.items[v.pos] }

// prepare reads the item shown into a blob: URL if it is on the device,
// or downloads it.
func (v *mediaViewer) prepare(ctx app.Context) {
	it := v.current()
	k, a := v.keyOf(it), it.Attachment()
	switch {
	case v.urls[k] != "" || v.opening[k]:
	case onDevice(it.Message, a):
		v.open(ctx, k, a.Type)
	case a.Transfer == client.TransferRemote && !v.asked[k]:
		v.asked[k] = true
		v.download(ctx, k)
	}
}

// open reads an attachment on the device into a blob: URL.
func (v *mediaViewer) open(ctx app.Context, k attKey, typ string) {
	ctx = v.ctx
	v.opening[k] = true
	s := v.s
	ctx.Async(func() {
		var blob app.Value
		cl, err := s.client()
		if err == nil {
			blob, err = openAttachmentBlob(context.Background(), cl, k, typ)
		}
		online := s.isOnline()
		ctx.Dispatch(func(ctx app.Context) {
			delete(v.opening, k)
			if err != nil {
				v.failed[k] = transferErrText(err, online)
				return
			}
			if v.urls == nil {
				return
			}
			v.urls[k] = objectURL(blob)
		})
	})
}

// download fetches an attachment; events tell its progress.
func (v *mediaViewer) download(ctx app.Context, k attKey) {
	ctx = v.ctx
	delete(v.failed, k)
	s := v.s
	ctx.Async(func() {
		cl, err := s.client()
		if err == nil {
			err = cl.Download(context.Background(), k.author, k.msg, k.index)
		}
		online := s.isOnline()
		ctx.Dispatch(func(ctx app.Context) {
			if err != nil && v.failed != nil {
				if t := transferErrText(err, online); t != "" {
					v.failed[k] = t
				}
			}
		})
	})
}

// onEvent follows the transfers of the items.
func (v *mediaViewer) onEvent(ctx app.Context, a app.Action) {
	ev, ok := a.Value.(client.EventTransfer)
	if !ok || ev.Conversation != v.conv {
		ctx.PreventUpdate()
		return
	}
	k := attKey{author: ev.Author, msg: ev.Message, index: ev.Index}
	i := slices.IndexFunc(v.items, func(it client.MediaItem) bool { return v.keyOf(it) == k })
	if i < 0 {
		ctx.PreventUpdate()
		return
	}
	it := &v.items[i]
	atts := slices.Clone(it.Message.Attachments)
	atts[it.Index].Transfer, atts[it.Index].Done = ev.Transfer, ev.Done
	if ev.Err != nil {
		atts[it.Index].Failure = transferErrText(ev.Err, v.s.isOnline())
	}
	it.Message.Attachments = atts
	if i == v.pos {
		v.prepare(ctx)
	}
}

// move shows the item by steps from the one shown (-1 the one before).
func (v *mediaViewer) move(ctx app.Context, by int) {
	to := v.pos + by
	if to < 0 || to >= len(v.items) {
		ctx.PreventUpdate()
		return
	}
	v.pos = to
	v.prepare(ctx)
}

func (v *mediaViewer) onPrev(ctx app.Context, e app.Event) { v.move(ctx, -1) }
func (v *mediaViewer) onNext(ctx app.Context, e app.Event) { v.move(ctx, 1) }

// onKeyDown moves with the arrow keys, except in a video's controls,
// where they seek.
func (v *mediaViewer) onKeyDown(ctx app.Context, e app.Event) {
	if t := e.Get("target"); t.Truthy() && t.Get("tagName").String() == "VIDEO" {
		ctx.PreventUpdate()
		return
	}
	switch e.Get("key").String() {
	case "ArrowLeft":
		e.PreventDefault()
		v.move(ctx, -1)
	case "ArrowRight":
		e.PreventDefault()
		v.move(ctx, 1)
	default:
		ctx.PreventUpdate()
	}
}

// onTouchStart and onTouchEnd tell a swipe: sideways more than up or
// down, by swipeDistance at least; to the left shows the next item.
func (v *mediaViewer) onTouchStart(ctx app.Context, e app.Event) {
	ctx.PreventUpdate()
	t := e.Get("changedTouches")
	if !t.Truthy() || t.Length() == 0 {
		return
	}
	v.touchX, v.touchY, v.touching = t.Index(0).Get("clientX").Float(), t.Index(0).Get("clientY").Float(), true
}

func (v *mediaViewer) onTouchEnd(ctx app.Context, e app.Event) {
	t := e.Get("changedTouches")
	if !v.touching || !t.Truthy() || t.Length() == 0 {
		ctx.PreventUpdate()
		return
	}
	v.touching = false
	dx := t.Index(0).Get("clientX").Float() - v.touchX
	dy := t.Index(0).Get("clientY").Float() - v.touchY
	switch {
	case math.Abs(dx) < swipeDistance || math.Abs(dx) < math.Abs(dy):
		ctx.PreventUpdate()
	case dx < 0:
		v.move(ctx, 1)
	default:
		v.move(ctx, -1)
	}
}

// close closes the dialog (Close); onClosed follows it closing by
// itself too (Escape).
func (v *mediaViewer) close(ctx app.Context, e app.Event) {
	if dlg := byID("viewer"); dlg.Truthy() && dlg.Get("open").Bool() {
		dlg.Call("close")
		return
	}
	ctx.NewActionWithValue(actionViewerClosed, v)
}

func (v *mediaViewer) onClosed(ctx app.Context, e app.Event) {
	ctx.NewActionWithValue(actionViewerClosed, v)
}

// retry downloads the item shown again.
func (v *mediaViewer) retry(ctx app.Context, e app.Event) {
	k := v.keyOf(v.current())
	v.download(ctx, k)
}

// Render draws the viewer.
func (v *mediaViewer) Render() app.UI {
	if len(v.items) == 0 {
		return app.Dialog().ID("viewer").Class("viewer")
	}
	it := v.current()
	k, a := v.keyOf(it), it.Attachment()
	video := kindOf(a) == kindVideo
	what := "Photo"
	if video {
		what = "Video"
	}
	count := strconv.Itoa(v.pos+1) + " of " + strconv.Itoa(len(v.items))
	url := v.urls[k]
	thumb := v.thumbURL(k, a)
	view := attView{key: k, msg: it.Message, att: a}
	return app.Dialog().ID("viewer").Class("viewer").Aria("label", what+" "+count).
		DataSet("key", k.String()).DataSet("pos", strconv.Itoa(v.pos)).
		On("close", v.onClosed).OnKeyDown(v.onKeyDown).
		On("touchstart", v.onTouchStart, app.PassiveEvent()).On("touchend", v.onTouchEnd).Body(
		app.Div().Class("viewer-bar").Body(
			app.Button().ID("viewer-close").Type("button").Class("icon-button").Aria("label", "Close").Title("Close").
				OnClick(v.close).Body(icon(iconClose)),
			app.Div().Class("viewer-title").Body(
				app.P().Class("viewer-name").Title(a.Name).Text(a.Name),
				app.P().ID("viewer-count").Class("viewer-count").Text(count),
			),
			app.If(url != "", func() app.UI {
				return app.A().ID("viewer-save").Class("button", "viewer-save").Href(url).Attr("download", a.Name).
					Aria("label", "Save "+a.Name).Body(icon(iconDownload), app.Span().Text("Save"))
			}),
		),
		app.Div().Class("viewer-stage").Body(
			app.Button().ID("viewer-prev").Type("button").Class("viewer-nav", "viewer-prev").Aria("label", "Previous").
				Title("Previous").Disabled(v.pos == 0).OnClick(v.onPrev).Body(icon(iconBack)),
			app.Figure().Class("viewer-figure").Body(
				app.If(url != "" && video, func() app.UI {
					return app.Video().ID("viewer-video").Class("viewer-media").Src(url).Poster(thumb).Controls(true).
						AutoPlay(true).Attr("playsinline", true).Aria("label", a.Name)
				}).ElseIf(url != "", func() app.UI {
					return app.Img().ID("viewer-image").Class("viewer-media").Src(url).Alt(a.Name)
				}).ElseIf(thumb != "", func() app.UI {
					return app.Img().Class("viewer-media", "viewer-thumb").Src(thumb).Alt(a.Name)
				}),
				app.Div().Class("viewer-status").Body(v.status(view)),
			),
			app.Button().ID("viewer-next").Type("button").Class("viewer-nav", "viewer-next").Aria("label", "Next").
				Title("Next").Disabled(v.pos == len(v.items)-1).OnClick(v.onNext).Body(icon(iconBack)),
		),
		app.If(it.Message.Text != "", func() app.UI {
			return app.P().ID("viewer-caption").Class("viewer-caption").Text(it.Message.Text)
		}),
	)
}

// status is what lies over the item while it is not shown in full: the
// download's progress, why it failed, or that it is gone.
func (v *mediaViewer) status(view attView) app.UI {
	a := view.att
	if f := v.failed[view.key]; f != "" && a.Transfer != client.TransferDownloading {
		return app.Div().Class("viewer-error").Body(
			app.P().Class("att-error").Role("alert").Text(f),
			app.Button().Type("button").Class("button", "att-retry").OnClick(v.retry).Text("Try again"),
		)
	}
	switch a.Transfer {
	case client.TransferDownloading:
		return progressRing(view, "att-cancel", v.cancel(view.key))
	case client.TransferFailed, client.TransferPaused:
		if view.received() {
			return app.Div().Class("viewer-error").Body(
				transferNote(view),
				app.Button().Type("button").Class("button", "att-retry").OnClick(v.retry).Text("Try again"),
			)
		}
	case client.TransferExpired:
		return app.P().Class("att-gone-text").Text(expiredText)
	}
	return nil
}

// cancel pauses the item's download.
func (v *mediaViewer) cancel(k attKey) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		ctx = v.ctx
		s := v.s
		ctx.Async(func() {
			cl, err := s.client()
			if err == nil {
				err = cl.CancelTransfer(context.Background(), k.author, k.msg, k.index)
			}
			online := s.isOnline()
			ctx.Dispatch(func(ctx app.Context) {
				if err != nil && v.failed != nil {
					v.failed[k] = transferErrText(err, online)
				}
			})
		})
	}
}

// thumbURL is the blob: URL of an item's inline thumbnail.
func (v *mediaViewer) thumbURL(k attKey, a client.Attachment) string {
	if len(a.Thumbnail) == 0 || app.IsServer || v.thumbs == nil {
		return ""
	}
	if u, ok := v.thumbs[k]; ok {
		return u
	}
	u := blobURL(a.Thumbnail, thumbType(a.Thumbnail))
	v.thumbs[k] = u
	return u
}
