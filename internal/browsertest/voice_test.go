//go:build browser

package browsertest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The people of the voice notes test.
const (
	voiceAnnAddress = "ann@example.org"
	voiceBenAddress = "ben@example.org"
)

// TestVoiceNote records voice notes on phones (360 px wide, touch), from
// Chromium's fake microphone (a tone, allowed without a prompt):
//
//   - The empty composer offers the microphone, not Send. Ann presses it:
//     the timer runs; she sends the note. Ben sees a player with the
//     note's waveform (drawn from its levels, measured on Ann's device)
//     and its length; he plays it to its end, seeks by tapping on the
//     waveform and with the keyboard (it is a slider).
//   - Ben records while Ann's note is on his screen, and throws the
//     recording away: nothing reaches Ann.
//   - Pressing and holding the microphone records; letting go sends.
//     Sliding away before letting go throws the recording away.
func TestVoiceNote(t *testing.T) {
	start := time.Now()
	phase := func(name string) { t.Logf("[%5.1fs] %s", time.Since(start).Seconds(), name) }
	browser := chromium(t)
	app := buildApp(t)
	r := startRelay(t, app.mutual, app.web)
	shots := screenshotDir(t)

	ann := newProfile(t, browser, r.url(), "ann")
	ben := newProfile(t, browser, r.url(), "ben")
	ann.watchCSP()
	ben.watchCSP()
	ann.emulate(360, 780, true, "light")
	ben.emulate(360, 780, true, "light")
	ann.register(r, voiceAnnAddress)
	ann.setName("Ann")
	ben.register(r, voiceBenAddress)
	ben.setName("Ben")
	benID := ann.addContact(voiceBenAddress)
	ann.openChat(benID)
	hello := ann.send("Hello Ben")
	annID := ben.requestFrom()
	ben.acceptRequest(annID)
	ann.waitState(hello, "delivered", "read")
	ben.openChat(annID)

	phase("the empty composer offers the microphone")
	if !eval[bool](ann, `document.querySelector('#voice-mic')?.checkVisibility() && !document.querySelector('#send').checkVisibility()`) {
		t.Errorf("the empty composer does not show the microphone instead of Send")
	}
	ann.fill("composer", "typing")
	if !eval[bool](ann, `!document.querySelector('#voice-mic').checkVisibility() && document.querySelector('#send').checkVisibility()`) {
		t.Errorf("a composer with text does not show Send instead of the microphone")
	}
	ann.fill("composer", "")

	phase("Ann records a voice note and sends it")
	ann.click("voice-mic")
	ann.waitRecording(3 * time.Second)
	ann.click("voice-send")
	waitJS[bool](ann, stepTimeout, "the recording bar to go", `!document.querySelector('#voice-recording')`)
	_, key := ann.waitVoiceNote("msg-out")
	ann.waitTransfer(key, "local")

	phase("Ben plays it, to its end")
	_, bkey := ben.waitVoiceNote("msg-in")
	if bkey != key {
		t.Fatalf("Ben's voice note is %s, Ann's %s", bkey, key)
	}
	length := ben.playerLength(key)
	if length < 2*time.Second || length > 30*time.Second {
		t.Errorf("the note lasts %v, want about the 3 s recorded", length)
	}
	levels := eval[[]string](ben, fmt.Sprintf(`[...document.querySelectorAll('.att[data-key=%q] .wave-bar')].map((b) => b.style.height)`, key))
	distinct := map[string]bool{}
	for _, h := range levels {
		distinct[h] = true
	}
	if len(levels) < 10 || len(distinct) < 2 {
		t.Errorf("the waveform has the bars %v, want the levels of a recording", levels)
	}
	ben.waitTransfer(key, "local")
	ben.clickPlayer(key, ".audio-play")
	waitJS[bool](ben, messageTimeout, "the note to play", fmt.Sprintf(
		`(() => { const a = document.querySelector('.att[data-key=%q] audio'); return !!a && a.currentTime > 0.5; })()`, key))
	if !eval[bool](ben, fmt.Sprintf(`document.querySelector('.att[data-key=%q]').dataset.playing === 'true'`, key)) {
		t.Errorf("a playing note's player does not say so")
	}
	waitJS[bool](ben, messageTimeout, "the note to end", fmt.Sprintf(
		`(() => { const p = document.querySelector('.att[data-key=%q]'); const a = p.querySelector('audio');
		  return p.dataset.playing === 'false' && (a.ended || a.paused); })()`, key))

	phase("Ben seeks on the waveform and with the keyboard")
	ben.tapWave(key, 0.5)
	waitJS[bool](ben, stepTimeout, "the position to move to the middle", fmt.Sprintf(
		`(() => { const a = document.querySelector('.att[data-key=%q] audio'); const d = %f;
		  return a.currentTime > d * 0.3 && a.currentTime < d * 0.7; })()`, key, length.Seconds()))
	ben.eval(fmt.Sprintf(`document.querySelector('.att[data-key=%q] [role=slider]').focus()`, key))
	ben.do(stepTimeout, "press Home", chromedp.KeyEvent(kb.Home))
	waitJS[bool](ben, stepTimeout, "the position to go back to the start", fmt.Sprintf(
		`(() => { const p = document.querySelector('.att[data-key=%q]');
		  return p.querySelector('audio').currentTime === 0 && p.querySelector('[role=slider]').getAttribute('aria-valuenow') === '0'; })()`, key))
	ben.do(stepTimeout, "press the right arrow", chromedp.KeyEvent(kb.ArrowRight))
	waitJS[bool](ben, stepTimeout, "the position to move on", fmt.Sprintf(
		`(() => { const p = document.querySelector('.att[data-key=%q]'); return p.querySelector('audio').currentTime > 1; })()`, key))
	if text := eval[string](ben, fmt.Sprintf(`document.querySelector('.att[data-key=%q] [role=slider]').getAttribute('aria-valuetext')`, key)); !strings.Contains(text, " of ") {
		t.Errorf("the slider says %q, want the position of the length", text)
	}

	phase("Ben records and throws it away")
	ben.fill("composer", "")
	ben.click("voice-mic")
	ben.waitRecording(2 * time.Second)
	if !eval[bool](ben, `['voice-mic', 'composer', 'send', 'attach'].every((id) => !document.getElementById(id).checkVisibility())`) {
		t.Errorf("while recording, the composer still shows the microphone, the text, Send or Attach")
	}
	ben.checkFit("recording a voice note")
	saveScreenshot(t, shots, "voice-note-phone.png", ben.screenshot())
	ben.click("voice-cancel")
	waitJS[bool](ben, stepTimeout, "the recording bar to go", `!document.querySelector('#voice-recording')`)
	after := ben.send("Nothing else")
	ann.waitIncoming("Nothing else")
	if n := eval[int](ann, `document.querySelectorAll('#messages .att.voice-note').length`); n != 1 {
		t.Errorf("Ann's chat shows %d voice notes after Ben threw his away, want hers only", n)
	}
	if n := eval[int](ben, `document.querySelectorAll('#messages .msg-out .att').length`); n != 0 {
		t.Errorf("Ben's chat shows %d attachments of his after he threw the recording away", n)
	}
	ben.waitState(after, "delivered", "read")

	phase("press and hold: letting go sends")
	ann.hold("voice-mic", func() {
		ann.waitRecording(2 * time.Second)
		waitJS[bool](ann, stepTimeout, "the press to be a hold", `document.querySelector('#voice-recording')?.dataset.held === 'true'`)
	}, 0)
	_, held := ben.waitVoiceNoteNot("msg-in", key)
	if held == key {
		t.Fatal("the held recording did not arrive")
	}

	phase("press and hold: sliding away throws it away")
	ann.hold("voice-mic", func() {
		ann.waitRecording(time.Second)
	}, -120)
	waitJS[bool](ann, stepTimeout, "the recording bar to go", `!document.querySelector('#voice-recording')`)
	last := ann.send("That was all")
	ben.waitIncoming("That was all")
	if n := eval[int](ben, `document.querySelectorAll('#messages .att.voice-note').length`); n != 2 {
		t.Errorf("Ben's chat shows %d voice notes, want 2 (the one slid away is not sent)", n)
	}
	ann.waitState(last, "delivered", "read")

	ann.checkCSP("after recording voice notes")
	ben.checkCSP("after playing a voice note")
	phase("done")
}

