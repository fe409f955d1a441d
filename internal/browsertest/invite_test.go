//go:build browser

package browsertest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The people of TestInviteLink.
const (
	inviteAnnAddress  = "ann@example.org"
	inviteBenAddress  = "ben@example.org"
	inviteCleoAddress = "cleo@example.org"
)

// TestInviteLink: a group's invite link in the browser, on phones (360
// px). Ann makes the group "Hikers" with Cleo (on the native client) and,
// in its info, turns on the link for anyone to join: the info shows the
// link on the app's own origin, its Copy button and QR code, and fits.
// Ben, signed out, opens the link: he signs in first and comes back to
// it, the page names the group and Ann, and Join lets him in once Ann's
// device has: its chat opens, everyone sees "Ben joined with the invite
// link", and Ben reads Ann's next message.
func TestInviteLink(t *testing.T) {
	start := time.Now()
	phase := func(name string) { t.Logf("[%5.1fs] %s", time.Since(start).Seconds(), name) }
	browser := chromium(t)
	app := buildApp(t)
	r := startRelay(t, app.mutual, app.web)
	dir := screenshotDir(t)

	newSeeder(t, r, inviteCleoAddress)
	ann := newProfile(t, browser, r.url(), "ann")
	ben := newProfile(t, browser, r.url(), "ben")
	ann.emulate(360, 780, true, "light")
	ben.emulate(360, 780, true, "light")
	ann.register(r, inviteAnnAddress)
	ann.setName("Ann")

	phase("Ann makes a group and its invite link")
	cleoID := ann.addContact(inviteCleoAddress)
	ann.goTo("/")
	ann.click("new-group")
	waitJS[bool](ann, stepTimeout, "the new group page", `!!document.querySelector('#pick-list')`)
	ann.chooseGroup("Hikers", cleoID)
	groupID := ann.submitGroup()
	ann.click("group-info")
	ann.waitGroupInfo(groupID)
	if n := eval[int](ann, `document.querySelectorAll('#invite-card input[name=link-mode]').length`); n != 3 {
		t.Fatalf("the invite card offers %d modes, want 3", n)
	}
	ann.click("link-open")
	link := waitJS[string](ann, messageTimeout, "the invite link", `(() => {
	  const v = document.querySelector('#invite-link')?.value ?? '';
	  return document.querySelector('#link-open')?.checked && v.startsWith(location.origin + '/join#') &&
	    !!document.querySelector('#invite-qr svg') && !!document.querySelector('#copy-link') ? v : '';
	})()`)
	token := strings.TrimPrefix(link, r.url()+"/join#")
	if token == link || token == "" {
		t.Fatalf("the link %q is not on the app's origin %s", link, r.url())
	}
	ann.clickSel("#reset-link")
	link = waitJS[string](ann, messageTimeout, "a new link after the reset", fmt.Sprintf(`(() => {
	  const v = document.querySelector('#invite-link')?.value ?? '';
	  return v !== %s && v.startsWith(location.origin + '/join#') && !document.querySelector('#reset-link')?.disabled ? v : '';
	})()`, js(link)))
	token = strings.TrimPrefix(link, r.url()+"/join#")
	ann.checkFit("a group's info with its invite link")
	eval[bool](ann, `(document.querySelector('#invite-card').scrollIntoView({block: 'start'}), true)`)
	saveScreenshot(t, dir, "group-invite-phone.png", ann.screenshot())
	ann.openGroup(groupID)
	ann.waitSystemLine("You set the invite link: anyone with it can join")
	ann.waitSystemLine("You reset the invite link")

	phase("Ben, signed out, opens the link, signs in and comes back to it")
	ben.open("/join#" + token)
	ben.signInHere(r, inviteBenAddress)
	ben.waitJoinPage("Hikers", "Ann invites you", "Join")
	if got := eval[string](ben, `location.hash`); got != "#"+token {
		t.Errorf("after signing in the page's fragment is %q, want the token", got)
	}
	ben.setName("Ben")
	eval[bool](ben, fmt.Sprintf(`(goappNav(%s), true)`, js("/join#"+token)))
	ben.waitJoinPage("Hikers", "Ann invites you", "Join")
	ben.checkFit("the join page")

	phase("Ben joins; Ann's device lets him in")
	ben.click("join-group")
	waitJS[bool](ben, messageTimeout, "the group's chat to open for Ben", fmt.Sprintf(
		`location.pathname === %s && !!document.querySelector('.conversation-group #composer')`, js("/group/"+groupID)))
	ben.waitSystemLine("You joined with the invite link")
	ann.waitSystemLine("Ben joined with the invite link")
	ann.waitGroupHeader("Hikers", "3 members")

	phase("Ben reads the group's next message")
	ann.send("Welcome, Ben")
	ben.waitFrom("Welcome, Ben", "Ann")
	ben.send("Thanks, Ann")
	ann.waitFrom("Thanks, Ann", "Ben")
	phase("done")
}

// signInHere signs in from the page the profile is on, while signed out:
// onboarding asks for the address and the code the relay mailed.
func (p *profile) signInHere(r *relay, address string) {
	p.t.Helper()
	waitJS[bool](p, stepTimeout, "onboarding", `location.pathname === '/welcome' && !!document.querySelector('#address')`)
	p.fill("address", address)
	p.do(stepTimeout, "ask for a code",
		chromedp.Click(chromedp.ID("send-code")),
		chromedp.WaitVisible(chromedp.ID("code")),
	)
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	code, err := r.mail.WaitCode(ctx, address)
	if err != nil {
		p.fatalf("read the code: %v", err)
	}
	p.fill("code", code)
	p.click("verify")
	p.waitOnline()
}

// waitJoinPage waits until the join page names the group and who
// invites, with its button.
func (p *profile) waitJoinPage(group, inviter, button string) {
	p.t.Helper()
	waitJS[bool](p, messageTimeout, "the join page of "+group, fmt.Sprintf(
		`location.pathname === '/join' && document.querySelector('#join-group-name')?.textContent === %s`+
			` && document.querySelector('#join-inviter')?.textContent === %s`+
			` && document.querySelector('#join-group')?.textContent === %s`, js(group), js(inviter), js(button)))
}
