package ui

import (
	"bytes"
	"context"
	"strconv"
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
// files as a list of players.
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
	thumbs  map[string]string // a blob: URL of each item's thumbnail, by mediaKey
	urls    []string          // saved files' blob: URLs, revoked when the page goes
	saving  map[string]bool   // files being downloaded or read to be saved, by mediaKey
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
func (p *galleryPage) CompoID() string { return p.Peer + p.Group }

// OnMount reads the chat's media and follows what changes them.
func (p *galleryPage) OnMount(ctx app.Context) {
	if p.Group != "" {
		p.conv, _ = parseGroupID(p.Group)
	} else {
		p.peer, _ = wire.ParseUserID(strings.ToLower(p.Peer))
	}
	p.saving = make(map[string]bool)
	ctx.Handle(actionEvent, p.onEvent)
	p.load(ctx)
}

// OnDismount lets go of the Blob URLs.
func (p *galleryPage) OnDismount() {
	p.dropThumbs()
	for _, u := range p.urls {
		revokeURL(u)
	}
	p.urls = nil
}

// revokeURL lets go of a blob: URL.
func revokeURL(u string) {
	if u != "" {
		app.Window().Get("URL").Call("revokeObjectURL", u)
	}
}

func (p *galleryPage) dropThumbs() {
	for _, u := range p.thumbs {
		revokeURL(u)
	}
	p.thumbs = nil
}

// mediaKey names an item of the gallery.
func mediaKey(author wire.UserID, msg wire.MessageID, i int) string {
	return author.String() + "/" + msg.String() + "/" + strconv.Itoa(i)
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
	case client.MessageStateChanged:
		if !p.mine(ev.Message) || len(ev.Message.Attachments) == 0 {
			ctx.PreventUpdate()
			return
		}
		p.load(ctx)
	case client.EventTransfer:
		if !p.follow(ctx, ev) {
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
	for i := range p.items {
		it := &p.items[i]
		if it.Message.Author != ev.Author || it.Message.ID != ev.Message || it.Index != ev.Index {
			continue
		}
		att := &it.Message.Attachments[it.Index]
		att.Transfer, att.Done = ev.Transfer, ev.Done
		key := mediaKey(ev.Author, ev.Message, ev.Index)
		switch ev.Transfer {
		case client.TransferLocal:
			if p.saving[key] {
				p.save(ctx, *it)
			}
		case client.TransferFailed, client.TransferExpired, client.TransferPaused:
			if p.saving[key] {
				delete(p.saving, key)
				p.err = transferText(ev)
			}
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
		acct, _ := s.account()
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
			}
			if err == nil {
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
			p.conv, p.name, p.people, p.me, p.items, p.loadErr = conv, name, names, acct.User, items, ""
			p.dropThumbs()
			p.thumbs = make(map[string]string)
			for _, it := range items {
				if att := it.Message.Attachments[it.Index]; len(att.Thumbnail) > 0 && visualType(att.Type) {
					p.thumbs[mediaKey(it.Message.Author, it.Message.ID, it.Index)] = blobURL(att.Thumbnail, thumbnailType(att.Thumbnail))
				}
			}
			ctx.Page().SetTitle("Media of %s · Mutual", name)
		})
	})
}

// visualType reports whether a MIME type is a photo's or a video's.
func visualType(typ string) bool {
	return strings.HasPrefix(typ, "image/") || strings.HasPrefix(typ, "video/")
}

// audioItem reports whether an attachment is a voice note or an audio
// file.
func audioItem(att client.Attachment) bool {
	return att.Voice || strings.HasPrefix(att.Type, "audio/")
}

// thumbnailType is the MIME type of a thumbnail: WebP or JPEG.
func thumbnailType(b []byte) string {
	if len(b) >= 12 && bytes.Equal(b[:4], []byte("RIFF")) && bytes.Equal(b[8:12], []byte("WEBP")) {
		return "image/webp"
	}
	return "image/jpeg"
}

// save saves a file on this device through a link with its name
// (reading it first), or downloads it first.
func (p *galleryPage) save(ctx app.Context, it client.MediaItem) {
	att := it.Message.Attachments[it.Index]
	key := mediaKey(it.Message.Author, it.Message.ID, it.Index)
	p.saving[key], p.err = true, ""
	s, author, msg, i := p.s, it.Message.Author, it.Message.ID, it.Index
	local := att.Transfer == client.TransferLocal
	ctx.Async(func() {
		var url string
		cl, err := s.client()
		if err == nil && !local {
			// The download's end arrives as an event (follow).
			if err = cl.Download(context.Background(), author, msg, i); err == nil {
				return
			}
		}
		if err == nil {
			url, err = attachmentURL(cl, author, msg, i, att.Type)
		}
		online := s.isOnline()
		ctx.Dispatch(func(ctx app.Context) {
			delete(p.saving, key)
			if err != nil {
				p.err = errorText(err, online)
				return
			}
			p.urls = append(p.urls, url)
			doc := app.Window().Get("document")
			a := doc.Call("createElement", "a")
			a.Set("href", url)
			a.Set("download", att.Name)
			doc.Get("body").Call("appendChild", a)
			a.Call("click")
			a.Call("remove")
		})
	})
}

