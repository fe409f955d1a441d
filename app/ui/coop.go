package ui

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Paths of the co-op's pages. The relay's public page of the co-op is
// /coop; the app's screen is /co-op, where the payment providers send
// people back (?checkout=done, or ?checkout=cancel).
const (
	pathCoop        = "/co-op"
	pathCoopNotices = "/co-op/notices"
)

// checkoutPolls are the waits between two looks at the membership after
// someone came back from paying, until it is active: gentle, as the
// provider's confirmation can take a while; the last repeats. A co-op
// notice (the dues' thanks) makes the screen look at once.
var checkoutPolls = []time.Duration{2 * time.Second, 3 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second}

// coopPage is the Co-op screen: what the co-op is, its figures and
// history, the account's membership and roles, and for operators the
// costs and the roles of others.
type coopPage struct {
	app.Compo
	s  *Session
	st coopState

	loading bool
	polls   int // looks since coming back from paying
}

// OnMount reads the co-op's figures and this account's membership.
func (p *coopPage) OnMount(ctx app.Context) {
	switch ctx.Page().URL().Query().Get("checkout") {
	case "done":
		p.st.checkout = checkoutDone
	case "cancel":
		p.st.checkout = checkoutCanceled
	}
	ctx.Handle(actionEvent, func(ctx app.Context, a app.Action) {
		switch ev := a.Value.(type) {
		case client.Connected:
			p.load(ctx)
		case client.MessageReceived:
			if ev.Message.Conversation == wire.CoopConversation {
				p.load(ctx)
				return
			}
			ctx.PreventUpdate()
		default:
			ctx.PreventUpdate()
		}
	})
	p.load(ctx)
}

// load asks the relay for the co-op's figures and the membership; loads
// never overlap.
func (p *coopPage) load(ctx app.Context) {
	if p.loading {
		return
	}
	p.loading = true
	s := p.s
	ctx.Async(func() {
		var info client.CoopInfo
		c, err := s.client()
		if err == nil {
			rctx, cancel := withTimeout(context.Background())
			info, err = c.Coop(rctx)
			cancel()
		}
		online := s.isOnline()
		ctx.Dispatch(func(ctx app.Context) {
			p.loading = false
			if err != nil {
				if !p.st.loaded {
					p.st.loadErr = coopErrorText(err, online, notFoundStatus)
				}
			} else {
				p.show(info)
			}
			p.pollCheckout(ctx)
		})
	})
}

// show takes a fresh CoopInfo.
func (p *coopPage) show(info client.CoopInfo) {
	p.st.info, p.st.loaded, p.st.loadErr = info, true, ""
}

// pollCheckout looks again later while the membership paid for is not
// active yet.
func (p *coopPage) pollCheckout(ctx app.Context) {
	if p.st.checkout != checkoutDone || (p.st.loaded && p.st.info.Membership.Status.Paying()) {
		return
	}
	wait := checkoutPolls[min(p.polls, len(checkoutPolls)-1)]
	p.polls++
	n := p.polls
	ctx.After(wait, func(ctx app.Context) {
		// A look made meanwhile (an event) started its own wait.
		if n == p.polls {
			p.load(ctx)
		}
	})
}

func (p *coopPage) choosePlan(ctx app.Context, e app.Event) {
	p.st.plan = ctx.JSSrc().Get("value").String()
}

// join asks the relay for the provider's page and goes there.
func (p *coopPage) join(ctx app.Context, e app.Event) {
	if p.st.joining != "" {
		return
	}
	provider := ctx.JSSrc().Get("dataset").Get("provider").String()
	plan := chosenPlan(p.st)
	p.st.joining, p.st.joinErr = provider, ""
	s := p.s
	ctx.Async(func() {
		var dest string
		c, err := s.client()
		if err == nil {
			rctx, cancel := withTimeout(context.Background())
			dest, err = c.Join(rctx, provider, plan)
			cancel()
		}
		if err == nil {
			err = checkoutURL(dest)
		}
		online := s.isOnline()
		ctx.Dispatch(func(ctx app.Context) {
			if err != nil {
				p.st.joining, p.st.joinErr = "", coopErrorText(err, online, notFoundJoin)
				return
			}
			// The button stays busy while the browser leaves.
			app.Window().Get("location").Call("assign", dest)
		})
	})
}

