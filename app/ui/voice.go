package ui

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Voice notes. The microphone button stands in the composer while it is
// empty. A click (or a tap) starts recording, with a running timer, a
// button that throws the recording away and one that sends it; on a
// touch screen, pressing and holding records too: letting go over the
// button sends, sliding away from it and letting go throws it away.
const (
	// maxVoice is the longest voice note; the recording is sent when it
	// is reached.
	maxVoice = 15 * time.Minute
	// holdDelay is how long a press on the microphone button lasts
	// before it is a hold (which sends when it ends) rather than a tap
	// (which leaves the recording going).
	holdDelay = 400 * time.Millisecond
	// slideCancel is how far, in CSS pixels, a finger slides away from
	// the button to throw a held recording away.
	slideCancel = 60
	// waveRate is the sample rate, in hertz, a recording is decoded at to
	// measure its waveform: enough for its levels, little to go through.
	waveRate = 8000
	// voiceBitrate is what the recorder is asked for, in bits per second:
	// a spoken voice in Opus.
	voiceBitrate = 32000
)

// voiceRecorder is a voice note being recorded. Its JavaScript
// callbacks hand their work to the UI goroutine (ctx.Dispatch); only the
// UI goroutine touches it.
type voiceRecorder struct {
	// ctx is the microphone button's context: the button stays while the
	// composer does, where the recording's own buttons come and go (a
	// context dispatches nothing once its element is gone).
	ctx     app.Context
	typ     string    // the recording's MIME type
	stream  app.Value // the microphone's
	media   app.Value // the MediaRecorder
	parts   app.Value // a JavaScript array of the recording's pieces (Blobs)
	ticker  app.Value // the timer's interval
	started time.Time // when the microphone started (monotonic)
	elapsed time.Duration
	funcs   []app.Func
	live    bool // the microphone answered and records
	over    bool // thrown away or sent: what comes late does nothing

	// A press and hold on a touch screen: its pointer and where it
	// began. held: it lasted holdDelay or more, so that letting go ends
	// the recording.
	hold       bool
	pointer    int
	downX      float64
	downY      float64
	downAt     time.Time
	held       bool
	slideAway  bool // the finger is far enough to throw it away
	sendOnLive bool // let go before the microphone answered: send once it does
}

// canRecord reports whether the browser records audio (getUserMedia and
// MediaRecorder).
func canRecord() bool {
	if app.IsServer {
		return false
	}
	w := app.Window()
	md := w.Get("navigator").Get("mediaDevices")
	return md.Truthy() && md.Get("getUserMedia").Truthy() && w.Get("MediaRecorder").Truthy()
}

// voiceType is the format to record in: Opus, in WebM or Ogg, where the
// browser records it; AAC in MP4 (Safari) otherwise; "" leaves the
// choice to the browser.
func voiceType() string {
	mr := app.Window().Get("MediaRecorder")
	if !mr.Get("isTypeSupported").Truthy() {
		return ""
	}
	for _, t := range []string{"audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/mp4"} {
		if mr.Call("isTypeSupported", t).Truthy() {
			return t
		}
	}
	return ""
}

// fn makes a JavaScript function that the recorder releases when it ends.
func (r *voiceRecorder) fn(f func(args []app.Value)) app.Func {
	js := app.FuncOf(func(_ app.Value, args []app.Value) any {
		f(args)
		return nil
	})
	r.funcs = append(r.funcs, js)
	return js
}

// release frees the recorder's JavaScript functions once none can be
// called again.
func (r *voiceRecorder) release() {
	for _, f := range r.funcs {
		f.Release()
	}
	r.funcs = nil
}

// stopMicrophone ends the timer and turns the microphone off.
func (r *voiceRecorder) stopMicrophone() {
	if r.ticker != nil && r.ticker.Truthy() {
		app.Window().Call("clearInterval", r.ticker)
		r.ticker = nil
	}
	if r.stream != nil && r.stream.Truthy() {
		stopTracks(r.stream)
	}
}

