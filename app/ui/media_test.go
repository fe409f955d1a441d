package ui

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
	"golang.org/x/net/html"

	"github.com/mutualcoop/mutual/app/client"
)

// TestPeakMeter: a recording's waveform is the peak of each of at most
// waveformLevels stretches, the loudest 255, whatever pieces the samples
// come in.
func TestPeakMeter(t *testing.T) {
	// A second at 8 kHz: silent, then a tone whose loudness rises
	// linearly to 0.5.
	const n = 8000
	samples := make([]float32, n)
	for i := n / 2; i < n; i++ {
		amp := 0.5 * float64(i-n/2) / float64(n/2)
		samples[i] = float32(amp * math.Sin(float64(i)))
	}
	whole := newPeakMeter(n)
	whole.add(samples)
	levels := whole.levels()
	if len(levels) != waveformLevels {
		t.Fatalf("%d levels, want %d", len(levels), waveformLevels)
	}
	if levels[0] != 0 || levels[waveformLevels/2-1] != 0 {
		t.Errorf("the silent half has levels %v", levels[:waveformLevels/2])
	}
	if levels[waveformLevels-1] != 255 {
		t.Errorf("the loudest stretch is %d, want 255", levels[waveformLevels-1])
	}
	for i := waveformLevels/2 + 1; i < waveformLevels; i++ {
		if levels[i] < levels[i-1] {
			t.Fatalf("levels fall at %d on a rising tone: %v", i, levels[waveformLevels/2:])
		}
	}
	pieces := newPeakMeter(n)
	for i := 0; i < n; i += 333 {
		pieces.add(samples[i:min(i+333, n)])
	}
	pieces.add([]float32{1, 1, 1}) // past the end: ignored
	if !bytes.Equal(pieces.levels(), levels) {
		t.Error("the levels depend on the pieces the samples came in")
	}

	short := newPeakMeter(3)
	short.add([]float32{-0.2, 0.1, 0})
	if got := short.levels(); !bytes.Equal(got, []byte{255, 128, 0}) {
		t.Errorf("levels of 3 samples = %v", got)
	}
	if got := newPeakMeter(0).levels(); len(got) != 0 {
		t.Errorf("levels of nothing = %v", got)
	}
	silence := newPeakMeter(500)
	silence.add(make([]float32, 500))
	if got := silence.levels(); len(got) != waveformLevels || bytes.ContainsFunc(got, func(r rune) bool { return r != 0 }) {
		t.Errorf("silence has levels %v", got)
	}
}

// TestBars: a waveform fits the player's bars, each the loudest of what
// it covers; a missing one is drawn flat.
func TestBars(t *testing.T) {
	levels := make([]byte, 100)
	levels[99] = 200
	levels[0] = 10
	got := bars(levels, 48)
	if len(got) != 48 || got[47] != 200 || got[0] != 10 {
		t.Errorf("bars = %v", got)
	}
	if got := bars([]byte{1, 2, 3}, 48); !bytes.Equal(got, []byte{1, 2, 3}) {
		t.Errorf("bars of 3 levels = %v", got)
	}
	flat := bars(nil, 48)
	if len(flat) != 48 || flat[0] == 0 || flat[0] != flat[47] {
		t.Errorf("bars of no waveform = %v", flat)
	}
}

func TestVoiceName(t *testing.T) {
	at := time.Date(2025, 3, 4, 15, 6, 7, 0, time.UTC)
	for typ, want := range map[string]string{
		"audio/webm;codecs=opus": "Voice note 2025-03-04 15.06.07.webm",
		"audio/ogg; codecs=opus": "Voice note 2025-03-04 15.06.07.ogg",
		"audio/mp4":              "Voice note 2025-03-04 15.06.07.m4a",
		"":                       "Voice note 2025-03-04 15.06.07.webm",
	} {
		if got := voiceName(at, typ); got != want {
			t.Errorf("voiceName(%q) = %q, want %q", typ, got, want)
		}
	}
}

// TestWaveformView: the bars before the position are marked played, and
// the waveform is hidden from assistive technology (the slider around it
// says the position).
func TestWaveformView(t *testing.T) {
	levels := make([]byte, 10)
	d := render(t, func() app.UI { return waveformView(levels, 0.3) })
	wave := d.one(".wave-bars")
	if v, ok := attrOK(wave, "aria-hidden"); !ok || v == "false" {
		t.Error("the waveform is not hidden from assistive technology")
	}
	if n := len(d.all(".wave-bar")); n != 10 {
		t.Errorf("%d bars, want 10", n)
	}
	if n := len(d.all(".wave-played")); n != 3 {
		t.Errorf("%d bars played at 30%%, want 3", n)
	}
}

