package ui

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Performance marks of opening a conversation.
const (
	markOpenStart = "chat-open-start"
	markOpenDone  = "chat-open-done"
	measureOpen   = "chat-open"
)

// conversation is one chat, 1:1 or a group's: its messages (a window of
// them, see msgWindow), the composer, and what stands between the user
// and writing (a request or an invitation to answer, a block, a changed
// safety number, having left a group). What only a group's chat has is
// in groupchat.go.
type conversation struct {
	app.Compo
	// Peer is the other person's user ID in hex, in a 1:1 chat.
	Peer string
	// Group is the group's ID in hex, in a group's chat (Peer is empty).
	Group string

	s        *Session
	peer     wire.UserID
	conv     wire.ConversationID
	contact  client.Contact
	win      msgWindow
	loading  bool // the first page
	older    bool // reading the page above
	newer    bool // reading the page below
	marking  bool // MarkRead is under way
	bottom   bool // the scroller shows the end
	fresh    int  // messages arrived below while the reader was up
	unread   wire.MessageID
	early    []client.Message // arrived while the first page was read
	loadErr  string
	sendErr  string
	busy     bool // accepting or blocking
	anchor   *scrollAnchor
	toBottom bool // scroll to the end after the next render
	swallow  bool // the line break of the Enter that sent is still to come
	opened   bool // the first page is on screen
	releases []func()

	grp   groupConv // a group's chat: the group, its people, the message info
	media convMedia // attachments: their URLs, the tray, the viewer

	rec *voiceRecorder // a voice note being recorded (voice.go)
}

// CompoID makes each chat a component of its own: opening another one
// mounts a new conversation rather than reusing this one's state.
func (c *conversation) CompoID() string {
	if c.isGroup() {
		return "group:" + c.Group
	}
	return c.Peer
}

// OnMount starts the measurement, reads the contact (or the group) and
// the newest page and follows the events of this chat.
func (c *conversation) OnMount(ctx app.Context) {
	perfReset(measureOpen, markOpenStart, markOpenDone)
	perfMark(markOpenStart)
	c.loading, c.bottom = true, true
	ctx.Handle(actionEvent, c.onEvent)
	c.mountMedia(ctx)
	active := func() { ctx.Dispatch(func(ctx app.Context) { c.markRead(ctx) }) }
	c.releases = append(c.releases,
		listen(app.Window(), "focus", active),
		listen(app.Window().Get("document"), "visibilitychange", active),
	)
	if c.isGroup() {
		// The group first, so that its messages come with their
		// authors' names (loadGroup then reads the newest page).
		c.conv, _ = parseGroupID(c.Group)
		c.loadGroup(ctx)
	} else {
		c.peer, _ = wire.ParseUserID(strings.ToLower(c.Peer))
		c.contact = client.Contact{User: c.peer}
		c.loadContact(ctx)
		c.loadNewest(ctx)
	}
	if wideLayout() {
		ctx.Defer(func(app.Context) { focusID("composer") })
	} else {
		ctx.Defer(func(app.Context) { focusID("chat-title") })
	}
}

// OnDismount removes the listeners and throws away a recording under
// way.
func (c *conversation) OnDismount() {
	c.dropRecording()
	for _, r := range c.releases {
		r()
	}
	c.releases = nil
	c.dismountMedia()
}

func (c *conversation) loadContact(ctx app.Context) {
	s, peer := c.s, c.peer
	ctx.Async(func() {
		ct, err := contactOrRequest(context.Background(), s, peer)
		ctx.Dispatch(func(ctx app.Context) {
			if err == nil {
				c.contact = ct
				ctx.Page().SetTitle("%s · Mutual", displayName(ct))
			}
		})
	})
}

