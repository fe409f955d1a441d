package ui

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
	"golang.org/x/net/html"

	"github.com/mutualcoop/mutual/app/client"
)

func TestSizeText(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{0, "0 bytes"}, {999, "999 bytes"}, {1000, "1 KB"}, {14_499, "14 KB"}, {300_000, "300 KB"},
		{999_499, "999 KB"}, {2_400_000, "2.4 MB"}, {9_960_000, "10.0 MB"}, {24_500_000, "25 MB"},
		{client.MaxAttachmentSize, "105 MB"},
	} {
		if got := sizeText(tc.n); got != tc.want {
			t.Errorf("sizeText(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

func TestDurationText(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0:00"}, {7 * time.Second, "0:07"}, {7400 * time.Millisecond, "0:07"}, {59600 * time.Millisecond, "1:00"},
		{12*time.Minute + 34*time.Second, "12:34"}, {time.Hour + 2*time.Minute + 3*time.Second, "1:02:03"},
	} {
		if got := durationText(tc.d); got != tc.want {
			t.Errorf("durationText(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestFileInfo(t *testing.T) {
	for _, tc := range []struct {
		name, typ string
		want      string
	}{
		{"notes.pdf", "application/pdf", "300 KB · PDF"},
		{"archive", "application/zip", "300 KB · ZIP"},
		{"blob", "application/octet-stream", "300 KB"},
		{"blob", "", "300 KB"},
		{"movie.averylongext", "video/mp4", "300 KB · MP4"},
	} {
		if got := fileInfo(client.Attachment{Name: tc.name, Type: tc.typ, Size: 300_000}); got != tc.want {
			t.Errorf("fileInfo(%q, %q) = %q, want %q", tc.name, tc.typ, got, tc.want)
		}
	}
}

func TestKindOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		a    client.Attachment
		want attKind
	}{
		{"photo", client.Attachment{Type: "image/jpeg", Width: 4, Height: 3}, kindImage},
		{"photo with a thumbnail only", client.Attachment{Type: "image/png", Thumbnail: []byte{1}}, kindImage},
		{"photo the sender could not decode", client.Attachment{Type: "image/png"}, kindFile},
		{"svg is a document", client.Attachment{Type: "image/svg+xml", Width: 4, Height: 3}, kindFile},
		{"video", client.Attachment{Type: "video/webm", Width: 4, Height: 3}, kindVideo},
		{"video without a frame", client.Attachment{Type: "video/mp4"}, kindFile},
		{"voice note", client.Attachment{Type: "audio/webm;codecs=opus", Voice: true}, kindAudio},
		{"audio file", client.Attachment{Type: "audio/mpeg"}, kindAudio},
		{"file", client.Attachment{Type: "application/pdf"}, kindFile},
	} {
		if got := kindOf(tc.a); got != tc.want {
			t.Errorf("%s: kind %d, want %d", tc.name, got, tc.want)
		}
	}
}

// TestBlobType: a blob: URL is of the attachment's own type only for
// what the page shows; anything else (a page, a script, an SVG) could
// run as a document of the app's origin if the URL were opened.
func TestBlobType(t *testing.T) {
	for typ, want := range map[string]string{
		"image/jpeg":               "image/jpeg",
		"IMAGE/PNG":                "IMAGE/PNG",
		"video/mp4":                "video/mp4",
		"audio/webm;codecs=opus":   "audio/webm;codecs=opus",
		"text/html":                "application/octet-stream",
		"image/svg+xml":            "application/octet-stream",
		"application/xhtml+xml":    "application/octet-stream",
		"application/javascript":   "application/octet-stream",
		"text/html; charset=utf-8": "application/octet-stream",
		"":                         "application/octet-stream",
	} {
		if got := blobType(typ); got != want {
			t.Errorf("blobType(%q) = %q, want %q", typ, got, want)
		}
	}
}

func TestAttachmentsPreview(t *testing.T) {
	photo := client.Attachment{Type: "image/jpeg", Width: 4, Height: 3}
	video := client.Attachment{Type: "video/mp4", Width: 4, Height: 3}
	file := client.Attachment{Name: "notes.pdf", Type: "application/pdf"}
	voice := client.Attachment{Type: "audio/ogg", Voice: true}
	for _, tc := range []struct {
		m    client.Message
		want string
	}{
		{client.Message{Text: "hello"}, "hello"},
		{client.Message{Text: "caption", Attachments: []client.Attachment{photo}}, "caption"},
		{client.Message{Attachments: []client.Attachment{photo}}, "Photo"},
		{client.Message{Text: "  ", Attachments: []client.Attachment{photo, photo, photo}}, "3 photos"},
		{client.Message{Attachments: []client.Attachment{video}}, "Video"},
		{client.Message{Attachments: []client.Attachment{photo, video}}, "2 photos and videos"},
		{client.Message{Attachments: []client.Attachment{file}}, "notes.pdf"},
		{client.Message{Attachments: []client.Attachment{file, photo}}, "2 files"},
		{client.Message{Attachments: []client.Attachment{voice}}, "Voice message"},
	} {
		if got := messagePreview(tc.m); got != tc.want {
			t.Errorf("messagePreview(%q, %d attachments) = %q, want %q", tc.m.Text, len(tc.m.Attachments), got, tc.want)
		}
	}
}

func TestThumbSize(t *testing.T) {
	for _, tc := range []struct {
		w, h, ww, wh int
	}{
		{2000, 1500, 320, 240}, {1500, 2000, 240, 320}, {100, 50, 100, 50}, {5000, 10, 320, 1}, {0, 10, 0, 0},
	} {
		if w, h := thumbSize(tc.w, tc.h, thumbSide); w != tc.ww || h != tc.wh {
			t.Errorf("thumbSize(%d, %d) = %d×%d, want %d×%d", tc.w, tc.h, w, h, tc.ww, tc.wh)
		}
	}
}

func TestMediaBoxStyle(t *testing.T) {
	for _, tc := range []struct {
		w, h         int
		ratio, width string
	}{
		{2000, 1500, "2000 / 1500", "280px"},
		{1200, 1600, "1200 / 1600", "240px"},
		{0, 0, "1 / 1", "280px"},
	} {
		if r, w := mediaBoxStyle(tc.w, tc.h); r != tc.ratio || w != tc.width {
			t.Errorf("mediaBoxStyle(%d, %d) = %q, %q; want %q, %q", tc.w, tc.h, r, w, tc.ratio, tc.width)
		}
	}
}

func TestBaseName(t *testing.T) {
	for in, want := range map[string]string{
		"photo.jpg": "photo.jpg", "C:\\Users\\ann\\photo.jpg": "photo.jpg", "/tmp/x/notes.pdf": "notes.pdf", "": "", "/": "",
	} {
		if got := baseName(in); got != want {
			t.Errorf("baseName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTransferErrText(t *testing.T) {
	for _, tc := range []struct {
		err    error
		online bool
		want   string
	}{
		{client.ErrAttachmentGone, true, "This file is no longer available."},
		{client.ErrAttachmentTooLarge, true, "Files can be at most 100 MB."},
		{errors.New("client: download: the relay answered 500"), true, "The relay answered 500."},
		{errors.New("network down"), false, "You're offline. Check your connection and try again."},
	} {
		if got := transferErrText(tc.err, tc.online); got != tc.want {
			t.Errorf("transferErrText(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

// TestAttachmentViews draws an attachment in each of its transfer
// states: what it shows and which control it offers.
func TestAttachmentViews(t *testing.T) {
	k := attKey{author: user(1), msg: msgID(1)}
	photo := client.Attachment{Name: "beach.jpg", Type: "image/jpeg", Size: 3_000_000, Width: 2000, Height: 1500}
	file := client.Attachment{Name: "notes.pdf", Type: "application/pdf", Size: 300_000}
	in := client.Message{ID: msgID(1), Peer: user(1)}
	out := client.Message{ID: msgID(1), Outgoing: true}
	with := func(a client.Attachment, tr client.Transfer, done int64, failure string) client.Attachment {
		a.Transfer, a.Done, a.Failure = tr, done, failure
		return a
	}
	for _, tc := range []struct {
		name   string
		v      attView
		sel    []string // the element that must be there
		says   string   // what the attachment says (a part of it)
		absent []string // an element that must not be there
	}{
		{"a photo on the relay", attView{key: k, msg: in, att: with(photo, client.TransferRemote, 0, ""), thumb: "blob:t"},
			[]string{"button", ".att-download"}, "3.0 MB", []string{".att-open"}},
		{"a photo downloading", attView{key: k, msg: in, att: with(photo, client.TransferDownloading, 1_350_000, ""), thumb: "blob:t"},
			[]string{"[role=progressbar]", "[aria-valuenow=45]"}, "45%", nil},
		{"a photo on the device", attView{key: k, msg: in, att: with(photo, client.TransferLocal, 3_000_000, ""), url: "blob:p", thumb: "blob:t"},
			[]string{"img", "[src=blob:p]"}, "", []string{".att-thumb"}},
		{"a photo on the device, not read yet", attView{key: k, msg: in, att: with(photo, client.TransferLocal, 3_000_000, ""), thumb: "blob:t"},
			[]string{"img", ".att-thumb"}, "", nil},
		{"a photo uploading", attView{key: k, msg: out, att: with(photo, client.TransferUploading, 600_000, ""), url: "blob:p"},
			[]string{".att-cancel"}, "20%", nil},
		{"an upload paused", attView{key: k, msg: out, att: with(photo, client.TransferPaused, 600_000, ""), url: "blob:p"},
			[]string{".att-retry", "[aria-label=Resume: beach.jpg]"}, "Paused", nil},
		{"an upload failed", attView{key: k, msg: out, att: with(photo, client.TransferFailed, 0, "Your daily upload quota is used up."), url: "blob:p"},
			[]string{".att-retry"}, "Couldn't send: Your daily upload quota is used up.", nil},
		{"a photo gone", attView{key: k, msg: in, att: with(photo, client.TransferExpired, 0, ""), thumb: "blob:t"},
			[]string{".att-gone"}, "This file is no longer available", []string{"button"}},
		{"a file on the relay", attView{key: k, msg: in, att: with(file, client.TransferRemote, 0, "")},
			[]string{".att-download"}, "notes.pdf 300 KB · PDF Download", nil},
		{"a file downloading", attView{key: k, msg: in, att: with(file, client.TransferDownloading, 150_000, "")},
			[]string{".att-bar", "[aria-valuenow=50]"}, "50%", nil},
		{"a file on the device", attView{key: k, msg: in, att: with(file, client.TransferLocal, 300_000, "")},
			[]string{".att-save"}, "Save", []string{".att-download"}},
		{"a download failed", attView{key: k, msg: in, att: with(file, client.TransferFailed, 0, "The file is damaged.")},
			[]string{".att-retry"}, "Couldn't download: The file is damaged.", nil},
		{"a file gone", attView{key: k, msg: in, att: with(file, client.TransferExpired, 0, "")},
			[]string{".att-gone-text"}, "This file is no longer available", []string{"button"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := render(t, func() app.UI { return attachmentView(tc.v) })
			root := d.one(".att")
			if got := attr(root, "data-transfer"); got != tc.v.att.Transfer.String() {
				t.Errorf("data-transfer %q, want %q", got, tc.v.att.Transfer)
			}
			if len(d.all(tc.sel...)) == 0 {
				t.Errorf("no %v in %q", tc.sel, text(root))
			}
			if !strings.Contains(text(root), tc.says) {
				t.Errorf("it says %q, want %q in it", text(root), tc.says)
			}
			for _, sel := range tc.absent {
				if len(d.all(sel)) > 0 {
					t.Errorf("it has %s", sel)
				}
			}
		})
	}
}

// TestMessageWithAttachments: a message's attachments are drawn in its
// bubble, above its caption.
func TestMessageWithAttachments(t *testing.T) {
	m := client.Message{ID: msgID(1), Seq: 1, Peer: user(2), Text: "The beach", SentAt: testNow, State: client.StateReceived,
		Attachments: []client.Attachment{{Name: "beach.jpg", Type: "image/jpeg", Size: 3_000_000, Width: 4, Height: 3, Transfer: client.TransferRemote}}}
	d := render(t, func() app.UI {
		p := msgListProps{msgs: []client.Message{m}, peerName: "Ann", now: testNow,
			attachments: func(m client.Message) app.UI {
				return app.Div().Class("attachments").Body(attachmentView(attView{msg: m, att: m.Attachments[0]}))
			}}
		return app.Div().Body(messageItems(p)...)
	})
	bubble := d.one(".bubble")
	first := bubble.FirstChild
	for first != nil && first.Type != html.ElementNode {
		first = first.NextSibling
	}
	if first == nil || !hasClass(first, "attachments") {
		t.Fatalf("the bubble does not start with the attachments")
	}
	if got := text(d.within(bubble).one(".msg-text")); got != "Ann: The beach" {
		t.Errorf("the caption says %q", got)
	}
}

// TestViewerOrder: the viewer goes through a chat's photos and videos
// from the oldest message to the newest, a message's in their order,
// and leaves files out.
func TestViewerOrder(t *testing.T) {
	photo := client.Attachment{Type: "image/jpeg", Width: 4, Height: 3}
	file := client.Attachment{Name: "notes.pdf", Type: "application/pdf"}
	older := client.Message{ID: msgID(1), Peer: user(2), Attachments: []client.Attachment{photo}}
	newer := client.Message{ID: msgID(2), Peer: user(2), Attachments: []client.Attachment{photo, file, photo}}
	all := []client.MediaItem{{Message: newer, Index: 0}, {Message: newer, Index: 1}, {Message: newer, Index: 2}, {Message: older, Index: 0}}
	v := newMediaViewer(nil, older.Conversation, user(9), all[0])
	var got []string
	for _, it := range oldestFirst(all, v.keyOf) {
		got = append(got, it.Message.ID.String()[:2]+"/"+strconv.Itoa(it.Index))
	}
	if want := []string{"01/0", "02/0", "02/2"}; !slices.Equal(got, want) {
		t.Errorf("the viewer's order is %q, want %q", got, want)
	}
}
