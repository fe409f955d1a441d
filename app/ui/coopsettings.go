package ui

import (
	"context"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/app/client"
)

// coopSettings is the settings' Co-op card: a link to the Co-op screen
// and the switch of the yearly notice, which the relay keeps.
type coopSettings struct {
	app.Compo
	s      *Session
	on     bool // the yearly notice is on
	loaded bool
	busy   bool
	result formState
}

// OnMount asks the relay whether the yearly notice is on.
func (c *coopSettings) OnMount(ctx app.Context) {
	ctx.Handle(actionEvent, func(ctx app.Context, a app.Action) {
		if _, ok := a.Value.(client.Connected); ok && !c.loaded {
			c.load(ctx)
			return
		}
		ctx.PreventUpdate()
	})
	c.load(ctx)
}

func (c *coopSettings) load(ctx app.Context) {
	s := c.s
	ctx.Async(func() {
		var info client.CoopInfo
		cl, err := s.client()
		if err == nil {
			rctx, cancel := withTimeout(context.Background())
			info, err = cl.Coop(rctx)
			cancel()
		}
		ctx.Dispatch(func(ctx app.Context) {
			// Offline, the switch stays off until the relay answers.
			if err == nil {
				c.on, c.loaded = !info.NoticesOff, true
			}
		})
	})
}

func (c *coopSettings) set(ctx app.Context, e app.Event) {
	on := ctx.JSSrc().Get("checked").Bool()
	c.on, c.busy, c.result = on, true, formState{}
	s := c.s
	ctx.Async(func() {
		info, err := setCoopNotices(s, on)
		online := s.isOnline()
		ctx.Dispatch(func(ctx app.Context) {
			c.busy = false
			if err != nil {
				c.on, c.result = !on, formState{err: coopErrorText(err, online, notFoundStatus)}
				return
			}
			c.on, c.result = !info.NoticesOff, formState{done: noticesDone(!info.NoticesOff)}
		})
	})
}

// Render draws the card.
func (c *coopSettings) Render() app.UI {
	return coopSettingsView(c.on, c.loaded && !c.busy, c.result, c.set)
}

// coopSettingsView draws the settings' Co-op card; onChange may be nil
// (tests).
func coopSettingsView(on, enabled bool, result formState, onChange app.EventHandler) app.UI {
	return app.Section().ID("coop-settings").Class("card").Aria("labelledby", "coop-settings-heading").Body(
		app.H2().ID("coop-settings-heading").Text("Co-op"),
		app.P().Class("hint").Text("Mutual is run by a co-operative of the people who use it, paid for by its members' dues."),
		app.A().ID("settings-coop").Class("button").Href(pathCoop).Text("Co-op: figures and membership"),
		noticesSwitch(on, enabled, onChange),
		formResult(result),
	)
}
