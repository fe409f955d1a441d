//go:build browser

package browsertest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/internal/wait"
)

// Dave is a user on the native client whose device's clock is days
// ahead.
const (
	daveAddress = "email:dave@example.org"
	daveAhead   = 72 * time.Hour
)

// TestDelivery follows messages after Send, as their writers and readers
// see them; Alice is on a phone (360 px wide), then on a desktop, Bob on
// a desktop:
//
//   - Bob reads Alice's contact request before he accepts it; once he
//     does, her first message shows read. Read, delivered, waiting and
//     failed messages are marked by shape, with their state in words,
//     and the marks stand out from the bubble in light and dark themes.
//   - Bob turns read receipts off (Settings says that he will not see
//     others' either): Alice reads his message, and he sees it delivered.
//   - Dave, whose device's clock is three days ahead, writes to Alice:
//     his messages are under today. He blocks her: her message fails and
//     the line saying so is scrolled into view; once he has allowed her
//     again, Send again delivers that same message, shown once, to him
//     once; on the phone, then on the desktop.
//   - Bob signs out of his only device: Alice's message to him waits,
//     saying why, rather than failing as if his account were gone. He
//     signs in again on a new device: a new safety number, for which
//     what Alice writes waits too, in the chat; once she has checked and
//     accepted it, both messages reach him, in order.
func TestDelivery(t *testing.T) {
	start := time.Now()
	phase := func(name string) { t.Logf("[%5.1fs] %s", time.Since(start).Seconds(), name) }
	browser := chromium(t)
	app := buildApp(t)
	r := startRelay(t, app.mutual, app.web)
	alice := newProfile(t, browser, r.url(), "alice")
	bob := newProfile(t, browser, r.url(), "bob")
	alice.emulate(360, 780, true, "light")
	alice.register(r, aliceAddress)
	alice.setName("Alice")
	bob.register(r, bobAddress)
	bob.setName("Bob")

	bobID := alice.addContact(bobAddress)
	alice.openChat(bobID)
	hello := alice.send("Hello Bob")
	alice.waitState(hello, "sent")

	phase("a request read before it is accepted shows read")
	aliceID := bob.requestFrom()
	bob.openChat(aliceID)
	in := bob.waitIncoming("Hello Bob")
	waitJS[bool](bob, stepTimeout, "Bob's app to mark the request read",
		fmt.Sprintf(`document.querySelector('#messages .msg[data-id=%q]')?.dataset.state === 'read'`, in))
	bob.acceptInChat()
	alice.waitState(hello, "read")

	phase("marks by shape and colour")
	if !eval[bool](alice, fmt.Sprintf(`!!document.querySelector('#messages .msg[data-id=%q] .ticks-read .tick-fill')`, hello)) {
		t.Errorf("a read message's ticks are not drawn on a filled pill")
	}
	alice.checkContrast(hello, "read")

	phase("read receipts are mutual")
	readReceiptsMutual(t, alice, bob, aliceID)

	phase("a native client whose clock is ahead")
	dave := newClockSeeder(t, r, daveAddress, daveAhead)
	dave.greet("email:"+aliceAddress, "Hi Alice, it's Dave")
	daveID := dave.me.String()
	alice.acceptRequest(daveID)
	dave.waitDelivered(messageTimeout)
	dave.seed(30)
	alice.openChat(daveID)
	alice.waitIncoming("Message 30")
	days := eval[string](alice, `[...document.querySelectorAll('#messages .day-separator')].map((d) => d.innerText.trim()).join('|')`)
	if days != "Today" {
		t.Errorf("the chat with Dave, whose clock is %v ahead, has the days %q, want Today only", daveAhead, days)
	}
	title := eval[string](alice, `[...document.querySelectorAll('#messages .msg-in .msg-time')].pop()?.title ?? ''`)
	if !strings.Contains(title, "sender's clock") {
		t.Errorf("the details of Dave's message say %q, without his clock's time", title)
	}

	for _, size := range []struct {
		name          string
		width, height int64
		mobile        bool
	}{{"phone", 360, 780, true}, {"desktop", 1280, 800, false}} {
		phase("send again on the " + size.name)
		alice.emulate(size.width, size.height, size.mobile, "light")
		sendAgain(t, alice, dave, size.name)
	}

	// Last, as signing in again must come at least the relay's gap
	// between two codes for one address after the first.
	phase("a message waits while the contact has no device, and through a new safety number")
	waitForDevice(t, r, alice, bob, aliceID, bobID)
	phase("done")
}

