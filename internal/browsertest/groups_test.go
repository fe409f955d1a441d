//go:build browser

package browsertest

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// The people of TestGroups.
const (
	groupAnnAddress  = "ann@example.org"
	groupBenAddress  = "ben@example.org"
	groupCleoAddress = "cleo@example.org"
)

// TestGroups: group chats in the browser. Ann has Ben and Cleo as
// contacts (they are not each other's); on a phone she makes the group
// "Family" with both from the chats list (without the relay, the app
// says it must connect first), and its chat opens ready to write in.
// Each sees the group, and the others' messages under their authors'
// names; Ann's message is read once both have read it, and its info says
// by whom. Ann renames the group: everyone sees the system line and the
// new name. Ann removes Cleo: Cleo is told she was removed and cannot
// write; Ben and Ann go on chatting, and Cleo sees none of it. Last, Ben,
// whom Cleo has not added, invites her to another group: she sees it as
// a request, joins and writes. Ben is on a phone (360 px), Cleo on a
// desktop; the new group page, the group's chat and its info fit a 360 px
// phone at 200% text, and the chat and the info are taken on a phone and
// a desktop for the screenshots.
func TestGroups(t *testing.T) {
	start := time.Now()
	phase := func(name string) { t.Logf("[%5.1fs] %s", time.Since(start).Seconds(), name) }
	browser := chromium(t)
	app := buildApp(t)
	r := startRelay(t, app.mutual, app.web)
	dir := screenshotDir(t)

	ann := newProfile(t, browser, r.url(), "ann")
	ben := newProfile(t, browser, r.url(), "ben")
	cleo := newProfile(t, browser, r.url(), "cleo")
	ben.emulate(360, 780, true, "light")
	for _, p := range []struct {
		p             *profile
		address, name string
	}{{ann, groupAnnAddress, "Ann"}, {ben, groupBenAddress, "Ben"}, {cleo, groupCleoAddress, "Cleo"}} {
		p.p.register(r, p.address)
		p.p.setName(p.name)
	}

	phase("Ann has Ben and Cleo as contacts")
	benID := ann.addContact(groupBenAddress)
	cleoID := ann.addContact(groupCleoAddress)
	var annID string
	for _, c := range []struct {
		p  *profile
		id string
	}{{ben, benID}, {cleo, cleoID}} {
		ann.openChat(c.id)
		hello := ann.send("Hello from Ann")
		annID = c.p.requestFrom()
		c.p.acceptRequest(annID)
		ann.waitState(hello, "delivered", "read")
	}

	phase("Ann makes the group on a phone")
	ann.emulate(360, 780, true, "light")
	ann.goTo("/")
	ann.click("new-group")
	waitJS[bool](ann, stepTimeout, "the new group page", `location.pathname === '/new-group' && !!document.querySelector('#pick-list')`)
	ann.checkFit("the new group page")
	// Nothing is made without a name.
	ann.click("create-group")
	waitJS[bool](ann, stepTimeout, "the name asked for",
		`(document.querySelector('#new-group-error')?.innerText ?? '') === 'Give the group a name.'`)
	ann.chooseGroup("Family", benID, cleoID)
	// Without the relay the app says that it needs it.
	r.stop()
	ann.waitNotOnline()
	ann.click("create-group")
	waitJS[bool](ann, stepTimeout, "the need to connect",
		`(document.querySelector('#new-group-error')?.innerText ?? '') === 'Connect to create a group.'`)
	r.start()
	ann.waitOnline()
	groupID := ann.submitGroup()
	ann.waitGroupHeader("Family", "3 members")
	ann.checkFit("a new group's chat")
	hello := ann.send("Hello family!")

	phase("Ben and Cleo see the group and each other's messages")
	cleo.goTo("/")
	row := fmt.Sprintf(`document.querySelector('#chats li.chat-group[data-group=%q]')`, groupID)
	waitJS[bool](cleo, messageTimeout, "the group in Cleo's chats list",
		row+`?.querySelector('.chat-name')?.textContent.endsWith('Family') && !!`+row+`.querySelector('.avatar-group')`)
	for _, p := range []*profile{ben, cleo} {
		p.openGroup(groupID)
		p.waitGroupHeader("Family", "3 members")
		p.waitFrom("Hello family!", "Ann")
	}
	ben.send("Hi all, Ben here")
	cleo.send("And Cleo!")
	for _, w := range []struct {
		p            *profile
		text, author string
	}{{ann, "Hi all, Ben here", "Ben"}, {ann, "And Cleo!", "Cleo"}, {cleo, "Hi all, Ben here", "Ben"}, {ben, "And Cleo!", "Cleo"}} {
		if w.p != ann {
			w.p.openGroup(groupID)
		}
		w.p.waitFrom(w.text, w.author)
	}
	ben.checkFit("a group's chat")

	phase("read by every member; the message's info says by whom")
	ann.waitState(hello, "read")
	ann.clickSel(fmt.Sprintf(`#messages .msg[data-id=%q] .msg-info`, hello))
	waitJS[bool](ann, messageTimeout, "Ben and Cleo in the message's Read by", `(() => {
	  const d = document.querySelector('#message-info');
	  const names = [...(d?.querySelectorAll('#read-by .receipt-name') ?? [])].map((e) => e.textContent).sort().join('|');
	  return !!d?.open && names === 'Ben|Cleo';
	})()`)
	ann.click("close-message-info")
	waitJS[bool](ann, stepTimeout, "the message info to close", `!document.querySelector('#message-info')?.open`)

	phase("Ann renames the group")
	ann.click("group-info")
	ann.waitGroupInfo(groupID)
	ann.fill("group-rename", "The Family")
	ann.click("rename-group")
	waitJS[bool](ann, messageTimeout, "the new name on the info page",
		`document.querySelector('#group-heading')?.textContent === 'The Family'`)
	ann.openGroup(groupID)
	ann.waitSystemLine("You renamed the group to “The Family”")
	for _, p := range []*profile{ben, cleo} {
		p.waitSystemLine("Ann renamed the group to “The Family”")
		p.waitGroupHeader("The Family", "3 members")
	}
	waitJS[bool](cleo, stepTimeout, "the new name and the system line in Cleo's chats list",
		row+`?.querySelector('.chat-name')?.textContent.endsWith('The Family')`+
			` && `+row+`.querySelector('.chat-preview')?.textContent === 'Ann renamed the group to “The Family”'`)

	phase("screenshots and fit")
	ben.goTo("/")
	ben.openGroup(groupID)
	ben.waitFrom("And Cleo!", "Cleo")
	saveScreenshot(t, dir, "group-chat-phone.png", ben.screenshot())
	ben.emulate(1280, 800, false, "light")
	ben.waitGroupHeader("The Family", "3 members")
	ben.checkVisible("the group's chat beside the chats list on a desktop",
		`#chats li.chat-group.chat-active`, `#chat-title`, `#composer`)
	saveScreenshot(t, dir, "group-chat-desktop.png", ben.screenshot())
	ben.emulate(360, 780, true, "light")

	ann.goTo(fmt.Sprintf("/group/%s/info", groupID))
	ann.waitGroupInfo(groupID)
	ann.checkFit("a group's info")
	saveScreenshot(t, dir, "group-info-phone.png", ann.screenshot())
	ann.emulate(1280, 800, false, "light")
	ann.checkVisible("the group's info on a desktop", `#group-rename`, `#members li.member`, `#members-can-add`, `#leave-group`)
	saveScreenshot(t, dir, "group-info-desktop.png", ann.screenshot())
	member := func(id string) string { return fmt.Sprintf(`#members li.member[data-user=%q]`, id) }
	marks := eval[string](ann, `[...document.querySelectorAll('#members li.member')].map((m) =>
	  m.querySelector('.person-name').textContent + ':' + [...m.querySelectorAll('.badge')].map((b) => b.textContent).join(',')).join('|')`)
	if marks != "Ann:You,Admin|Ben:|Cleo:" {
		t.Errorf("the members are shown as %q, want Ann:You,Admin|Ben:|Cleo:", marks)
	}
	if got := eval[string](ann, `document.querySelector('`+member(benID)+` a.member-safety')?.getAttribute('href') ?? ''`); got != "/safety/"+benID {
		t.Errorf("Ben's name leads to %q, not his safety number", got)
	}

	phase("Ann removes Cleo")
	ann.clickSel(member(cleoID) + ` button.member-remove`)
	waitJS[bool](ann, messageTimeout, "Cleo gone from the members",
		`!document.querySelector('`+member(cleoID)+`') && document.querySelector('#members-heading')?.textContent === '2 members'`)
	cleo.waitSystemLine("You were removed by Ann")
	waitJS[bool](cleo, stepTimeout, "no composer for Cleo, and why",
		`!document.querySelector('#composer') && (document.querySelector('#group-gone')?.innerText ?? '').includes('You were removed')`)
	cleoSaw := eval[int](cleo, `document.querySelectorAll('#messages .msg').length`)
	ben.waitSystemLine("Ann removed Cleo")
	ben.waitGroupHeader("The Family", "2 members")

	phase("Ben and Ann go on chatting without Cleo")
	ben.send("Just the two of us now")
	ann.openGroup(groupID)
	ann.waitFrom("Just the two of us now", "Ben")
	// The newest message in the chats list, under its author's name.
	waitJS[bool](ann, stepTimeout, "Ben's message in Ann's chats list",
		fmt.Sprintf(`document.querySelector('#chats li.chat-group[data-group=%q] .chat-preview')?.textContent === 'Ben: Just the two of us now'`, groupID))
	reply := ann.send("Indeed")
	ben.waitFrom("Indeed", "Ann")
	ann.waitState(reply, "delivered", "read")
	// By now the relay has passed both messages on to every member.
	if n := eval[int](cleo, `document.querySelectorAll('#messages .msg').length`); n != cleoSaw {
		t.Errorf("Cleo, removed, sees %d messages and lines in the group, had %d", n, cleoSaw)
	}
	cleo.reload()
	cleo.waitSystemLine("You were removed by Ann")
	if got := eval[string](cleo, `document.querySelector('#messages')?.innerText ?? ''`); strings.Contains(got, "Just the two of us") || strings.Contains(got, "Indeed") {
		t.Errorf("Cleo, removed, sees what Ben and Ann wrote after: %q", got)
	}
	// Ben never had Cleo as a contact: her name comes from the group,
	// which she has left, and stays in its history after a reload.
	ben.reload()
	ben.waitSystemLine("Ann removed Cleo")
	phase("an invitation from someone who is not a contact")
	ben.addContact(groupCleoAddress)
	ben.goTo("/")
	ben.click("new-group")
	ben.chooseGroup("Pals", cleoID)
	pals := ben.submitGroup()
	cleo.goTo("/")
	invite := fmt.Sprintf(`document.querySelector('#chats li.chat-group[data-group=%q]')`, pals)
	waitJS[bool](cleo, messageTimeout, "Ben's invitation in Cleo's chats list, as a request",
		invite+`?.querySelector('.chat-preview')?.textContent.endsWith('added you to Pals')`+
			` && `+invite+`.classList.contains('chat-request') && `+invite+`.querySelector('.badge-request')?.textContent === 'Invitation'`)
	cleo.openGroup(pals)
	waitJS[bool](cleo, stepTimeout, "the invitation's answers, from someone not in her contacts",
		`(document.querySelector('#invitation')?.innerText ?? '').includes('added you to Pals')`+
			` && !!document.querySelector('.request-bar .badge-stranger') && !document.querySelector('#composer')`)
	cleo.click("join-group")
	waitJS[bool](cleo, messageTimeout, "the composer once joined", `!!document.querySelector('#composer')`)
	cleo.send("Thanks for the invitation")
	ben.openGroup(pals)
	ben.waitIncoming("Thanks for the invitation")
	phase("done")
}