// onMic starts recording on a click or a key press; a touch starts it
// on pointerdown instead (onMicDown).
func (c *conversation) onMic(ctx app.Context, e app.Event) {
	if e.Get("pointerType").String() == "touch" || c.rec != nil {
		ctx.PreventUpdate()
		return
	}
	c.startRecording(ctx, false)
}

// onMicDown starts recording when a finger presses the microphone
// button, following the finger from then on.
func (c *conversation) onMicDown(ctx app.Context, e app.Event) {
	if e.Get("pointerType").String() != "touch" || c.rec != nil {
		ctx.PreventUpdate()
		return
	}
	e.PreventDefault()
	id := e.Get("pointerId").Int()
	if t := e.Get("currentTarget"); t.Truthy() && t.Get("setPointerCapture").Truthy() {
		t.Call("setPointerCapture", id)
	}
	c.startRecording(ctx, true)
	if r := c.rec; r != nil {
		r.hold, r.pointer, r.downAt = true, id, time.Now()
		r.downX, r.downY = e.Get("clientX").Float(), e.Get("clientY").Float()
	}
}

// onMicMove follows a held finger: slid far enough away, letting go
// throws the recording away.
func (c *conversation) onMicMove(ctx app.Context, e app.Event) {
	r := c.rec
	if r == nil || !r.hold || e.Get("pointerId").Int() != r.pointer {
		ctx.PreventUpdate()
		return
	}
	away := slidAway(r, e, ctx.JSSrc())
	if !r.held && time.Since(r.downAt) >= holdDelay {
		r.held = true
	}
	if away == r.slideAway {
		ctx.PreventUpdate()
		return
	}
	r.slideAway = away
}

// onMicUp ends a press: a short one (a tap) leaves the recording going,
// with its buttons; the end of a hold sends the recording, or throws it
// away if the finger slid away or was let go outside the button.
func (c *conversation) onMicUp(ctx app.Context, e app.Event) {
	r := c.rec
	if r == nil || !r.hold || e.Get("pointerId").Int() != r.pointer {
		ctx.PreventUpdate()
		return
	}
	away := e.Get("type").String() == "pointercancel" || slidAway(r, e, ctx.JSSrc())
	r.hold = false
	switch {
	case away:
		c.cancelRecording(ctx, e)
	case r.held || time.Since(r.downAt) >= holdDelay:
		c.finishRecording()
	}
}

// slidAway reports whether a pointer event is away from the button it
// started on (outside it) or has slid slideCancel pixels from where it
// began.
func slidAway(r *voiceRecorder, e, button app.Value) bool {
	x, y := e.Get("clientX").Float(), e.Get("clientY").Float()
	if math.Hypot(x-r.downX, y-r.downY) >= slideCancel {
		return true
	}
	if !button.Truthy() {
		return false
	}
	b := button.Call("getBoundingClientRect")
	return x < b.Get("left").Float() || x > b.Get("right").Float() ||
		y < b.Get("top").Float() || y > b.Get("bottom").Float()
}

// startRecording asks for the microphone and records; hold: a finger
// holds the button.
func (c *conversation) startRecording(ctx app.Context, hold bool) {
	if !canRecord() {
		c.sendErr = "This browser cannot record voice notes."
		return
	}
	c.sendErr = ""
	r := &voiceRecorder{ctx: ctx, typ: voiceType(), hold: hold}
	c.rec = r
	onStream := r.fn(func(args []app.Value) {
		stream := args[0]
		ctx.Dispatch(func(ctx app.Context) { c.onMicrophone(ctx, r, stream) })
	})
	onDenied := r.fn(func(args []app.Value) {
		name := ""
		if len(args) > 0 && args[0].Truthy() {
			name = args[0].Get("name").String()
		}
		ctx.Dispatch(func(ctx app.Context) {
			r.stopMicrophone()
			r.release()
			if c.rec != r {
				return
			}
			c.rec, c.sendErr = nil, microphoneErrorText(name)
		})
	})
	constraints := map[string]any{
		"audio": map[string]any{"echoCancellation": true, "noiseSuppression": true, "autoGainControl": true},
		"video": false,
	}
	app.Window().Get("navigator").Get("mediaDevices").Call("getUserMedia", constraints).Call("then", onStream, onDenied)
	if !hold {
		ctx.Defer(func(app.Context) { focusID("voice-send") })
	}
}

