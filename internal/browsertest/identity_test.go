//go:build browser

package browsertest

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestIdentity: who writes is shown by the address their account is
// registered under, confirmed end to end. Ann registers as
// Ann-UX@Example.ORG; Ben finds her typing her address in lower case (and
// is told she is already a contact when he types it again in another
// case). Ann's request from Ben shows his confirmed address and "Not in
// your contacts", on a phone and on a desktop, the domain never cut off;
// once she accepts, the chat header and the chats list show his name and
// address. Ann signs out of her only device and in again: her contacts
// come back from the relay as bare IDs, and show names and addresses
// again once Ben writes (his device meets her new one, and sends his
// profile again after he accepts her new safety number).
func TestIdentity(t *testing.T) {
	browser := chromium(t)
	app := buildApp(t)
	r := startRelay(t, app.mutual, app.web)
	dir := screenshotDir(t)

	ann := newProfile(t, browser, r.url(), "ann")
	ben := newProfile(t, browser, r.url(), "ben")
	const annTyped, benAddress = "Ann-UX@Example.ORG", "ben@example.org"
	ann.register(r, annTyped)
	ann.setName("Ann")
	ben.register(r, benAddress)
	ben.setName("Ben")

	// Ben finds Ann in lower case; again in another case, she is already
	// his contact.
	annID := ben.addContact("ann-ux@example.org")
	ben.fill("contact-address", "ANN-UX@example.org")
	ben.do(stepTimeout, "add ann again", chromedp.Click(chromedp.ID("add-contact")))
	waitJS[bool](ben, stepTimeout, "already a contact",
		`(document.querySelector('#contacts-already')?.innerText ?? '').includes('is already a contact')`)
	if n := eval[int](ben, `document.querySelectorAll('#contacts li.contact').length`); n != 1 {
		t.Errorf("after adding Ann twice Ben has %d contacts, want 1", n)
	}
	ben.openChat(annID)
	ben.send("Hello Ann, it's Ben")

	// Ann's request: Ben's confirmed address, not in her contacts.
	benID := ann.requestFrom()
	request := fmt.Sprintf(`document.querySelector('#requests li.request[data-user=%q]')`, benID)
	for _, size := range []struct {
		name          string
		width, height int64
		mobile        bool
	}{
		{"phone", 360, 780, true},
		{"desktop", 1280, 800, false},
	} {
		ann.emulate(size.width, size.height, size.mobile, "light")
		ann.goTo("/contacts")
		// He has no name here yet (a name goes only to contacts): his
		// request is named by his address.
		waitJS[bool](ann, messageTimeout, "Ben's confirmed address on his request ("+size.name+")", request+
			`?.querySelector('.person-name .address')?.textContent === `+js(benAddress)+
			` && `+request+`.querySelector('.badge-stranger')?.innerText === 'Not in your contacts'`)
		ann.checkWhole(size.name+": the domain of Ben's address on his request", request+`.querySelector('.address-domain')`)
		if size.name == "phone" {
			saveScreenshot(t, dir, "request-phone.png", ann.screenshot())
		}
	}

	// Accepted: the chat header shows his name and address.
	ann.acceptRequest(benID)
	ann.openChat(benID)
	ann.waitHeader("Ben", benAddress)
	ann.checkWhole("desktop: the domain in the chat header", `document.querySelector('#chat-identity .address-domain')`)
	ann.emulate(360, 780, true, "light")
	ann.waitHeader("Ben", benAddress)
	ann.checkWhole("phone: the domain in the chat header", `document.querySelector('#chat-identity .address-domain')`)
	saveScreenshot(t, dir, "chat-header-phone.png", ann.screenshot())
	ann.goTo("/")
	waitJS[bool](ann, stepTimeout, "Ben's address under his name in the chats list", fmt.Sprintf(
		`document.querySelector('#chats li.chat[data-user=%q] .chat-address .address')?.textContent === %s`, benID, js(benAddress)))

	// Ann signs out of her only device and in again.
	ann.emulate(1280, 800, false, "light")
	ann.goTo("/settings")
	ann.askSignOut()
	ann.do(stepTimeout, "confirm signing out", chromedp.Click(chromedp.ID("confirm-sign-out")))
	ann.waitOnboarding("onboarding after signing out")
	ann.signInAgain(r, annTyped)
	ann.goTo("/contacts")
	contact := fmt.Sprintf(`document.querySelector('#contacts li.contact[data-user=%q]')`, benID)
	waitJS[bool](ann, messageTimeout, "Ben among her contacts again, from the relay", `!!`+contact)

	// Ben writes; his message waits until he accepts her new safety
	// number, then goes with his profile.
	ben.openChat(annID)
	ben.send("Are you back?")
	ben.do(messageTimeout, "the changed safety number", chromedp.WaitVisible(chromedp.CSS(`.conv-banner a.button`)))
	ben.goTo("/safety/" + annID)
	ben.do(messageTimeout, "accept Ann's new safety number",
		chromedp.WaitVisible(chromedp.ID("accept-identity")),
		chromedp.Click(chromedp.ID("accept-identity")),
	)
	waitJS[bool](ann, messageTimeout, "Ben's name and address on her new device", contact+
		`?.querySelector('.person-name')?.innerText === 'Ben' && `+contact+
		`.querySelector('.person-sub .address')?.textContent === `+js(benAddress))
	ann.openChat(benID)
	ann.waitIncoming("Are you back?")
	ann.waitHeader("Ben", benAddress)
}