// chooseGroup fills in the new group page: the name and the contacts.
func (p *profile) chooseGroup(name string, members ...string) {
	p.t.Helper()
	p.fill("group-name", name)
	for _, m := range members {
		p.click("pick-" + m)
	}
	waitJS[bool](p, stepTimeout, "the members chosen",
		fmt.Sprintf(`document.querySelector('#pick-count')?.textContent === '%d chosen'`, len(members)))
}

// submitGroup presses Create on the new group page and returns the new
// group's ID once its chat is open.
func (p *profile) submitGroup() string {
	p.t.Helper()
	p.click("create-group")
	return waitJS[string](p, messageTimeout, "the new group's chat", `(() => {
	  const m = location.pathname.match(/^\/group\/([0-9a-f]{32})$/);
	  return m && document.querySelector('#composer') ? m[1] : '';
	})()`)
}

// openGroup opens the chat of the group and waits for its log.
func (p *profile) openGroup(id string) {
	p.t.Helper()
	if eval[string](p, `location.pathname`) != "/group/"+id {
		p.goTo("/group/" + id)
	}
	waitJS[bool](p, stepTimeout, "the group's chat", `!!document.querySelector('.conversation-group #messages')`)
}

// waitGroupInfo waits for the info page of the group.
func (p *profile) waitGroupInfo(id string) {
	p.t.Helper()
	waitJS[bool](p, stepTimeout, "the group's info", fmt.Sprintf(
		`location.pathname === %s && document.querySelectorAll('#members li.member').length > 0`, js("/group/"+id+"/info")))
}