// hold presses the element with the ID with a finger, runs while, slides
// the finger dx pixels sideways (if not 0), and lets go.
func (p *profile) hold(id string, while func(), dx float64) {
	p.t.Helper()
	x, y := p.centre(id)
	p.do(stepTimeout, "press #"+id, touch(input.DispatchTouchEventTypeTouchStart, x, y))
	while()
	if dx != 0 {
		p.do(stepTimeout, "slide away", touch(input.DispatchTouchEventTypeTouchMove, x+dx/2, y), touch(input.DispatchTouchEventTypeTouchMove, x+dx, y))
		waitJS[bool](p, stepTimeout, "the recording to say letting go cancels",
			`document.querySelector('#voice-recording')?.dataset.away === 'true'`)
		x += dx
	}
	p.do(stepTimeout, "let go", touch(input.DispatchTouchEventTypeTouchEnd, x, y))
}

// touch is one touch event at x, y (no point: the finger lifts).
func touch(typ input.DispatchTouchEventType, x, y float64) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		points := []*input.TouchPoint{{X: x, Y: y}}
		if typ == input.DispatchTouchEventTypeTouchEnd {
			points = []*input.TouchPoint{}
		}
		_, err := cdp.Call(ctx, t, input.DispatchTouchEvent, input.DispatchTouchEventParams{Type: typ, TouchPoints: points})
		return err
	})
}