// onMicrophone starts the recorder once the microphone is on, or turns
// it off again if the recording was thrown away meanwhile.
func (c *conversation) onMicrophone(ctx app.Context, r *voiceRecorder, stream app.Value) {
	r.stream = stream
	if r.over || c.rec != r {
		r.stopMicrophone()
		r.release()
		return
	}
	w := app.Window()
	opts := map[string]any{"audioBitsPerSecond": voiceBitrate}
	if r.typ != "" {
		opts["mimeType"] = r.typ
	}
	media, err := newMediaRecorder(stream, opts)
	if err != nil {
		r.stopMicrophone()
		r.release()
		c.rec, c.sendErr = nil, "The microphone could not start recording."
		return
	}
	r.media, r.parts = media, w.Get("Array").New()
	if t := media.Get("mimeType").String(); t != "" {
		r.typ = t
	}
	media.Set("ondataavailable", r.fn(func(args []app.Value) {
		if d := args[0].Get("data"); d.Truthy() && d.Get("size").Int() > 0 {
			r.parts.Call("push", d)
		}
	}))
	// A piece every second: a long recording is kept as it goes.
	media.Call("start", 1000)
	r.live, r.started = true, time.Now()
	r.ticker = w.Call("setInterval", r.fn(func([]app.Value) {
		ctx.Dispatch(func(ctx app.Context) { c.tick(ctx, r) })
	}), 250)
	if r.sendOnLive {
		c.finishRecording()
	}
}

// newMediaRecorder makes a MediaRecorder; its constructor throws when
// the browser cannot record in the options' format.
func newMediaRecorder(stream app.Value, opts map[string]any) (m app.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("media recorder: %v", r)
		}
	}()
	return app.Window().Get("MediaRecorder").New(stream, opts), nil
}

// tick moves the timer, marks a press that lasted as a hold, and sends
// the recording once it is maxVoice long.
func (c *conversation) tick(ctx app.Context, r *voiceRecorder) {
	if c.rec != r || r.over {
		ctx.PreventUpdate()
		return
	}
	r.elapsed = time.Since(r.started)
	if r.hold && !r.held && time.Since(r.downAt) >= holdDelay {
		r.held = true
	}
	if r.elapsed >= maxVoice {
		c.finishRecording()
	}
}

// discard stops recording and throws what was recorded away.
func (r *voiceRecorder) discard() {
	r.over = true
	if r.media != nil && r.media.Truthy() {
		r.media.Set("ondataavailable", nil)
		r.media.Set("onstop", nil)
		if r.media.Get("state").String() != "inactive" {
			r.media.Call("stop")
		}
	}
	if r.live || r.stream != nil {
		r.stopMicrophone()
		r.release()
	}
	// Otherwise the microphone has not answered yet: onMicrophone turns
	// it off and releases the functions when it does.
}

// dropRecording throws away a recording under way, if there is one.
func (c *conversation) dropRecording() {
	if c.rec != nil {
		c.rec.discard()
		c.rec = nil
	}
}

// cancelRecording throws the recording away (its delete button, or a
// held finger slid away).
func (c *conversation) cancelRecording(ctx app.Context, e app.Event) {
	if c.rec == nil {
		return
	}
	c.dropRecording()
	ctx.Defer(func(app.Context) { focusID("voice-mic") })
}

// recordingMode is the composer's data-recording: "off", "hold" while a
// finger holds the microphone button, "on" while recording otherwise.
func (c *conversation) recordingMode() string {
	switch {
	case c.rec == nil:
		return "off"
	case c.rec.hold:
		return "hold"
	default:
		return "on"
	}
}

// sendRecording is the recording bar's send button.
func (c *conversation) sendRecording(ctx app.Context, e app.Event) {
	c.finishRecording()
}

