//go:build browser

package browsertest

import (
	"context"
	"fmt"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// firstSeenScript notes in window.__mutualFirstSeen when the selector %s
// first matched, in milliseconds since navigation start. It runs at the
// start of the document, before the page's own scripts.
const firstSeenScript = `(() => {
  const observer = new MutationObserver(() => {
    if (document.querySelector(%[1]s)) {
      window.__mutualFirstSeen = performance.now();
      observer.disconnect();
    }
  });
  observer.observe(document, {childList: true, subtree: true});
})();`

// loadTime loads path as a new document and returns the time from
// navigation start until selector first matched: an element that only the
// WebAssembly app renders (the server's prerendered skeleton has none of
// the app's controls), so its first render.
func (p *profile) loadTime(path, selector string) float64 {
	p.t.Helper()
	var script page.ScriptIdentifier
	p.do(stepTimeout, "watch for "+selector, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		res, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
			Source: fmt.Sprintf(firstSeenScript, js(selector)),
		})
		script = res.Identifier
		return err
	}))
	p.open(path)
	ms := waitJS[float64](p, stepTimeout, selector+" rendered", `window.__mutualFirstSeen ?? 0`)
	p.do(stepTimeout, "stop watching", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.RemoveScriptToEvaluateOnNewDocument, page.RemoveScriptToEvaluateOnNewDocumentParams{Identifier: script})
		return err
	}))
	return ms
}

// openChatFromList clicks the chat with user in the open chats list and
// waits until its newest message is shown. It returns the UI's chat-open
// measure: from mounting the conversation to its first page on screen.
func (p *profile) openChatFromList(user, newest string) float64 {
	p.t.Helper()
	eval[bool](p, `(performance.clearMeasures('chat-open'), true)`)
	p.do(stepTimeout, "click the chat", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#chats li.chat[data-user=%q] a`, user))))
	p.waitTexts(newest)
	return waitJS[float64](p, stepTimeout, "the chat-open measure",
		`performance.getEntriesByName('chat-open', 'measure').at(-1)?.duration ?? 0`)
}

// chatLoadTime loads /chat/<user> as a new document and returns the time
// from navigation start to the UI's chat-open-done mark.
func (p *profile) chatLoadTime(user, newest string) float64 {
	p.t.Helper()
	p.open("/chat/" + user)
	p.waitTexts(newest)
	return waitJS[float64](p, stepTimeout, "the chat-open-done mark",
		`performance.getEntriesByName('chat-open-done', 'mark').at(-1)?.startTime ?? 0`)
}

// scrollBack scrolls the open conversation to its top and waits until it
// shows more than shown messages (the previous page is loaded); it returns
// how many it shows then.
func (p *profile) scrollBack(shown int) int {
	p.t.Helper()
	eval[bool](p, `(document.querySelector('#messages').scrollTop = 0, true)`)
	return waitJS[int](p, stepTimeout, "older messages on scrolling up", fmt.Sprintf(
		`(() => { const n = document.querySelectorAll('#messages .msg').length; return n > %d ? n : 0; })()`, shown))
}
