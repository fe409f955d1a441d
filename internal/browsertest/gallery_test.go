//go:build browser

package browsertest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The people of the gallery test.
const (
	galleryAnnAddress = "ann@example.org"
	galleryBenAddress = "ben@example.org"
)

// TestGallery follows a chat's media on phones (360 px wide):
//
//   - Ann sends Ben a photo, a file and a voice note. The chat's header
//     links to its gallery, which lists them newest first: the photo as
//     a thumbnail in the grid, which opens the viewer, the file in the
//     list with its card, the voice note with its player; on Ann's side
//     too, as hers.
//   - Ben's settings say how much media his device keeps and under what
//     limit; he lowers the limit (it stays after a reload) and clears the
//     cached media, after a question: the photo in the chat goes back to
//     a download button, and downloads again.
func TestGallery(t *testing.T) {
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
	ann.register(r, galleryAnnAddress)
	ann.setName("Ann")
	ben.register(r, galleryBenAddress)
	ben.setName("Ben")
	benID := ann.addContact(galleryBenAddress)
	ann.openChat(benID)
	hello := ann.send("Hello Ben")
	annID := ben.requestFrom()
	ben.acceptRequest(annID)
	ann.waitState(hello, "delivered", "read")
	ben.openChat(annID)

	phase("Ann sends a photo, a file and a voice note")
	lake, _ := writePhoto(t, files, "lake.jpg", 1600, 1200)
	ann.attach(lake)
	ann.waitTray("lake.jpg")
	ann.fill("composer", "The lake")
	ann.click("send")
	_, photo := ann.waitAttachment("msg-out", "lake.jpg", "The lake")
	plan, _ := writeRandom(t, files, "plan.pdf", 200_000)
	ann.attach(plan)
	ann.waitTray("plan.pdf")
	ann.click("send")
	_, file := ann.waitAttachment("msg-out", "plan.pdf", "")
	ann.waitTransfer(photo, "local")
	ann.waitTransfer(file, "local")
	ann.click("voice-mic")
	ann.waitRecording(2 * time.Second)
	ann.click("voice-send")
	_, voice := ann.waitVoiceNote("msg-out")
	ann.waitTransfer(voice, "local")
	ben.waitVoiceNote("msg-in")
	ben.waitPhoto(photo)
	ben.waitTransfer(voice, "local")

	phase("Ben's gallery")
	ben.click("chat-media")
	ben.waitGallery(photo, file, voice)
	if got := eval[string](ben, `document.querySelector('#gallery h1').innerText`); got != "Media of Ann" {
		t.Errorf("the gallery is titled %q", got)
	}
	if got := eval[string](ben, fmt.Sprintf(`document.querySelector('#gallery-files .att[data-key=%q]').innerText`, file)); !strings.Contains(got, "plan.pdf") {
		t.Errorf("the gallery's file says %q, want its name", got)
	}
	if !eval[bool](ben, fmt.Sprintf(`!!document.querySelector('#gallery-audio .att.voice-note[data-key=%q] .wave-bar')`, voice)) {
		t.Errorf("the gallery's voice note has no waveform")
	}
	ben.checkFit("the gallery")
	saveScreenshot(t, shots, "gallery-phone.png", ben.screenshot())
	ben.clickSel(fmt.Sprintf(`#gallery-media .media-tile[data-key=%q] .media-open`, photo))
	ben.waitViewer(photo, "1 of 1", "The lake")
	ben.do(stepTimeout, "press Escape", chromedp.KeyEvent(kb.Escape))
	waitJS[bool](ben, stepTimeout, "the viewer to close", `!document.querySelector('#viewer')`)
	if path := eval[string](ben, `location.pathname`); path != "/chat/"+annID+"/media" {
		t.Errorf("after the viewer closed the app is at %s, want the gallery", path)
	}

	phase("Ann's gallery, from a link")
	ann.goTo("/chat/" + benID + "/media")
	ann.waitGallery(photo, file, voice)
	if got := eval[string](ann, `document.querySelector('#gallery-audio .media-sub')?.innerText ?? ''`); !strings.HasPrefix(got, "You") {
		t.Errorf("Ann's gallery says her voice note is from %q, want You", got)
	}

	phase("Ben's storage: the limit, and clearing")
	ben.goTo("/settings")
	used := ben.mediaUsage()
	if used < 200_000 {
		t.Errorf("the settings say the device keeps %d bytes of media, want at least the photo, the file and the note", used)
	}
	if got := eval[string](ben, `document.querySelector('#media-limit').selectedOptions[0].innerText`); got != "1 GB" {
		t.Errorf("the default limit shows as %q, want 1 GB", got)
	}
	ben.eval(`document.querySelector('#storage').scrollIntoView({block: 'center'})`)
	ben.checkFit("the storage settings")
	saveScreenshot(t, shots, "settings-storage-phone.png", ben.screenshot())
	ben.do(stepTimeout, "choose 250 MB", chromedp.SetValue(chromedp.ID("media-limit"), fmt.Sprint(250<<20)))
	ben.eval(`document.querySelector('#media-limit').dispatchEvent(new Event('change', {bubbles: true}))`)
	waitJS[bool](ben, stepTimeout, "the new limit", `document.querySelector('#media-usage').innerText.endsWith('of 250 MB') && !document.querySelector('#media-limit').disabled`)
	ben.reload()
	waitJS[bool](ben, stepTimeout, "the limit after a reload", `document.querySelector('#media-usage')?.innerText.endsWith('of 250 MB')`)
	ben.click("clear-media")
	waitJS[bool](ben, stepTimeout, "the question", `!!document.querySelector('dialog#confirm-dialog[open] #confirm-clear-media')`)
	if text := eval[string](ben, `document.querySelector('#confirm-text').innerText`); !strings.Contains(text, "download them again") {
		t.Errorf("the question says %q, without saying they can be downloaded again", text)
	}
	ben.click("confirm-clear-media")
	waitJS[bool](ben, stepTimeout, "the media to be cleared", fmt.Sprintf(
		`Number(document.querySelector('#media-usage').dataset.bytes) < %d && document.querySelector('#storage [role=status]')?.innerText === 'Cached media cleared.'`, used/10))

	phase("the photo downloads again")
	ben.openChat(annID)
	ben.waitTransfer(photo, "remote")
	ben.clickIn(photo, ".att-download")
	ben.waitTransfer(photo, "local")
	ben.waitPhoto(photo)

	ann.checkCSP("after the gallery")
	ben.checkCSP("after the gallery and the storage settings")
	phase("done")
}