// finishRecording stops the recorder and sends what it recorded.
func (c *conversation) finishRecording() {
	r := c.rec
	if r == nil || r.over {
		return
	}
	if !r.live {
		r.sendOnLive = true
		return
	}
	c.rec, r.over = nil, true
	ctx := r.ctx
	r.media.Set("onstop", r.fn(func([]app.Value) {
		blob := app.Window().Get("Blob").New(r.parts, map[string]any{"type": r.typ})
		// Sent even if the chat closes meanwhile.
		ctx.Async(func() {
			r.release()
			c.sendVoice(ctx, blob, r.typ)
		})
	}))
	r.media.Call("stop")
	r.stopMicrophone()
	ctx.Defer(func(app.Context) { focusID("composer") })
}

// sendVoice measures a recording (its length and its waveform) and sends
// it as a voice note. It blocks: run it in ctx.Async.
func (c *conversation) sendVoice(ctx app.Context, blob app.Value, typ string) {
	s, peer, conv, group := c.s, c.peer, c.conv, c.isGroup()
	data, levels, length, err := measureVoice(blob)
	if err != nil {
		s.log.Warn("read a voice note", "err", err)
		ctx.Dispatch(func(ctx app.Context) { c.sendErr = "The voice note could not be recorded. Try again." })
		return
	}
	var m client.Message
	cl, err := s.client()
	if err == nil {
		f := client.File{
			Name: voiceName(s.now(), typ), Type: typ, Size: int64(len(data)),
			Content: bytes.NewReader(data), Duration: length, Waveform: levels, Voice: true,
		}
		var id wire.MessageID
		if group {
			id, err = cl.SendGroupFiles(context.Background(), conv, "", f)
		} else {
			id, err = cl.SendFiles(context.Background(), peer, "", f)
		}
		if err == nil {
			acct, _ := s.account()
			m, err = cl.Message(context.Background(), acct.User, id)
		}
	}
	online := s.isOnline()
	ctx.Dispatch(func(ctx app.Context) {
		if err != nil {
			c.sendErr = "The voice note was not sent: " + errorText(err, online)
			return
		}
		c.sendErr = ""
		ctx.NewAction(actionChatsChanged)
		c.showSent(ctx, m)
	})
}

// measureVoice reads a recording's bytes and decodes it (Web Audio, at
// waveRate) for its length and waveform. It blocks: run it in
// ctx.Async.
func measureVoice(blob app.Value) (data, levels []byte, length time.Duration, err error) {
	buf, err := await(blob.Call("arrayBuffer"))
	if err != nil {
		return nil, nil, 0, fmt.Errorf("read the recording: %w", err)
	}
	arr := app.Window().Get("Uint8Array").New(buf)
	data = make([]byte, arr.Length())
	app.CopyBytesToGo(data, arr)
	if len(data) == 0 {
		return nil, nil, 0, errors.New("nothing was recorded")
	}
	// decodeAudioData takes the buffer over: it decodes a copy.
	w := app.Window()
	dec := w.Get("OfflineAudioContext")
	if !dec.Truthy() {
		dec = w.Get("webkitOfflineAudioContext")
	}
	if !dec.Truthy() {
		return data, nil, 0, nil
	}
	audio, err := await(dec.New(1, 1, waveRate).Call("decodeAudioData", buf.Call("slice", 0)))
	if err != nil {
		// The note goes without its waveform and length.
		return data, nil, 0, nil
	}
	length = time.Duration(audio.Get("duration").Float() * float64(time.Second))
	return data, channelLevels(audio.Call("getChannelData", 0)), length, nil
}

// channelLevels is the waveform of a channel's samples (a Float32Array),
// read in pieces.
func channelLevels(samples app.Value) []byte {
	const piece = 1 << 16
	n := samples.Length()
	m := newPeakMeter(n)
	u8 := app.Window().Get("Uint8Array")
	raw := make([]byte, piece*4)
	fs := make([]float32, piece)
	buf, off := samples.Get("buffer"), samples.Get("byteOffset").Int()
	for i := 0; i < n; i += piece {
		k := min(piece, n-i)
		app.CopyBytesToGo(raw[:k*4], u8.New(buf, off+i*4, k*4))
		for j := range k {
			fs[j] = math.Float32frombits(binary.LittleEndian.Uint32(raw[j*4:]))
		}
		m.add(fs[:k])
	}
	return m.levels()
}

