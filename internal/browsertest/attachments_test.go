//go:build browser

package browsertest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/mutualcoop/mutual/internal/wait"
)

// The people of the attachments tests.
const (
	attAnnAddress = "ann@example.org"
	attBenAddress = "ben@example.org"
)

// TestAttachments sends photos and files between two browsers, on a phone
// (360 px) and on a desktop:
//
//   - Ann attaches a photo of a few MB with the composer's button: the
//     tray shows its thumbnail, made on her device; she sends it with a
//     caption. Ben sees the thumbnail at the photo's shape, blurred, then
//     the photo itself; the time from Ann pressing Send to Ben's page
//     showing the thumbnail is logged.
//   - Ann pastes a picture and drops another on the chat: both wait in
//     the tray and go as one message. Ben opens them full screen, moves
//     with the arrow keys and a swipe, reads the caption, and closes the
//     viewer with Escape (the chat stays open).
//   - A file: Ben sees a card with its name, size and type, downloads it
//     on request and saves it; the saved file has the bytes Ann sent.
//   - A large upload on a throttled network shows its progress; Ann
//     cancels it (it pauses) and resumes it, and it arrives.
//   - Written offline, a photo waits with its upload; back online, it
//     goes and arrives.
//   - A video recorded in the page: the tray and the chat show its first
//     frame, the chat its duration and, once downloaded, a play badge;
//     it plays in the viewer.
//   - In a group, Ann's photo reaches Ben.
//
// The screenshots of the chat, the tray and the viewer are taken on the
// way, and the browser reports no violation of the app's
// Content-Security-Policy (blob: images and media).
func TestAttachments(t *testing.T) {
	start := time.Now()
	phase := func(name string) { t.Logf("[%5.1fs] %s", time.Since(start).Seconds(), name) }
	browser := chromium(t)
	app := buildApp(t)
	r := startRelay(t, app.mutual, app.web)
	shots := screenshotDir(t)
	files := t.TempDir()

	ann := newProfile(t, browser, r.url(), "ann")
	ben := newProfile(t, browser, r.url(), "ben")
	ann.watchCSP()
	ben.watchCSP()
	ann.emulate(360, 780, true, "light")
	ben.emulate(360, 780, true, "light")
	ann.register(r, attAnnAddress)
	ann.setName("Ann")
	ben.register(r, attBenAddress)
	ben.setName("Ben")
	benID := ann.addContact(attBenAddress)
	ann.openChat(benID)
	hello := ann.send("Hello Ben")
	annID := ben.requestFrom()
	ben.acceptRequest(annID)
	ann.waitState(hello, "delivered", "read")
	ben.openChat(annID)

	phase("on a phone the attach button offers photos and videos, the camera, or a file")
	ann.click("attach")
	items := waitJS[[]string](ann, stepTimeout, "the attach menu", `(() => {
	  const m = document.querySelector('#attach-menu');
	  return m?.checkVisibility() ? [...m.querySelectorAll('[role=menuitem]')].map((i) => i.innerText.trim()) : null;
	})()`)
	if strings.Join(items, "|") != "Photo or video|Camera|File" {
		t.Errorf("the attach menu offers %q", items)
	}
	for _, in := range []struct{ id, accept, capture string }{
		{"attach-media", "image/*,video/*", ""}, {"attach-camera", "image/*,video/*", "environment"}, {"attach-file", "", ""},
	} {
		got := eval[[]string](ann, fmt.Sprintf(`(() => { const i = document.getElementById(%q);
		  return [i.type, i.accept, i.getAttribute('capture') ?? '']; })()`, in.id))
		if got[0] != "file" || got[1] != in.accept || got[2] != in.capture {
			t.Errorf("#%s is %q, want a file input accepting %q with capture %q", in.id, got, in.accept, in.capture)
		}
	}
	ann.do(stepTimeout, "press Escape in the menu", chromedp.KeyEvent(kb.Escape))
	waitJS[bool](ann, stepTimeout, "the menu to close", `!document.querySelector('#attach-menu')`)
	if path := eval[string](ann, `location.pathname`); path != "/chat/"+benID {
		t.Errorf("after Escape closed the attach menu the app is at %s, want the chat", path)
	}

	phase("a photo from the attach button, with a caption")
	beach, _ := writePhoto(t, files, "beach.jpg", 2400, 1800)
	ann.attach(beach)
	ann.waitTray("beach.jpg")
	if !eval[bool](ann, `!!document.querySelector('#attach-tray .tray-item[data-name="beach.jpg"] img.tray-thumb')`) {
		t.Errorf("the tray shows no thumbnail of the photo")
	}
	ann.checkFit("a chat with a photo in the tray")
	saveScreenshot(t, shots, "attachments-tray-phone.png", ann.screenshot())
	ann.fill("composer", "The beach")
	sent := time.Now()
	ann.click("send")
	photoMsg, key := ann.waitAttachment("msg-out", "beach.jpg", "The beach")
	ann.waitNoTray()
	ben.waitThumbnail(key)
	thumbAt := time.Since(sent)
	ben.waitPhoto(key)
	t.Logf("a %s photo: %v from Send to the thumbnail on the recipient's page, %v to the photo", sizeOf(t, beach), thumbAt.Round(time.Millisecond), time.Since(sent).Round(time.Millisecond))
	if got := eval[string](ben, fmt.Sprintf(`getComputedStyle(document.querySelector('.att[data-key=%q]')).aspectRatio`, key)); got != "2400 / 1800" {
		t.Errorf("the photo's space is %q, want 2400 / 1800 (its shape, reserved before it loads)", got)
	}
	if got := eval[string](ben, fmt.Sprintf(`document.querySelector('.att[data-key=%q] img').naturalWidth + 'x' + document.querySelector('.att[data-key=%q] img').naturalHeight`, key, key)); got != "2400x1800" {
		t.Errorf("the photo shown is %s, want 2400x1800", got)
	}
	ann.waitTransfer(key, "local")
	ann.waitState(photoMsg, "delivered", "read")

	phase("a pasted picture and a dropped one, sent as one message")
	ann.pastePicture("pasted.png", "#d94f30")
	ann.dropPicture("dropped.png", "#2f6fd9")
	ann.waitTray("pasted.png", "dropped.png")
	ann.fill("composer", "Two more")
	ann.click("send")
	_, pasted := ann.waitAttachment("msg-out", "pasted.png", "Two more")
	_, dropped := ann.waitAttachment("msg-out", "dropped.png", "Two more")
	ben.waitAttachment("msg-in", "pasted.png", "Two more")
	ben.waitPhoto(pasted)
	ben.waitPhoto(dropped)
	ann.checkFit("a chat with photos")
	saveScreenshot(t, shots, "attachments-chat-phone.png", ben.screenshot())

	phase("the viewer on a phone: arrow keys, a swipe, the caption, Escape")
	ben.openViewer(dropped)
	ben.waitViewer(dropped, "3 of 3", "Two more")
	ben.do(stepTimeout, "press the left arrow", chromedp.KeyEvent(kb.ArrowLeft))
	ben.waitViewer(pasted, "2 of 3", "Two more")
	ben.do(stepTimeout, "press the left arrow", chromedp.KeyEvent(kb.ArrowLeft))
	ben.waitViewer(key, "1 of 3", "The beach")
	ben.checkViewerFits()
	saveScreenshot(t, shots, "attachments-viewer-phone.png", ben.screenshot())
	ben.swipe(-120)
	ben.waitViewer(pasted, "2 of 3", "Two more")
	if href := eval[string](ben, `document.querySelector('#viewer-save')?.getAttribute('download') ?? ''`); href != "pasted.png" {
		t.Errorf("the viewer saves the photo as %q, want pasted.png", href)
	}
	ben.do(stepTimeout, "press Escape", chromedp.KeyEvent(kb.Escape))
	waitJS[bool](ben, stepTimeout, "the viewer to close", `!document.querySelector('#viewer')`)
	if path := eval[string](ben, `location.pathname`); path != "/chat/"+annID {
		t.Errorf("after Escape closed the viewer the app is at %s, want the chat", path)
	}

	phase("a file, downloaded on request and saved")
	notes, notesSum := writeRandom(t, files, "notes.pdf", 300_000)
	ann.attach(notes)
	ann.waitTray("notes.pdf")
	ann.click("send")
	_, fkey := ben.waitAttachment("msg-in", "notes.pdf", "")
	card := ben.attText(fkey)
	if !strings.Contains(card, "notes.pdf") || !strings.Contains(card, "300 KB · PDF") {
		t.Errorf("the file's card says %q, want its name, size and type", card)
	}
	ben.waitTransfer(fkey, "remote")
	downloads := t.TempDir()
	ben.saveDownloadsTo(downloads)
	ben.clickIn(fkey, ".att-download")
	ben.waitTransfer(fkey, "local")
	ben.clickIn(fkey, ".att-save")
	if got := waitFile(t, filepath.Join(downloads, "notes.pdf"), 300_000); got != notesSum {
		t.Errorf("the saved file differs from the one sent")
	}

	phase("progress, cancel and resume on a throttled upload")
	slides, _ := writeRandom(t, files, "slides.key", 10<<20)
	ann.throttleBlobs(r, 1<<20)
	ann.attach(slides)
	ann.waitTray("slides.key")
	ann.click("send")
	big, bkey := ann.waitAttachment("msg-out", "slides.key", "")
	ann.waitTransfer(bkey, "uploading")
	// The relay takes the file in parts of a few MiB: the bar moves
	// when the first is in.
	seen := waitJS[int](ann, messageTimeout, "the upload's progress bar to move", fmt.Sprintf(`(() => {
	  const a = document.querySelector('.att[data-key=%q]');
	  const p = +(a?.querySelector('[role=progressbar]')?.getAttribute('aria-valuenow') ?? 0);
	  return p > 0 && a.innerText.includes(p + '%%') ? p : 0;
	})()`, bkey))
	if seen <= 0 || seen >= 100 {
		t.Errorf("the upload's progress bar says %d%% while it uploads", seen)
	}
	ann.clickIn(bkey, ".att-cancel")
	ann.waitTransfer(bkey, "paused")
	if s := ann.messageState(big); s != "sending" {
		t.Errorf("a message whose upload is paused is %q, want sending", s)
	}
	ann.clickIn(bkey, ".att-retry")
	ann.waitTransfer(bkey, "uploading")
	ann.throttleBlobs(r, 0)
	ann.waitTransfer(bkey, "local")
	ben.waitAttachment("msg-in", "slides.key", "")
	ben.waitTransfer(bkey, "remote")

	phase("a photo written offline goes once back online")
	ann.waitWorkerReady()
	ann.setOffline(true)
	ann.waitNotOnline()
	night, _ := writePhoto(t, files, "night.jpg", 800, 600)
	ann.attach(night)
	ann.waitTray("night.jpg")
	ann.fill("composer", "Written offline")
	ann.click("send")
	off, okey := ann.waitAttachment("msg-out", "night.jpg", "Written offline")
	ann.waitTransfer(okey, "uploading")
	if s := ann.messageState(off); s != "sending" {
		t.Errorf("a photo written offline is %q, want sending", s)
	}
	ann.setOffline(false)
	ann.waitOnline()
	ann.waitTransfer(okey, "local")
	ben.waitAttachment("msg-in", "night.jpg", "Written offline")
	ben.waitPhoto(okey)

	phase("on a desktop: the chat and the viewer's buttons")
	ben.emulate(1280, 800, false, "light")
	ben.openChat(annID)
	ben.waitPhoto(okey)
	saveScreenshot(t, shots, "attachments-chat-desktop.png", ben.screenshot())
	ben.openViewer(key)
	ben.waitViewer(key, "1 of 4", "The beach")
	ben.click("viewer-next")
	ben.waitViewer(pasted, "2 of 4", "Two more")
	ben.click("viewer-close")
	waitJS[bool](ben, stepTimeout, "the viewer to close", `!document.querySelector('#viewer')`)

	phase("a video: its first frame, a play badge and its duration; it plays in the viewer")
	ann.openChat(benID)
	ann.dropVideo("clip.webm")
	ann.waitTray("clip.webm")
	waitJS[bool](ann, stepTimeout, "the video's thumbnail in the tray",
		`!!document.querySelector('#attach-tray .tray-item[data-name="clip.webm"] img.tray-thumb')`)
	ann.click("send")
	_, vkey := ann.waitAttachment("msg-out", "clip.webm", "")
	ben.waitAttachment("msg-in", "clip.webm", "")
	ben.waitThumbnail(vkey)
	if got := eval[string](ben, fmt.Sprintf(`document.querySelector('.att-video[data-key=%q] .att-duration')?.innerText ?? ''`, vkey)); got != "0:01" && got != "0:02" {
		t.Errorf("the video says it lasts %q, want about 0:01", got)
	}
	ben.waitTransfer(vkey, "remote")
	ben.clickIn(vkey, ".att-download")
	ben.waitTransfer(vkey, "local")
	if !eval[bool](ben, fmt.Sprintf(`!!document.querySelector('.att-video[data-key=%q] .att-open .att-play')`, vkey)) {
		t.Errorf("the downloaded video has no play badge")
	}
	ben.openViewer(vkey)
	waitJS[bool](ben, messageTimeout, "the video in the viewer", `(() => {
	  const v = document.querySelector('dialog#viewer[open] #viewer-video');
	  return !!v && v.src.startsWith('blob:') && !v.error && v.readyState >= 1 && v.duration > 0;
	})()`)
	ben.do(stepTimeout, "press Escape", chromedp.KeyEvent(kb.Escape))
	waitJS[bool](ben, stepTimeout, "the viewer to close", `!document.querySelector('#viewer')`)

	phase("a photo in a group")
	ann.emulate(1280, 800, false, "light")
	ann.goTo("/")
	ann.click("new-group")
	waitJS[bool](ann, stepTimeout, "the new group page", `location.pathname === '/new-group' && !!document.querySelector('#pick-list')`)
	ann.chooseGroup("Trip", benID)
	groupID := ann.submitGroup()
	park, _ := writePhoto(t, files, "park.jpg", 1200, 1600)
	ann.attach(park)
	ann.waitTray("park.jpg")
	ann.fill("composer", "For the group")
	ann.click("send")
	_, gkey := ann.waitAttachment("msg-out", "park.jpg", "For the group")
	ben.openGroup(groupID)
	ben.waitAttachment("msg-in", "park.jpg", "For the group")
	ben.waitPhoto(gkey)

	ann.checkCSP("after sending attachments")
	ben.checkCSP("after receiving attachments")
	phase("done")
}