// contactOrRequest returns what this device knows of user: a contact, a
// pending request, or only the ID.
func contactOrRequest(ctx context.Context, s *Session, user wire.UserID) (client.Contact, error) {
	c, err := s.client()
	if err != nil {
		return client.Contact{}, err
	}
	ct, err := c.Contact(ctx, user)
	if err == nil {
		return ct, nil
	}
	if !errors.Is(err, client.ErrNotContact) {
		return client.Contact{}, err
	}
	reqs, err := c.Requests(ctx)
	if err != nil {
		return client.Contact{}, err
	}
	for _, r := range reqs {
		if r.User == user {
			return r, nil
		}
	}
	return client.Contact{User: user}, nil
}

// loadNewest shows the newest page and scrolls to the end (or, the first
// time, to the first unread message).
func (c *conversation) loadNewest(ctx app.Context) {
	s, peer, conv, group := c.s, c.peer, c.conv, c.isGroup()
	ctx.Async(func() {
		var page []client.Message
		var names people
		cl, err := s.client()
		if err == nil && !group {
			conv, err = cl.Conversation(peer)
		}
		if err == nil {
			page, err = cl.History(context.Background(), conv, 0, pageSize)
		}
		if err == nil && group {
			names = pageNames(cl, page)
		}
		ctx.Dispatch(func(ctx app.Context) {
			first := !c.opened
			c.loading = false
			if err != nil {
				c.loadErr = errorText(err, true)
				return
			}
			c.grp.people = names.merged(c.grp.people)
			c.conv, c.loadErr = conv, ""
			c.win.reset(page)
			for _, m := range c.early {
				c.win.add(m, true)
			}
			c.early = nil
			c.fresh, c.anchor, c.toBottom = 0, nil, true
			if first {
				c.unread = firstUnread(page)
			}
			ctx.Defer(func(ctx app.Context) {
				c.afterRender(ctx)
				if first {
					c.opened = true
					perfMark(markOpenDone)
					perfMeasure(measureOpen, markOpenStart, markOpenDone)
				}
			})
		})
	})
}

// firstUnread is the first received message of page not read yet.
func firstUnread(page []client.Message) wire.MessageID {
	for _, m := range page {
		if !m.Outgoing && m.State == client.StateReceived {
			return m.ID
		}
	}
	return wire.MessageID{}
}

// loadOlder reads the page above the window.
func (c *conversation) loadOlder(ctx app.Context) {
	if c.older || c.loading || !c.win.hasOlder {
		return
	}
	c.older = true
	before := c.win.olderCursor()
	c.readPage(ctx, before, func(ctx app.Context, page []client.Message, err error) {
		c.older = false
		if err != nil || before != c.win.olderCursor() {
			return
		}
		c.captureAnchor()
		if c.win.prepend(page) == 0 {
			c.anchor = nil
			return
		}
		ctx.Defer(c.afterRender)
	})
}

// loadNewer reads the page below the window.
func (c *conversation) loadNewer(ctx app.Context) {
	if c.newer || c.loading || !c.win.hasNewer {
		return
	}
	c.newer = true
	before := c.win.newerCursor()
	c.readPage(ctx, before, func(ctx app.Context, page []client.Message, err error) {
		c.newer = false
		if err != nil || before != c.win.newerCursor() {
			return
		}
		c.captureAnchor()
		if !c.win.appendNewer(page) {
			c.anchor = nil
			c.loadNewest(ctx)
			return
		}
		ctx.Defer(c.afterRender)
	})
}

// readPage reads the page of messages before the cursor away from the UI
// goroutine and hands it to then, back on it.
func (c *conversation) readPage(ctx app.Context, before uint64, then func(app.Context, []client.Message, error)) {
	s, conv, group := c.s, c.conv, c.isGroup()
	ctx.Async(func() {
		var page []client.Message
		var names people
		cl, err := s.client()
		if err == nil {
			page, err = cl.History(context.Background(), conv, before, pageSize)
		}
		if err == nil && group {
			names = pageNames(cl, page)
		}
		ctx.Dispatch(func(ctx app.Context) {
			c.grp.people = names.merged(c.grp.people)
			then(ctx, page, err)
		})
	})
}

