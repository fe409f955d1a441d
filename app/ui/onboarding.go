package ui

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/relay/wire"
)

// onboardingStep is where onboarding stands.
type onboardingStep int

const (
	stepAddress onboardingStep = iota // typing the address
	stepCode                          // typing the code that was mailed
)

// onboardingCall is the request to the relay onboarding waits for.
type onboardingCall int

const (
	callNone   onboardingCall = iota
	callSend                  // asking for a code (Register)
	callVerify                // proving the code (Verify)
)

// onboardingState is what the onboarding view shows.
type onboardingState struct {
	step    onboardingStep
	typed   string // the address as typed
	address string // the address sent to ("email:...")
	token   []byte // binds the code to the request that asked for it
	code    string
	call    onboardingCall // in flight, if any
	err     string
	sent    bool      // a new code was just sent
	retryAt time.Time // the relay takes no new code request before then
	now     time.Time // for the countdown to retryAt
}

// busy reports whether a request is in flight.
func (st onboardingState) busy() bool { return st.call != callNone }

// waiting reports whether the relay refuses new code requests for now.
func (st onboardingState) waiting() bool { return st.now.Before(st.retryAt) }

// onboarding signs this device in: an email address, the code mailed to
// it, and the device is ready.
//
// One request at a time: a press while one is in flight does nothing.
// Each has a deadline (busyTimeout, with callGrace for the connection to
// close): when it passes, the form comes back with a message whatever the
// request does, and its late answer is dropped.
type onboarding struct {
	app.Compo
	s  *Session
	st onboardingState

	// ctx is the component's own context, for the work that outlives an
	// event: an event's context belongs to the element that fired it,
	// which a change of step removes, and go-app drops what is dispatched
	// or deferred on a removed element.
	ctx     app.Context
	gen     int  // numbers the requests: answers to older ones are dropped
	ticking bool // the countdown to st.retryAt runs
}

// pendingKey keeps, for the browser tab's session, the address a code was
// sent to. The token that the code is bound to lives only in memory: a
// reload (an update, or the browser discarding the tab while the user
// reads their mail) loses it, and comes back to the address, filled in,
// with reloadedText.
const pendingKey = "mutual-onboarding-address"

// reloadedText tells why a reload went back to the address.
const reloadedText = "The page was reloaded, so the code sent earlier no longer works here. Send a new code."

// OnMount goes back to the address if a code was sent before a reload,
// and puts the cursor in the first field.
func (o *onboarding) OnMount(ctx app.Context) {
	o.ctx = ctx
	var addr string
	if err := ctx.SessionStorage().Get(pendingKey, &addr); err == nil && addr != "" {
		ctx.SessionStorage().Del(pendingKey)
		o.st.typed, o.st.err = plainAddress(addr), reloadedText
		ctx.Defer(func(app.Context) { focusID("send-code") })
		return
	}
	o.focusStep()
}

// callGrace is how long onboarding waits past a request's own deadline
// (busyTimeout) before it gives up on it: time for its connection to
// close.
const callGrace = 5 * time.Second

// tooSlowText says that a request passed its deadline.
const tooSlowText = "The server took too long to answer. Try again."

// start marks a request as in flight and arms its deadline; the returned
// number identifies it to finish.
func (o *onboarding) start(call onboardingCall) int {
	o.gen++
	gen := o.gen
	o.st.call, o.st.err, o.st.sent = call, "", false
	o.ctx.After(busyTimeout+callGrace, func(ctx app.Context) {
		if o.gen != gen || !o.st.busy() {
			return
		}
		o.gen++
		o.st.call, o.st.err = callNone, tooSlowText
		o.focusStep()
	})
	return gen
}

// finish ends request gen; it reports false if that request was given up
// (its deadline passed), so that its answer is dropped.
func (o *onboarding) finish(gen int) bool {
	if o.gen != gen {
		return false
	}
	o.st.call = callNone
	return true
}

// focusStep puts the cursor in the current step's field.
func (o *onboarding) focusStep() {
	id := "address"
	if o.st.step == stepCode {
		id = "code"
	}
	o.ctx.Defer(func(app.Context) { focusID(id) })
}