// TestAttachmentThroughput measures the upload of a 100 MiB file from the
// web app, encryption in the WebAssembly client included: from Send to
// the file copied on the device (the message shows uploading), and to
// the last byte on the relay. The figures are logged, not asserted.
func TestAttachmentThroughput(t *testing.T) {
	if testing.Short() {
		t.Skip("a 100 MiB upload is slow")
	}
	browser := chromium(t)
	app := buildApp(t)
	r := startRelay(t, app.mutual, app.web)
	files := t.TempDir()
	ann := newProfile(t, browser, r.url(), "ann")
	ben := newProfile(t, browser, r.url(), "ben")
	ann.register(r, attAnnAddress)
	ben.register(r, attBenAddress)
	benID := ann.addContact(attBenAddress)
	ann.openChat(benID)
	ann.send("Hello Ben")
	ben.acceptRequest(ben.requestFrom())

	const size = 100 << 20
	path, _ := writeRandom(t, files, "archive.bin", size)
	ann.attach(path)
	ann.waitTray("archive.bin")
	sent := time.Now()
	ann.click("send")
	_, key := ann.waitAttachment("msg-out", "archive.bin", "")
	stored := time.Since(sent)
	waitJS[bool](ann, 20*time.Minute, "the 100 MiB upload",
		fmt.Sprintf(`document.querySelector('.att[data-key=%q]')?.dataset.transfer === 'local'`, key))
	total := time.Since(sent)
	mib := float64(size) / (1 << 20)
	t.Logf("100 MiB from the web app: copied on the device in %v; uploaded (encrypted in WebAssembly) in %v from Send: %.1f MiB/s overall, %.1f MiB/s after the copy",
		stored.Round(time.Millisecond), total.Round(time.Millisecond), mib/total.Seconds(), mib/(total-stored).Seconds())
}