// TestMediaRoutes: a chat's gallery and a group's are pages of the app;
// nothing else ends in /media.
func TestMediaRoutes(t *testing.T) {
	u := user(7)
	g := groupID(3)
	for _, tc := range []struct {
		path string
		want route
	}{
		{chatMediaPath(u), route{kind: routeMedia, peer: u}},
		{"/chat/" + strings.ToUpper(u.String()) + "/media/", route{kind: routeMedia, peer: u}},
		{groupMediaPath(g), route{kind: routeMedia, group: g}},
		{"/media", route{kind: routeNotFound}},
		{"/safety/" + u.String() + "/media", route{kind: routeNotFound}},
		{groupInfoPath(g) + "/media", route{kind: routeNotFound}},
		{chatMediaPath(u) + "/media", route{kind: routeNotFound}},
		{"/chat/zz/media", route{kind: routeNotFound}},
	} {
		if got := parseRoute(tc.path); got != tc.want {
			t.Errorf("parseRoute(%q) = %+v, want %+v", tc.path, got, tc.want)
		}
		if KnownPath(tc.path) != (tc.want.kind != routeNotFound) {
			t.Errorf("KnownPath(%q) = %v", tc.path, KnownPath(tc.path))
		}
	}
	r := parseRoute(chatMediaPath(u))
	if r.title() != "Media · Mutual" || r.section() != "chats" {
		t.Errorf("the gallery's title %q, section %q", r.title(), r.section())
	}
}

// TestStorageView: the settings' Storage section says how much media
// the device keeps and its limit, offers the limits, says what clearing
// does, and offers clearing only when there is something to clear.
func TestStorageView(t *testing.T) {
	st := storageState{used: 12<<20 + 300<<10, limit: 1 << 30, loaded: true}
	d := render(t, func() app.UI { return storageView(st, nil, nil) })
	if got := text(d.one("#media-usage")); got != "12.3 MB of 1 GB" {
		t.Errorf("usage %q", got)
	}
	opts := d.all("#media-limit", "select")
	if len(opts) != 1 {
		t.Fatal("no limit select")
	}
	var labels []string
	for _, o := range d.within(opts[0]).all("option") {
		labels = append(labels, text(o))
		if sel := selected(o); sel != (text(o) == "1 GB") {
			t.Errorf("option %q selected %v", text(o), sel)
		}
	}
	if got := strings.Join(labels, ", "); got != "250 MB, 500 MB, 1 GB, 2 GB, 5 GB" {
		t.Errorf("limits %q", got)
	}
	hint := text(d.one("#media-limit-hint"))
	for _, want := range []string{"opened least recently", "downloaded again", "30 days"} {
		if !strings.Contains(hint, want) {
			t.Errorf("the hint %q does not say %q", hint, want)
		}
	}
	if disabled(d.one("#clear-media")) {
		t.Error("clearing is off with media on the device")
	}

	empty := render(t, func() app.UI { return storageView(storageState{limit: 300 << 20, loaded: true}, nil, nil) })
	if !disabled(empty.one("#clear-media")) {
		t.Error("clearing is offered with nothing to clear")
	}
	var chosen []string
	for _, o := range empty.within(empty.one("select")).all("option") {
		if selected(o) {
			chosen = append(chosen, text(o))
		}
	}
	if len(chosen) != 1 || chosen[0] != "300 MB" {
		t.Errorf("a limit set elsewhere shows as %q", chosen)
	}
	loading := render(t, func() app.UI { return storageView(storageState{}, nil, nil) })
	if !disabled(loading.one("select", "#media-limit")) {
		t.Error("the limit can be changed before it is read")
	}
}

