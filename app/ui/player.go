package ui

import (
	"context"
	"errors"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

// actionAudioPlaying: a player started; the others pause (one plays at
// a time). Its value is the player's key.
const actionAudioPlaying = "mutual/audio-playing"

// Seeking with the keyboard: the arrow keys move by seekStep, Page Up and
// Page Down by a tenth of the audio, Home and End to its ends.
const seekStep = 5 * time.Second

// blobPiece is how much of an attachment is copied to JavaScript at a
// time when it is made a Blob: the WebAssembly memory never holds the
// whole file.
const blobPiece = 1 << 20

// audioPlayer plays a voice note or an audio file of a message: play
// and pause, its waveform with the part played marked, seeking by
// clicking, tapping or dragging on it, or with the keyboard (a slider),
// and the time played and the length. The audio comes from a Blob URL
// of the attachment on this device (client.Client.OpenAttachment); one
// that is not is downloaded first, with its progress.
type audioPlayer struct {
	app.Compo
	// Author and Msg are the message, Index the attachment in it.
	Author wire.UserID
	Msg    wire.MessageID
	Index  int
	// Att is the attachment as the message has it.
	Att client.Attachment
	// Outgoing: the message is this account's (the player's colours).
	Outgoing bool

	s        *Session
	url      string        // the Blob URL, once read
	opening  bool          // reading it, or downloading it first
	wantPlay bool          // play once the URL is ready
	playing  bool          // the audio plays
	pos      time.Duration // where playback is
	total    time.Duration // the length, once the audio says it
	done     int64         // downloaded so far, while downloading
	dragging int           // the pointer that drags on the waveform, +1; 0 none
	err      string
}

// newAudioPlayer returns the player of attachment i of message m.
func newAudioPlayer(s *Session, m client.Message, i int) *audioPlayer {
	return &audioPlayer{s: s, Author: m.Author, Msg: m.ID, Index: i, Att: m.Attachments[i], Outgoing: m.Outgoing}
}

// CompoID makes each attachment a player of its own.
func (p *audioPlayer) CompoID() string {
	return p.key()
}

// key names the attachment among the page's players.
func (p *audioPlayer) key() string {
	return p.Author.String() + "/" + p.Msg.String() + "/" + strconv.Itoa(p.Index)
}

// OnMount follows the transfers of the attachment and the other players.
func (p *audioPlayer) OnMount(ctx app.Context) {
	ctx.Handle(actionAudioPlaying, func(ctx app.Context, a app.Action) {
		if k, _ := a.Value.(string); k != p.key() && p.playing {
			p.pause()
		}
		ctx.PreventUpdate()
	})
	ctx.Handle(actionEvent, p.onEvent)
}

// OnDismount stops the audio and lets go of its Blob URL.
func (p *audioPlayer) OnDismount() {
	p.pause()
	if p.url != "" {
		app.Window().Get("URL").Call("revokeObjectURL", p.url)
		p.url = ""
	}
}

// onEvent follows the download of the attachment.
func (p *audioPlayer) onEvent(ctx app.Context, a app.Action) {
	ev, ok := a.Value.(client.EventTransfer)
	if !ok || ev.Author != p.Author || ev.Message != p.Msg || ev.Index != p.Index {
		ctx.PreventUpdate()
		return
	}
	p.Att.Transfer, p.done = ev.Transfer, ev.Done
	switch ev.Transfer {
	case client.TransferLocal:
		if p.opening && p.url == "" {
			p.open(ctx)
		}
	case client.TransferFailed, client.TransferExpired, client.TransferPaused:
		if p.opening {
			p.opening, p.wantPlay = false, false
			p.err = transferText(ev)
		}
	}
}

// transferText says why a download did not end.
func transferText(ev client.EventTransfer) string {
	switch {
	case ev.Transfer == client.TransferExpired:
		return client.ErrAttachmentGone.Error() + "."
	case ev.Transfer == client.TransferPaused:
		return "Download paused."
	case ev.Err != nil:
		return "The download failed: " + ev.Err.Error()
	}
	return "The download failed."
}

// audio is the player's <audio> element.
func (p *audioPlayer) audio() app.Value {
	return byID("audio-" + p.key())
}

// pause pauses the audio.
func (p *audioPlayer) pause() {
	if a := p.audio(); a.Truthy() {
		a.Call("pause")
	}
}

// toggle plays or pauses; the first time, it reads the audio (after
// downloading it if it is not on this device).
func (p *audioPlayer) toggle(ctx app.Context, e app.Event) {
	switch {
	case p.playing:
		p.pause()
		ctx.PreventUpdate()
	case p.url != "":
		p.play()
		ctx.PreventUpdate()
	case p.opening:
		ctx.PreventUpdate()
	default:
		p.wantPlay, p.err = true, ""
		p.open(ctx)
	}
}

// play starts the audio; a refusal (the browser's autoplay rules) leaves
// it paused.
func (p *audioPlayer) play() {
	a := p.audio()
	if !a.Truthy() {
		return
	}
	if pr := a.Call("play"); pr.Truthy() && pr.Get("catch").Truthy() {
		var f app.Func
		f = app.FuncOf(func(app.Value, []app.Value) any {
			f.Release()
			return nil
		})
		pr.Call("catch", f)
	}
}

// open makes the Blob URL of the attachment, downloading it first if it
// is not on this device.
func (p *audioPlayer) open(ctx app.Context) {
	p.opening = true
	s, author, msg, i, typ := p.s, p.Author, p.Msg, p.Index, p.Att.Type
	local := p.Att.Transfer == client.TransferLocal
	ctx.Async(func() {
		var url string
		cl, err := s.client()
		if err == nil && !local {
			// The download's end arrives as an event (onEvent).
			err = cl.Download(context.Background(), author, msg, i)
			if err == nil {
				ctx.Dispatch(func(ctx app.Context) {
					p.Att.Transfer = client.TransferDownloading
				})
				return
			}
		}
		if err == nil {
			url, err = attachmentURL(cl, author, msg, i, typ)
		}
		online := s.isOnline()
		ctx.Dispatch(func(ctx app.Context) {
			p.opening = false
			if err != nil {
				if errors.Is(err, client.ErrNotOnDevice) {
					p.Att.Transfer = client.TransferRemote
				}
				p.wantPlay, p.err = false, errorText(err, online)
				return
			}
			p.url, p.err = url, ""
			ctx.Defer(func(app.Context) {
				if a := p.audio(); a.Truthy() && p.pos > 0 {
					a.Set("currentTime", p.pos.Seconds())
				}
				if p.wantPlay {
					p.wantPlay = false
					p.play()
				}
			})
		})
	})
}

// attachmentURL reads an attachment on this device into a Blob, in
// pieces, and returns its URL (to revoke once no longer shown). It
// blocks: run it in ctx.Async.
func attachmentURL(cl *client.Client, author wire.UserID, msg wire.MessageID, i int, typ string) (string, error) {
	rc, err := cl.OpenAttachment(context.Background(), author, msg, i)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	w := app.Window()
	parts := w.Get("Array").New()
	buf := make([]byte, blobPiece)
	for {
		n, err := io.ReadFull(rc, buf)
		if n > 0 {
			arr := w.Get("Uint8Array").New(n)
			app.CopyBytesToJS(arr, buf[:n])
			parts.Call("push", arr)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return "", err
		}
	}
	blob := w.Get("Blob").New(parts, map[string]any{"type": typ})
	return w.Get("URL").Call("createObjectURL", blob).String(), nil
}

// length is the audio's length: as the attachment says, or as the audio
// does once it is read.
func (p *audioPlayer) length() time.Duration {
	if p.Att.Duration > 0 {
		return p.Att.Duration
	}
	return p.total
}

// Events of the <audio> element.

func (p *audioPlayer) onPlay(ctx app.Context, e app.Event) {
	p.playing = true
	ctx.NewActionWithValue(actionAudioPlaying, p.key())
}

func (p *audioPlayer) onPause(ctx app.Context, e app.Event) {
	p.playing = false
}

func (p *audioPlayer) onEnded(ctx app.Context, e app.Event) {
	p.playing, p.pos = false, 0
	if a := ctx.JSSrc(); a.Truthy() {
		a.Set("currentTime", 0)
	}
}

func (p *audioPlayer) onTime(ctx app.Context, e app.Event) {
	a := ctx.JSSrc()
	pos := seconds(a.Get("currentTime").Float())
	if pos == p.pos || p.dragging != 0 {
		ctx.PreventUpdate()
		return
	}
	p.pos = pos
}

func (p *audioPlayer) onMetadata(ctx app.Context, e app.Event) {
	if d := ctx.JSSrc().Get("duration").Float(); !math.IsInf(d, 0) && !math.IsNaN(d) && d > 0 {
		p.total = seconds(d)
	}
}

// seconds converts the audio element's seconds.
func seconds(s float64) time.Duration {
	if math.IsNaN(s) || math.IsInf(s, 0) || s < 0 {
		return 0
	}
	return time.Duration(s * float64(time.Second))
}

// seek moves playback to pos (or, before the audio is read, to where it
// starts).
func (p *audioPlayer) seek(pos time.Duration) {
	if l := p.length(); l > 0 {
		pos = min(pos, l)
	}
	p.pos = max(pos, 0)
	if a := p.audio(); a.Truthy() && p.url != "" {
		a.Set("currentTime", p.pos.Seconds())
	}
}

// seekTo seeks to where a pointer event is on the waveform.
func (p *audioPlayer) seekTo(ctx app.Context, e app.Event) {
	el := ctx.JSSrc()
	r := el.Call("getBoundingClientRect")
	w := r.Get("width").Float()
	if w <= 0 {
		return
	}
	frac := (e.Get("clientX").Float() - r.Get("left").Float()) / w
	frac = min(max(frac, 0), 1)
	p.seek(time.Duration(frac * float64(p.length())))
}

func (p *audioPlayer) onWaveDown(ctx app.Context, e app.Event) {
	if e.Get("button").Int() != 0 || p.length() == 0 {
		ctx.PreventUpdate()
		return
	}
	id := e.Get("pointerId").Int()
	if t := ctx.JSSrc(); t.Get("setPointerCapture").Truthy() {
		t.Call("setPointerCapture", id)
	}
	p.dragging = id + 1
	p.seekTo(ctx, e)
}

func (p *audioPlayer) onWaveMove(ctx app.Context, e app.Event) {
	if p.dragging != e.Get("pointerId").Int()+1 {
		ctx.PreventUpdate()
		return
	}
	p.seekTo(ctx, e)
}

func (p *audioPlayer) onWaveUp(ctx app.Context, e app.Event) {
	if p.dragging != e.Get("pointerId").Int()+1 {
		ctx.PreventUpdate()
		return
	}
	p.dragging = 0
}

// onWaveKey seeks with the keyboard.
func (p *audioPlayer) onWaveKey(ctx app.Context, e app.Event) {
	l := p.length()
	switch e.Get("key").String() {
	case "ArrowLeft", "ArrowDown":
		p.seek(p.pos - seekStep)
	case "ArrowRight", "ArrowUp":
		p.seek(p.pos + seekStep)
	case "PageDown":
		p.seek(p.pos - l/10)
	case "PageUp":
		p.seek(p.pos + l/10)
	case "Home":
		p.seek(0)
	case "End":
		p.seek(l)
	default:
		ctx.PreventUpdate()
		return
	}
	e.PreventDefault()
}

// Render draws the player.
func (p *audioPlayer) Render() app.UI {
	l := p.length()
	played := 0.0
	if l > 0 {
		played = min(float64(p.pos)/float64(l), 1)
	}
	label, svg := "Play", iconPlay
	if p.playing {
		label, svg = "Pause", iconPause
	}
	what := "Voice note"
	if !p.Att.Voice {
		what = p.Att.Name
	}
	var status string
	switch {
	case p.opening && p.Att.Transfer == client.TransferDownloading && p.Att.Size > 0:
		status = "Downloading " + strconv.Itoa(int(p.done*100/p.Att.Size)) + "%"
	case p.opening:
		status = "Loading…"
	}
	classes := []string{"audio-player"}
	if p.Att.Voice {
		classes = append(classes, "voice-note")
	}
	return app.Div().Class(classes...).DataSet("playing", p.playing).DataSet("transfer", transferName(p.Att.Transfer)).Body(
		app.Button().Type("button").Class("audio-play").Aria("label", label+" "+what).Title(label).
			Disabled(p.opening).OnClick(p.toggle).Body(icon(svg)),
		app.Div().Class("audio-body").Body(
			app.If(!p.Att.Voice, func() app.UI { return app.Span().Class("audio-name").Text(p.Att.Name) }),
			app.Div().Class("audio-wave").Role("slider").TabIndex(0).
				Aria("label", "Position in "+what).
				Aria("valuemin", 0).Aria("valuemax", int(l.Seconds())).Aria("valuenow", int(p.pos.Seconds())).
				Aria("valuetext", durationText(p.pos)+" of "+durationText(l)).
				On("pointerdown", p.onWaveDown).On("pointermove", p.onWaveMove).
				On("pointerup", p.onWaveUp).On("pointercancel", p.onWaveUp).
				OnKeyDown(p.onWaveKey).Body(waveformView(p.Att.Waveform, played)),
			app.Div().Class("audio-meta").Body(
				app.Span().Class("audio-time").Text(durationText(p.pos)+" / "+durationText(l)),
				app.If(status != "", func() app.UI { return app.Span().Class("audio-status").Role("status").Text(status) }),
			),
			app.If(p.err != "", func() app.UI { return app.P().Class("audio-error").Role("alert").Text(p.err) }),
		),
		app.Audio().ID("audio-"+p.key()).Class("audio-element").Attr("preload", "metadata").Src(p.url).
			On("play", p.onPlay).On("pause", p.onPause).On("ended", p.onEnded).
			On("timeupdate", p.onTime).On("loadedmetadata", p.onMetadata).On("durationchange", p.onMetadata),
	)
}

// transferName is an attachment's transfer state as the page's
// data-transfer attribute has it.
func transferName(t client.Transfer) string {
	switch t {
	case client.TransferLocal:
		return "local"
	case client.TransferUploading:
		return "uploading"
	case client.TransferPaused:
		return "paused"
	case client.TransferRemote:
		return "remote"
	case client.TransferDownloading:
		return "downloading"
	case client.TransferFailed:
		return "failed"
	case client.TransferExpired:
		return "expired"
	}
	return ""
}