func (o *onboarding) sendCode(ctx app.Context, e app.Event) {
	e.PreventDefault()
	o.st.now = o.s.now()
	if o.st.busy() || o.st.waiting() {
		return
	}
	if o.st.step == stepAddress {
		o.st.typed = byID("address").Get("value").String()
	}
	addr, err := emailAddress(o.st.typed)
	if err != nil {
		o.st.err = errorText(err, true)
		o.focusStep()
		return
	}
	gen := o.start(callSend)
	s := o.s
	o.ctx.Async(func() {
		rctx, cancel := withTimeout(context.Background())
		defer cancel()
		token, err := s.Register(rctx, addr)
		online := browserOnline()
		o.ctx.Dispatch(func(ctx app.Context) {
			if !o.finish(gen) {
				return
			}
			if err != nil {
				o.codeRefused(err, online)
				return
			}
			o.st.sent = o.st.step == stepCode
			o.st.step, o.st.address, o.st.token, o.st.code = stepCode, addr, token, ""
			ctx.SessionStorage().Set(pendingKey, addr)
			o.focusStep()
		})
	})
}

// codeRefused shows why a code was not sent. A rate limit says what
// happened and counts down to when another may be asked for.
func (o *onboarding) codeRefused(err error, online bool) {
	var we *wire.Error
	if errors.As(err, &we) && we.Code == wire.CodeRateLimited && we.RetryAfterMS > 0 {
		o.st.now = o.s.now()
		o.st.retryAt = o.st.now.Add(time.Duration(we.RetryAfterMS) * time.Millisecond)
		o.st.err = ""
		o.tick()
		return
	}
	o.st.err = errorText(err, online)
	o.focusStep()
}

// tick redraws the countdown to retryAt every second until it ends.
func (o *onboarding) tick() {
	if o.ticking {
		return
	}
	o.ticking = true
	var next func(app.Context)
	next = func(ctx app.Context) {
		o.st.now = o.s.now()
		if !o.st.waiting() {
			o.ticking = false
			return
		}
		ctx.After(time.Second, next)
	}
	o.ctx.After(time.Second, next)
}

func (o *onboarding) verify(ctx app.Context, e app.Event) {
	e.PreventDefault()
	if o.st.busy() {
		return
	}
	code := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, byID("code").Get("value").String())
	switch {
	case code == "":
		o.st.err = "Enter the code from the email."
		return
	case len(code) > wire.CodeDigits:
		o.st.code = code
		o.st.err = "That is more than " + strconv.Itoa(wire.CodeDigits) + " digits. Check the code in the email."
		return
	}
	o.st.code = code
	gen := o.start(callVerify)
	s, addr, token, name := o.s, o.st.address, o.st.token, browserDeviceName()
	o.ctx.Async(func() {
		rctx, cancel := withTimeout(context.Background())
		defer cancel()
		_, err := s.Verify(rctx, addr, code, token, name)
		online := browserOnline()
		o.ctx.Dispatch(func(ctx app.Context) {
			if !o.finish(gen) {
				return
			}
			if err != nil {
				o.st.err = errorText(err, online)
				o.focusStep()
				return
			}
			o.st.token = nil
			ctx.SessionStorage().Del(pendingKey)
			// The restore page offers the account's backup, if it has
			// one, and goes on to afterSignIn.
			ctx.Navigate(pathRestore)
		})
	})
}

func (o *onboarding) changeAddress(ctx app.Context, e app.Event) {
	if o.st.busy() {
		return
	}
	ctx.SessionStorage().Del(pendingKey)
	o.st.step, o.st.token, o.st.err, o.st.sent = stepAddress, nil, "", false
	o.focusStep()
}

// Render draws the current step.
func (o *onboarding) Render() app.UI {
	o.st.now = o.s.now()
	return onboardingView(o.st, o.sendCode, o.verify, o.changeAddress)
}

