//go:build browser

package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/chromedp/chromedp"
)

// register signs up with address from the onboarding page, reading the
// code from the mail the relay sent, and waits for the chats list.
func (p *profile) register(r *relay, address string) {
	p.t.Helper()
	p.open("/")
	p.fill("address", address)
	p.do(stepTimeout, "ask for a code",
		chromedp.Click(chromedp.ID("send-code")),
		chromedp.WaitVisible(chromedp.ID("code")),
	)
	p.enterCode(r, address)
}

// enterCode reads the code the relay mailed to address, types it into
// the code field and waits for the chats list, online.
func (p *profile) enterCode(r *relay, address string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	code, err := r.mail.WaitCode(ctx, address)
	if err != nil {
		p.fatalf("read the code: %v", err)
	}
	p.fill("code", code)
	p.do(stepTimeout, "verify the code",
		chromedp.Click(chromedp.ID("verify")),
		chromedp.WaitReady(chromedp.ID("chats")),
	)
	p.waitOnline()
}

// reloadMidSignIn asks for a code for address, reloads before typing it,
// and checks that onboarding is back at the address, filled in, saying
// that a new code is needed: the code is bound to the request of the page
// that asked for it, and the reload lost that request's token.
func (p *profile) reloadMidSignIn(address string) {
	p.t.Helper()
	p.open("/")
	p.fill("address", address)
	p.do(stepTimeout, "ask for a code before reloading",
		chromedp.Click(chromedp.ID("send-code")),
		chromedp.WaitVisible(chromedp.ID("code")),
	)
	p.reload()
	want, _ := json.Marshal(address)
	waitJS[bool](p, stepTimeout, "the address step, filled in, asking for a new code after the reload",
		`document.querySelector('#address')?.value === `+string(want)+
			` && !document.querySelector('#code')`+
			` && (document.querySelector('#onboarding-error')?.innerText ?? '').includes('Send a new code')`)
}

// setName saves the name the profile shows its contacts.
func (p *profile) setName(name string) {
	p.t.Helper()
	p.goTo("/settings")
	p.fill("display-name", name)
	p.do(stepTimeout, "save the display name", chromedp.Click(chromedp.ID("save-name")))
	waitJS[bool](p, stepTimeout, "the name to be saved",
		`document.querySelector('#display-name')?.closest('form')?.querySelector('[role=status]')?.innerText === 'Saved.'`)
}

// waitOnline waits for the header to say the app is connected.
func (p *profile) waitOnline() {
	p.t.Helper()
	waitJS[bool](p, messageTimeout, "the connection",
		`document.querySelector('#status')?.dataset.state === 'online'`)
}

// waitNotOnline waits until the header no longer says online.
func (p *profile) waitNotOnline() {
	p.t.Helper()
	waitJS[bool](p, messageTimeout, "the app to notice the connection is gone",
		`['offline', 'connecting'].includes(document.querySelector('#status')?.dataset.state)`)
}

// addContact adds someone by address on the contacts page and returns
// their user ID (hex).
func (p *profile) addContact(address string) string {
	p.t.Helper()
	p.goTo("/contacts")
	before := eval[int](p, `document.querySelectorAll('#contacts li.contact').length`)
	p.fill("contact-address", address)
	p.do(stepTimeout, "add "+address, chromedp.Click(chromedp.ID("add-contact")))
	return waitJS[string](p, stepTimeout, "the new contact", fmt.Sprintf(
		`(() => { const l = document.querySelectorAll('#contacts li.contact');
		  return l.length > %d && (document.querySelector('#contacts-error')?.innerText || '') === '' ? l[l.length-1].dataset.user : ''; })()`,
		before))
}

// acceptRequest waits for a contact request from user on the contacts
// page and accepts it.
func (p *profile) acceptRequest(user string) {
	p.t.Helper()
	p.goTo("/contacts")
	sel := fmt.Sprintf(`#requests li.request[data-user=%q] button.accept`, user)
	p.do(messageTimeout, "accept the request",
		chromedp.WaitVisible(chromedp.CSS(sel)),
		chromedp.Click(chromedp.CSS(sel)),
	)
	waitJS[bool](p, stepTimeout, "the accepted contact", fmt.Sprintf(
		`!!document.querySelector('#contacts li.contact[data-user=%q]')`, user))
}