// errBadCheckout: the relay's checkout link is not a web page.
var errBadCheckout = errors.New("ui: the checkout link is not an https or http URL")

// checkoutURL checks that a checkout link is a web page to send the
// browser to (never javascript: or data:).
func checkoutURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errBadCheckout
	}
	return nil
}

// askCancel opens the question before cancelling.
func (p *coopPage) askCancel(ctx app.Context, e app.Event) {
	p.st.err = ""
	ctx.Defer(func(app.Context) { openDialog("coop-dialog") })
}

// closeDialog closes the question (Keep it, or after cancelling).
func (p *coopPage) closeDialog(ctx app.Context, e app.Event) {
	if dlg := byID("coop-dialog"); dlg.Truthy() && dlg.Get("open").Bool() {
		dlg.Call("close")
	}
}

// confirmCancel cancels the membership at its provider.
func (p *coopPage) confirmCancel(ctx app.Context, e app.Event) {
	e.PreventDefault()
	if p.st.busy {
		return
	}
	p.st.busy, p.st.err = true, ""
	s := p.s
	ctx.Async(func() {
		var info client.CoopInfo
		c, err := s.client()
		if err == nil {
			rctx, cancel := withTimeout(context.Background())
			info, err = c.CancelMembership(rctx)
			cancel()
		}
		online := s.isOnline()
		ctx.Dispatch(func(ctx app.Context) {
			p.st.busy = false
			p.closeDialog(ctx, e)
			if err != nil {
				p.st.err = coopErrorText(err, online, notFoundCancel)
				return
			}
			p.st.checkout = checkoutNone
			p.show(info)
		})
	})
}

// setCost records a cost line (operators).
func (p *coopPage) setCost(ctx app.Context, e app.Event) {
	e.PreventDefault()
	if p.st.cost.busy {
		return
	}
	month := byID("cost-month").Get("value").String()
	category := strings.TrimSpace(byID("cost-category").Get("value").String())
	note := strings.TrimSpace(byID("cost-note").Get("value").String())
	amount, err := parseMoney(byID("cost-amount").Get("value").String(), p.st.info.Currency)
	switch {
	case err != nil:
		p.st.cost = formState{err: "Enter the amount in " + strings.ToUpper(p.st.info.Currency) + ", like 12.50."}
		return
	case category == "":
		p.st.cost = formState{err: "Enter a category, like infrastructure."}
		return
	}
	if _, ok := monthTime(month); !ok {
		p.st.cost = formState{err: "Choose a month."}
		return
	}
	p.st.cost = formState{busy: true}
	s := p.s
	ctx.Async(func() {
		var info client.CoopInfo
		c, err := s.client()
		if err == nil {
			rctx, cancel := withTimeout(context.Background())
			info, err = c.SetCost(rctx, month, category, amount, note)
			cancel()
		}
		online := s.isOnline()
		ctx.Dispatch(func(ctx app.Context) {
			if err != nil {
				p.st.cost = formState{err: coopErrorText(err, online, notFoundStatus)}
				return
			}
			p.show(info)
			done := "Saved " + category + " for " + monthName(month) + "."
			if amount == 0 {
				done = "Removed " + category + " from " + monthName(month) + "."
			}
			p.st.cost = formState{done: done}
			for _, id := range []string{"cost-category", "cost-amount", "cost-note"} {
				byID(id).Set("value", "")
			}
		})
	})
}

// grantRole and revokeRole give the role chosen to the address typed, or
// take it away (operators).
func (p *coopPage) grantRole(ctx app.Context, e app.Event) {
	e.PreventDefault()
	p.changeRole(ctx, false)
}

func (p *coopPage) revokeRole(ctx app.Context, e app.Event) {
	p.changeRole(ctx, true)
}