// captureAnchor notes where the first message on screen is, before the
// window changes.
func (c *conversation) captureAnchor() {
	c.anchor = nil
	sc := byID("messages")
	if !sc.Truthy() {
		return
	}
	top := sc.Get("scrollTop").Float()
	nodes := sc.Call("querySelectorAll", ".msg")
	n := nodes.Length()
	// Messages are laid out top to bottom: find the first whose bottom
	// edge is below the top of the view.
	i := sort.Search(n, func(i int) bool {
		el := nodes.Index(i)
		return el.Get("offsetTop").Float()+el.Get("offsetHeight").Float() > top
	})
	if i == n {
		return
	}
	el := nodes.Index(i)
	c.anchor = &scrollAnchor{
		id:     el.Get("dataset").Get("id").String(),
		offset: el.Get("offsetTop").Float() - top,
	}
}

// afterRender puts the scroll position where it belongs once the window
// has been drawn, then reads further pages if the view is still near an
// end.
func (c *conversation) afterRender(ctx app.Context) {
	sc := byID("messages")
	if !sc.Truthy() {
		return
	}
	switch {
	case c.toBottom:
		c.toBottom = false
		target := sc.Get("scrollHeight").Float()
		if c.unread != (wire.MessageID{}) && !c.opened {
			if sep := byID("unread-separator"); sep.Truthy() {
				if top := sep.Get("offsetTop").Float() - 8; top < target-sc.Get("clientHeight").Float() {
					target = top
				}
			}
		}
		sc.Set("scrollTop", target)
	case c.anchor != nil:
		a := *c.anchor
		c.anchor = nil
		if el := sc.Call("querySelector", `.msg[data-id="`+a.id+`"]`); el.Truthy() {
			sc.Set("scrollTop", a.restoredScrollTop(el.Get("offsetTop").Float()))
		}
	}
	if c.observeScroll(ctx, sc) {
		ctx.Update()
	}
	c.observeMedia(ctx)
}

// onScroll follows the reader: at the bottom, near an end.
func (c *conversation) onScroll(ctx app.Context, e app.Event) {
	if !c.observeScroll(ctx, ctx.JSSrc()) {
		ctx.PreventUpdate()
	}
}

// observeScroll reads the scroller's position, reads pages near its ends
// and reports whether what is drawn changes.
func (c *conversation) observeScroll(ctx app.Context, sc app.Value) bool {
	top := sc.Get("scrollTop").Float()
	height := sc.Get("scrollHeight").Float()
	view := sc.Get("clientHeight").Float()
	changed := false
	if b := atBottom(top, height, view); b != c.bottom {
		c.bottom, changed = b, true
	}
	if c.bottom && c.fresh > 0 && !c.win.hasNewer {
		c.fresh, changed = 0, true
	}
	if c.bottom {
		c.markRead(ctx)
	}
	if nearTop(top) && c.win.hasOlder {
		c.loadOlder(ctx)
	}
	if nearBottom(top, height, view) && c.win.hasNewer {
		c.loadNewer(ctx)
	}
	return changed
}

// jumpToNewest shows the end of the conversation.
func (c *conversation) jumpToNewest(ctx app.Context, e app.Event) {
	c.fresh = 0
	if c.win.hasNewer {
		c.loadNewest(ctx)
		return
	}
	c.toBottom = true
	ctx.Defer(c.afterRender)
}

// markRead marks the received messages read when the reader can see
// them: the page is visible and focused and the view is at the end.
func (c *conversation) markRead(ctx app.Context) {
	if c.marking || !c.bottom || !c.win.unread() || !pageActive() {
		return
	}
	c.marking = true
	s, conv := c.s, c.conv
	ctx.Async(func() {
		cl, err := s.client()
		if err == nil {
			err = cl.MarkRead(context.Background(), conv)
		}
		ctx.Dispatch(func(ctx app.Context) {
			c.marking = false
			if err == nil {
				c.win.markRead()
				ctx.NewAction(actionChatsChanged)
			}
		})
	})
}