// centre is the middle of the visible element with the ID, in CSS
// pixels of the viewport.
func (p *profile) centre(id string) (x, y float64) {
	p.t.Helper()
	c := waitJS[[]float64](p, stepTimeout, "#"+id+" to be shown", fmt.Sprintf(
		`(() => { const e = document.getElementById(%s); if (!e || !e.checkVisibility()) return null;
		  const r = e.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; })()`, js(id)))
	return c[0], c[1]
}

// eval runs a JavaScript statement for its effect.
func (p *profile) eval(expr string) {
	p.t.Helper()
	eval[bool](p, "("+expr+", true)")
}

// waitRecording waits until the recording bar shows the microphone
// recording for at least d by its timer.
func (p *profile) waitRecording(d time.Duration) {
	p.t.Helper()
	waitJS[bool](p, stepTimeout+d, fmt.Sprintf("a recording of %v", d), fmt.Sprintf(
		`(() => { const b = document.querySelector('#voice-recording'); if (!b || b.dataset.live !== 'true') return false;
		  const [m, s] = document.querySelector('#voice-timer').textContent.split(':').map(Number);
		  return m * 60 + s >= %d; })()`, int(d.Seconds())))
}

// waitVoiceNote waits for the newest voice note of the open chat among
// the messages of class cls ("msg-in", "msg-out") and returns its
// message's ID and its key.
func (p *profile) waitVoiceNote(cls string) (msg, key string) {
	p.t.Helper()
	return p.waitVoiceNoteNot(cls, "")
}

// waitVoiceNoteNot is waitVoiceNote for a note other than the one whose
// key is not.
func (p *profile) waitVoiceNoteNot(cls, not string) (msg, key string) {
	p.t.Helper()
	found := waitJS[[]string](p, messageTimeout, "a voice note", fmt.Sprintf(`(() => {
	  const notes = [...document.querySelectorAll('#messages .msg.%s .att.voice-note')].filter((n) => n.dataset.key !== %s);
	  const n = notes.pop();
	  return n ? [n.closest('.msg').dataset.id, n.dataset.key] : null;
	})()`, cls, js(not)))
	return found[0], found[1]
}

// playerLength reads the length a player shows ("0:00 / 0:03").
func (p *profile) playerLength(key string) time.Duration {
	p.t.Helper()
	text := waitJS[string](p, stepTimeout, "the player's time", fmt.Sprintf(
		`document.querySelector('.att[data-key=%q] .audio-time')?.textContent ?? ''`, key))
	_, total, _ := strings.Cut(text, " / ")
	var m, s int
	if _, err := fmt.Sscanf(total, "%d:%d", &m, &s); err != nil {
		p.fatalf("the player's time %q: %v", text, err)
	}
	return time.Duration(m*60+s) * time.Second
}

// clickPlayer clicks, with the mouse, the element sel finds in the
// player of the attachment (a person's click lets the page play sound).
func (p *profile) clickPlayer(key, sel string) {
	p.t.Helper()
	p.do(stepTimeout, "click "+sel, chromedp.Click(chromedp.CSS(fmt.Sprintf(`.att[data-key=%q] %s`, key, sel))))
}

// tapWave taps the player's waveform at frac (0 to 1) of its width.
func (p *profile) tapWave(key string, frac float64) {
	p.t.Helper()
	c := eval[[]float64](p, fmt.Sprintf(`(() => { const r = document.querySelector('.att[data-key=%q] .audio-wave').getBoundingClientRect();
	  return [r.left + r.width * %f, r.top + r.height / 2]; })()`, key, frac))
	p.do(stepTimeout, "tap the waveform", touch(input.DispatchTouchEventTypeTouchStart, c[0], c[1]), touch(input.DispatchTouchEventTypeTouchEnd, c[0], c[1]))
}