func (p *coopPage) changeRole(ctx app.Context, revoke bool) {
	if p.st.grant.busy {
		return
	}
	typed := byID("grant-address").Get("value").String()
	addr, err := emailAddress(typed)
	if err != nil {
		p.st.grant = formState{err: errorText(err, true)}
		return
	}
	r, _ := strconv.ParseUint(byID("grant-role").Get("value").String(), 10, 32)
	role := wire.CoopRole(r)
	p.st.grant = formState{busy: true}
	s := p.s
	ctx.Async(func() {
		c, err := s.client()
		if err == nil {
			rctx, cancel := withTimeout(context.Background())
			err = c.Grant(rctx, role, addr, revoke)
			cancel()
		}
		online := s.isOnline()
		ctx.Dispatch(func(ctx app.Context) {
			if err != nil {
				p.st.grant = formState{err: coopErrorText(err, online, notFoundGrant)}
				return
			}
			done := plainAddress(addr) + " is now " + article(role.String()) + "."
			if revoke {
				done = plainAddress(addr) + " is no longer " + article(role.String()) + "."
			}
			p.st.grant = formState{done: done}
			byID("grant-address").Set("value", "")
			p.load(ctx)
		})
	})
}

// article puts "a" or "an" before a role's name.
func article(word string) string {
	if word != "" && strings.ContainsRune("aeiou", rune(word[0])) {
		return "an " + word
	}
	return "a " + word
}

// setNotices turns the yearly notice on or off.
func (p *coopPage) setNotices(ctx app.Context, e app.Event) {
	on := ctx.JSSrc().Get("checked").Bool()
	p.st.info.NoticesOff = !on
	p.st.notices = formState{busy: true}
	s := p.s
	ctx.Async(func() {
		info, err := setCoopNotices(s, on)
		online := s.isOnline()
		ctx.Dispatch(func(ctx app.Context) {
			if err != nil {
				p.st.info.NoticesOff = on
				p.st.notices = formState{err: coopErrorText(err, online, notFoundStatus)}
				return
			}
			p.st.notices = formState{done: noticesDone(!info.NoticesOff)}
			p.show(info)
		})
	})
}

// noticesDone says that the yearly notice was turned on or off.
func noticesDone(on bool) string {
	if on {
		return "The yearly notice is on."
	}
	return "The yearly notice is off."
}

// setCoopNotices asks the relay to send the yearly notice or not.
func setCoopNotices(s *Session, on bool) (client.CoopInfo, error) {
	c, err := s.client()
	if err != nil {
		return client.CoopInfo{}, err
	}
	rctx, cancel := withTimeout(context.Background())
	defer cancel()
	return c.SetCoopNotices(rctx, on)
}

// Render draws the screen.
func (p *coopPage) Render() app.UI {
	p.st.now = p.s.now()
	return coopView(p.st, coopHandlers{
		plan: p.choosePlan, join: p.join, cancel: p.askCancel, closeDialog: p.closeDialog,
		confirmCancel: p.confirmCancel,
		setCost:       p.setCost, grant: p.grantRole, revoke: p.revokeRole, notices: p.setNotices,
	})
}

// openDialog shows the <dialog> id as a modal (or open, where the
// browser has no showModal).
func openDialog(id string) {
	dlg := byID(id)
	switch {
	case !dlg.Truthy():
	case dlg.Get("showModal").Truthy():
		if !dlg.Get("open").Bool() {
			dlg.Call("showModal")
		}
	default:
		dlg.Call("setAttribute", "open", "")
	}
}

// What the relay's not_found means to each of the co-op's requests.
const (
	notFoundStatus = "This server does not run a co-op."
	notFoundJoin   = "That way to pay is not offered any more. Reload the page and choose again."
	notFoundCancel = "You have no membership to cancel."
	notFoundGrant  = "Nobody has signed up with that address yet."
)

// coopErrorText explains a refusal of one of the co-op's requests
// (notFound is what not_found means to it), and any other error as
// errorText does.
func coopErrorText(err error, online bool, notFound string) string {
	var we *wire.Error
	if errors.As(err, &we) {
		switch we.Code {
		case wire.CodeForbidden:
			return "Only the co-op's operators can do that."
		case wire.CodeNotFound:
			return notFound
		case wire.CodeExists:
			return "You are a member already."
		case wire.CodeBadRequest:
			return "The server did not accept that. Check what you entered and try again."
		case wire.CodeUnavailable:
			return "The payment provider or the server could not be reached. Try again in a moment."
		}
	}
	if errors.Is(err, errBadCheckout) {
		return "The server gave a payment link that is not a web page. Try again later."
	}
	return errorText(err, online)
}