// onEvent follows the events of this chat.
func (c *conversation) onEvent(ctx app.Context, a app.Action) {
	if c.isGroup() && c.onGroupEvent(ctx, a.Value) {
		return
	}
	switch ev := a.Value.(type) {
	case client.MessageReceived:
		if !c.shows(ev.Message) {
			ctx.PreventUpdate()
			return
		}
		if c.loading {
			c.early = append(c.early, ev.Message)
			return
		}
		c.addMessage(ctx, ev.Message)
		if !ev.Message.Outgoing {
			ctx.NewActionWithValue(actionAnnounce, c.announcement(ev.Message))
		}
	case client.MessageStateChanged:
		m := ev.Message
		switch {
		case !c.shows(m):
			ctx.PreventUpdate()
		case c.loading:
			c.early = append(c.early, m)
		case c.win.update(m):
			c.revealLine(ctx, m)
		case m.Outgoing && m.Seq > 0 && m.Seq > c.win.olderCursor():
			// Sent here a moment ago and not drawn yet: the newer
			// record goes in now, the older one changes nothing.
			c.addMessage(ctx, m)
		default:
			ctx.PreventUpdate()
		}
	case client.ContactChanged:
		if ev.User == c.peer {
			c.loadContact(ctx)
		}
	case client.IdentityChanged:
		if ev.Contact == c.peer {
			c.loadContact(ctx)
		}
	case client.RequestReceived:
		if ev.Contact.User == c.peer {
			c.loadContact(ctx)
		}
	case client.EventTransfer:
		c.onTransfer(ctx, ev)
	case client.Connected:
		// Events are dropped when the UI lags behind them; after a
		// reconnection, read the end of the conversation again.
		if c.bottom && !c.win.hasNewer && !c.loading {
			c.loadNewest(ctx)
		} else {
			ctx.PreventUpdate()
		}
	default:
		ctx.PreventUpdate()
	}
}

// addMessage shows a new message: at the end if the reader is there,
// otherwise counted in the "new messages" chip.
func (c *conversation) addMessage(ctx app.Context, m client.Message) {
	wasBottom := c.bottom
	if !wasBottom {
		c.captureAnchor()
	}
	shown := c.win.add(m, wasBottom)
	switch {
	case shown && wasBottom:
		c.toBottom, c.anchor = true, nil
	case !m.Outgoing:
		c.fresh++
	}
	ctx.Defer(func(ctx app.Context) {
		c.afterRender(ctx)
		c.markRead(ctx)
	})
}

// revealLine brings into view the line that appears under an outgoing
// message when it fails (why, and Send again) or starts to wait (why),
// if the reader was at the end or sees the message: drawn under the last
// message, it would otherwise be below the visible area.
func (c *conversation) revealLine(ctx app.Context, m client.Message) {
	if !m.Outgoing || (m.State != client.StateFailed && m.State != client.StateWaiting) {
		return
	}
	wasBottom, id := c.bottom, m.ID.String()
	ctx.Defer(func(ctx app.Context) {
		sc := byID("messages")
		if !sc.Truthy() {
			return
		}
		msg := sc.Call("querySelector", `.msg[data-id="`+id+`"]`)
		if !msg.Truthy() {
			return
		}
		line := msg.Call("querySelector", ".msg-line")
		if !line.Truthy() {
			line = msg // the note is under a later message of the run
		}
		top, view := sc.Get("scrollTop").Float(), sc.Get("clientHeight").Float()
		msgTop := msg.Get("offsetTop").Float()
		seen := msgTop < top+view && msgTop+msg.Get("offsetHeight").Float() > top
		if !wasBottom && !seen {
			return
		}
		if end := line.Get("offsetTop").Float() + line.Get("offsetHeight").Float() + 8; end > top+view {
			sc.Set("scrollTop", end-view)
		}
		if c.observeScroll(ctx, sc) {
			ctx.Update()
		}
	})
}

