package ui

import (
	"math"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/app/client"
)

// actionAudioPlaying: a player started; the others pause, so that one
// plays at a time. Its value is the player's key.
const actionAudioPlaying = "mutual/audio-playing"

// seekStep is how far the arrow keys move playback; Page Up and Page
// Down move it by a tenth of the audio, Home and End to its ends.
const seekStep = 5 * time.Second

// audioAttachment draws a voice note or an audio file of a message: its
// player.
func audioAttachment(v attView) app.UI {
	return &audioPlayer{Key: v.key.String(), Att: v.att, URL: v.url, view: v}
}

// audioPlayer plays a voice note or an audio file: play and pause, its
// waveform with the part played marked, seeking by clicking, tapping or
// dragging on it or with the keyboard (it is a slider), and the time
// played and the length. The audio plays from a blob: URL of the file on
// this device, which whoever shows the player makes (the view's onOpen:
// it reads the file, then plays it); a file not on the device is
// downloaded first, with its progress, and plays once it is there.
type audioPlayer struct {
	app.Compo
	// Key names the attachment (attKey's text).
	Key string
	// Att is the attachment as its message has it now.
	Att client.Attachment
	// URL is the blob: URL of the file, once read from this device.
	URL string

	view     attView       // the controls, and the message
	opening  bool          // reading or downloading it to play it
	playing  bool          // the audio plays
	pos      time.Duration // where playback is
	total    time.Duration // the length, once the audio says it
	dragging int           // the pointer dragging on the waveform, plus one; 0: none
}

// CompoID makes each attachment a player of its own.
func (p *audioPlayer) CompoID() string { return "audio-" + p.Key }

// OnMount pauses this player when another one starts.
func (p *audioPlayer) OnMount(ctx app.Context) {
	ctx.Handle(actionAudioPlaying, func(ctx app.Context, a app.Action) {
		if k, _ := a.Value.(string); k != p.Key && p.playing {
			p.pause()
		}
		ctx.PreventUpdate()
	})
}

// OnUpdate plays the file once it is on the device, when play was
// pressed before it was.
func (p *audioPlayer) OnUpdate(ctx app.Context) {
	if !p.opening {
		return
	}
	switch p.Att.Transfer {
	case client.TransferLocal:
		if p.URL == "" {
			// Downloaded: press play again, to read it and play.
			ctx.Defer(func(app.Context) {
				if b := byID(p.playID()); b.Truthy() {
					b.Call("click")
				}
			})
		}
		p.opening = false
	case client.TransferFailed, client.TransferExpired, client.TransferPaused:
		p.opening = false
	}
}

// OnDismount stops the audio.
func (p *audioPlayer) OnDismount() {
	p.pause()
}

// playID is the ID of the play button; audioID of the <audio> element.
func (p *audioPlayer) playID() string  { return "play-" + p.Key }
func (p *audioPlayer) audioID() string { return "audio-" + p.Key }

// audio is the player's <audio> element.
func (p *audioPlayer) audio() app.Value { return byID(p.audioID()) }

// pause pauses the audio.
func (p *audioPlayer) pause() {
	if a := p.audio(); a.Truthy() {
		a.Call("pause")
	}
}

// play starts the audio; a refusal (the browser's autoplay rules)
// leaves it paused.
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

// toggle plays or pauses; the first time, the file is read from the
// device (onOpen plays it then), or downloaded first.
func (p *audioPlayer) toggle(ctx app.Context, e app.Event) {
	switch {
	case p.playing:
		p.pause()
		ctx.PreventUpdate()
	case p.URL != "":
		p.play()
		ctx.PreventUpdate()
	case p.Att.Transfer == client.TransferRemote && p.view.onDownload != nil:
		p.opening = true
		p.view.onDownload(ctx, e)
	case p.Att.Transfer == client.TransferFailed && p.view.onRetry != nil:
		p.opening = true
		p.view.onRetry(ctx, e)
	case p.Att.Transfer == client.TransferExpired || p.view.onOpen == nil:
		ctx.PreventUpdate()
	default:
		// On the device: sent from here (maybe still uploading), or
		// downloaded.
		p.view.onOpen(ctx, e)
	}
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
	ctx.NewActionWithValue(actionAudioPlaying, p.Key)
}

func (p *audioPlayer) onPause(ctx app.Context, e app.Event) {
	p.playing = false
}

func (p *audioPlayer) onEnded(ctx app.Context, e app.Event) {
	p.playing, p.pos = false, 0
	ctx.JSSrc().Set("currentTime", 0)
}

func (p *audioPlayer) onTime(ctx app.Context, e app.Event) {
	pos := seconds(ctx.JSSrc().Get("currentTime").Float())
	if p.dragging != 0 || pos/time.Second == p.pos/time.Second && pos != 0 {
		// The slider moves by the second; what is drawn changes
		// about as often.
		if p.dragging == 0 {
			p.pos = pos
		}
		ctx.PreventUpdate()
		return
	}
	p.pos = pos
}

