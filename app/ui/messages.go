package ui

import (
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

// stateName is a message's state as the page's data-state attribute has
// it.
func stateName(st client.MessageState) string {
	switch st {
	case client.StateSending:
		return "sending"
	case client.StateSent:
		return "sent"
	case client.StateDelivered:
		return "delivered"
	case client.StateRead:
		return "read"
	case client.StateFailed:
		return "failed"
	default:
		return "received"
	}
}

// ticks is the mark of an outgoing message's state: a clock while
// sending, one tick when the relay has it, two when delivered, two in
// colour when read, a warning when it failed.
func ticks(st client.MessageState) app.UI {
	var label, svg string
	class := "ticks"
	switch st {
	case client.StateSending:
		label, svg = "Sending", iconSending
	case client.StateSent:
		label, svg = "Sent", iconSent
	case client.StateDelivered:
		label, svg = "Delivered", iconDelivered
	case client.StateRead:
		label, svg, class = "Read", iconDelivered, "ticks ticks-read"
	case client.StateFailed:
		label, svg, class = "Not delivered", iconFailed, "ticks ticks-failed"
	default:
		return nil
	}
	return app.Span().Class(class).Role("img").Aria("label", label).Title(label).Body(icon(svg))
}

// msgListProps is what the message list shows.
type msgListProps struct {
	msgs        []client.Message // in increasing Seq order
	peerName    string
	now         time.Time
	hasOlder    bool
	loading     bool           // the first page is being read
	firstUnread wire.MessageID // the unread separator goes above it; zero: none
	onRetry     func(m client.Message) app.EventHandler
}

// groupGap is the longest pause between two messages of one author drawn
// as one group.
const groupGap = 5 * time.Minute

// continues reports whether b follows a in one group: same author, same
// day, written within groupGap.
func continues(a, b client.Message, loc *time.Location) bool {
	return a.Outgoing == b.Outgoing && sameDay(a.SentAt, b.SentAt, loc) &&
		b.SentAt.Sub(a.SentAt) < groupGap && a.State != client.StateFailed
}

// messageItems draws the messages with a separator above the first
// message of each day.
func messageItems(p msgListProps) []app.UI {
	loc := p.now.Location()
	items := make([]app.UI, 0, len(p.msgs)+8)
	for i, m := range p.msgs {
		var prev *client.Message
		if i > 0 {
			prev = &p.msgs[i-1]
		}
		if prev == nil || !sameDay(prev.SentAt, m.SentAt, loc) {
			items = append(items, app.Div().Class("day-separator").Role("separator").Body(
				app.Span().Text(dayLabel(m.SentAt, p.now)),
			))
		}
		if p.firstUnread != (wire.MessageID{}) && m.ID == p.firstUnread && !m.Outgoing {
			items = append(items, app.Div().ID("unread-separator").Class("unread-separator").Role("separator").Body(
				app.Span().Text("Unread messages"),
			))
		}
		cont := prev != nil && continues(*prev, m, loc)
		items = append(items, messageItem(m, cont, p))
	}
	return items
}

// messageItem is one message.
func messageItem(m client.Message, cont bool, p msgListProps) app.UI {
	classes := []string{"msg", "msg-in"}
	author := p.peerName + ": "
	if m.Outgoing {
		classes[1], author = "msg-out", "You: "
	}
	if cont {
		classes = append(classes, "msg-cont")
	}
	var retry app.EventHandler
	if p.onRetry != nil {
		retry = p.onRetry(m)
	}
	return app.Div().Class(classes...).DataSet("id", m.ID.String()).DataSet("state", stateName(m.State)).Body(
		app.Div().Class("bubble").Body(
			app.P().Class("msg-text").Body(
				app.Span().Class("sr-only").Text(author),
				app.Text(m.Text),
			),
			app.Div().Class("msg-meta").Body(
				app.Time().Class("msg-time").DateTime(m.SentAt.UTC().Format(time.RFC3339)).
					Title(m.SentAt.In(p.now.Location()).Format("Monday, 2 January 2006, 15:04")).
					Text(clock(m.SentAt, p.now)),
				app.If(m.Outgoing, func() app.UI { return ticks(m.State) }),
			),
		),
		app.If(m.Outgoing && m.State == client.StateFailed, func() app.UI {
			return app.P().Class("msg-failure").Body(
				app.Text(failureText(m.Failure)+" "),
				app.Button().Type("button").Class("link", "msg-retry").OnClick(retry).Text("Send again"),
			)
		}),
	)
}

// historyEdge is what sits above the oldest message shown.
func historyEdge(p msgListProps) app.UI {
	switch {
	case p.loading:
		return app.P().Class("history-edge").Role("status").Text("Loading messages…")
	case p.hasOlder:
		return app.P().Class("history-edge").Text("Loading older messages…")
	case len(p.msgs) == 0:
		return app.P().Class("history-edge", "history-empty").Text("No messages yet. Say hello!")
	default:
		return app.P().Class("history-edge").Body(
			app.Span().Class("edge-icon").Body(icon(iconShield)),
			app.Text("Messages are end-to-end encrypted. Only you and "+p.peerName+" can read them."),
		)
	}
}
