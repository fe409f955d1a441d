package ui

import (
	"context"
	"slices"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

// iconMedia is the icon of a chat's media (the gallery).
const iconMedia = svgOpen + `<rect x="3.5" y="4.5" width="17" height="15" rx="2"/><circle cx="9" cy="10" r="1.8"/><path d="M20.5 16l-5-5-8 8.5"/>` + svgClose

// mediaRoute is the gallery of the chat r is (a 1:1 chat or a group's);
// not found for any other page.
func mediaRoute(r route) route {
	switch r.kind {
	case routeChat, routeGroup:
		return route{kind: routeMedia, peer: r.peer, group: r.group}
	}
	return route{kind: routeNotFound}
}

// chatMediaPath is the gallery of a 1:1 chat; groupMediaPath a group's.
func chatMediaPath(u wire.UserID) string           { return chatPath(u) + suffixMedia }
func groupMediaPath(id wire.ConversationID) string { return groupPath(id) + suffixMedia }

// mediaLink is the chat header's link to the chat's gallery.
func mediaLink(path string) app.UI {
	return app.A().ID("chat-media").Class("icon-button").Href(path).
		Aria("label", "Media, files and voice notes").Title("Media, files and voice notes").Body(icon(iconMedia))
}

// galleryPage is a chat's gallery: every photo, video, file and voice
// note of the chat, newest first (client.Client.Media): photos and
// videos as a grid of their thumbnails, which open in the viewer; files
// as a list, each downloaded or saved from it; voice notes and audio
// files as a list of their players.
type galleryPage struct {
	app.Compo
	// Peer is the other person's user ID in hex, for a 1:1 chat; Group
	// the group's ID in hex, for a group's.
	Peer, Group string

	s       *Session
	peer    wire.UserID
	conv    wire.ConversationID
	name    string // the chat's
	people  people // who wrote what
	me      wire.UserID
	items   []client.MediaItem
	thumbs  map[attKey]string // blob: URLs of the thumbnails
	urls    map[attKey]string // blob: URLs of files read from the device
	opening map[attKey]bool   // being read
	saving  map[attKey]bool   // to save once downloaded
	viewer  *mediaViewer      // nil when closed
	loaded  bool
	loads   int // reads started; only the last one's answer is kept
	loadErr string
	err     string
}

// newGalleryPage returns the gallery of the chat of r (routeMedia).
func newGalleryPage(s *Session, r route) *galleryPage {
	p := &galleryPage{s: s}
	if r.peer.IsZero() {
		p.Group = r.group.String()
	} else {
		p.Peer = r.peer.String()
	}
	return p
}

// CompoID makes each chat's gallery a component of its own.
func (p *galleryPage) CompoID() string { return "media-" + p.Peer + p.Group }

// OnMount reads the chat's media and follows what changes them.
func (p *galleryPage) OnMount(ctx app.Context) {
	if p.Group != "" {
		p.conv, _ = parseGroupID(p.Group)
	} else {
		p.peer, _ = wire.ParseUserID(strings.ToLower(p.Peer))
	}
	if acct, ok := p.s.account(); ok {
		p.me = acct.User
	}
	p.thumbs = make(map[attKey]string)
	p.urls = make(map[attKey]string)
	p.opening = make(map[attKey]bool)
	p.saving = make(map[attKey]bool)
	ctx.Handle(actionEvent, p.onEvent)
	ctx.Handle(actionViewerClosed, func(ctx app.Context, a app.Action) {
		if v, ok := a.Value.(*mediaViewer); !ok || v != p.viewer {
			ctx.PreventUpdate()
			return
		}
		p.viewer = nil
	})
	p.load(ctx)
}

// OnDismount lets go of the blob: URLs.
func (p *galleryPage) OnDismount() {
	for _, m := range []map[attKey]string{p.thumbs, p.urls} {
		for k, u := range m {
			revokeURL(u)
			delete(m, k)
		}
	}
}

// keyOf names an item's attachment.
func (p *galleryPage) keyOf(it client.MediaItem) attKey {
	return attKey{author: authorOf(it.Message, p.me), msg: it.Message.ID, index: it.Index}
}

// onEvent reads the media again when a message of the chat arrives or
// changes, and follows transfers.
func (p *galleryPage) onEvent(ctx app.Context, a app.Action) {
	switch ev := a.Value.(type) {
	case client.MessageReceived:
		if !p.mine(ev.Message) || len(ev.Message.Attachments) == 0 {
			ctx.PreventUpdate()
			return
		}
		p.load(ctx)
	case client.EventTransfer:
		if ev.Conversation != p.conv || !p.follow(ctx, ev) {
			ctx.PreventUpdate()
		}
	case client.Connected:
		p.load(ctx)
	default:
		ctx.PreventUpdate()
	}
}

// mine reports whether m is of this chat.
func (p *galleryPage) mine(m client.Message) bool {
	if p.Group != "" {
		return m.Conversation == p.conv
	}
	return m.Peer == p.peer
}

// follow updates the item a transfer is about; it reports whether one
// is shown.
func (p *galleryPage) follow(ctx app.Context, ev client.EventTransfer) bool {
	k := attKey{author: ev.Author, msg: ev.Message, index: ev.Index}
	for i := range p.items {
		it := &p.items[i]
		if p.keyOf(*it) != k {
			continue
		}
		it.Message.Attachments = slices.Clone(it.Message.Attachments)
		a := &it.Message.Attachments[it.Index]
		a.Transfer, a.Done = ev.Transfer, ev.Done
		if ev.Err != nil {
			a.Failure = transferErrText(ev.Err, p.s.isOnline())
		}
		if a.Transfer != client.TransferLocal && p.urls[k] != "" {
			revokeURL(p.urls[k])
			delete(p.urls, k)
		}
		if a.Transfer == client.TransferLocal && p.saving[k] {
			delete(p.saving, k)
			name := a.Name
			p.openURL(ctx, k, a.Type, func(url string) { saveURL(url, name) })
		}
		return true
	}
	return false
}

// load reads the chat's name, its people and its media.
func (p *galleryPage) load(ctx app.Context) {
	p.loads++
	n, s, peer, conv, group := p.loads, p.s, p.peer, p.conv, p.Group != ""
	ctx.Async(func() {
		var items []client.MediaItem
		var name string
		var names people
		cl, err := s.client()
		if err == nil && group {
			var g client.Group
			var cts []client.Contact
			g, err = cl.Group(context.Background(), conv)
			if err == nil {
				cts, err = cl.Contacts(context.Background())
			}
			if err == nil {
				name, names = g.Name, groupPeople([]*client.Group{&g}, cts)
			}
		} else if err == nil {
			var ct client.Contact
			ct, err = contactOrRequest(context.Background(), s, peer)
			if err == nil {
				name, names = displayName(ct), people{peer: displayName(ct)}
				conv, err = cl.Conversation(peer)
			}
		}
		if err == nil {
			items, err = cl.Media(context.Background(), conv)
		}
		ctx.Dispatch(func(ctx app.Context) {
			if n != p.loads {
				return
			}
			p.loaded = true
			if err != nil {
				p.loadErr = errorText(err, true)
				return
			}
			p.conv, p.name, p.people, p.items, p.loadErr = conv, name, names, items, ""
			ctx.Page().SetTitle("Media of %s · Mutual", name)
		})
	})
}

// thumbURL is the blob: URL of an item's thumbnail, made the first time
// it is drawn.
func (p *galleryPage) thumbURL(k attKey, a client.Attachment) string {
	if len(a.Thumbnail) == 0 || app.IsServer || p.thumbs == nil {
		return ""
	}
	if u, ok := p.thumbs[k]; ok {
		return u
	}
	u := blobURL(a.Thumbnail, thumbType(a.Thumbnail))
	p.thumbs[k] = u
	return u
}

// openURL reads an attachment on the device into a blob: URL, then calls
// then with it.
func (p *galleryPage) openURL(ctx app.Context, k attKey, typ string, then func(url string)) {
	if u := p.urls[k]; u != "" {
		then(u)
		return
	}
	if p.opening[k] {
		return
	}
	p.opening[k], p.err = true, ""
	s := p.s
	ctx.Async(func() {
		var blob app.Value
		cl, err := s.client()
		if err == nil {
			blob, err = openAttachmentBlob(context.Background(), cl, k, typ)
		}
		online := s.isOnline()
		ctx.Dispatch(func(ctx app.Context) {
			delete(p.opening, k)
			if err != nil {
				p.err = errorText(err, online)
				return
			}
			url := objectURL(blob)
			if p.urls == nil { // the page is gone
				revokeURL(url)
				return
			}
			p.urls[k] = url
			ctx.Defer(func(app.Context) { then(url) })
		})
	})
}

// call runs one of the client's transfer controls for an attachment.
func (p *galleryPage) call(k attKey, do func(context.Context, *client.Client) error) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		p.err = ""
		s := p.s
		ctx.Async(func() {
			cl, err := s.client()
			if err == nil {
				err = do(context.Background(), cl)
			}
			online := s.isOnline()
			ctx.Dispatch(func(ctx app.Context) {
				if err != nil {
					delete(p.saving, k)
					p.err = transferErrText(err, online)
				}
			})
		})
	}
}

