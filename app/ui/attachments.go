package ui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

// A message's attachments are drawn under its author's name and above its
// caption: photos and videos as thumbnails at their shape (the space is
// reserved from their width and height, so nothing moves when they load),
// audio and voice notes as a player (audio.go), any other file as a card.
// This file dispatches by type and holds what every kind shares: the blob:
// URLs of what is shown, a transfer's progress and its controls.

// Icons of attachments.
const (
	iconFile     = svgOpen + `<path d="M14 3H7a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2V8z"/><path d="M14 3v5h5"/>` + svgClose
	iconDownload = svgOpen + `<path d="M12 4v11M7 10l5 5 5-5"/><path d="M5 20h14"/>` + svgClose
	iconUpload   = svgOpen + `<path d="M12 20V9M7 14l5-5 5 5"/><path d="M5 4h14"/>` + svgClose
	iconClose    = svgOpen + `<path d="M6 6l12 12M18 6 6 18"/>` + svgClose
	iconRetry    = svgOpen + `<path d="M20 12a8 8 0 1 1-2.3-5.6"/><path d="M20 4v5h-5"/>` + svgClose
	iconPlay     = `<svg class="icon" viewBox="0 0 24 24" width="24" height="24" aria-hidden="true" focusable="false"><path d="M8 5.5v13a1 1 0 0 0 1.5.9l10.2-6.5a1 1 0 0 0 0-1.7L9.5 4.6A1 1 0 0 0 8 5.5z" fill="currentColor"/></svg>`
)

// Sizes of a photo or video in a message, in CSS pixels.
const (
	mediaMaxWidth  = 280
	mediaMaxHeight = 320
)

// attKey names one attachment: the author of its message (this account
// for an outgoing one), the message and its place in it, as the client's
// Download, OpenAttachment, CancelTransfer and RetryTransfer take them.
type attKey struct {
	author wire.UserID
	msg    wire.MessageID
	index  int
}

// String is the key as the page's data-key attribute has it.
func (k attKey) String() string {
	return k.author.String() + "-" + k.msg.String() + "-" + strconv.Itoa(k.index)
}

// authorOf is who wrote m, as the client's attachment methods name it:
// the group's author, this account (me) for an outgoing message, else
// the contact of a 1:1 chat.
func authorOf(m client.Message, me wire.UserID) wire.UserID {
	switch {
	case m.Author != (wire.UserID{}):
		return m.Author
	case m.Outgoing:
		return me
	default:
		return m.Peer
	}
}

// Media types, by their MIME type.
func isImageType(typ string) bool { return strings.HasPrefix(typ, "image/") }
func isVideoType(typ string) bool { return strings.HasPrefix(typ, "video/") }
func isAudioType(typ string) bool { return strings.HasPrefix(typ, "audio/") }

// shownImage reports whether the browser shows images of the type in a
// page: raster formats only (an SVG is a document, saved as a file).
func shownImage(typ string) bool {
	switch mediaType(typ) {
	case "image/jpeg", "image/png", "image/gif", "image/webp", "image/avif", "image/bmp", "image/heic", "image/heif":
		return true
	}
	return false
}

// mediaType is typ without its parameters, in lower case.
func mediaType(typ string) string {
	if i := strings.IndexByte(typ, ';'); i >= 0 {
		typ = typ[:i]
	}
	return strings.ToLower(strings.TrimSpace(typ))
}

// blobType is the type a Blob of an attachment is made with: its own for
// what the page shows (pictures, videos, audio), otherwise one no browser
// renders, so that a blob: URL opened by itself never runs as a page of
// the app's origin.
func blobType(typ string) string {
	switch {
	case shownImage(typ), isVideoType(typ), isAudioType(typ):
		return typ
	}
	return "application/octet-stream"
}

// attKind is how an attachment is drawn.
type attKind int

const (
	kindFile attKind = iota
	kindImage
	kindVideo
	kindAudio
)