// attach chooses files in the composer's attach input, as the file
// chooser does.
func (p *profile) attach(paths ...string) {
	p.t.Helper()
	p.do(stepTimeout, "choose "+strings.Join(paths, ", "), chromedp.SetUploadFiles(chromedp.ID("attach-file"), paths))
}

// waitTray waits until the tray lists the files by name, with the
// thumbnails of the photos made.
func (p *profile) waitTray(names ...string) {
	p.t.Helper()
	waitJS[bool](p, stepTimeout, fmt.Sprintf("the tray with %q", names), fmt.Sprintf(`(() => {
	  const items = [...document.querySelectorAll('#attach-tray .tray-item')];
	  return %s.every((n) => items.some((i) => i.dataset.name === n &&
	    (!/\.(jpe?g|png)$/.test(n) || !!i.querySelector('img.tray-thumb'))));
	})()`, jsList(names)))
}

// waitNoTray waits until the tray is gone.
func (p *profile) waitNoTray() {
	p.t.Helper()
	waitJS[bool](p, messageTimeout, "the tray to empty", `!document.querySelector('#attach-tray')`)
}

// jsList is a JavaScript array literal of strings.
func jsList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = js(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// waitAttachment waits for the newest message of class cls (msg-out,
// msg-in) with an attachment named name and the caption, and returns
// the message's ID and the attachment's data-key (the same on both
// sides: the author, the message, the attachment's place in it).
func (p *profile) waitAttachment(cls, name, caption string) (msg, key string) {
	p.t.Helper()
	found := waitJS[[]string](p, messageTimeout, fmt.Sprintf("the message %q with %s", caption, name), fmt.Sprintf(`(() => {
	  const m = [...document.querySelectorAll('#messages .msg.%s')].reverse().find((m) =>
	    `+msgTextJS+`(m) === %s && !!m.querySelector('.attachments > .att[data-name=' + CSS.escape(%s) + ']'));
	  return m ? [m.dataset.id, m.querySelector('.attachments > .att[data-name=' + CSS.escape(%s) + ']').dataset.key] : null;
	})()`, cls, js(caption), js(name), js(name)))
	return found[0], found[1]
}

// waitThumbnail waits until the attachment shows a picture: its
// thumbnail or itself.
func (p *profile) waitThumbnail(key string) {
	p.t.Helper()
	waitJS[bool](p, messageTimeout, "the thumbnail of "+key, fmt.Sprintf(`(() => {
	  const img = document.querySelector('.att[data-key=%q] img.att-img');
	  return !!img && img.complete && img.naturalWidth > 0;
	})()`, key))
}

// attText is what an attachment says.
func (p *profile) attText(key string) string {
	p.t.Helper()
	return eval[string](p, fmt.Sprintf(`document.querySelector('.att[data-key=%q]')?.innerText ?? ''`, key))
}

// waitTransfer waits until the attachment's transfer is in the state.
func (p *profile) waitTransfer(key, state string) {
	p.t.Helper()
	waitJS[bool](p, messageTimeout, "the attachment "+state, fmt.Sprintf(
		`document.querySelector('.att[data-key=%q]')?.dataset.transfer === %q`, key, state))
}

// waitPhoto waits until the photo shows itself, not its thumbnail: from
// a blob: URL, decoded.
func (p *profile) waitPhoto(key string) {
	p.t.Helper()
	waitJS[bool](p, messageTimeout, "the photo "+key, fmt.Sprintf(`(() => {
	  const a = document.querySelector('.att[data-key=%q]');
	  const img = a?.querySelector('img.att-img');
	  return !!img && !a.classList.contains('att-blurred') && !img.classList.contains('att-thumb') &&
	    img.src.startsWith('blob:') && img.complete && img.naturalWidth > 0;
	})()`, key))
}

// clickIn clicks the button matching sel in the attachment.
func (p *profile) clickIn(key, sel string) {
	p.t.Helper()
	waitJS[bool](p, messageTimeout, "to click "+sel+" of "+key, fmt.Sprintf(
		`(() => { const b = document.querySelector('.att[data-key=%q] %s'); if (!b || b.disabled) return false; b.click(); return true; })()`, key, sel))
}

// openViewer opens the viewer on a photo.
func (p *profile) openViewer(key string) {
	p.t.Helper()
	p.clickIn(key, ".att-open")
	waitJS[bool](p, stepTimeout, "the viewer", `!!document.querySelector('dialog#viewer[open]')`)
}

// waitViewer waits until the viewer shows the photo, decoded, with its
// place among the chat's photos and its caption, the focus inside it.
func (p *profile) waitViewer(key, count, caption string) {
	p.t.Helper()
	waitJS[bool](p, messageTimeout, fmt.Sprintf("the viewer on %s (%s)", key, count), fmt.Sprintf(`(() => {
	  const v = document.querySelector('dialog#viewer[open]');
	  const img = v?.querySelector('#viewer-image');
	  return v?.dataset.key === %q && v.querySelector('#viewer-count')?.innerText === %q &&
	    (v.querySelector('#viewer-caption')?.innerText ?? '') === %q &&
	    !!img && img.complete && img.naturalWidth > 0 && v.contains(document.activeElement);
	})()`, key, count, caption))
}

// checkViewerFits checks that the viewer covers the screen and the photo
// fits in it.
func (p *profile) checkViewerFits() {
	p.t.Helper()
	bad := eval[string](p, `(() => {
	  const v = document.querySelector('#viewer').getBoundingClientRect();
	  const i = document.querySelector('#viewer-image').getBoundingClientRect();
	  if (Math.round(v.width) !== innerWidth || Math.round(v.height) !== innerHeight) return 'the viewer is ' + v.width + 'x' + v.height;
	  if (i.left < -1 || i.right > innerWidth + 1 || i.top < -1 || i.bottom > innerHeight + 1) return 'the photo is at ' + JSON.stringify(i);
	  return '';
	})()`)
	if bad != "" {
		p.t.Errorf("the viewer does not fit the screen: %s", bad)
	}
}

// swipe moves a finger sideways by dx pixels across the viewer.
func (p *profile) swipe(dx int) {
	p.t.Helper()
	eval[bool](p, fmt.Sprintf(`(() => {
	  const v = document.querySelector('#viewer');
	  const at = (x) => [new Touch({identifier: 1, target: v, clientX: x, clientY: 300})];
	  v.dispatchEvent(new TouchEvent('touchstart', {touches: at(200), changedTouches: at(200), bubbles: true}));
	  v.dispatchEvent(new TouchEvent('touchend', {touches: [], changedTouches: at(200 + %d), bubbles: true}));
	  return true;
	})()`, dx))
}

// pictureJS makes a picture File named name of one colour, drawn on a
// canvas, in a DataTransfer called dt.
func pictureJS(name, colour string) string {
	return fmt.Sprintf(`const c = document.createElement('canvas'); c.width = 640; c.height = 480;
	  const g = c.getContext('2d'); g.fillStyle = %s; g.fillRect(0, 0, 640, 480);
	  g.fillStyle = '#fff'; g.fillRect(40, 40, 200, 120);
	  const blob = await new Promise((ok) => c.toBlob(ok, 'image/png'));
	  const dt = new DataTransfer();
	  dt.items.add(new File([blob], %s, {type: 'image/png'}));`, js(colour), js(name))
}

// pastePicture pastes a picture into the composer, as pasting a
// screenshot does; the paste must not be left to the browser.
func (p *profile) pastePicture(name, colour string) {
	p.t.Helper()
	if left := eval[bool](p, `(async () => { `+pictureJS(name, colour)+`
	  return document.querySelector('#composer').dispatchEvent(new ClipboardEvent('paste', {clipboardData: dt, bubbles: true, cancelable: true}));
	})()`); left {
		p.t.Errorf("a pasted picture is left to the browser")
	}
}

// dropPicture drags a picture over the chat and drops it there; neither
// may be left to the browser, which would open the file in place of the
// app.
func (p *profile) dropPicture(name, colour string) {
	p.t.Helper()
	if left := eval[bool](p, `(async () => { `+pictureJS(name, colour)+`
	  const m = document.querySelector('#messages');
	  const over = m.dispatchEvent(new DragEvent('dragover', {dataTransfer: dt, bubbles: true, cancelable: true}));
	  const drop = m.dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
	  return over || drop;
	})()`); left {
		p.t.Errorf("a picture dropped on the chat is left to the browser")
	}
}

// dropVideo records a short video of a changing colour on a canvas
// (MediaRecorder, WebM) and drops it on the chat.
func (p *profile) dropVideo(name string) {
	p.t.Helper()
	eval[bool](p, fmt.Sprintf(`(async () => {
	  const c = document.createElement('canvas'); c.width = 320; c.height = 180;
	  const g = c.getContext('2d');
	  const rec = new MediaRecorder(c.captureStream(30), {mimeType: 'video/webm'});
	  const parts = [];
	  rec.ondataavailable = (e) => parts.push(e.data);
	  const stopped = new Promise((ok) => { rec.onstop = ok; });
	  rec.start();
	  for (let f = 0; f < 40; f++) {
	    g.fillStyle = 'hsl(' + f * 9 + ', 70%%, 50%%)'; g.fillRect(0, 0, 320, 180);
	    await new Promise((ok) => setTimeout(ok, 33));
	  }
	  rec.stop();
	  await stopped;
	  const dt = new DataTransfer();
	  dt.items.add(new File(parts, %s, {type: 'video/webm'}));
	  const m = document.querySelector('#messages');
	  m.dispatchEvent(new DragEvent('dragover', {dataTransfer: dt, bubbles: true, cancelable: true}));
	  m.dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
	  return true;
	})()`, js(name)))
}

// saveDownloadsTo has the browser save downloads in dir.
func (p *profile) saveDownloadsTo(dir string) {
	p.t.Helper()
	p.do(stepTimeout, "save downloads", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir,
		})
		return err
	}))
}