// readReceiptsMutual: Bob turns read receipts off; Alice reads his
// message, and he sees it delivered.
func readReceiptsMutual(t *testing.T, alice, bob *profile, aliceID string) {
	bob.goTo("/settings")
	hint := waitJS[string](bob, stepTimeout, "the read receipts hint", `document.querySelector('#read-receipts-hint')?.innerText ?? ''`)
	if !strings.Contains(hint, "If you turn them off, you won't see others' either.") {
		t.Errorf("the read receipts hint says %q", hint)
	}
	// The switch can be flipped once the setting is read.
	waitJS[bool](bob, stepTimeout, "read receipts on, read from the device",
		`(e => !!e && !e.disabled && e.checked)(document.querySelector('#read-receipts'))`)
	bob.click("read-receipts")
	// Read again from the device: the setting is stored.
	bob.goTo("/")
	bob.goTo("/settings")
	waitJS[bool](bob, stepTimeout, "read receipts off, read from the device",
		`(e => !!e && !e.disabled && !e.checked)(document.querySelector('#read-receipts'))`)

	bob.openChat(aliceID)
	off := bob.send("My read receipts are off")
	in := alice.waitIncoming("My read receipts are off")
	// Alice has the chat open: she reads it, and her read receipt goes
	// before her answer.
	waitJS[bool](alice, stepTimeout, "Alice's app to mark Bob's message read",
		fmt.Sprintf(`document.querySelector('#messages .msg[data-id=%q]')?.dataset.state === 'read'`, in))
	alice.send("Got it")
	bob.waitIncoming("Got it")
	if s := bob.waitState(off, "delivered", "read"); s != "delivered" {
		t.Errorf("with his read receipts off, Bob sees his message %s", s)
	}
	bob.checkContrast(off, "delivered")
}

// waitForDevice: Bob signs out of his only device; Alice's message to
// him waits. He signs in on a new device; what Alice writes while she has
// not checked the new safety number waits too; once she has accepted it,
// both go.
func waitForDevice(t *testing.T, r *relay, alice, bob *profile, aliceID, bobID string) {
	alice.openChat(bobID)
	bob.thisDevice() // the settings, loaded
	bob.askSignOut()
	bob.do(stepTimeout, "confirm signing out", chromedp.Click(chromedp.ID("confirm-sign-out")))
	bob.waitOnboarding("onboarding after signing out")

	first := alice.send("Are you there, Bob?")
	alice.waitState(first, "waiting")
	alice.waitLineInView(first, ".msg-note", "Waiting: Bob has no device signed in right now; it will be delivered when they have one.")
	alice.checkContrast(first, "waiting")

	// Bob signs in again, on a new device of his account. Alice's app
	// tries again when it connects again: the relay lists the new
	// device, whose safety number she has not seen.
	bob.signInAgain(r, bobAddress)
	alice.reload()
	waitJS[bool](alice, messageTimeout, "the safety number warning",
		`(document.querySelector('.conv-banner')?.innerText ?? '').includes('changed')`)
	alice.waitState(first, "waiting")
	alice.waitLineInView(first, ".msg-note", "Waiting until you check your safety number with Bob.")

	// What she writes now is kept, in the chat, as waiting.
	second := alice.send("Written while the number changed")
	alice.waitState(second, "waiting")

	alice.do(stepTimeout, "check the safety number", chromedp.Click(chromedp.CSS(".conv-banner a.button")))
	alice.do(stepTimeout, "accept it", chromedp.WaitVisible(chromedp.ID("accept-identity")), chromedp.Click(chromedp.ID("accept-identity")))
	waitJS[bool](alice, stepTimeout, "the new number accepted", `!document.querySelector('#accept-identity')`)
	alice.do(stepTimeout, "back to the chat", chromedp.Click(chromedp.CSS(".page-head a.back")))
	alice.do(stepTimeout, "the chat", chromedp.WaitVisible(chromedp.ID("messages")))
	alice.waitState(first, "sent", "delivered", "read")
	alice.waitState(second, "sent", "delivered", "read")

	bob.openChat(aliceID)
	bob.waitTexts("Are you there, Bob?", "Written while the number changed")
	order := eval[string](bob, `[...document.querySelectorAll('#messages .msg.msg-in')].map(`+msgTextJS+`).join('|')`)
	if !strings.HasSuffix(order, "Are you there, Bob?|Written while the number changed") {
		t.Errorf("Bob's new device shows %q", order)
	}
}