// kindOf is how a is drawn: a voice note or audio file as a player, a
// photo or video whose shape is known as a thumbnail, anything else as a
// file.
func kindOf(a client.Attachment) attKind {
	switch {
	case a.Voice || isAudioType(a.Type):
		return kindAudio
	case shownImage(a.Type) && (a.Width > 0 && a.Height > 0 || len(a.Thumbnail) > 0):
		return kindImage
	case isVideoType(a.Type) && (a.Width > 0 && a.Height > 0 || len(a.Thumbnail) > 0):
		return kindVideo
	}
	return kindFile
}

// inViewer reports whether the full-screen viewer shows a.
func inViewer(a client.Attachment) bool {
	k := kindOf(a)
	return k == kindImage || k == kindVideo
}

// attView is what one attachment is drawn from.
type attView struct {
	key   attKey
	msg   client.Message
	att   client.Attachment
	url   string // a blob: URL of the file, once read from this device
	thumb string // a blob: URL of its inline thumbnail
	// The controls: open (the viewer), download, cancel a transfer,
	// retry or resume one, save the file.
	onOpen, onDownload, onCancel, onRetry, onSave app.EventHandler
}

// percent is how far a transfer has got, 0 to 100.
func (v attView) percent() int {
	if v.att.Size <= 0 {
		return 0
	}
	return int(min(100, max(0, v.att.Done*100/v.att.Size)))
}

// moving reports whether the bytes are on their way.
func (v attView) moving() bool {
	return v.att.Transfer == client.TransferUploading || v.att.Transfer == client.TransferDownloading
}

// attachmentView draws one attachment, by its kind.
func attachmentView(v attView) app.UI {
	switch kindOf(v.att) {
	case kindAudio:
		return audioAttachment(v)
	case kindImage, kindVideo:
		return mediaAttachment(v)
	}
	return fileAttachment(v)
}

// transferName is a transfer as the page's data-transfer attribute has
// it.
func transferName(t client.Transfer) string { return t.String() }

// mediaBoxStyle reserves a photo's or video's space from its shape: its
// aspect ratio and its width, at most mediaMaxWidth wide and
// mediaMaxHeight high (the style sheet keeps it within the bubble); a
// square when it is not known.
func mediaBoxStyle(w, h int) (ratio, width string) {
	if w <= 0 || h <= 0 {
		w, h = 1, 1
	}
	width0 := min(float64(mediaMaxWidth), float64(mediaMaxHeight)*float64(w)/float64(h))
	return strconv.Itoa(w) + " / " + strconv.Itoa(h), strconv.Itoa(int(width0)) + "px"
}

// mediaAttachment draws a photo or a video: its thumbnail, blurred until
// the photo itself is on the device, then the photo; a video's first
// frame with a play badge and its duration. Pressed, it opens the
// viewer; what is not on the device yet offers to download it, and a
// transfer shows its progress over it.
func mediaAttachment(v attView) app.UI {
	video := kindOf(v.att) == kindVideo
	ratio, width := mediaBoxStyle(v.att.Width, v.att.Height)
	classes := []string{"att", "att-media"}
	what := "Photo"
	if video {
		classes = append(classes, "att-video")
		what = "Video"
	} else {
		classes = append(classes, "att-image")
	}
	full := v.url != "" && !video
	if !full && v.thumb != "" && !video {
		classes = append(classes, "att-blurred")
	}
	label := "Open " + strings.ToLower(what)
	if video {
		label = "Play video"
		if v.att.Duration > 0 {
			label += ", " + durationText(v.att.Duration)
		}
	}
	return app.Div().Class(classes...).DataSet("key", v.key.String()).DataSet("name", v.att.Name).DataSet("transfer", transferName(v.att.Transfer)).
		Style("--att-ratio", ratio).Style("--att-width", width).Body(
		app.If(full, func() app.UI {
			return app.Img().Class("att-img").Src(v.url).Alt(v.att.Name).Attr("decoding", "async")
		}).ElseIf(v.thumb != "", func() app.UI {
			return app.Img().Class("att-img", "att-thumb").Src(v.thumb).Alt(v.att.Name)
		}).Else(func() app.UI {
			return app.Div().Class("att-img", "att-none").Aria("hidden", "true").Body(icon(iconFile))
		}),
		app.If(onDevice(v.msg, v.att), func() app.UI {
			// What is on this device opens in the viewer, also while
			// it uploads.
			return app.Button().Type("button").Class("att-open").Aria("label", label+" "+v.att.Name).Title(v.att.Name).
				OnClick(v.onOpen).Body(
				app.If(video && !v.moving(), func() app.UI { return app.Span().Class("att-play").Body(icon(iconPlay)) }),
			)
		}),
		app.If(video && v.att.Duration > 0, func() app.UI {
			return app.Span().Class("att-duration").Aria("hidden", "true").Text(durationText(v.att.Duration))
		}),
		mediaControl(v),
	)
}