// onKeyDown sends on Enter; Shift+Enter makes a new line, and Enter that
// ends a composition (IME) is left to it.
func (c *conversation) onKeyDown(ctx app.Context, e app.Event) {
	if e.Get("key").String() != "Enter" || e.Get("shiftKey").Bool() ||
		e.Get("isComposing").Bool() || e.Get("keyCode").Int() == 229 {
		ctx.PreventUpdate()
		return
	}
	e.PreventDefault()
	// Some input paths deliver the line break as an input event of its
	// own after the keydown: it is dropped too.
	c.swallow = true
	c.submit(ctx, e)
}

// onBeforeInput drops the line break of an Enter that sent.
func (c *conversation) onBeforeInput(ctx app.Context, e app.Event) {
	ctx.PreventUpdate()
	if !c.swallow {
		return
	}
	c.swallow = false
	switch e.Get("inputType").String() {
	case "insertLineBreak", "insertParagraph":
		e.PreventDefault()
	}
}

// onKeyUp ends what a keydown started.
func (c *conversation) onKeyUp(ctx app.Context, e app.Event) {
	c.swallow = false
	ctx.PreventUpdate()
}

// onInput grows the composer with its text.
func (c *conversation) onInput(ctx app.Context, e app.Event) {
	growComposer(ctx.JSSrc())
	if c.sendErr == "" {
		ctx.PreventUpdate()
		return
	}
	c.sendErr = ""
}

// growComposer fits the composer's height to its text, up to the CSS
// max-height.
func growComposer(ta app.Value) {
	if !ta.Truthy() {
		return
	}
	st := ta.Get("style")
	st.Set("height", "auto")
	st.Set("height", strconv.Itoa(ta.Get("scrollHeight").Int()+2)+"px")
}

// submit sends what the composer holds.
func (c *conversation) submit(ctx app.Context, e app.Event) {
	e.PreventDefault()
	ta := byID("composer")
	text := ta.Get("value").String()
	files := len(c.media.tray.files) > 0
	if strings.TrimSpace(text) == "" && !files {
		return
	}
	if ta.Truthy() {
		ta.Set("value", "")
		growComposer(ta)
		ta.Call("focus")
	}
	if files {
		c.sendTray(ctx, text)
		return
	}
	c.send(ctx, text, true)
}

// send queues text to the contact, or the group, and shows it; restore
// puts the text back in the composer if it cannot be sent.
func (c *conversation) send(ctx app.Context, text string, restore bool) {
	s, peer, conv, group := c.s, c.peer, c.conv, c.isGroup()
	ctx.Async(func() {
		var m client.Message
		cl, err := s.client()
		if err == nil {
			var id wire.MessageID
			if group {
				id, err = cl.SendGroup(context.Background(), conv, text)
			} else {
				id, err = cl.Send(context.Background(), peer, text)
			}
			if err == nil {
				acct, _ := s.account()
				m, err = cl.Message(context.Background(), acct.User, id)
			}
		}
		online := s.isOnline()
		ctx.Dispatch(func(ctx app.Context) {
			if err != nil {
				c.sendErr = errorText(err, online)
				if ta := byID("composer"); restore && ta.Truthy() && ta.Get("value").String() == "" {
					ta.Set("value", text)
					growComposer(ta)
				}
				return
			}
			c.sendErr = ""
			ctx.NewAction(actionChatsChanged)
			if c.win.hasNewer {
				c.loadNewest(ctx)
				return
			}
			if !c.win.has(m.ID) { // an event may have brought a newer record
				c.win.add(m, true)
			}
			c.toBottom, c.anchor, c.fresh = true, nil, 0
			ctx.Defer(c.afterRender)
		})
	})
}