// Render draws the gallery.
func (p *galleryPage) Render() app.UI {
	back := chatPath(p.peer)
	if p.Group != "" {
		back = groupPath(p.conv)
	}
	var visual, files, audio []client.MediaItem
	for _, it := range p.items {
		switch att := it.Message.Attachments[it.Index]; {
		case audioItem(att):
			audio = append(audio, it)
		case visualType(att.Type):
			visual = append(visual, it)
		default:
			files = append(files, it)
		}
	}
	title := "Media"
	if p.name != "" {
		title = "Media of " + p.name
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
			return app.P().ID("gallery-empty").Class("hint").Text("No photos, videos, files or voice notes in this chat yet.")
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
				app.H2().ID("gallery-audio-title").Text("Voice notes and audio"),
				app.Ul().ID("gallery-audio").Class("media-list").Body(
					app.Range(audio).Slice(func(i int) app.UI { return p.audioRow(audio[i]) }),
				),
			)
		}),
	)
}

// byline says who sent an item and when.
func (p *galleryPage) byline(m client.Message) string {
	who := "You"
	if !m.Outgoing {
		who = p.people.name(m.Author)
	}
	return who + " · " + chatTime(when(m), p.s.now())
}

// tile is a photo's or a video's thumbnail in the grid.
func (p *galleryPage) tile(it client.MediaItem) app.UI {
	att := it.Message.Attachments[it.Index]
	key := mediaKey(it.Message.Author, it.Message.ID, it.Index)
	video := strings.HasPrefix(att.Type, "video/")
	label := "Photo"
	if video {
		label = "Video"
	}
	label += " from " + p.byline(it.Message)
	return app.Li().Class("media-tile").DataSet("id", it.Message.ID.String()).DataSet("index", it.Index).
		DataSet("transfer", transferName(att.Transfer)).Body(
		app.Button().Type("button").Class("media-open").Aria("label", label).OnClick(p.openVisual(it)).Body(
			app.If(p.thumbs[key] != "", func() app.UI {
				return app.Img().Class("media-thumb").Src(p.thumbs[key]).Alt("")
			}).Else(func() app.UI {
				return app.Span().Class("media-thumb", "media-thumb-empty").Body(icon(iconMedia))
			}),
			app.If(video, func() app.UI {
				return app.Span().Class("media-badge").Body(icon(iconPlay), app.Text(durationText(att.Duration)))
			}),
		),
	)
}

// fileRow is a file in the list, with its download or save button.
func (p *galleryPage) fileRow(it client.MediaItem) app.UI {
	att := it.Message.Attachments[it.Index]
	key := mediaKey(it.Message.Author, it.Message.ID, it.Index)
	action := "Save"
	switch {
	case att.Transfer == client.TransferDownloading && att.Size > 0:
		action = "Downloading " + strconv.FormatInt(att.Done*100/att.Size, 10) + "%"
	case p.saving[key]:
		action = "Saving…"
	case att.Transfer == client.TransferExpired:
		action = ""
	case att.Transfer != client.TransferLocal:
		action = "Download"
	}
	return app.Li().Class("media-file").DataSet("id", it.Message.ID.String()).DataSet("index", it.Index).
		DataSet("transfer", transferName(att.Transfer)).Body(
		app.Div().Class("media-file-body").Body(
			app.Span().Class("media-file-name").Text(att.Name),
			app.Span().Class("media-file-sub").Text(fileSize(att.Size)+" · "+p.byline(it.Message)),
			app.If(att.Transfer == client.TransferExpired, func() app.UI {
				return app.Span().Class("media-file-sub").Text(client.ErrAttachmentGone.Error() + ".")
			}),
		),
		app.If(action != "", func() app.UI {
			return app.Button().Type("button").Class("button", "media-save").
				Aria("label", action+" "+att.Name).Disabled(p.saving[key] || att.Transfer == client.TransferDownloading).
				OnClick(func(ctx app.Context, e app.Event) { p.save(ctx, it) }).Text(action)
		}),
	)
}

// audioRow is a voice note or an audio file in the list: its player.
func (p *galleryPage) audioRow(it client.MediaItem) app.UI {
	return app.Li().Class("media-audio").DataSet("id", it.Message.ID.String()).DataSet("index", it.Index).Body(
		app.Span().Class("media-file-sub").Text(p.byline(it.Message)),
		newAudioPlayer(p.s, it.Message, it.Index),
	)
}

// fileSize is a file's size: "340 KB", "2.1 MB".
func fileSize(n int64) string {
	switch {
	case n < 1<<10:
		return strconv.FormatInt(n, 10) + " bytes"
	case n < 1<<20:
		return strconv.FormatInt((n+1<<9)>>10, 10) + " KB"
	default:
		return megabytes(n)
	}
}

// openVisual opens a photo or a video: its chat, where it is shown.
func (p *galleryPage) openVisual(it client.MediaItem) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		if p.Group != "" {
			ctx.Navigate(groupPath(p.conv))
			return
		}
		ctx.Navigate(chatPath(p.peer))
	}
}