// mediaControl is what lies over a photo or video that is not simply on
// the device: a transfer's progress with Cancel, Download, Resume or Try
// again, or that it is gone.
func mediaControl(v attView) app.UI {
	a := v.att
	switch a.Transfer {
	case client.TransferUploading, client.TransferDownloading:
		return app.Div().Class("att-overlay").Body(progressRing(v, "att-cancel", v.onCancel))
	case client.TransferRemote:
		return app.Div().Class("att-overlay").Body(
			app.Button().Type("button").Class("att-round", "att-download").Aria("label", "Download "+a.Name+", "+sizeText(a.Size)).
				OnClick(v.onDownload).Body(icon(iconDownload), app.Span().Class("att-round-text").Text(sizeText(a.Size))),
		)
	case client.TransferPaused, client.TransferFailed:
		label, svg := "Resume", iconDownload
		if v.msg.Outgoing && !v.received() {
			svg = iconUpload
		}
		if a.Transfer == client.TransferFailed {
			label, svg = "Try again", iconRetry
		}
		return app.Div().Class("att-overlay").Body(
			app.Button().Type("button").Class("att-round", "att-retry").Aria("label", label+": "+a.Name).Title(label).
				OnClick(v.onRetry).Body(icon(svg)),
			transferNote(v),
		)
	case client.TransferExpired:
		return app.Div().Class("att-overlay", "att-gone").Body(
			app.P().Class("att-gone-text").Text(expiredText),
		)
	}
	return nil
}

// received reports whether the attachment came from the relay rather
// than from this device (its outgoing copy on another of the account's
// devices is received too): it never uploads from here.
func (v attView) received() bool {
	return !v.msg.Outgoing || v.att.Transfer == client.TransferRemote || v.att.Transfer == client.TransferDownloading
}

// progressRing is a transfer's progress as a ring with its percentage,
// and the button (class cancelClass) that cancels it.
func progressRing(v attView, cancelClass string, onCancel app.EventHandler) app.UI {
	p := v.percent()
	const r = 20.0
	circ := 2 * 3.14159265 * r
	what := "Downloading"
	if v.att.Transfer == client.TransferUploading {
		what = "Uploading"
	}
	ring := fmt.Sprintf(`<svg class="ring" viewBox="0 0 48 48" width="48" height="48" aria-hidden="true" focusable="false">`+
		`<circle class="ring-track" cx="24" cy="24" r="20" fill="none" stroke-width="4"/>`+
		`<circle class="ring-fill" cx="24" cy="24" r="20" fill="none" stroke-width="4" stroke-linecap="round" `+
		`stroke-dasharray="%.2f %.2f" transform="rotate(-90 24 24)"/></svg>`, circ*float64(p)/100, circ)
	return app.Div().Class("att-progress").Role("progressbar").
		Aria("label", what+" "+v.att.Name).Aria("valuemin", "0").Aria("valuemax", "100").Aria("valuenow", strconv.Itoa(p)).
		Aria("valuetext", strconv.Itoa(p)+"%").Body(
		app.Button().Type("button").Class("att-round", cancelClass).Aria("label", "Cancel "+strings.ToLower(what)+" "+v.att.Name).
			Title("Cancel").OnClick(onCancel).Body(app.Raw(ring), icon(iconClose)),
		app.Span().Class("att-percent").Text(strconv.Itoa(p)+"%"),
	)
}