// throttleBlobs limits the page's uploads of attachments to the relay to
// bytesPerSecond; 0 lifts the limit.
func (p *profile) throttleBlobs(r *relay, bytesPerSecond float64) {
	p.t.Helper()
	p.do(stepTimeout, "throttle the uploads", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		var conds []*network.Conditions
		if bytesPerSecond > 0 {
			conds = []*network.Conditions{{
				URLPattern:         r.url() + "/v1/blobs/*",
				UploadThroughput:   bytesPerSecond,
				DownloadThroughput: -1,
			}}
		}
		_, err := cdp.Call(ctx, t, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
			MatchedNetworkConditions: conds,
		})
		return err
	}))
}

// waitFile waits until the browser has saved a file of size bytes at
// path, and returns its SHA-256.
func waitFile(t *testing.T, path string, size int64) [32]byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), messageTimeout)
	defer cancel()
	if err := wait.Until(ctx, func() bool {
		fi, err := os.Stat(path)
		return err == nil && fi.Size() == size
	}); err != nil {
		t.Fatalf("the browser did not save %s: %v", filepath.Base(path), err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// writePhoto writes a JPEG photo of w×h pixels (soft colours with a
// strong grain: 2400×1800 makes about 3 MB) and returns its path and
// SHA-256.
func writePhoto(t *testing.T, dir, name string, w, h int) (string, [32]byte) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(uint64(w), uint64(h)))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x*150/w + rng.IntN(100)), uint8(y*150/h + rng.IntN(100)), uint8(100 + rng.IntN(100)), 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 92}); err != nil {
		t.Fatal(err)
	}
	return writeBytes(t, dir, name, buf.Bytes())
}

// writeRandom writes size random bytes and returns the file's path and
// SHA-256.
func writeRandom(t *testing.T, dir, name string, size int) (string, [32]byte) {
	t.Helper()
	b := make([]byte, size)
	rng := rand.New(rand.NewPCG(uint64(size), 7))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return writeBytes(t, dir, name, b)
}

func writeBytes(t *testing.T, dir, name string, b []byte) (string, [32]byte) {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, sha256.Sum256(b)
}

// sizeOf is a file's size in MB, for the log.
func sizeOf(t *testing.T, path string) string {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%.1f MB", float64(fi.Size())/1e6)
}