// voiceName names a voice note's file after when it was recorded, with
// the extension of its format.
func voiceName(t time.Time, typ string) string {
	ext := ".webm"
	switch base, _, _ := strings.Cut(typ, ";"); strings.TrimSpace(base) {
	case "audio/ogg":
		ext = ".ogg"
	case "audio/mp4":
		ext = ".m4a"
	}
	return "Voice note " + t.Format("2006-01-02 15.04.05") + ext
}

// microphoneErrorText says why the microphone could not start, from the
// name of the DOMException getUserMedia failed with.
func microphoneErrorText(name string) string {
	switch name {
	case "NotAllowedError", "SecurityError":
		return "Mutual may not use the microphone. Allow it in the browser's site settings to record voice notes."
	case "NotFoundError", "OverconstrainedError":
		return "No microphone was found. Connect one to record voice notes."
	case "NotReadableError", "AbortError":
		return "The microphone is in use by another app. Close it and try again."
	}
	return "The microphone could not start."
}

// micButton is the composer's microphone button, shown (by the style
// sheet) while the composer is empty.
func (c *conversation) micButton() app.UI {
	pressed := c.rec != nil && c.rec.hold
	return app.Button().ID("voice-mic").Type("button").Class("send-button", "mic-button").
		Aria("label", "Record a voice note").Title("Record a voice note").Aria("pressed", pressed).
		OnClick(c.onMic).On("pointerdown", c.onMicDown).On("pointermove", c.onMicMove).
		On("pointerup", c.onMicUp).On("pointercancel", c.onMicUp).
		On("contextmenu", func(ctx app.Context, e app.Event) { e.PreventDefault(); ctx.PreventUpdate() }).
		Body(icon(iconMic))
}

// recordingBar is what the composer shows while recording: a red dot,
// the timer, and either the buttons (throw away, send) or, while a
// finger holds the microphone button, how to throw it away.
func (c *conversation) recordingBar() app.UI {
	r := c.rec
	if r == nil {
		return nil
	}
	status := "Starting the microphone…"
	if r.live {
		status = "Recording"
	}
	hint := "Slide away to cancel"
	if r.slideAway {
		hint = "Let go to cancel"
	}
	bar := app.Div().ID("voice-recording").Class("voice-recording").DataSet("live", r.live).
		DataSet("held", r.held).DataSet("away", r.slideAway)
	if r.hold {
		return bar.Body(
			app.Span().Class("rec-dot").Aria("hidden", "true"),
			app.Span().ID("voice-timer").Class("voice-timer").Role("timer").Text(durationText(r.elapsed)),
			app.Span().Class("voice-status", "sr-only").Role("status").Text(status),
			app.Span().Class("voice-hint").Text(hint),
		)
	}
	return bar.Body(
		app.Button().ID("voice-cancel").Type("button").Class("icon-button", "voice-cancel").
			Aria("label", "Delete the recording").Title("Delete").OnClick(c.cancelRecording).Body(icon(iconTrash)),
		app.Span().Class("rec-dot").Aria("hidden", "true"),
		app.Span().ID("voice-timer").Class("voice-timer").Role("timer").Text(durationText(r.elapsed)),
		app.Span().Class("voice-status", "sr-only").Role("status").Text(status),
		app.Button().ID("voice-send").Type("button").Class("send-button").
			Aria("label", "Send the voice note").Title("Send").OnClick(c.sendRecording).Body(icon(iconSend)),
	)
}

// Icons of voice notes.
const (
	iconMic   = svgOpen + `<rect x="9" y="3" width="6" height="11" rx="3"/><path d="M5.5 11a6.5 6.5 0 0 0 13 0M12 17.5V21"/>` + svgClose
	iconTrash = svgOpen + `<path d="M4 7h16M10 11v6M14 11v6M6 7l1 13h10l1-13M9 7V4h6v3"/>` + svgClose
	iconPause = svgOpen + `<path d="M8 5v14M16 5v14" stroke-width="3"/>` + svgClose
)