// requestFrom waits for a contact request and returns who sent it.
func (p *profile) requestFrom() string {
	p.t.Helper()
	p.goTo("/contacts")
	return waitJS[string](p, messageTimeout, "a contact request",
		`document.querySelector('#requests li.request')?.dataset.user ?? ''`)
}

// openChat opens the conversation with user and waits for its log.
func (p *profile) openChat(user string) {
	p.t.Helper()
	p.goTo("/chat/" + user)
	p.do(stepTimeout, "open the chat", chromedp.WaitVisible(chromedp.ID("messages")))
}

// msgTextJS is a JavaScript function returning the text of a .msg
// element: its .msg-text without what only screen readers get (the
// visually hidden "You: " or name before it).
const msgTextJS = `((m) => {
  const t = m.querySelector('.msg-text')?.cloneNode(true);
  t?.querySelectorAll('.sr-only').forEach((e) => e.remove());
  return t?.textContent ?? '';
})`

// send writes text in the open conversation, sends it with Enter, and
// returns the new message's ID.
func (p *profile) send(text string) string {
	p.t.Helper()
	p.fill("composer", text)
	p.do(stepTimeout, "send "+text, chromedp.SendKeys(chromedp.ID("composer"), "\r"))
	id := waitJS[string](p, stepTimeout, "the sent message "+text, fmt.Sprintf(
		`[...document.querySelectorAll('#messages .msg.msg-out')].find((m) => `+msgTextJS+`(m) === %s)?.dataset.id ?? ''`,
		js(text)))
	if v := eval[string](p, `document.querySelector('#composer').value`); v != "" {
		p.fatalf("the composer still holds %q after sending", v)
	}
	return id
}

// waitIncoming waits until the open conversation shows a received message
// with text, and returns its ID.
func (p *profile) waitIncoming(text string) string {
	p.t.Helper()
	return waitJS[string](p, messageTimeout, "the message "+text, fmt.Sprintf(
		`[...document.querySelectorAll('#messages .msg.msg-in')].find((m) => `+msgTextJS+`(m) === %s)?.dataset.id ?? ''`,
		js(text)))
}

// messageState returns the data-state of a message of the open
// conversation, or "" when it is not shown.
func (p *profile) messageState(id string) string {
	p.t.Helper()
	return eval[string](p, fmt.Sprintf(`document.querySelector('#messages .msg[data-id=%q]')?.dataset.state ?? ''`, id))
}

// waitState waits until the message shows one of the states, with the
// ticks of an outgoing message labelled to match ("Sent", "Delivered",
// "Read"), and returns the state.
func (p *profile) waitState(id string, states ...string) string {
	p.t.Helper()
	list, _ := json.Marshal(states)
	return waitJS[string](p, messageTimeout, fmt.Sprintf("message %s to be %s", id, strings.Join(states, " or ")), fmt.Sprintf(
		`(() => {
		  const m = document.querySelector('#messages .msg[data-id=%q]');
		  const s = m?.dataset.state;
		  if (!%s.includes(s)) return '';
		  if (!m.classList.contains('msg-out')) return s;
		  const label = m.querySelector('.ticks')?.getAttribute('aria-label') ?? '';
		  return label.toLowerCase() === s ? s : '';
		})()`, id, list))
}

// waitTexts waits until the open conversation shows every text.
func (p *profile) waitTexts(texts ...string) {
	p.t.Helper()
	list := make([]string, len(texts))
	for i, s := range texts {
		list[i] = js(s)
	}
	waitJS[bool](p, stepTimeout, fmt.Sprintf("the messages %q", texts), fmt.Sprintf(
		`(() => { const shown = [...document.querySelectorAll('#messages .msg')].map(`+msgTextJS+`);
		  return [%s].every(s => shown.includes(s)); })()`, strings.Join(list, ", ")))
}

// waitTheme waits until the document follows the emulated colour scheme.
func (p *profile) waitTheme(scheme string) {
	p.t.Helper()
	waitJS[bool](p, stepTimeout, "the "+scheme+" theme",
		`document.documentElement.dataset.theme === `+js(scheme))
}
