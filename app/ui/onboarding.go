package ui

import (
	"context"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// onboardingStep is where onboarding stands.
type onboardingStep int

const (
	stepAddress onboardingStep = iota // typing the address
	stepCode                          // typing the code that was mailed
)

// onboardingState is what the onboarding view shows.
type onboardingState struct {
	step    onboardingStep
	typed   string // the address as typed
	address string // the address sent to ("email:...")
	token   []byte // binds the code to the request that asked for it
	code    string
	busy    bool
	err     string
	sent    bool // a new code was just sent
}

// onboarding signs this device in: an email address, the code mailed to
// it, and the device is ready.
type onboarding struct {
	app.Compo
	s  *Session
	st onboardingState
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
	var addr string
	if err := ctx.SessionStorage().Get(pendingKey, &addr); err == nil && addr != "" {
		ctx.SessionStorage().Del(pendingKey)
		o.st.typed, o.st.err = plainAddress(addr), reloadedText
		ctx.Defer(func(app.Context) { focusID("send-code") })
		return
	}
	ctx.Defer(func(app.Context) { focusID("address") })
}

func (o *onboarding) sendCode(ctx app.Context, e app.Event) {
	e.PreventDefault()
	if o.st.busy {
		return
	}
	if o.st.step == stepAddress {
		o.st.typed = byID("address").Get("value").String()
	}
	addr, err := emailAddress(o.st.typed)
	if err != nil {
		o.st.err = errorText(err, true)
		ctx.Defer(func(app.Context) { focusID("address") })
		return
	}
	o.st.busy, o.st.err, o.st.sent = true, "", false
	s := o.s
	ctx.Async(func() {
		rctx, cancel := withTimeout(context.Background())
		defer cancel()
		token, err := s.Register(rctx, addr)
		online := browserOnline()
		ctx.Dispatch(func(ctx app.Context) {
			o.st.busy = false
			if err != nil {
				o.st.err = errorText(err, online)
				return
			}
			o.st.sent = o.st.step == stepCode
			o.st.step, o.st.address, o.st.token, o.st.code = stepCode, addr, token, ""
			ctx.SessionStorage().Set(pendingKey, addr)
			ctx.Defer(func(app.Context) { focusID("code") })
		})
	})
}

func (o *onboarding) verify(ctx app.Context, e app.Event) {
	e.PreventDefault()
	if o.st.busy {
		return
	}
	code := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, byID("code").Get("value").String())
	if code == "" {
		o.st.err = "Enter the code from the email."
		return
	}
	o.st.busy, o.st.err, o.st.code = true, "", code
	s, addr, token, name := o.s, o.st.address, o.st.token, browserDeviceName()
	ctx.Async(func() {
		rctx, cancel := withTimeout(context.Background())
		defer cancel()
		_, err := s.Verify(rctx, addr, code, token, name)
		online := browserOnline()
		ctx.Dispatch(func(ctx app.Context) {
			o.st.busy = false
			if err != nil {
				o.st.err = errorText(err, online)
				ctx.Defer(func(app.Context) { focusID("code") })
				return
			}
			o.st.token = nil
			ctx.SessionStorage().Del(pendingKey)
			ctx.Navigate(pathChats)
		})
	})
}

func (o *onboarding) changeAddress(ctx app.Context, e app.Event) {
	ctx.SessionStorage().Del(pendingKey)
	o.st.step, o.st.token, o.st.err, o.st.sent = stepAddress, nil, "", false
	ctx.Defer(func(app.Context) { focusID("address") })
}

// Render draws the current step.
func (o *onboarding) Render() app.UI {
	return onboardingView(o.st, o.sendCode, o.verify, o.changeAddress)
}

// onboardingView draws onboarding; the handlers may be nil (tests).
func onboardingView(st onboardingState, sendCode, verify, changeAddress app.EventHandler) app.UI {
	errLine := app.P().ID("onboarding-error").Class("error").Role("alert").Text(st.err)
	var intro, form app.UI
	if st.step == stepAddress {
		label := "Send code"
		if st.busy {
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
				Placeholder("you@example.org").Required(true).Value(st.typed).
				Aria("describedby", "onboarding-error"),
			errLine,
			app.Button().ID("send-code").Type("submit").Class("button", "button-primary").
				Disabled(st.busy).Text(label),
		))
	} else {
		label := "Verify"
		if st.busy {
			label = "Verifying…"
		}
		intro = app.P().Class("lead").Body(
			app.Text("We sent a code to "),
			app.Strong().Text(plainAddress(st.address)),
			app.Text(". Enter it below; it is valid for a few minutes."),
		)
		form = app.Section().Class("step").Aria("label", "Code").Body(app.Form().Class("stack").NoValidate(true).OnSubmit(verify).Body(
			app.If(st.sent, func() app.UI {
				return app.P().Class("hint").Role("status").Text("A new code is on its way.")
			}),
			app.Label().For("code").Text("Code"),
			app.Input().ID("code").Name("code").Type("text").Attr("inputmode", "numeric").
				Attr("autocomplete", "one-time-code").Pattern("[0-9]*").MaxLength(12).
				Placeholder("123456").Required(true).Value(st.code).
				Aria("describedby", "onboarding-error"),
			errLine,
			app.Button().ID("verify").Type("submit").Class("button", "button-primary").
				Disabled(st.busy).Text(label),
			app.Div().Class("row").Body(
				app.Button().ID("resend-code").Type("button").Class("button", "button-ghost").
					Disabled(st.busy).OnClick(sendCode).Text("Send a new code"),
				app.Button().ID("change-address").Type("button").Class("button", "button-ghost").
					Disabled(st.busy).OnClick(changeAddress).Text("Use another address"),
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
