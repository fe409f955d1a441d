//go:build browser

package browsertest

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// The people of the test. Addresses are typed into the app as a user
// does; the seeder's client takes the scheme-prefixed form.
const (
	aliceAddress = "alice@example.org"
	bobAddress   = "bob@example.org"
	carolAddress = "email:carol@example.org"

	seedCount = 10000
)

// TestWebApp runs the web app end to end against the real relay binary:
// two browser profiles register with codes from the mail (a reload between
// asking for a code and typing it sends the first back to ask for a new
// one), add each other,
// chat with ticks moving from sent to read, survive going offline (by the
// browser's network emulation, and by the relay stopping and coming back
// on the same port and data), reload from the service worker with their
// history, pass Chromium's installability check, and take a new version
// of the app when it is deployed; then a native client
// fills a conversation with 10,000 messages and the time to open it is
// measured; then the screenshots; last, a profile signs out: its data
// leaves the browser and its device the relay.
func TestWebApp(t *testing.T) {
	start := time.Now()
	phase := func(name string) { t.Logf("[%5.1fs] %s", time.Since(start).Seconds(), name) }
	browser := chromium(t)
	phase("build the wasm and the relay")
	app := buildApp(t)
	var m metrics
	app.measure(t, &m)
	r := startRelay(t, app.mutual, app.web)

	alice := newProfile(t, browser, r.url(), "alice")
	bob := newProfile(t, browser, r.url(), "bob")
	m.Browser = browserVersion(alice)

	phase("load: cold, then from the service worker; installability")
	m.ColdLoadMS = alice.loadTime("/", "#address")
	alice.waitWorkerReady()
	m.WarmLoadMS = alice.loadTime("/", "#address")
	alice.waitWorker()
	if errs := alice.installabilityErrors(); len(errs) > 0 {
		t.Errorf("Chromium finds the app not installable: %v", errs)
	}

	phase("a reload between asking for a code and typing it asks for a new one")
	alice.reloadMidSignIn("alice.reloaded@example.org")

	phase("register both profiles with codes from the mail")
	alice.register(r, aliceAddress)
	alice.setName("Alice")
	bob.register(r, bobAddress)
	bob.setName("Bob")

	phase("contact request, acceptance, chat both ways")
	aliceID, bobID := requestAndChat(t, alice, bob)
	phase("offline by network emulation")
	offlineByEmulation(t, alice, bob, aliceID)
	phase("the relay stops and restarts")
	relayGone(t, r, alice, bob)
	phase("a new version is deployed")
	newVersion(t, r, alice, bobID)
	phase(fmt.Sprintf("a conversation of %d messages", seedCount))
	largeChat(t, r, bob, &m)
	phase("screenshots")
	screenshots(t, alice, bobID)
	phase("sign out")
	signOut(t, r, alice)
	phase("done")
	m.report(t)
}

// requestAndChat: Alice adds Bob and writes; her message is a contact
// request, sent but not delivered, until Bob accepts; then it is
// delivered, and read once he opens the chat. They write both ways.
func requestAndChat(t *testing.T, alice, bob *profile) (aliceID, bobID string) {
	bobID = alice.addContact(bobAddress)
	alice.openChat(bobID)
	if title := eval[string](alice, `document.querySelector('#chat-title')?.innerText ?? ''`); title == "" {
		t.Errorf("the conversation has no title")
	}
	hello := alice.send("Hello Bob")
	alice.waitState(hello, "sent")

	aliceID = bob.requestFrom()
	bob.acceptRequest(aliceID)
	alice.waitState(hello, "delivered", "read")

	bob.openChat(aliceID)
	bob.waitIncoming("Hello Bob")
	alice.waitState(hello, "read")

	reply := bob.send("Hi Alice")
	alice.waitIncoming("Hi Alice")
	bob.waitState(reply, "read")

	again := alice.send("How are you?")
	bob.waitIncoming("How are you?")
	alice.waitState(again, "read")
	return aliceID, bobID
}