// onboardingView draws onboarding; the handlers may be nil (tests).
func onboardingView(st onboardingState, sendCode, verify, changeAddress app.EventHandler) app.UI {
	errLine := app.P().ID("onboarding-error").Class("error").Role("alert").Text(st.err)
	waiting := st.waiting()
	// The clock ticks every second out of screen readers' hearing; they
	// get the wait in words, which changes at most once a minute.
	wait := app.If(waiting, func() app.UI {
		left := st.retryAt.Sub(st.now)
		return app.P().ID("retry-wait").Class("hint").Role("status").Body(
			app.Text(retryText(left)+" "),
			app.Span().Class("countdown").Aria("hidden", "true").Text(clockText(left)),
			app.Span().Class("sr-only").Text(waitText(left)),
			app.Text("."),
		)
	})
	var intro, form app.UI
	if st.step == stepAddress {
		label := "Send code"
		if st.call == callSend {
			label = "Sending…"
		}
		intro = app.P().Class("lead").Text("Private messages, end-to-end encrypted. Sign in, or create your account, with your email address.")
		// Each step is its own element (a div, then a section), so that
		// the second does not reuse the first's input, whose typed value
		// would stay.
		form = app.Div().Class("step").Body(app.Form().Class("stack").NoValidate(true).OnSubmit(sendCode).Body(
			app.Label().For("address").Text("Email address"),
			app.Input().ID("address").Name("address").Type("email").Attr("autocomplete", "email").
				Attr("inputmode", "email").Attr("autocapitalize", "off").Spellcheck(false).
				Placeholder("you@example.org").Required(true).Value(st.typed).AutoFocus(true).
				Aria("describedby", "onboarding-error"),
			errLine,
			wait,
			app.Button().ID("send-code").Type("submit").Class("button", "button-primary").
				Disabled(st.busy() || waiting).Text(label),
		), app.P().Class("link-entry").Body(
			app.Text("Already use Mutual on a phone or computer? "),
			app.A().ID("link-instead").Href(pathLink).Text("Link to a device you already have"),
		))
	} else {
		label := "Verify"
		if st.call == callVerify {
			label = "Verifying…"
		}
		resend := "Send a new code"
		if st.call == callSend {
			resend = "Sending a new code…"
		}
		digits := strconv.Itoa(wire.CodeDigits)
		intro = app.P().Class("lead").Body(
			app.Text("We sent a code to "),
			app.Strong().Text(plainAddress(st.address)),
			app.Text(". Enter it below; it is valid for a few minutes."),
		)
		form = app.Section().Class("step").Aria("label", "Code").Body(app.Form().Class("stack").NoValidate(true).OnSubmit(verify).Body(
			app.If(st.sent, func() app.UI {
				return app.P().ID("code-sent").Class("hint").Role("status").Text("A new code is on its way.")
			}),
			app.Label().For("code").Text("Code"),
			app.Input().ID("code").Name("code").Type("text").Attr("inputmode", "numeric").
				Attr("autocomplete", "one-time-code").Pattern("[0-9 -]*").MaxLength(2*wire.CodeDigits).
				Placeholder(strings.Repeat("0", wire.CodeDigits)).Required(true).Value(st.code).AutoFocus(true).
				Aria("describedby", "code-hint onboarding-error"),
			app.P().ID("code-hint").Class("hint").Text("The "+digits+" digits from the email."),
			errLine,
			wait,
			app.Button().ID("verify").Type("submit").Class("button", "button-primary").
				Disabled(st.busy()).Text(label),
			app.Div().Class("row").Body(
				app.Button().ID("resend-code").Type("button").Class("button", "button-ghost").
					Disabled(st.busy() || waiting).OnClick(sendCode).Text(resend),
				app.Button().ID("change-address").Type("button").Class("button", "button-ghost").
					Disabled(st.busy()).OnClick(changeAddress).Text("Use another address"),
			),
		))
	}
	return app.Div().Class("welcome").Body(
		app.Div().Class("welcome-card").Body(
			app.Div().Class("welcome-logo").Body(icon(logo)),
			app.H1().TabIndex(-1).Text("Welcome to Mutual"),
			intro,
			form,
		),
	)
}

// retryText says why no code can be asked for now and when one can: a
// wait of a minute or less follows a code asked for moments before;
// longer, several codes in a row.
func retryText(left time.Duration) string {
	if left <= time.Minute {
		return "You asked for a code a moment ago; you can ask for another in"
	}
	return "You asked for several codes; you can ask for another in"
}

// clockText is a wait as a clock shows it, "15:00" or "0:28", rounded up
// to the second.
func clockText(d time.Duration) string {
	s := int64((d + time.Second - 1) / time.Second)
	if s < 0 {
		s = 0
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