// view is what an item is drawn from, with the gallery's controls.
func (p *galleryPage) view(it client.MediaItem) attView {
	k, a := p.keyOf(it), it.Attachment()
	return attView{
		key: k, msg: it.Message, att: a, url: p.urls[k],
		onOpen: func(ctx app.Context, e app.Event) {
			p.openURL(ctx, k, a.Type, func(string) {
				if el := app.Window().Get("document").Call("querySelector", `.att[data-key="`+k.String()+`"] audio`); el.Truthy() {
					el.Call("play")
				}
			})
		},
		onDownload: p.call(k, func(ctx context.Context, cl *client.Client) error { return cl.Download(ctx, k.author, k.msg, k.index) }),
		onCancel: p.call(k, func(ctx context.Context, cl *client.Client) error {
			return cl.CancelTransfer(ctx, k.author, k.msg, k.index)
		}),
		onRetry: p.call(k, func(ctx context.Context, cl *client.Client) error {
			return cl.RetryTransfer(ctx, k.author, k.msg, k.index)
		}),
		onSave: func(ctx app.Context, e app.Event) {
			name := a.Name
			p.openURL(ctx, k, a.Type, func(url string) { saveURL(url, name) })
		},
	}
}

// save downloads a file and saves it once it is on the device.
func (p *galleryPage) downloadAndSave(it client.MediaItem) app.EventHandler {
	k := p.keyOf(it)
	download := p.view(it).onDownload
	return func(ctx app.Context, e app.Event) {
		p.saving[k] = true
		download(ctx, e)
	}
}

