package ui

import (
	"slices"
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
	case client.StateWaiting:
		return "waiting"
	default:
		return "received"
	}
}

// ticks is the mark of an outgoing message's state, told apart by shape
// and colour: a clock while sending, an hourglass while it waits, one
// tick when the relay has it, two when delivered, two on a filled pill
// when read, a warning sign when it failed. Its label says the state in
// words.
func ticks(st client.MessageState) app.UI {
	var label, svg string
	class := "ticks"
	switch st {
	case client.StateSending:
		label, svg = "Sending", iconSending
	case client.StateWaiting:
		label, svg, class = "Waiting", iconWaiting, "ticks ticks-waiting"
	case client.StateSent:
		label, svg = "Sent", iconSent
	case client.StateDelivered:
		label, svg = "Delivered", iconDelivered
	case client.StateRead:
		label, svg, class = "Read", iconRead, "ticks ticks-read"
	case client.StateFailed:
		label, svg, class = "Not delivered", iconFailed, "ticks ticks-failed"
	default:
		return nil
	}
	return app.Span().Class(class).Role("img").Aria("label", label).Title(label).Body(icon(svg))
}

// shownState is the state a message is drawn in: one the outbox holds
// until the user checks the contact's changed safety number (held) is
// drawn as waiting, as one waiting for the contact's device is.
func shownState(m client.Message, held bool) client.MessageState {
	if held && m.Outgoing && m.State == client.StateSending {
		return client.StateWaiting
	}
	return m.State
}

// waitingNote says why an outgoing message waits; "" when it does not.
func waitingNote(m client.Message, held bool, name string) string {
	switch {
	case !m.Outgoing:
		return ""
	case m.State == client.StateWaiting:
		return "Waiting: " + name + " has no device signed in right now; it will be delivered when they have one."
	case held && m.State == client.StateSending:
		return "Waiting until you check your safety number with " + name + "."
	}
	return ""
}

// when is when a message happened, as the conversation orders it and
// files it under a day: when the relay took it (its clock, the same for
// everyone, on every delivery), or, until the relay has it, when this
// device wrote it. The writer's own clock (SentAt) may be wrong; it is
// shown only in the message's details.
func when(m client.Message) time.Time {
	if !m.ServerTime.IsZero() {
		return m.ServerTime
	}
	return m.SentAt
}

// inTimeOrder returns msgs (in Seq order) ordered by when they happened,
// keeping Seq order between equals; msgs itself when it is in order.
func inTimeOrder(msgs []client.Message) []client.Message {
	byWhen := func(a, b client.Message) int { return when(a).Compare(when(b)) }
	if slices.IsSortedFunc(msgs, byWhen) {
		return msgs
	}
	out := slices.Clone(msgs)
	slices.SortStableFunc(out, byWhen)
	return out
}

// timeTitle is a message's time in full, with the writer's clock when it
// says otherwise by a minute or more.
func timeTitle(m client.Message, loc *time.Location) string {
	const layout = "Monday, 2 January 2006, 15:04"
	t := when(m)
	title := t.In(loc).Format(layout)
	if d := m.SentAt.Sub(t); !m.ServerTime.IsZero() && !m.SentAt.IsZero() && (d >= time.Minute || d <= -time.Minute) {
		title += " (written " + m.SentAt.In(loc).Format(layout) + " by the sender's clock)"
	}
	return title
}

// msgListProps is what the message list shows.
type msgListProps struct {
	msgs        []client.Message // in increasing Seq order
	peerName    string
	now         time.Time
	hasOlder    bool
	loading     bool           // the first page is being read
	firstUnread wire.MessageID // the unread separator goes above it; zero: none
	// held: the contact's safety number changed and the user has not
	// checked it; what was sent to them waits.
	held    bool
	onRetry func(m client.Message) app.EventHandler

	// In a group's chat: the group (nil in a 1:1 chat), this account,
	// the names of the people, and what opens an own message's info
	// (who read it); see groupchat.go.
	group  *client.Group
	me     wire.UserID
	people people
	onInfo func(m client.Message) app.EventHandler

	// attachments draws a message's attachments (transfers.go); nil:
	// none are drawn.
	attachments func(m client.Message) app.UI
}

// groupGap is the longest pause between two messages of one author drawn
// as one group.
const groupGap = 5 * time.Minute