// retry sends a failed message again: the same message, with its ID
// (client.Client.Retry), never a copy of it.
func (c *conversation) retry(m client.Message) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		s, id := c.s, m.ID
		ctx.Async(func() {
			var again client.Message
			cl, err := s.client()
			if err == nil {
				again, err = cl.Retry(context.Background(), id)
			}
			online := s.isOnline()
			ctx.Dispatch(func(ctx app.Context) {
				if err != nil {
					c.sendErr = errorText(err, online)
					return
				}
				c.sendErr = ""
				c.win.update(again)
				ctx.NewAction(actionChatsChanged)
				if c.bottom {
					c.toBottom = true
					ctx.Defer(c.afterRender)
				}
			})
		})
	}
}

// answer accepts, blocks or unblocks the contact.
func (c *conversation) answer(accept bool) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		if c.busy {
			return
		}
		c.busy = true
		s, peer := c.s, c.peer
		ctx.Async(func() {
			cl, err := s.client()
			if err == nil {
				rctx, cancel := withTimeout(context.Background())
				if accept {
					err = cl.Accept(rctx, peer)
				} else {
					err = cl.Block(rctx, peer)
				}
				cancel()
			}
			online := s.isOnline()
			ctx.Dispatch(func(ctx app.Context) {
				c.busy = false
				if err != nil {
					c.sendErr = errorText(err, online)
					return
				}
				c.sendErr = ""
				c.loadContact(ctx)
				ctx.NewAction(actionChatsChanged)
			})
		})
	}
}

// Render draws the conversation.
func (c *conversation) Render() app.UI {
	if c.isGroup() {
		return c.renderGroup()
	}
	ct := c.contact
	name := displayName(ct)
	return app.Div().Class("conversation").On("dragover", c.onDragOver).On("drop", c.onDrop).Body(
		app.Header().Class("conv-head").Body(
			app.A().Class("icon-button", "back").Href(pathChats).Aria("label", "Back to chats").Body(icon(iconBack)),
			avatar(c.peer, name),
			app.Div().Class("conv-title").Body(
				app.H1().ID("chat-title").TabIndex(-1).Body(nameUI(ct)),
				conversationSubtitle(ct),
			),
			verifiedMark(ct),
			&muteMenu{s: c.s, Conv: convHex(c.conv)},
			mediaLink(chatMediaPath(c.peer)),
			app.A().Class("icon-button").Href(safetyPath(c.peer)).Aria("label", "Safety number").Title("Safety number").Body(icon(iconShield)),
		),
		app.If(ct.IdentityChanged, func() app.UI {
			return app.Div().Class("conv-banner", "banner-warning").Role("alert").Body(
				icon(iconWarning),
				app.P().Text("Your safety number with "+name+" changed. Messages wait until you check it."),
				app.A().Class("button").Href(safetyPath(c.peer)).Text("Check"),
			)
		}),
		c.scroller("Messages with "+name, c.messages(name)),
		c.newChip(),
		c.footer(ct, name),
		c.viewerView(),
	)
}

// scroller is the log of messages, labelled label, holding items.
func (c *conversation) scroller(label string, items []app.UI) app.UI {
	return app.Div().ID("messages").Class("messages").Role("log").Aria("live", "off").
		Aria("label", label).TabIndex(0).
		On("scroll", c.onScroll, app.PassiveEvent()).Body(items...)
}

// newChip is the button to the newest messages, shown while the reader
// is above them; nil otherwise.
func (c *conversation) newChip() app.UI {
	if c.fresh == 0 && (!c.win.hasNewer || c.bottom) {
		return nil
	}
	label := "Newest messages"
	switch {
	case c.fresh == 1:
		label = "1 new message"
	case c.fresh > 1:
		label = strconv.Itoa(c.fresh) + " new messages"
	}
	return app.Button().ID("new-messages").Type("button").Class("new-chip").
		OnClick(c.jumpToNewest).Body(app.Span().Text(label), icon(iconDown))
}