// transferNote says why a transfer stopped: paused by the person, or
// failed and why.
func transferNote(v attView) app.UI {
	switch v.att.Transfer {
	case client.TransferPaused:
		return app.P().Class("att-note").Text("Paused")
	case client.TransferFailed:
		return app.P().Class("att-note", "att-error").Role("alert").Text(failedText(v))
	}
	return nil
}

// failedText says why an attachment's transfer failed.
func failedText(v attView) string {
	what := "Couldn't download"
	if v.msg.Outgoing && !v.received() {
		what = "Couldn't send"
	}
	if f := strings.TrimSpace(v.att.Failure); f != "" {
		return what + ": " + f
	}
	return what + "."
}

// fileAttachment draws a file as a card: its name, size and type, and
// Download, the transfer's progress with Cancel, or Save once it is on
// the device.
func fileAttachment(v attView) app.UI {
	a := v.att
	return app.Div().Class("att", "att-file").DataSet("key", v.key.String()).DataSet("name", v.att.Name).DataSet("transfer", transferName(a.Transfer)).Body(
		app.Span().Class("att-file-icon").Body(icon(iconFile)),
		app.Div().Class("att-file-body").Body(
			app.P().Class("att-name").Title(a.Name).Text(a.Name),
			app.P().Class("att-info").Text(fileInfo(a)),
			app.If(v.moving(), func() app.UI { return progressBar(v) }),
			app.If(a.Transfer == client.TransferExpired, func() app.UI {
				return app.P().Class("att-note", "att-gone-text").Text(expiredText)
			}),
			transferNote(v),
		),
		fileControl(v),
	)
}

// expiredText is what an attachment the relay no longer has says.
const expiredText = "This file is no longer available"

// fileControl is a file card's button.
func fileControl(v attView) app.UI {
	a := v.att
	switch a.Transfer {
	case client.TransferUploading, client.TransferDownloading:
		return app.Button().Type("button").Class("icon-button", "att-cancel").Aria("label", "Cancel "+a.Name).Title("Cancel").
			OnClick(v.onCancel).Body(icon(iconClose))
	case client.TransferRemote:
		return app.Button().Type("button").Class("button", "att-download").Aria("label", "Download "+a.Name).
			OnClick(v.onDownload).Body(icon(iconDownload), app.Span().Text("Download"))
	case client.TransferPaused, client.TransferFailed:
		label := "Resume"
		if a.Transfer == client.TransferFailed {
			label = "Try again"
		}
		return app.Button().Type("button").Class("button", "att-retry").Aria("label", label+": "+a.Name).
			OnClick(v.onRetry).Text(label)
	case client.TransferLocal:
		return app.Button().Type("button").Class("button", "att-save").Aria("label", "Save "+a.Name).
			OnClick(v.onSave).Body(icon(iconDownload), app.Span().Text("Save"))
	}
	return nil
}

// progressBar is a transfer's progress as a bar with its percentage.
func progressBar(v attView) app.UI {
	p := v.percent()
	what := "Downloading"
	if v.att.Transfer == client.TransferUploading {
		what = "Uploading"
	}
	return app.Div().Class("att-bar-row").Body(
		app.Div().Class("att-bar").Role("progressbar").Aria("label", what+" "+v.att.Name).
			Aria("valuemin", "0").Aria("valuemax", "100").Aria("valuenow", strconv.Itoa(p)).Body(
			app.Div().Class("att-bar-fill").Style("width", strconv.Itoa(p)+"%"),
		),
		app.Span().Class("att-percent").Text(strconv.Itoa(p)+"%"),
	)
}

// fileInfo is a file's size and type: "2.4 MB · PDF".
func fileInfo(a client.Attachment) string {
	if t := typeLabel(a.Name, a.Type); t != "" {
		return sizeText(a.Size) + " · " + t
	}
	return sizeText(a.Size)
}