// continues reports whether b follows a in one group: same author, same
// day, within groupGap, and nothing said under a. A system line of a
// group stands alone.
func continues(a, b client.Message, loc *time.Location) bool {
	return a.Outgoing == b.Outgoing && a.Author == b.Author && a.Event == nil && b.Event == nil &&
		sameDay(when(a), when(b), loc) &&
		when(b).Sub(when(a)) < groupGap && a.State != client.StateFailed && a.State != client.StateWaiting
}

// messageItems draws the messages in the order they happened (see when),
// with a separator above the first message of each day.
func messageItems(p msgListProps) []app.UI {
	loc := p.now.Location()
	msgs := inTimeOrder(p.msgs)
	items := make([]app.UI, 0, len(msgs)+8)
	for i, m := range msgs {
		var prev, next *client.Message
		if i > 0 {
			prev = &msgs[i-1]
		}
		if i+1 < len(msgs) {
			next = &msgs[i+1]
		}
		if prev == nil || !sameDay(when(*prev), when(m), loc) {
			items = append(items, app.Div().Class("day-separator").Role("separator").Body(
				app.Span().Text(dayLabel(when(m), p.now)),
			))
		}
		if p.firstUnread != (wire.MessageID{}) && m.ID == p.firstUnread && !m.Outgoing {
			items = append(items, app.Div().ID("unread-separator").Class("unread-separator").Role("separator").Body(
				app.Span().Text("Unread messages"),
			))
		}
		if m.Event != nil {
			items = append(items, systemLine(m, p))
			continue
		}
		cont := prev != nil && continues(*prev, m, loc)
		// One note under a run of messages waiting for the same reason.
		note := waitingNote(m, p.held, p.peerName)
		if next != nil && waitingNote(*next, p.held, p.peerName) == note {
			note = ""
		}
		items = append(items, messageItem(m, cont, note, p))
	}
	return items
}

// messageItem is one message, with note under it (why it waits) if set.
func messageItem(m client.Message, cont bool, note string, p msgListProps) app.UI {
	classes := []string{"msg", "msg-in"}
	author := p.peerName + ": "
	if p.group != nil {
		author = p.people.name(m.Author) + ": "
	}
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
	st := shownState(m, p.held)
	var info app.EventHandler
	if p.group != nil && m.Outgoing && p.onInfo != nil {
		info = p.onInfo(m)
	}
	failure := failureText(m.Failure, p.peerName)
	if p.group != nil {
		failure = groupFailureText(m.Failure)
	}
	return app.Div().Class(classes...).DataSet("id", m.ID.String()).DataSet("state", stateName(st)).Body(
		app.Div().Class("bubble").OnClick(info).Body(
			app.If(p.group != nil && !m.Outgoing && !cont, func() app.UI {
				return app.P().Class("msg-author", authorClass(m.Author)).Aria("hidden", "true").Text(p.people.name(m.Author))
			}),
			app.If(len(m.Attachments) > 0 && p.attachments != nil, func() app.UI { return p.attachments(m) }),
			app.P().Class("msg-text").Body(
				app.Span().Class("sr-only").Text(author),
				app.Text(m.Text),
			),
			app.Div().Class("msg-meta").Body(
				app.Time().Class("msg-time").DateTime(when(m).UTC().Format(time.RFC3339)).
					Title(timeTitle(m, p.now.Location())).
					Text(clock(when(m), p.now)),
				app.If(m.Outgoing && p.group != nil, func() app.UI {
					return app.Button().Type("button").Class("msg-info").Aria("haspopup", "dialog").Body(
						app.Span().Class("sr-only").Text("Message info: "),
						ticks(st),
					)
				}).ElseIf(m.Outgoing, func() app.UI { return ticks(st) }),
			),
		),
		app.If(m.Outgoing && m.State == client.StateFailed, func() app.UI {
			return app.P().Class("msg-line", "msg-failure").Body(
				app.Text(failure+" "),
				app.Button().Type("button").Class("link", "msg-retry").OnClick(retry).Text("Send again"),
			)
		}),
		app.If(note != "", func() app.UI {
			return app.P().Class("msg-line", "msg-note").Text(note)
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
	case p.group != nil:
		return app.P().Class("history-edge").Body(
			app.Span().Class("edge-icon").Body(icon(iconShield)),
			app.Text("Messages are end-to-end encrypted. Only the members of "+p.group.Name+" can read them."),
		)
	default:
		return app.P().Class("history-edge").Body(
			app.Span().Class("edge-icon").Body(icon(iconShield)),
			app.Text("Messages are end-to-end encrypted. Only you and "+p.peerName+" can read them."),
		)
	}
}