// messages is the content of the scroller.
func (c *conversation) messages(name string) []app.UI {
	p := msgListProps{
		msgs: c.win.msgs, peerName: name, now: c.s.now(), hasOlder: c.win.hasOlder,
		loading: c.loading, firstUnread: c.unread, held: c.contact.IdentityChanged, onRetry: c.retry,
		attachments: c.attachmentsOf,
	}
	if c.isGroup() {
		c.groupProps(&p)
	}
	items := make([]app.UI, 0, len(c.win.msgs)+16)
	items = append(items, historyEdge(p))
	if c.loadErr != "" {
		items = append(items, app.P().Class("error").Role("alert").Text(c.loadErr))
	}
	return append(items, messageItems(p)...)
}

// footer is the composer, or what must happen before writing.
func (c *conversation) footer(ct client.Contact, name string) app.UI {
	errLine := app.P().ID("send-error").Class("error").Role("alert").Text(c.sendErr)
	switch ct.State {
	case client.ContactRequest:
		return app.Div().Class("conv-footer", "request-bar").Body(
			errLine,
			app.P().Text(name+" wants to chat with you. Accept to reply; they will not know if you block them."),
			app.Div().Class("row").Body(
				app.Button().Type("button").Class("button", "block").Disabled(c.busy).OnClick(c.answer(false)).Text("Block"),
				app.Button().Type("button").Class("button", "button-primary", "accept").Disabled(c.busy).OnClick(c.answer(true)).Text("Accept"),
			),
		)
	case client.ContactBlocked:
		return app.Div().Class("conv-footer", "request-bar").Body(
			errLine,
			app.P().Text("You blocked "+name+"."),
			app.Button().Type("button").Class("button", "unblock").Disabled(c.busy).OnClick(c.answer(true)).Text("Unblock"),
		)
	}
	return app.Div().Class("conv-footer").Body(
		errLine,
		awaitingNote(ct, name),
		c.trayView(),
		c.composer(name),
		composerHint(),
	)
}

// composer is the form a message is written in, to name.
func (c *conversation) composer(name string) app.UI {
	return app.Form().Class("composer").DataSet("recording", c.recordingMode()).OnSubmit(c.submit).Body(
		c.attachButton(),
		app.Label().For("composer").Class("sr-only").Text("Message to "+name),
		app.Textarea().ID("composer").Rows(1).Placeholder("Message").
			Attr("enterkeyhint", "send").Aria("describedby", "composer-hint").
			OnKeyDown(c.onKeyDown).OnKeyUp(c.onKeyUp).On("beforeinput", c.onBeforeInput).OnInput(c.onInput).On("paste", c.onPaste),
		app.Button().ID("send").Type("submit").Class("send-button").Aria("label", "Send").Title("Send").Body(icon(iconSend)),
		c.micButton(),
		c.recordingBar(),
	)
}

// composerHint tells assistive technology how the composer sends.
func composerHint() app.UI {
	return app.P().ID("composer-hint").Class("sr-only").Text("Enter sends. Shift and Enter starts a new line.")
}

// awaitingNote tells the user, above the composer, that a contact
// request went to the contact and what they write meanwhile waits for
// the answer (client.Contact.AwaitingAcceptance); nil otherwise.
func awaitingNote(ct client.Contact, name string) app.UI {
	if ct.State != client.ContactAllowed || !ct.AwaitingAcceptance() {
		return nil
	}
	return app.P().Class("hint", "conv-hint", "awaiting-note").Role("status").
		Text(name + " hasn't accepted your request yet. Your messages will be delivered when they do.")
}

// contactSubtitle is what the line under a contact's name says of where
// they stand (their address is beside it, see conversationSubtitle).
func contactSubtitle(ct client.Contact) string {
	parts := []string{}
	switch {
	case ct.State == client.ContactRequest:
		parts = append(parts, notContactText)
	case ct.State == client.ContactBlocked:
		parts = append(parts, "Blocked")
	case ct.State == client.ContactAllowed && !ct.Accepted:
		parts = append(parts, "Waiting for them to accept")
	}
	return strings.Join(parts, " · ")
}