func TestMegabytes(t *testing.T) {
	for n, want := range map[int64]string{
		250 << 20:       "250 MB",
		5 << 30:         "5 GB",
		3<<30 + 512<<20: "3.5 GB",
		1<<20 + 100<<10: "1.1 MB",
		0:               "0 MB",
	} {
		if got := megabytes(n); got != want {
			t.Errorf("megabytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// selected reports whether an option is selected.
func selected(n *html.Node) bool {
	v, ok := attrOK(n, "selected")
	return ok && v != "false"
}

// TestComposerRecording: the composer holds the microphone button
// beside Send (the style sheet shows one of them); while recording, it
// says so, with the timer, and either the buttons that throw the
// recording away and send it, or, while a finger holds the microphone,
// how to throw it away.
func TestComposerRecording(t *testing.T) {
	c := &conversation{}
	d := render(t, func() app.UI { return c.composer("Bob") })
	form := d.one("form", ".composer")
	if attr(form, "data-recording") != "off" || len(d.all("#voice-recording")) != 0 {
		t.Errorf("an idle composer is recording %q", attr(form, "data-recording"))
	}
	mic := d.one("button", "#voice-mic")
	if attr(mic, "aria-label") != "Record a voice note" || attr(mic, "type") != "button" {
		t.Errorf("the microphone button is labelled %q, type %q", attr(mic, "aria-label"), attr(mic, "type"))
	}
	d.one("button", "#send")

	c.rec = &voiceRecorder{live: true, elapsed: 63 * time.Second}
	d = render(t, func() app.UI { return c.composer("Bob") })
	if got := attr(d.one("form", ".composer"), "data-recording"); got != "on" {
		t.Errorf("a recording composer says %q", got)
	}
	if got := text(d.one("#voice-timer")); got != "1:03" {
		t.Errorf("the timer says %q", got)
	}
	if attr(d.one("#voice-timer"), "role") != "timer" {
		t.Error("the timer is not a timer to assistive technology")
	}
	d.one("button", "#voice-cancel")
	d.one("button", "#voice-send")
	if n := len(d.all(".voice-hint")); n != 0 {
		t.Errorf("%d hints to slide away without a finger on the button", n)
	}

	c.rec = &voiceRecorder{live: true, hold: true, slideAway: true}
	d = render(t, func() app.UI { return c.composer("Bob") })
	if got := attr(d.one("form", ".composer"), "data-recording"); got != "hold" {
		t.Errorf("a held recording says %q", got)
	}
	if got := text(d.one(".voice-hint")); got != "Let go to cancel" {
		t.Errorf("a finger slid away reads %q", got)
	}
	if len(d.all("#voice-send")) != 0 || len(d.all("#voice-cancel")) != 0 {
		t.Error("a held recording shows buttons the finger cannot reach")
	}
	if v, ok := attrOK(d.one("#voice-mic"), "aria-pressed"); !ok || v == "false" {
		t.Errorf("the held microphone button has aria-pressed %q", v)
	}
}

// TestAudioPlayerView: a voice note is a player: a play button named
// for it, the waveform in a slider that says the position in words, and
// the time; the controls of its transfer while there is one; "no longer
// available" once the relay has dropped it, with play off.
func TestAudioPlayerView(t *testing.T) {
	m := client.Message{ID: msgID(4), Peer: user(2)}
	voice := client.Attachment{Name: "Voice note.webm", Type: "audio/webm;codecs=opus", Size: 9000, Voice: true,
		Duration: 7 * time.Second, Waveform: []byte{0, 255, 128}, Transfer: client.TransferLocal}
	k := attKey{author: user(2), msg: m.ID}
	for _, tc := range []struct {
		name     string
		att      client.Attachment
		progress bool
		gone     bool
	}{
		{"on the device", voice, false, false},
		{"downloading", func() client.Attachment { a := voice; a.Transfer, a.Done = client.TransferDownloading, 4500; return a }(), true, false},
		{"expired", func() client.Attachment { a := voice; a.Transfer = client.TransferExpired; return a }(), false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := render(t, func() app.UI { return attachmentView(attView{key: k, msg: m, att: tc.att}) })
			p := d.one(".att", ".voice-note")
			if attr(p, "data-key") != k.String() || attr(p, "data-transfer") != transferName(tc.att.Transfer) {
				t.Errorf("the player's key %q, transfer %q", attr(p, "data-key"), attr(p, "data-transfer"))
			}
			play := d.one("button", ".audio-play")
			if attr(play, "aria-label") != "Play voice message" {
				t.Errorf("the play button is labelled %q", attr(play, "aria-label"))
			}
			if disabled(play) != tc.gone {
				t.Errorf("play is off: %v", disabled(play))
			}
			slider := d.one("[role=slider]")
			if attr(slider, "aria-valuemax") != "7" || attr(slider, "aria-valuenow") != "0" ||
				attr(slider, "aria-valuetext") != "0:00 of 0:07" || attr(slider, "tabindex") != "0" {
				t.Errorf("the slider says max %q, now %q, %q", attr(slider, "aria-valuemax"), attr(slider, "aria-valuenow"), attr(slider, "aria-valuetext"))
			}
			if n := len(d.within(slider).all(".wave-bar")); n != 3 {
				t.Errorf("%d bars for 3 levels", n)
			}
			if got := text(d.one(".audio-time")); got != "0:00 / 0:07" {
				t.Errorf("the time says %q", got)
			}
			if got := len(d.all("[role=progressbar]")) == 1; got != tc.progress {
				t.Errorf("a progress bar: %v", got)
			}
			if got := strings.Contains(text(p), expiredText); got != tc.gone {
				t.Errorf("says the file is gone: %v", got)
			}
			if _, ok := attrOK(d.one("audio"), "src"); ok {
				t.Error("the audio has a source before the file is read")
			}
		})
	}
}

func TestMicrophoneErrorText(t *testing.T) {
	for name, want := range map[string]string{
		"NotAllowedError":  "Allow it in the browser's site settings",
		"NotFoundError":    "No microphone was found",
		"NotReadableError": "in use by another app",
		"":                 "could not start",
	} {
		if got := microphoneErrorText(name); !strings.Contains(got, want) {
			t.Errorf("microphoneErrorText(%q) = %q, want it to say %q", name, got, want)
		}
	}
}
