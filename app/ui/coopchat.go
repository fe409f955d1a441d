package ui

import (
	"context"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

// The co-op's conversation: the notices the relay writes and signs
// (wire.CoopConversation). It is read only: nobody writes to it.

// coopChatName is what the chats list and the conversation call it.
const coopChatName = client.CoopChatName

// coopNoticesShown is how many of the newest notices the conversation
// shows: a few a year come.
const coopNoticesShown = 200

// iconCoop is the co-op's link on the chats list: a heart, as dues are
// given.
const iconCoop = svgOpen + `<path d="M12 20s-7.5-4.6-7.5-10.3A4.2 4.2 0 0 1 12 7.3a4.2 4.2 0 0 1 7.5 2.4C19.5 15.4 12 20 12 20z"/>` + svgClose

// coopLink is the chats list's link to the Co-op screen.
func coopLink() app.UI {
	return app.A().ID("coop-link").Class("icon-button").Href(pathCoop).Aria("label", "Co-op").Title("Co-op").Body(icon(iconCoop))
}

// coopAvatar is the co-op conversation's picture: the app's icon.
func coopAvatar() app.UI {
	return app.Span().Class("avatar", "avatar-coop").Aria("hidden", "true").Body(
		app.Img().Src("/web/icons/icon-192.png").Alt("").Width(40).Height(40),
	)
}

// coopChatItem is the co-op's notices in the chats list: its name, the
// app's icon, the newest notice.
func coopChatItem(ch client.Chat, active bool, now time.Time) app.UI {
	classes := []string{"chat", "chat-coop"}
	if ch.Unread > 0 {
		classes = append(classes, "chat-has-unread")
	}
	link := app.A().ID("coop-chat-link").Class("chat-link").Href(pathCoopNotices)
	if active {
		classes = append(classes, "chat-active")
		link = link.Aria("current", "page")
	}
	text := "Notices from the co-op"
	if ch.Last != nil {
		text = preview(ch.Last.Text, 80)
	}
	when := ch.Activity
	return app.Li().Class(classes...).Body(
		link.Body(
			coopAvatar(),
			app.Span().Class("chat-body").Body(
				app.Span().Class("chat-top").Body(
					app.Span().Class("chat-name").Text(coopChatName),
					app.If(!when.IsZero(), func() app.UI {
						return app.Time().Class("chat-time").DateTime(when.UTC().Format(time.RFC3339)).Text(chatTime(when, now))
					}),
				),
				app.Span().Class("chat-bottom").Body(
					app.Span().Class("chat-preview").Text(text),
					app.If(ch.Unread > 0, func() app.UI {
						return app.Span().Class("chat-unread").Aria("label", unreadLabel(ch.Unread)).Text(unreadBadge(ch.Unread))
					}),
				),
			),
		),
	)
}

// coopChat is the co-op's conversation: its notices, newest last, each
// with its date, and a line saying where they come from.
type coopChat struct {
	app.Compo
	s       *Session
	notices []client.Message
	loading bool
	again   bool
	err     string
}

// OnMount reads the notices and follows new ones.
func (c *coopChat) OnMount(ctx app.Context) {
	ctx.Handle(actionEvent, func(ctx app.Context, a app.Action) {
		switch ev := a.Value.(type) {
		case client.MessageReceived:
			if ev.Message.Conversation == wire.CoopConversation {
				c.load(ctx)
				return
			}
		case client.Connected:
			c.load(ctx)
			return
		}
		ctx.PreventUpdate()
	})
	c.load(ctx)
}

// load reads the newest notices and marks them read; loads never
// overlap.
func (c *coopChat) load(ctx app.Context) {
	if c.loading {
		c.again = true
		return
	}
	c.loading = true
	s := c.s
	ctx.Async(func() {
		var page []client.Message
		cl, err := s.client()
		if err == nil {
			page, err = cl.History(context.Background(), wire.CoopConversation, 0, coopNoticesShown)
		}
		read := false
		if err == nil && pageActive() {
			read = cl.MarkRead(context.Background(), wire.CoopConversation) == nil
		}
		ctx.Dispatch(func(ctx app.Context) {
			c.loading = false
			if err != nil {
				c.err = errorText(err, true)
			} else {
				c.notices, c.err = page, ""
			}
			if read {
				ctx.NewAction(actionChatsChanged)
			}
			if c.again {
				c.again = false
				c.load(ctx)
				return
			}
			ctx.Defer(func(app.Context) {
				if sc := byID("messages"); sc.Truthy() {
					sc.Set("scrollTop", sc.Get("scrollHeight"))
				}
			})
		})
	})
}

// Render draws the conversation.
func (c *coopChat) Render() app.UI {
	return coopChatView(c.notices, c.err, c.s.now())
}

// noticeTime is when a notice was written: the relay's time.
func noticeTime(m client.Message) time.Time {
	if !m.ServerTime.IsZero() {
		return m.ServerTime
	}
	return m.SentAt
}

// coopChatView draws the co-op's notices, oldest first.
func coopChatView(notices []client.Message, err string, now time.Time) app.UI {
	return app.Div().ID("coop-chat").Class("conversation", "coop-chat").Body(
		app.Header().Class("conv-head").Body(
			app.A().Class("icon-button", "back").Href(pathChats).Aria("label", "Back to chats").Body(icon(iconBack)),
			coopAvatar(),
			app.Div().Class("conv-title").Body(
				app.H1().ID("chat-title").TabIndex(-1).Text(coopChatName),
				app.Div().Class("conv-sub").Body(app.Span().Class("conv-status").Text("Notices from the co-op")),
			),
			app.A().ID("coop-chat-about").Class("icon-button").Href(pathCoop).Aria("label", "About the co-op").Title("About the co-op").Body(icon(iconCoop)),
		),
		app.Div().ID("messages").Class("messages", "coop-notices").Role("log").Aria("live", "off").
			Aria("label", "Notices from the co-op").TabIndex(0).Body(
			app.If(err != "", func() app.UI { return app.P().Class("error").Role("alert").Text(err) }),
			app.If(len(notices) == 0 && err == "", func() app.UI {
				return app.P().Class("history-edge").Text("No notices yet. The co-op writes here when your dues are paid, when your membership changes, and once a year.")
			}),
			app.Ol().ID("coop-notices-list").Class("notices").Body(
				app.Range(notices).Slice(func(i int) app.UI {
					m := notices[i]
					t := noticeTime(m)
					return app.Li().Class("notice").DataSet("id", m.ID.String()).Body(
						app.Time().Class("notice-date").DateTime(t.UTC().Format(time.RFC3339)).Text(dayLabel(t, now)+", "+clock(t, now)),
						app.P().Class("notice-text").Text(m.Text),
					)
				}),
			),
		),
		app.Div().Class("conv-footer", "coop-footer").Body(
			app.P().ID("coop-chat-note").Class("hint").Text("These are notices from the co-op that runs Mutual, signed by the server. Nobody can reply here."),
		),
	)
}