// sendAgain: Dave blocks Alice; her message fails, saying so in view.
// Once he has allowed her again and written, Send again delivers that
// same message: shown once, received once.
func sendAgain(t *testing.T, alice *profile, dave *seeder, size string) {
	alice.openChat(dave.me.String())
	// Alice reads everything, and Dave's app has her read receipts:
	// nothing of hers to him is on its way when he blocks her.
	alice.readAll()
	dave.waitRead()
	dave.block(true)
	text := "Are you there, Dave? (" + size + ")"
	id := alice.send(text)
	alice.waitFailed(id)
	alice.waitLineInView(id, ".msg-failure", "Not delivered")
	alice.checkContrast(id, "failed")

	dave.block(false)
	back := "Unblocked you (" + size + ")"
	dave.write(back)
	alice.waitIncoming(back)
	alice.readAll()
	dave.waitRead()
	alice.do(stepTimeout, "send again",
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`#messages .msg[data-id=%q] .msg-retry`, id))))
	alice.waitState(id, "sent", "delivered", "read")
	if n := eval[int](alice, fmt.Sprintf(`[...document.querySelectorAll('#messages .msg')].filter((m) => `+msgTextJS+`(m) === %s).length`, js(text))); n != 1 {
		t.Errorf("after Send again the chat shows the message %d times", n)
	}
	alice.waitState(id, "delivered", "read")
	if n := dave.count(text); n != 1 {
		t.Errorf("Dave has the message %d times", n)
	}
}

// readAll scrolls the open conversation to its end and waits until every
// message in it is read.
func (p *profile) readAll() {
	p.t.Helper()
	eval[bool](p, `(() => { const sc = document.querySelector('#messages'); sc.scrollTop = sc.scrollHeight; return true; })()`)
	waitJS[bool](p, messageTimeout, "every message read",
		`document.querySelectorAll('#messages .msg').length > 0 && !document.querySelector('#messages .msg-in[data-state=received]')`)
}

// acceptInChat accepts the request of the open conversation from its
// footer.
func (p *profile) acceptInChat() {
	p.t.Helper()
	p.do(stepTimeout, "accept in the chat", chromedp.Click(chromedp.CSS(".request-bar button.accept")))
	p.do(messageTimeout, "the composer after accepting", chromedp.WaitVisible(chromedp.ID("composer")))
}

// waitFailed waits until the outgoing message id shows it failed.
func (p *profile) waitFailed(id string) {
	p.t.Helper()
	waitJS[bool](p, messageTimeout, "message "+id+" to fail", fmt.Sprintf(
		`(() => { const m = document.querySelector('#messages .msg[data-id=%q]');
		  return m?.dataset.state === 'failed' && m.querySelector('.ticks')?.getAttribute('aria-label') === 'Not delivered'; })()`, id))
}

// waitLineInView waits until the line (sel) under message id says text
// and is inside the visible part of the message list.
func (p *profile) waitLineInView(id, sel, text string) {
	p.t.Helper()
	waitJS[bool](p, stepTimeout, fmt.Sprintf("%q under message %s in view", text, id), fmt.Sprintf(
		`(() => {
		  const sc = document.querySelector('#messages');
		  const l = sc?.querySelector('.msg[data-id=%q] %s');
		  if (!l || !l.innerText.includes(%s)) return false;
		  const a = sc.getBoundingClientRect(), b = l.getBoundingClientRect();
		  return b.height > 0 && b.top >= a.top - 1 && b.bottom <= a.bottom + 1;
		})()`, id, sel, js(text)))
}

