//go:build browser

package browsertest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/internal/stripetest"
)

// coopAddress is who joins the co-op in TestCoop.
const coopAddress = "carla@example.org"

// TestCoop: the co-op in the web app, with a relay that takes dues by card
// through Stripe (the stand-in of internal/stripetest over localstripe).
// Carla, made an operator on the server, opens the Co-op screen from the
// chats list on a phone: it says who runs Mutual and shows the month's
// figures; she enters two cost lines, and the figures, the costs and the
// chart follow. She grants herself the contributor role by address and
// revokes it, and turns the yearly notice off and on again (the settings
// show the same switch). "Pay by card" takes the browser to the
// provider's hosted page; she pays, comes back to the app, which thanks
// her, and the screen then says she is a member. The dues' notice
// appears in the "Mutual co-op" conversation of the chats list, which has
// no composer. Last, she cancels her membership after a question. The
// screen fits a 360 px phone at 200% text, and is taken on a phone and a
// desktop, and the notice on a phone, for the screenshots.
func TestCoop(t *testing.T) {
	start := time.Now()
	phase := func(name string) { t.Logf("[%5.1fs] %s", time.Since(start).Seconds(), name) }
	stripe := stripetest.Start(t)
	browser := chromium(t)
	app := buildApp(t)
	secret := "whsec_" + randomHex(t, 16)
	r := startRelayWith(t, app.mutual, app.web, func(addr string) (args, env []string) {
		return []string{
				"--coop-name", "Mutual Co-operative", "--coop-currency", "GBP", "--coop-plan", "monthly=500/month",
				"--stripe-api", stripe.URL(), "--public-url", "http://" + addr,
			}, []string{
				"MUTUAL_STRIPE_SECRET_KEY=" + stripe.SecretKey(), "MUTUAL_STRIPE_WEBHOOK_SECRET=" + secret,
			}
	})
	stripe.RegisterWebhook(r.url()+"/v1/coop/webhooks/stripe", secret)
	shots := screenshotDir(t)

	carla := newProfile(t, browser, r.url(), "carla")
	carla.emulate(360, 780, true, "light")
	carla.register(r, coopAddress)
	phase("Carla is made an operator on the server")
	r.coop("grant", "operator", "email:"+coopAddress)

	phase("the Co-op screen from the chats list")
	carla.goTo("/")
	carla.click("coop-link")
	carla.waitCoop()
	if got := carla.coopText("coop-about"); !strings.Contains(got, "Mutual Co-operative") || !strings.Contains(got, "no profit") {
		t.Errorf("the screen says %q of who runs Mutual", got)
	}
	carla.waitCoopText("fig-members", "0")
	carla.waitCoopText("fig-coverage", "No costs entered")
	carla.waitCoopText("membership-status", "You are not a member yet.")
	if got := eval[[]string](carla, `[...document.querySelectorAll('#join button')].map((b) => b.id)`); strings.Join(got, " ") != "join-stripe" {
		t.Errorf("the ways to join are %v, want only join-stripe (no GoCardless on this relay)", got)
	}
	if got := carla.coopText("join"); !strings.Contains(got, "Monthly: £5.00 a month") {
		t.Errorf("the plans say %q", got)
	}

	phase("Carla enters the month's costs")
	carla.setCost("infrastructure", "12", "one server")
	carla.setCost("sms", "3.00", "")
	// The figures come again with each cost: Carla, connected, is the
	// month's one active user.
	carla.waitCoopText("fig-users", "1")
	carla.waitCoopText("coop-total", "£15.00")
	carla.waitCoopText("fig-cost-per-user", "£15.00")
	carla.waitCoopText("fig-coverage", "0%")
	if got := carla.coopText("coop-costs"); !strings.Contains(got, "infrastructure") || !strings.Contains(got, "one server") || !strings.Contains(got, "£12.00") {
		t.Errorf("the costs say %q", got)
	}
	carla.checkChart("narrow")
	carla.checkFit("the Co-op screen")

	phase("roles by address, and the yearly notice")
	carla.fill("grant-address", coopAddress)
	carla.chooseRole("3")
	carla.click("grant-role-button")
	carla.waitFormDone("grant-form", "carla@example.org is now a contributor.")
	waitJS[bool](carla, stepTimeout, "the contributor role shown",
		`[...document.querySelectorAll('#coop-roles .badge-role')].map((b) => b.dataset.role).join(' ') === 'operator contributor'`)
	carla.fill("grant-address", coopAddress)
	carla.chooseRole("3")
	carla.click("revoke-role-button")
	carla.waitFormDone("grant-form", "carla@example.org is no longer a contributor.")
	waitJS[bool](carla, stepTimeout, "the contributor role gone",
		`[...document.querySelectorAll('#coop-roles .badge-role')].map((b) => b.dataset.role).join(' ') === 'operator'`)
	carla.toggleNotices("coop-notices-card", false)
	carla.goTo("/settings")
	waitJS[bool](carla, stepTimeout, "the settings' switch, off",
		`(() => { const s = document.querySelector('#coop-settings #coop-notices'); return !!s && !s.disabled && !s.checked; })()`)
	carla.toggleNotices("coop-settings", true)
	carla.click("settings-coop")
	carla.waitCoop()
	waitJS[bool](carla, stepTimeout, "the Co-op screen's switch, on",
		`(() => { const s = document.querySelector('#coop-notices'); return !!s && !s.disabled && s.checked; })()`)
	carla.scrollTo("coop-figures")
	saveScreenshot(t, shots, "coop-phone.png", carla.screenshot())

	phase("Carla pays by card on the provider's page")
	carla.click("join-stripe")
	carla.waitNavigated(stepTimeout, "the provider's hosted page",
		`location.href.startsWith(`+js(stripe.URL()+"/pay/")+`) && !!document.querySelector('#pay')`)
	carla.click("pay")
	carla.waitNavigated(messageTimeout, "the way back to the app",
		`location.pathname === '/co-op' && location.search === '?checkout=done' && !!document.querySelector('#checkout-status')`)
	carla.waitApp()
	waitJS[bool](carla, messageTimeout, "the membership to be active",
		`document.querySelector('#membership')?.dataset.status === 'active'`)
	carla.waitCoopText("checkout-status", "Thank you: you are a member of the co-op.")
	carla.waitCoopText("membership-status", "You are a member. Thank you for paying for Mutual.")
	carla.waitCoopText("membership-plan", "£5.00 a month (Stripe)")
	carla.waitCoopText("fig-members", "1")
	carla.waitCoopText("fig-per-member", "1")
	waitJS[bool](carla, stepTimeout, "the member role shown",
		`[...document.querySelectorAll('#coop-roles .badge-role')].map((b) => b.dataset.role).join(' ') === 'member operator'`)

	phase("the dues' notice in the co-op's conversation")
	carla.goTo("/")
	waitJS[bool](carla, messageTimeout, "the co-op's conversation in the chats list",
		`(document.querySelector('#chats li.chat-coop .chat-name')?.innerText ?? '') === 'Mutual co-op' && !!document.querySelector('#chats li.chat-coop img')`)
	carla.click("coop-chat-link")
	notice := waitJS[string](carla, messageTimeout, "the dues' notice",
		`[...document.querySelectorAll('#coop-notices-list .notice-text')].map((n) => n.innerText).find((t) => t.includes('supports')) ?? ''`)
	if !strings.Contains(notice, "£5.00") {
		t.Errorf("the dues' notice says %q", notice)
	}
	if eval[bool](carla, `!!document.querySelector('#composer, #send')`) {
		t.Error("the co-op's conversation has a composer")
	}
	if got := eval[string](carla, `document.querySelector('#coop-chat-note')?.innerText ?? ''`); !strings.Contains(got, "signed by the server") {
		t.Errorf("the conversation's note says %q", got)
	}
	if got := eval[string](carla, `document.querySelector('.notice-date')?.innerText ?? ''`); !strings.HasPrefix(got, "Today, ") {
		t.Errorf("the notice's date is %q", got)
	}
	carla.checkFit("the co-op's conversation")
	saveScreenshot(t, shots, "coop-notice-phone.png", carla.screenshot())

	phase("on a desktop, in the dark theme")
	carla.emulate(1280, 800, false, "dark")
	carla.goTo("/co-op")
	carla.waitCoop()
	carla.waitCoopText("fig-coverage", "33%")
	carla.samePublicFigures(r.url())
	carla.checkChart("wide")
	carla.scrollTo("coop-figures")
	saveScreenshot(t, shots, "coop-desktop.png", carla.screenshot())

	phase("Carla cancels her membership")
	carla.click("cancel-membership")
	waitJS[bool](carla, stepTimeout, "the question", `document.querySelector('#coop-dialog')?.open === true`)
	carla.click("keep-membership")
	waitJS[bool](carla, stepTimeout, "the question closed", `document.querySelector('#coop-dialog')?.open === false`)
	if got := eval[string](carla, `document.querySelector('#membership')?.dataset.status`); got != "active" {
		t.Fatalf("keeping the membership left it %s", got)
	}
	carla.click("cancel-membership")
	carla.click("confirm-cancel-membership")
	waitJS[bool](carla, stepTimeout, "the membership cancelled",
		`document.querySelector('#membership')?.dataset.status === 'canceled' && !!document.querySelector('#join-stripe')`)
	carla.waitCoopText("membership-status", "Your membership is cancelled. You can join again.")
}