// offlineByEmulation: Bob's browser loses the network (page and service
// worker); he reloads, reads his history from IndexedDB, writes a message
// that waits as "sending", and opens the conversation by its address;
// back online, the message reaches Alice.
func offlineByEmulation(t *testing.T, alice, bob *profile, aliceID string) {
	bob.setOffline(true)
	if page, worker := bob.reachable(); page || worker {
		t.Fatalf("offline emulation: the page reaches the relay %v, the service worker %v", page, worker)
	}
	bob.reload()
	bob.waitNotOnline()
	bob.waitTexts("Hello Bob", "Hi Alice", "How are you?")
	text := "Written offline"
	id := bob.send(text)
	if s := bob.messageState(id); s != "sending" {
		t.Errorf("a message written offline is %q, want sending", s)
	}

	bob.open("/chat/" + aliceID) // the deep link, loaded afresh offline
	bob.waitTexts("Hello Bob", text)
	if s := bob.messageState(id); s != "sending" {
		t.Errorf("after the deep link, the offline message is %q, want sending", s)
	}

	bob.setOffline(false)
	bob.waitOnline()
	alice.waitIncoming(text)
	bob.waitState(id, "sent", "delivered", "read")
}

// relayGone: the relay stops. Both apps see it; Bob reloads the
// conversation's address (the service worker serves the app, IndexedDB
// the history) and writes; the relay comes back on the same port with the
// same data, and the message goes through.
func relayGone(t *testing.T, r *relay, alice, bob *profile) {
	r.stop()
	bob.waitNotOnline()
	alice.waitNotOnline()
	bob.reload()
	bob.waitTexts("Hello Bob", "Written offline")
	text := "Written while the relay was away"
	id := bob.send(text)
	if s := bob.messageState(id); s != "sending" {
		t.Errorf("a message written without the relay is %q, want sending", s)
	}

	r.start()
	bob.waitOnline()
	alice.waitOnline()
	alice.waitIncoming(text)
	bob.waitState(id, "sent", "delivered", "read")
}

// deployedStyle is the file a deploy adds to the web directory: a style
// sheet, linked by every page, that sets a custom property the test reads.
const (
	deployedStyle = "styles/zz-deploy.css"
	deployedCSS   = ":root { --mutual-deployed: yes; }\n"
)

// newVersion: a new version of the app is deployed (a style sheet joins
// the web directory and the relay restarts with it, on the same port with
// the same data) while Alice has the installed app open, served by the
// service worker. When the app reconnects to the restarted relay it asks
// the browser to check for a new version (app/ui's Session, on
// client.Connected); the new worker installs and takes over, and the app
// offers to reload without any page load. Reload brings the new version,
// served by the new worker from its cache, with her chats.
func newVersion(t *testing.T, r *relay, alice *profile, bobID string) {
	old := r.appVersion()
	// The installed app, as its user opens it: from the service worker.
	alice.open("/")
	if !alice.servedByWorker() {
		t.Fatalf("the service worker did not serve the installed app")
	}
	if v := alice.appVersion(); v != old {
		t.Fatalf("before the deploy the page runs version %s, the relay serves %s", v, old)
	}
	if alice.updateShown() {
		t.Errorf("the app offers an update before any was deployed")
	}

	r.stop()
	r.deploy(deployedStyle, []byte(deployedCSS))
	r.start()
	next := r.appVersion()
	if next == old {
		t.Fatalf("the deploy did not change the app's version %s", old)
	}
	t.Logf("deployed: version %s replaces %s", next, old)

	// No page load: the open app reconnects to the restarted relay and
	// then asks the browser to look for a new version.
	alice.waitUpdate()
	if v := alice.appVersion(); v != old {
		t.Errorf("the app offers an update while it runs version %s already; the old one is %s", v, old)
	}

	resp := alice.reloadFromBanner()
	if !resp.FromServiceWorker {
		t.Errorf("after Reload the page did not come from the service worker")
	}
	if v := alice.appVersion(); v != next {
		t.Errorf("after Reload the page runs version %s, want %s", v, next)
	}
	if got, want := alice.appCaches(), []string{"mutual-" + next}; !slices.Equal(got, want) {
		t.Errorf("the service worker's caches are %v, want %v", got, want)
	}
	waitJS[bool](alice, stepTimeout, "the deployed style sheet",
		`getComputedStyle(document.documentElement).getPropertyValue('--mutual-deployed').trim() === 'yes'`)
	waitJS[bool](alice, stepTimeout, "the chat with Bob in the chats list",
		fmt.Sprintf(`!!document.querySelector('#chats li.chat[data-user=%q]')`, bobID))
	alice.waitOnline()
	if alice.updateShown() {
		t.Errorf("the new version still offers an update")
	}
}