// typeLabel names a file's type briefly: its extension in capitals, or
// its MIME subtype.
func typeLabel(name, typ string) string {
	if ext := strings.TrimPrefix(path.Ext(name), "."); ext != "" && len(ext) <= 5 {
		return strings.ToUpper(ext)
	}
	mt := mediaType(typ)
	if mt == "" || mt == "application/octet-stream" {
		return ""
	}
	if i := strings.IndexByte(mt, '/'); i >= 0 {
		mt = mt[i+1:]
	}
	return strings.ToUpper(mt)
}

// sizeText is a size as people read it, in decimal units: "820 bytes",
// "14 KB", "2.4 MB".
func sizeText(n int64) string {
	switch {
	case n < 1000:
		return strconv.FormatInt(n, 10) + " bytes"
	case n < 1_000_000:
		return strconv.FormatInt((n+500)/1000, 10) + " KB"
	case n < 10_000_000:
		return strconv.FormatFloat(float64(n)/1e6, 'f', 1, 64) + " MB"
	default:
		return strconv.FormatInt((n+500_000)/1_000_000, 10) + " MB"
	}
}

// durationText is a duration as a player shows it: "0:07", "12:34",
// "1:02:03".
func durationText(d time.Duration) string {
	s := int64((d + time.Second/2) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// attachmentsPreview says what a message carries in a line of the chats
// list when it has no caption: "Photo", "3 photos", "Video", "Voice
// message", "report.pdf", "4 files".
func attachmentsPreview(atts []client.Attachment) string {
	if len(atts) == 0 {
		return ""
	}
	kinds := map[attKind]int{}
	voice := false
	for _, a := range atts {
		kinds[kindOf(a)]++
		voice = voice || a.Voice
	}
	n := len(atts)
	switch {
	case n == 1 && voice:
		return "Voice message"
	case n == 1 && kinds[kindImage] == 1:
		return "Photo"
	case n == 1 && kinds[kindVideo] == 1:
		return "Video"
	case n == 1:
		return atts[0].Name
	case kinds[kindImage] == n:
		return strconv.Itoa(n) + " photos"
	case kinds[kindImage]+kinds[kindVideo] == n:
		return strconv.Itoa(n) + " photos and videos"
	}
	return strconv.Itoa(n) + " files"
}

// messagePreview is a message's text for the chats list and
// announcements: its caption, or what it carries.
func messagePreview(m client.Message) string {
	if strings.TrimSpace(m.Text) != "" || len(m.Attachments) == 0 {
		return m.Text
	}
	return attachmentsPreview(m.Attachments)
}

// openAttachmentBlob reads an attachment that is on this device into a
// browser Blob, a piece at a time: the WebAssembly memory never holds
// the file whole.
func openAttachmentBlob(ctx context.Context, cl *client.Client, k attKey, typ string) (app.Value, error) {
	if app.IsServer {
		return nil, errNoBrowser
	}
	rc, err := cl.OpenAttachment(ctx, k.author, k.msg, k.index)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	win := app.Window()
	var parts []any
	buf := make([]byte, 256<<10)
	for {
		n, err := io.ReadFull(rc, buf)
		if n > 0 {
			arr := win.Get("Uint8Array").New(n)
			app.CopyBytesToJS(arr, buf[:n])
			parts = append(parts, arr)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read the file: %w", err)
		}
	}
	return win.Get("Blob").New(parts, map[string]any{"type": blobType(typ)}), nil
}

// objectURL makes a blob: URL for a Blob; revokeURL lets go of one.
func objectURL(blob app.Value) string {
	return app.Window().Get("URL").Call("createObjectURL", blob).String()
}

func revokeURL(url string) {
	if url == "" {
		return
	}
	if u := app.Window().Get("URL"); u.Truthy() {
		u.Call("revokeObjectURL", url)
	}
}

// saveURL has the browser save the file at a blob: URL under name,
// through a link with a download name, clicked at once.
func saveURL(url, name string) {
	doc := app.Window().Get("document")
	a := doc.Call("createElement", "a")
	a.Set("href", url)
	a.Set("download", name)
	a.Set("rel", "noopener")
	a.Get("style").Set("display", "none")
	doc.Get("body").Call("appendChild", a)
	a.Call("click")
	a.Call("remove")
}