// openVisual opens the viewer on a photo or a video.
func (p *galleryPage) openVisual(it client.MediaItem) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		p.viewer = newMediaViewer(p.s, p.conv, p.me, it)
	}
}

// Render draws the gallery.
func (p *galleryPage) Render() app.UI {
	back := chatPath(p.peer)
	if p.Group != "" {
		back = groupPath(p.conv)
	}
	var visual, files, audio []client.MediaItem
	for _, it := range p.items {
		if it.Index >= len(it.Message.Attachments) {
			continue
		}
		switch kindOf(it.Attachment()) {
		case kindAudio:
			audio = append(audio, it)
		case kindImage, kindVideo:
			visual = append(visual, it)
		default:
			files = append(files, it)
		}
	}
	title := "Media"
	if p.name != "" {
		title = "Media of " + p.name
	}
	var viewer app.UI
	if p.viewer != nil {
		viewer = p.viewer
	}
	return app.Div().ID("gallery").Class("page", "gallery").Body(
		app.Div().Class("page-head").Body(
			app.A().ID("gallery-back").Class("icon-button", "back").Href(back).Aria("label", "Back to the chat").Body(icon(iconBack)),
			app.H1().TabIndex(-1).Text(title),
		),
		app.If(p.loadErr != "", func() app.UI { return app.P().Class("error").Role("alert").Text(p.loadErr) }),
		app.If(p.err != "", func() app.UI { return app.P().ID("gallery-error").Class("error").Role("alert").Text(p.err) }),
		app.If(!p.loaded, func() app.UI { return app.P().Class("hint").Role("status").Text("Loading…") }),
		app.If(p.loaded && p.loadErr == "" && len(p.items) == 0, func() app.UI {
			return app.P().ID("gallery-empty").Class("hint").Text("No photos, videos, files or voice messages in this chat yet.")
		}),
		app.If(len(visual) > 0, func() app.UI {
			return app.Section().Class("gallery-section").Aria("labelledby", "gallery-media-title").Body(
				app.H2().ID("gallery-media-title").Text("Photos and videos"),
				app.Ul().ID("gallery-media").Class("media-grid").Body(
					app.Range(visual).Slice(func(i int) app.UI { return p.tile(visual[i]) }),
				),
			)
		}),
		app.If(len(files) > 0, func() app.UI {
			return app.Section().Class("gallery-section").Aria("labelledby", "gallery-files-title").Body(
				app.H2().ID("gallery-files-title").Text("Files"),
				app.Ul().ID("gallery-files").Class("media-list").Body(
					app.Range(files).Slice(func(i int) app.UI { return p.fileRow(files[i]) }),
				),
			)
		}),
		app.If(len(audio) > 0, func() app.UI {
			return app.Section().Class("gallery-section").Aria("labelledby", "gallery-audio-title").Body(
				app.H2().ID("gallery-audio-title").Text("Voice messages and audio"),
				app.Ul().ID("gallery-audio").Class("media-list").Body(
					app.Range(audio).Slice(func(i int) app.UI { return p.audioRow(audio[i]) }),
				),
			)
		}),
		viewer,
	)
}