// waitHeader waits until the open conversation's header shows name and,
// under it, the confirmed address.
func (p *profile) waitHeader(name, address string) {
	p.t.Helper()
	waitJS[bool](p, messageTimeout, "the chat header to show "+name+" and "+address,
		`document.querySelector('#chat-title')?.innerText === `+js(name)+
			` && document.querySelector('#chat-identity .address')?.textContent === `+js(address))
}

// checkWhole checks that the element the expression finds is on screen
// whole: inside the viewport and not clipped by any ancestor that hides
// its overflow, and its own text not cut short.
func (p *profile) checkWhole(what, expr string) {
	p.t.Helper()
	why := eval[string](p, `((el) => {
	  if (!el) return 'not found';
	  const r = el.getBoundingClientRect();
	  if (r.width === 0 || r.height === 0) return 'not shown';
	  if (r.left < -0.5 || r.right > window.innerWidth + 0.5) return 'outside the viewport: ' + r.left + '..' + r.right + ' of ' + window.innerWidth;
	  if (el.scrollWidth > el.clientWidth + 1) return 'its text is cut: ' + el.scrollWidth + ' > ' + el.clientWidth;
	  for (let a = el.parentElement; a; a = a.parentElement) {
	    if (getComputedStyle(a).overflowX === 'visible') continue;
	    const b = a.getBoundingClientRect();
	    if (r.left < b.left - 0.5 || r.right > b.right + 0.5) return 'clipped by ' + a.className + ': ' + r.left + '..' + r.right + ' in ' + b.left + '..' + b.right;
	  }
	  return '';
	})(`+expr+`)`)
	if why != "" {
		p.t.Errorf("%s: %s", what, why)
	}
}

// signInAgain signs in with address from the onboarding page, as
// register does, a short while after a code went to the same address:
// the relay lets one code request through for an address every 30
// seconds and says how long to wait, and the profile waits that long, as
// a person would, before asking again.
func (p *profile) signInAgain(r *relay, address string) {
	p.t.Helper()
	p.fill("address", address)
	for {
		p.click("send-code")
		// The answer: the code's field, or the relay's wait, counted
		// down beside a button that stays off until it runs out.
		got := waitJS[string](p, stepTimeout, "a code or a wait", `(() => {
		  if (document.querySelector('#code')) return 'code';
		  if (document.querySelector('#retry-wait')) return 'wait';
		  const e = document.querySelector('#onboarding-error')?.innerText ?? '';
		  return e === '' ? '' : 'error: ' + e;
		})()`)
		if got == "code" {
			break
		}
		if got != "wait" {
			p.fatalf("ask for a code: %s", got)
		}
		waitJS[bool](p, messageTimeout, "the wait the relay asked for",
			`!document.querySelector('#retry-wait') && !document.getElementById('send-code')?.disabled`)
	}
	p.enterCode(r, address)
}
