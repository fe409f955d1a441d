package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/app/client"
)

// TestDaysByServerTime: a message whose writer's clock is days ahead is
// filed and ordered by when the relay took it, under today; the
// writer's time is kept in its details.
func TestDaysByServerTime(t *testing.T) {
	msgs := []client.Message{
		{ID: msgID(1), Seq: 1, Outgoing: true, Text: "written first, taken last", SentAt: testNow.Add(-10*time.Minute - 20*time.Second), ServerTime: testNow.Add(-10 * time.Minute), State: client.StateSent},
		{ID: msgID(2), Seq: 2, Text: "from a clock three days ahead", SentAt: testNow.Add(72 * time.Hour), ServerTime: testNow.Add(-time.Hour), State: client.StateRead},
		{ID: msgID(3), Seq: 3, Text: "from yesterday, by the relay", SentAt: testNow, ServerTime: testNow.Add(-24 * time.Hour), State: client.StateRead},
	}
	d := render(t, func() app.UI {
		return app.Div().ID("messages").Body(messageItems(msgListProps{msgs: msgs, peerName: "Bob", now: testNow})...)
	})
	var seps []string
	for _, s := range d.all(".day-separator") {
		seps = append(seps, text(s))
	}
	if strings.Join(seps, "|") != "Yesterday|Today" {
		t.Fatalf("day separators %q, want [Yesterday Today]", seps)
	}
	nodes := d.all(".msg")
	order := []string{msgID(3).String(), msgID(2).String(), msgID(1).String()}
	for i, n := range nodes {
		if attr(n, "data-id") != order[i] {
			t.Fatalf("message %d is %s, want %s: in the order the relay took them", i, attr(n, "data-id"), order[i])
		}
	}
	skewed := d.within(nodes[1]).one(".msg-time")
	if got := text(skewed); got != testNow.Add(-time.Hour).Format("15:04") {
		t.Errorf("the skewed message shows %q, want the relay's time", got)
	}
	if title := attr(skewed, "title"); !strings.Contains(title, "Sunday, 15 March 2026, 15:00") || !strings.Contains(title, "sender's clock") {
		t.Errorf("the skewed message's details say %q, want the writer's time too", title)
	}
	if title := attr(d.within(nodes[2]).one(".msg-time"), "title"); strings.Contains(title, "clock") {
		t.Errorf("details %q mention the writer's clock when it agrees with the relay's", title)
	}
}

// TestWaitingNotes: messages that wait say why, once under each run:
// for the contact's device, or for the user to check a changed safety
// number (drawn as waiting though the client says sending).
func TestWaitingNotes(t *testing.T) {
	at := func(min int) time.Time { return testNow.Add(time.Duration(min) * time.Minute) }
	msgs := []client.Message{
		{ID: msgID(1), Seq: 1, Outgoing: true, Text: "a", SentAt: at(1), State: client.StateWaiting},
		{ID: msgID(2), Seq: 2, Outgoing: true, Text: "b", SentAt: at(2), State: client.StateWaiting},
		{ID: msgID(3), Seq: 3, Outgoing: true, Text: "c", SentAt: at(3), State: client.StateSending},
	}
	for _, tc := range []struct {
		name   string
		held   bool
		states []string
		notes  []string // under each message
	}{
		{"no device", false, []string{"waiting", "waiting", "sending"},
			[]string{"", "Waiting: Bob has no device signed in right now; it will be delivered when they have one.", ""}},
		{"safety number to check", true, []string{"waiting", "waiting", "waiting"},
			[]string{"", "Waiting: Bob has no device signed in right now; it will be delivered when they have one.", "Waiting until you check your safety number with Bob."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := render(t, func() app.UI {
				return app.Div().ID("messages").Body(messageItems(msgListProps{msgs: msgs, peerName: "Bob", now: testNow, held: tc.held})...)
			})
			for i, n := range d.all(".msg") {
				if got := attr(n, "data-state"); got != tc.states[i] {
					t.Errorf("message %d: state %q, want %q", i, got, tc.states[i])
				}
				if got := d.within(n).all(".ticks"); len(got) != 1 || strings.ToLower(attr(got[0], "aria-label")) != tc.states[i] {
					t.Errorf("message %d: ticks %v", i, got)
				}
				var note string
				if ns := d.within(n).all(".msg-note"); len(ns) == 1 {
					note = text(ns[0])
				}
				if note != tc.notes[i] {
					t.Errorf("message %d: note %q, want %q", i, note, tc.notes[i])
				}
			}
		})
	}
}

// TestWindowRetry: a message sent again replaces its failed record in
// place, once; a late record of the failed attempt changes nothing, and
// within an attempt waiting and sending may follow each other.
func TestWindowRetry(t *testing.T) {
	var w msgWindow
	failed := client.Message{ID: msgID(1), Seq: 1, Outgoing: true, State: client.StateFailed}
	w.reset([]client.Message{failed, {ID: msgID(2), Seq: 2, State: client.StateReceived}})
	again := failed
	again.State, again.Attempt = client.StateSending, 1
	if !w.update(again) || w.msgs[0].State != client.StateSending || len(w.msgs) != 2 {
		t.Fatalf("after sending again: %+v", w.msgs)
	}
	if !w.update(failed) || w.msgs[0].Attempt != 1 || w.msgs[0].State != client.StateSending {
		t.Fatalf("a late record of the failed attempt moved it back: %+v", w.msgs[0])
	}
	waiting := again
	waiting.State = client.StateWaiting
	if !w.update(waiting) || w.msgs[0].State != client.StateWaiting {
		t.Fatalf("waiting: %+v", w.msgs[0])
	}
	if !w.update(again) || w.msgs[0].State != client.StateSending {
		t.Fatalf("sending again after waiting: %+v", w.msgs[0])
	}
	if !w.has(msgID(1)) || w.has(msgID(2)) || w.has(msgID(3)) {
		t.Error("has: wrong for an outgoing, an incoming or an absent message")
	}
}