// waitGroupHeader waits until the open group's header shows its name and
// member count.
func (p *profile) waitGroupHeader(name, count string) {
	p.t.Helper()
	waitJS[bool](p, messageTimeout, "the group's header to show "+name+", "+count,
		`document.querySelector('#chat-title')?.textContent === `+js(name)+
			` && document.querySelector('#group-members')?.textContent === `+js(count))
}

// waitFrom waits until the open group shows a received message with text
// under its author's name (drawn above the first message of each run of
// theirs), and returns the message's ID.
func (p *profile) waitFrom(text, author string) string {
	p.t.Helper()
	return waitJS[string](p, messageTimeout, "the message "+text+" from "+author, fmt.Sprintf(`(() => {
	  const ms = [...document.querySelectorAll('#messages .msg.msg-in')];
	  const i = ms.findIndex((m) => `+msgTextJS+`(m) === %s);
	  for (let j = i; j >= 0; j--) {
	    const a = ms[j].querySelector('.msg-author');
	    if (a) return a.textContent === %s ? ms[i].dataset.id : '';
	    if (!ms[j].classList.contains('msg-cont')) break;
	  }
	  return '';
	})()`, js(text), js(author)))
}

// waitSystemLine waits until the open group shows a system line that
// starts with text.
func (p *profile) waitSystemLine(text string) {
	p.t.Helper()
	waitJS[bool](p, messageTimeout, "the line "+text, fmt.Sprintf(
		`[...document.querySelectorAll('#messages .msg-system .system-text')].some((e) => e.textContent.startsWith(%s))`, js(text)))
}

// clickSel clicks the visible, enabled element the CSS selector finds,
// once it is there, in one evaluation (see click).
func (p *profile) clickSel(sel string) {
	p.t.Helper()
	waitJS[bool](p, stepTimeout, "to click "+sel, fmt.Sprintf(
		`(() => { const e = document.querySelector(%s); if (!e || !e.checkVisibility() || e.disabled) return false; e.click(); return true; })()`, js(sel)))
}

// checkVisible checks that each element the selectors find is shown
// whole inside the viewport.
func (p *profile) checkVisible(what string, sels ...string) {
	p.t.Helper()
	for _, sel := range sels {
		waitJS[bool](p, stepTimeout, what+": "+sel, fmt.Sprintf(`(() => {
		  const e = document.querySelector(%s);
		  if (!e || !e.checkVisibility()) return false;
		  const r = e.getBoundingClientRect();
		  return r.width > 0 && r.left >= -0.5 && r.right <= window.innerWidth + 0.5;
		})()`, js(sel)))
	}
}