func (p *audioPlayer) onMetadata(ctx app.Context, e app.Event) {
	a := ctx.JSSrc()
	if d := seconds(a.Get("duration").Float()); d > 0 {
		p.total = d
	}
	if p.pos > 0 {
		a.Set("currentTime", p.pos.Seconds())
	}
}

// seconds converts the audio element's seconds; not a number or
// infinite (the length of a recording whose container does not say it)
// is 0.
func seconds(s float64) time.Duration {
	if math.IsNaN(s) || math.IsInf(s, 0) || s < 0 {
		return 0
	}
	return time.Duration(s * float64(time.Second))
}

// seek moves playback to pos (before the audio is read: where it will
// start).
func (p *audioPlayer) seek(pos time.Duration) {
	if l := p.length(); l > 0 {
		pos = min(pos, l)
	}
	p.pos = max(pos, 0)
	if a := p.audio(); a.Truthy() && p.URL != "" {
		a.Set("currentTime", p.pos.Seconds())
	}
}

// seekTo seeks to where a pointer is on the waveform.
func (p *audioPlayer) seekTo(ctx app.Context, e app.Event) {
	r := ctx.JSSrc().Call("getBoundingClientRect")
	w := r.Get("width").Float()
	if w <= 0 {
		return
	}
	frac := min(max((e.Get("clientX").Float()-r.Get("left").Float())/w, 0), 1)
	p.seek(time.Duration(frac * float64(p.length())))
}

func (p *audioPlayer) onWaveDown(ctx app.Context, e app.Event) {
	if e.Get("button").Int() != 0 || p.length() == 0 {
		ctx.PreventUpdate()
		return
	}
	e.Call("stopPropagation")
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
	v := p.view
	v.att, v.url = p.Att, p.URL
	a := p.Att
	l := p.length()
	played := 0.0
	if l > 0 {
		played = min(float64(p.pos)/float64(l), 1)
	}
	label, svg := "Play", iconPlay
	if p.playing {
		label, svg = "Pause", iconPause
	}
	what := "voice message"
	if !a.Voice {
		what = a.Name
	}
	classes := []string{"att", "att-audio", "audio-player"}
	if a.Voice {
		classes = append(classes, "voice-note")
	}
	// The controls of a transfer under way, paused or failed; playing
	// downloads what is not on the device, so Download is not among them.
	var control app.UI
	switch a.Transfer {
	case client.TransferUploading, client.TransferDownloading, client.TransferPaused, client.TransferFailed:
		control = fileControl(v)
	}
	audio := app.Audio().ID(p.audioID()).Class("audio-element").Preload("metadata").
		On("play", p.onPlay).On("pause", p.onPause).On("ended", p.onEnded).
		On("timeupdate", p.onTime).On("loadedmetadata", p.onMetadata).On("durationchange", p.onMetadata)
	if p.URL != "" {
		audio = audio.Src(p.URL)
	}
	return app.Div().Class(classes...).DataSet("key", p.Key).DataSet("name", a.Name).DataSet("transfer", transferName(a.Transfer)).
		DataSet("playing", p.playing).Body(
		app.Button().ID(p.playID()).Type("button").Class("audio-play").Aria("label", label+" "+what).Title(label).
			Disabled(a.Transfer == client.TransferExpired || p.opening && a.Transfer == client.TransferDownloading).
			OnClick(p.toggle).Body(icon(svg)),
		app.Div().Class("audio-body").Body(
			app.If(!a.Voice, func() app.UI { return app.P().Class("att-name", "audio-name").Title(a.Name).Text(a.Name) }),
			app.Div().Class("audio-wave").Role("slider").TabIndex(0).
				Aria("label", "Position in "+what).
				Aria("valuemin", "0").Aria("valuemax", int(l.Seconds())).Aria("valuenow", int(p.pos.Seconds())).
				Aria("valuetext", durationText(p.pos)+" of "+durationText(l)).
				On("pointerdown", p.onWaveDown).On("pointermove", p.onWaveMove).
				On("pointerup", p.onWaveUp).On("pointercancel", p.onWaveUp).
				OnKeyDown(p.onWaveKey).Body(waveformView(a.Waveform, played)),
			app.Div().Class("audio-meta").Body(
				app.Span().Class("audio-time").Text(durationText(p.pos)+" / "+durationText(l)),
			),
			app.If(v.moving(), func() app.UI { return progressBar(v) }),
			app.If(a.Transfer == client.TransferExpired, func() app.UI {
				return app.P().Class("att-note", "att-gone-text").Text(expiredText)
			}),
			transferNote(v),
		),
		control,
		audio,
	)
}