// byline says who sent an item and when.
func (p *galleryPage) byline(m client.Message) string {
	who := "You"
	if !m.Outgoing {
		who = p.people.name(authorOf(m, p.me))
	}
	return who + " · " + chatTime(when(m), p.s.now())
}

// tile is a photo's or a video's thumbnail in the grid.
func (p *galleryPage) tile(it client.MediaItem) app.UI {
	k, a := p.keyOf(it), it.Attachment()
	video := kindOf(a) == kindVideo
	label := "Photo"
	if video {
		label = "Video"
	}
	label += " from " + p.byline(it.Message)
	thumb := p.thumbURL(k, a)
	return app.Li().Class("media-tile").DataSet("key", k.String()).DataSet("transfer", transferName(a.Transfer)).Body(
		app.Button().Type("button").Class("media-open").Aria("label", label).OnClick(p.openVisual(it)).Body(
			app.If(thumb != "", func() app.UI {
				return app.Img().Class("media-thumb").Src(thumb).Alt("")
			}).Else(func() app.UI {
				return app.Span().Class("media-thumb", "media-thumb-empty").Body(icon(iconMedia))
			}),
			app.If(video, func() app.UI {
				return app.Span().Class("media-badge").Body(icon(iconPlay), app.Text(durationText(a.Duration)))
			}),
		),
	)
}

// fileRow is a file in the list: its card, whose Download saves it once
// it is on the device.
func (p *galleryPage) fileRow(it client.MediaItem) app.UI {
	v := p.view(it)
	if v.att.Transfer == client.TransferRemote {
		v.onDownload = p.downloadAndSave(it)
	}
	return app.Li().Class("media-file").Body(
		app.Span().Class("media-sub").Text(p.byline(it.Message)),
		fileAttachment(v),
	)
}

// audioRow is a voice note or an audio file in the list: its player.
func (p *galleryPage) audioRow(it client.MediaItem) app.UI {
	return app.Li().Class("media-audio").Body(
		app.Span().Class("media-sub").Text(p.byline(it.Message)),
		audioAttachment(p.view(it)),
	)
}