// waitGallery waits until the open gallery lists the photo in its grid,
// with its thumbnail, the file and the voice note in their lists.
func (p *profile) waitGallery(photo, file, voice string) {
	p.t.Helper()
	waitJS[bool](p, messageTimeout, "the gallery", fmt.Sprintf(`(() => {
	  const tile = document.querySelector('#gallery-media .media-tile[data-key=%q]');
	  return location.pathname.endsWith('/media') && !!tile?.querySelector('img.media-thumb') &&
	    !!document.querySelector('#gallery-files .att[data-key=%q]') &&
	    !!document.querySelector('#gallery-audio .att[data-key=%q]');
	})()`, photo, file, voice))
	if n := eval[int](p, `document.querySelectorAll('#gallery-media .media-tile, #gallery-files .att, #gallery-audio .att').length`); n != 3 {
		p.t.Errorf("%s's gallery lists %d items, want 3", p.name, n)
	}
}

// mediaUsage waits until the storage settings say how many bytes of
// media the device keeps, and returns it.
func (p *profile) mediaUsage() int {
	p.t.Helper()
	return waitJS[int](p, messageTimeout, "the media on the device", `(() => {
	  const u = document.querySelector('#media-usage'); if (!u || u.innerText === '…') return 0;
	  return Number(u.dataset.bytes); })()`)
}