// largeChat: Carol, on the native client, writes 10,000 messages to Bob
// through the relay while his chats list is open. Once his browser has
// stored them all, opening the conversation is timed, from the chats list
// and by its address. Bob is offline by then: opening a chat reads only
// the device, and the 10,000 delivery receipts his app would be sending
// meanwhile would time the receipts, not the opening.
func largeChat(t *testing.T, r *relay, bob *profile, m *metrics) {
	carol := newSeeder(t, r, carolAddress)
	carol.greet("email:"+bobAddress, "Hello Bob, it's Carol")
	carolID := carol.me.String()
	bob.acceptRequest(carolID)
	carol.waitDelivered(messageTimeout)

	bob.goTo("/")
	start := time.Now()
	queued := carol.seed(seedCount)
	newest := fmt.Sprintf("Message %d", seedCount)
	row := fmt.Sprintf(`document.querySelector('#chats li.chat[data-user=%q]')`, carolID)
	waitJS[bool](bob, 4*time.Minute, "the chats list to show "+newest,
		row+`?.querySelector('.chat-preview')?.textContent === `+js(newest))
	m.SeedStoredMS = msSince(start)
	// Every message is unread: the greeting and the seeded ones.
	want := fmt.Sprintf("%d unread messages", seedCount+1)
	if got := eval[string](bob, row+`?.querySelector('.chat-unread')?.getAttribute('aria-label') ?? ''`); got != want {
		t.Errorf("the chats list says %q, want %q", got, want)
	}
	m.SeedMessages = seedCount
	t.Logf("seeded %d messages: queued in %v, stored by the browser after %.1fs",
		seedCount, queued.Round(time.Millisecond), m.SeedStoredMS/1000)

	bob.setOffline(true)
	m.ChatOpenMS = bob.openChatFromList(carolID, newest)
	m.ChatShown = eval[int](bob, `document.querySelectorAll('#messages .msg').length`)
	m.LoadedAfter = bob.scrollBack(m.ChatShown)

	m.ChatLoadMS = bob.chatLoadTime(carolID, newest)
}

// msSince is the time since start in milliseconds.
func msSince(start time.Time) float64 { return float64(time.Since(start).Microseconds()) / 1000 }

// screenshots: the chats list and a conversation, on a phone and a
// desktop, light and dark.
func screenshots(t *testing.T, p *profile, peer string) {
	dir := screenshotDir(t)
	sizes := []struct {
		name          string
		width, height int64
		mobile        bool
	}{
		{"phone", 360, 780, true},
		{"desktop", 1280, 800, false},
	}
	for _, size := range sizes {
		for _, scheme := range []string{"light", "dark"} {
			p.emulate(size.width, size.height, size.mobile, scheme)
			p.goTo("/")
			waitJS[bool](p, stepTimeout, "the chats list", `document.querySelectorAll('#chats li.chat').length > 0`)
			p.waitTheme(scheme)
			saveScreenshot(t, dir, fmt.Sprintf("chats-%s-%s.png", size.name, scheme), p.screenshot())

			p.openChat(peer)
			waitJS[bool](p, stepTimeout, "the messages", `document.querySelectorAll('#messages .msg').length > 0`)
			p.waitTheme(scheme)
			saveScreenshot(t, dir, fmt.Sprintf("chat-%s-%s.png", size.name, scheme), p.screenshot())
		}
	}
}