// contrastJS is the lowest contrast ratio (WCAG) of a message's state
// mark: its colour against the bubble and, on the filled pill of "read",
// the marks against the pill.
const contrastJS = `((id) => {
  const lum = (c) => {
    const [r, g, b] = c.match(/[\d.]+/g).slice(0, 3).map((v) => {
      v = Number(v) / 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const ratio = (a, b) => {
    const x = lum(a), y = lum(b);
    return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
  };
  const m = document.querySelector('#messages .msg[data-id="' + id + '"]');
  const t = m.querySelector('.ticks');
  const fg = getComputedStyle(t).color;
  let r = ratio(fg, getComputedStyle(m.querySelector('.bubble')).backgroundColor);
  const mark = t.querySelector('.tick-on-fill');
  if (mark) r = Math.min(r, ratio(getComputedStyle(mark).stroke, fg));
  return r;
})`

// checkContrast checks that the mark of message id, labelled as state,
// stands out from its bubble (3:1, WCAG's minimum for graphics) in the
// light and the dark theme, at the profile's size.
func (p *profile) checkContrast(id, state string) {
	p.t.Helper()
	w := eval[int64](p, `window.innerWidth`)
	h := eval[int64](p, `window.innerHeight`)
	mobile := w < 600
	for _, scheme := range []string{"dark", "light"} {
		p.emulate(w, h, mobile, scheme)
		p.waitTheme(scheme)
		label := eval[string](p, fmt.Sprintf(`document.querySelector('#messages .msg[data-id=%q] .ticks')?.getAttribute('aria-label') ?? ''`, id))
		want := state
		if state == "failed" {
			want = "not delivered"
		}
		if strings.ToLower(label) != want {
			p.t.Errorf("%s: the mark of a %s message is labelled %q", p.name, state, label)
		}
		if r := eval[float64](p, contrastJS+"("+js(id)+")"); r < 3 {
			p.t.Errorf("%s: in the %s theme the mark of a %s message has a contrast of %.2f:1 with its bubble, want 3:1", p.name, scheme, state, r)
		}
	}
}

// newClockSeeder is a seeder (see newSeeder) whose device's clock is
// ahead by skew.
func newClockSeeder(t *testing.T, r *relay, address string, skew time.Duration) *seeder {
	t.Helper()
	return startSeeder(t, r, address, func() time.Time { return time.Now().Add(skew) })
}

// block blocks the seeder's peer, or with on false allows them again.
func (s *seeder) block(on bool) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	var err error
	if on {
		err = s.c.Block(ctx, s.peer)
	} else {
		err = s.c.Accept(ctx, s.peer)
	}
	if err != nil {
		s.t.Fatalf("seeder: block %v: %v", on, err)
	}
}

// write sends text to the seeder's peer.
func (s *seeder) write(text string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	id, err := s.c.Send(ctx, s.peer, text)
	if err != nil {
		s.t.Fatalf("seeder: send: %v", err)
	}
	s.last = id
}

// waitRead waits until the peer has read the last message sent.
func (s *seeder) waitRead() {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), messageTimeout)
	defer cancel()
	err := wait.Until(ctx, func() bool {
		m, err := s.c.Message(ctx, s.me, s.last)
		return err == nil && m.State == client.StateRead
	})
	if err != nil {
		s.t.Fatalf("seeder: the last message is not read: %v", err)
	}
}

// count is how many messages of the conversation with the peer say text.
func (s *seeder) count(text string) int {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	msgs, err := s.c.Messages(ctx, client.DirectConversation(s.me, s.peer))
	if err != nil {
		s.t.Fatalf("seeder: messages: %v", err)
	}
	n := 0
	for _, m := range msgs {
		if m.Text == text {
			n++
		}
	}
	return n
}
