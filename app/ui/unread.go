package ui

import (
	"context"
	"strconv"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// The number of received messages not yet read, in every chat, is in the
// document's title, "(3) Mutual", and on the installed app's icon (the
// Badging API, where the browser has it). Both clear when everything is
// read.

// loadUnread counts the unread messages again; counts never overlap, and
// one asked for during another runs after it.
func (h *shell) loadUnread(ctx app.Context) {
	if !h.s.Registered() {
		return
	}
	if h.loadingUnread {
		h.unreadAgain = true
		return
	}
	h.loadingUnread = true
	s := h.s
	ctx.Async(func() {
		n, err := unreadTotal(s)
		ctx.Dispatch(func(ctx app.Context) {
			// The count is in the title and on the badge, which are set
			// here: nothing the shell draws changes, so it is not drawn
			// again (that would redraw the open conversation).
			ctx.PreventUpdate()
			h.loadingUnread = false
			if err == nil {
				h.setUnread(ctx, n)
			}
			if h.unreadAgain {
				h.unreadAgain = false
				h.loadUnread(ctx)
			}
		})
	})
}

// unreadTotal adds up the unread counts of the chats.
func unreadTotal(s *Session) (int, error) {
	c, err := s.client()
	if err != nil {
		return 0, err
	}
	chats, err := c.Chats(context.Background())
	if err != nil {
		return 0, err
	}
	n := 0
	for _, ch := range chats {
		n += ch.Unread
	}
	return n, nil
}

// setUnread shows n unread messages in the title and on the app's icon.
func (h *shell) setUnread(ctx app.Context, n int) {
	if n == h.unread {
		return
	}
	h.unread = n
	h.setTitle(ctx)
	setAppBadge(n)
}

// setTitle sets the document's title: the page's, after the unread count.
func (h *shell) setTitle(ctx app.Context) {
	ctx.Page().SetTitle("%s", unreadTitle(h.unread, h.route.title()))
}

// unreadTitle puts the unread count, if any, before a page's title.
func unreadTitle(unread int, title string) string {
	if unread <= 0 {
		return title
	}
	return "(" + strconv.Itoa(unread) + ") " + title
}

// setAppBadge shows n on the installed app's icon, or clears it
// (navigator.setAppBadge, clearAppBadge). Browsers without them, and apps
// that are not installed, show nothing.
func setAppBadge(n int) {
	nav := app.Window().Get("navigator")
	if !nav.Truthy() || !nav.Get("setAppBadge").Truthy() {
		return
	}
	var p app.Value
	if n > 0 {
		p = nav.Call("setAppBadge", n)
	} else {
		p = nav.Call("clearAppBadge")
	}
	// A refusal (a page that is not an installed app) rejects the
	// promise: catch it, so that the page reports no unhandled rejection.
	if p.Truthy() && p.Get("catch").Truthy() {
		var noop app.Func
		noop = app.FuncOf(func(app.Value, []app.Value) any {
			noop.Release()
			return nil
		})
		p.Call("then", noop, noop)
	}
}