// coop runs `mutual coop ARGS` on the relay's data directory, as its
// operator does on the server while it runs.
func (r *relay) coop(args ...string) {
	r.t.Helper()
	cmd := exec.Command(r.bin, append(append([]string{"coop"}, args...), "--data", r.data)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		r.t.Fatalf("mutual coop %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// randomHex is n random bytes in hex.
func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// waitCoop waits for the Co-op screen with the relay's answer.
func (p *profile) waitCoop() {
	p.t.Helper()
	waitJS[bool](p, stepTimeout, "the Co-op screen", `location.pathname === '/co-op' && !!document.querySelector('#membership')`)
}

// coopText is the text of the element with the ID.
func (p *profile) coopText(id string) string {
	p.t.Helper()
	return eval[string](p, fmt.Sprintf(`document.getElementById(%s)?.innerText ?? ''`, js(id)))
}

// samePublicFigures checks that the relay's public figures (/coop.json)
// say what the Co-op screen shows for this month.
func (p *profile) samePublicFigures(base string) {
	p.t.Helper()
	resp, err := http.Get(base + "/coop.json")
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Currency string `json:"currency"`
		Months   []struct {
			ActiveUsers    int64 `json:"active_users"`
			Members        int64 `json:"members"`
			CostPerUser    int64 `json:"cost_per_user"`
			UsersPerMember int64 `json:"users_per_member"`
			Coverage       int64 `json:"coverage"`
		} `json:"months"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&doc); err != nil || resp.StatusCode != http.StatusOK {
		p.t.Fatalf("/coop.json: %s, %v", resp.Status, err)
	}
	if doc.Currency != "GBP" || len(doc.Months) == 0 {
		p.t.Fatalf("/coop.json: %+v, want this month's figures in GBP", doc)
	}
	m := doc.Months[0]
	want := map[string]string{
		"fig-users":         strconv.FormatInt(m.ActiveUsers, 10),
		"fig-members":       strconv.FormatInt(m.Members, 10),
		"fig-cost-per-user": fmt.Sprintf("£%d.%02d", m.CostPerUser/100, m.CostPerUser%100),
		"fig-per-member":    strconv.FormatInt(m.UsersPerMember, 10),
		"fig-coverage":      fmt.Sprintf("%d%%", m.Coverage),
	}
	for id, w := range want {
		if got := strings.TrimSpace(p.coopText(id)); got != w {
			p.t.Errorf("the Co-op screen's #%s says %q, /coop.json %q", id, got, w)
		}
	}
}

// waitCoopText waits until the element with the ID says want.
func (p *profile) waitCoopText(id, want string) {
	p.t.Helper()
	waitJS[bool](p, messageTimeout, fmt.Sprintf("#%s to say %q", id, want),
		fmt.Sprintf(`(document.getElementById(%s)?.innerText ?? '').trim() === %s`, js(id), js(want)))
}

// waitFormDone waits until the form with the ID says done.
func (p *profile) waitFormDone(id, done string) {
	p.t.Helper()
	waitJS[bool](p, stepTimeout, fmt.Sprintf("#%s to say %q", id, done),
		fmt.Sprintf(`(document.querySelector('#' + %s + ' [role=status]')?.innerText ?? '') === %s`, js(id), js(done)))
}

// setCost enters a cost line of the current month as an operator.
func (p *profile) setCost(category, amount, note string) {
	p.t.Helper()
	p.fill("cost-category", category)
	p.fill("cost-amount", amount)
	if note != "" {
		p.fill("cost-note", note)
	}
	p.click("save-cost")
	p.waitFormDone("cost-form", "Saved "+category+" for "+eval[string](p, `(() => {
	  const [y, m] = document.getElementById('cost-month').value.split('-');
	  return new Date(Date.UTC(+y, +m - 1, 1)).toLocaleString('en-GB', {month: 'long', year: 'numeric', timeZone: 'UTC'});
	})()`)+".")
}

// checkChart checks that the history's chart of the size shown ("wide"
// or "narrow") is drawn, named by its title, with the current month's
// bars of costs and dues, and the other hidden; and that the table of
// its numbers is there for screen readers.
func (p *profile) checkChart(size string) {
	p.t.Helper()
	other := map[string]string{"wide": "narrow", "narrow": "wide"}[size]
	waitJS[bool](p, stepTimeout, "the "+size+" chart", fmt.Sprintf(`(() => {
	  const svg = document.querySelector('#coop-chart svg.chart-%s'), hidden = document.querySelector('#coop-chart svg.chart-%s');
	  if (!svg || svg.getBoundingClientRect().height === 0 || hidden.getBoundingClientRect().height !== 0) return false;
	  const title = document.getElementById(svg.getAttribute('aria-labelledby'));
	  const costs = [...svg.querySelectorAll('rect.chart-costs')], dues = svg.querySelectorAll('rect.chart-dues');
	  return svg.getAttribute('role') === 'img' && !!title && title.textContent.startsWith('Costs and dues') &&
	    costs.length === dues.length && costs[costs.length - 1].getBoundingClientRect().height > 10 &&
	    document.querySelectorAll('#coop-history tbody tr').length >= costs.length;
	})()`, size, other))
}

// toggleNotices sets the yearly notice's switch in the card with the ID
// and waits until the relay has it.
func (p *profile) toggleNotices(card string, on bool) {
	p.t.Helper()
	waitJS[bool](p, stepTimeout, "the notices' switch", fmt.Sprintf(`(() => {
	  const s = document.querySelector('#%s #coop-notices');
	  if (!s || s.disabled) return false;
	  if (s.checked !== %t) s.click();
	  return true;
	})()`, card, on))
	want := "The yearly notice is off."
	if on {
		want = "The yearly notice is on."
	}
	p.waitFormDone(card, want)
}

// chooseRole chooses the role (its number) in the operator's form.
func (p *profile) chooseRole(role string) {
	p.t.Helper()
	eval[bool](p, fmt.Sprintf(`(document.getElementById('grant-role').value = %s, true)`, js(role)))
}

// scrollTo scrolls the page's main area so that the element with the ID
// is at its top.
func (p *profile) scrollTo(id string) {
	p.t.Helper()
	eval[bool](p, fmt.Sprintf(`(() => {
	  const m = document.getElementById('main'), e = document.getElementById(%s);
	  m.scrollTop += e.getBoundingClientRect().top - m.getBoundingClientRect().top - 8;
	  return true;
	})()`, js(id)))
}
