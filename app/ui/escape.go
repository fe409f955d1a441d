package ui

import "github.com/maxence-charriere/go-app/v10/pkg/app"

// listenEscape calls fn when Escape is pressed with nothing else to
// close: no modifier, no open dialog (a modal <dialog> closes itself on
// Escape) and no handler that took the key. It returns the function
// that stops listening. fn runs on the JavaScript side: it must only
// hand work to the UI goroutine.
func listenEscape(fn func()) (release func()) {
	doc := app.Window().Get("document")
	if !doc.Truthy() {
		return func() {}
	}
	f := app.FuncOf(func(this app.Value, args []app.Value) any {
		if len(args) == 0 {
			return nil
		}
		e := args[0]
		if e.Get("key").String() != "Escape" || e.Get("defaultPrevented").Bool() ||
			e.Get("ctrlKey").Bool() || e.Get("altKey").Bool() || e.Get("metaKey").Bool() || e.Get("shiftKey").Bool() ||
			doc.Call("querySelector", "dialog[open]").Truthy() {
			return nil
		}
		fn()
		return nil
	})
	doc.Call("addEventListener", "keydown", f)
	return func() {
		doc.Call("removeEventListener", "keydown", f)
		f.Release()
	}
}

// onEscape closes the open conversation (1:1, a group's or the co-op's) on a phone,
// where it covers the chats list: Escape goes back to the list, as the
// back button does. On a wide screen the conversation stays open beside
// the list.
func (h *shell) onEscape(ctx app.Context) {
	if (h.route.kind != routeChat && h.route.kind != routeGroup && h.route.kind != routeCoopChat) || wideLayout() {
		return
	}
	ctx.Navigate(pathChats)
}
