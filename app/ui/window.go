package ui

import (
	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

// A conversation shows a window of its messages, so that a chat of any
// length opens with one page read and keeps a few hundred nodes.
const (
	// pageSize is how many messages one read brings (client.History).
	pageSize = 100
	// maxWindow is how many messages the window holds at most.
	maxWindow = 3 * pageSize
	// loadMargin is how close (in CSS pixels) to an end of the scroller
	// the reader gets before the next page there is read.
	loadMargin = 800
	// bottomSlack is how close to the bottom counts as at the bottom.
	bottomSlack = 48
)

// msgWindow is the part of a conversation on screen, in increasing Seq
// order, with whether messages exist beyond either end.
type msgWindow struct {
	msgs     []client.Message
	hasOlder bool // messages before msgs[0] exist
	hasNewer bool // messages after the last exist (dropped, or held back)
}

// reset shows the newest page (History with before 0).
func (w *msgWindow) reset(page []client.Message) {
	w.msgs = append(w.msgs[:0:0], page...)
	w.hasOlder = len(page) >= pageSize && page[0].Seq > 1
	w.hasNewer = false
}

// olderCursor is the History before-argument of the page above the
// window.
func (w *msgWindow) olderCursor() uint64 {
	if len(w.msgs) == 0 {
		return 0
	}
	return w.msgs[0].Seq
}

// newerCursor is the History before-argument of the page below the
// window: the page of the pageSize messages after the last one (Seq
// numbers are positions, so they follow each other).
func (w *msgWindow) newerCursor() uint64 {
	if len(w.msgs) == 0 {
		return 0
	}
	return w.msgs[len(w.msgs)-1].Seq + 1 + pageSize
}

// prepend adds an older page above the window and drops from the bottom
// what goes over maxWindow. It returns how many messages were added.
func (w *msgWindow) prepend(page []client.Message) int {
	first := w.olderCursor()
	n := 0
	for n < len(page) && (first == 0 || page[n].Seq < first) {
		n++
	}
	page = page[:n]
	w.hasOlder = n >= pageSize && page[0].Seq > 1
	if n == 0 {
		return 0
	}
	w.msgs = append(append(make([]client.Message, 0, len(page)+len(w.msgs)), page...), w.msgs...)
	if over := len(w.msgs) - maxWindow; over > 0 {
		w.msgs = w.msgs[:maxWindow]
		w.hasNewer = true
	}
	return len(page)
}

// appendNewer adds a newer page below the window (read at newerCursor)
// and drops from the top what goes over maxWindow. It reports false when
// the page leaves a gap after the window, so that the caller shows the
// newest page instead.
func (w *msgWindow) appendNewer(page []client.Message) bool {
	last := uint64(0)
	if len(w.msgs) > 0 {
		last = w.msgs[len(w.msgs)-1].Seq
	}
	i := 0
	for i < len(page) && page[i].Seq <= last {
		i++
	}
	page = page[i:]
	if len(page) == 0 {
		// Nothing after the last message: the window reaches the end.
		w.hasNewer = false
		return true
	}
	if page[0].Seq != last+1 {
		return false
	}
	w.msgs = append(w.msgs, page...)
	w.hasNewer = len(page) >= pageSize
	if over := len(w.msgs) - maxWindow; over > 0 {
		w.msgs = append(w.msgs[:0:0], w.msgs[over:]...)
		w.hasOlder = true
	}
	return true
}

// add puts a new message (sent or received just now) in the window, or
// updates it if it is there already. A message below a window that does
// not reach the newest is not shown; nor is one that would push a full
// window while the reader is not at the bottom (the window then no
// longer reaches the newest). It reports whether the message is shown.
func (w *msgWindow) add(m client.Message, atBottom bool) bool {
	if w.update(m) {
		return true
	}
	if w.hasNewer {
		return false
	}
	if len(w.msgs) >= maxWindow && !atBottom {
		w.hasNewer = true
		return false
	}
	i := len(w.msgs)
	for m.Seq != 0 && i > 0 && w.msgs[i-1].Seq > m.Seq {
		i--
	}
	if i == 0 && len(w.msgs) > 0 && w.hasOlder {
		return false // older than the window: it is read with its page
	}
	w.msgs = append(w.msgs, client.Message{})
	copy(w.msgs[i+1:], w.msgs[i:])
	w.msgs[i] = m
	if over := len(w.msgs) - maxWindow; over > 0 {
		w.msgs = append(w.msgs[:0:0], w.msgs[over:]...)
		w.hasOlder = true
	}
	return true
}

// update replaces a message of the window by its new record (same ID and
// direction); it reports whether the message was there. The state of an
// outgoing message never moves back within one attempt (Sending or
// Waiting, then Sent or Failed, Delivered, Read), and a later attempt
// (client.Client.Retry) replaces an earlier one: an older record read
// before a newer one arrived changes nothing.
func (w *msgWindow) update(m client.Message) bool {
	for i := range w.msgs {
		if w.msgs[i].ID == m.ID && w.msgs[i].Outgoing == m.Outgoing {
			if m.Outgoing && olderRecord(m, w.msgs[i]) {
				return true
			}
			if m.Seq == 0 {
				m.Seq = w.msgs[i].Seq
			}
			w.msgs[i] = m
			return true
		}
	}
	return false
}

// olderRecord reports whether m is an older record of the outgoing
// message have: of an earlier attempt, or of the same one in a state it
// has moved on from.
func olderRecord(m, have client.Message) bool {
	if m.Attempt != have.Attempt {
		return m.Attempt < have.Attempt
	}
	return stateRank(m.State) < stateRank(have.State)
}

// stateRank orders the states of one attempt of an outgoing message.
func stateRank(s client.MessageState) int {
	switch s {
	case client.StateSending, client.StateWaiting:
		return 1
	case client.StateSent, client.StateFailed:
		return 2
	case client.StateDelivered:
		return 3
	case client.StateRead:
		return 4
	}
	return 0
}

// has reports whether the window holds the outgoing message id.
func (w *msgWindow) has(id wire.MessageID) bool {
	for i := range w.msgs {
		if w.msgs[i].ID == id && w.msgs[i].Outgoing {
			return true
		}
	}
	return false
}

// markRead marks the window's received messages read.
func (w *msgWindow) markRead() {
	for i := range w.msgs {
		if !w.msgs[i].Outgoing && w.msgs[i].State == client.StateReceived {
			w.msgs[i].State = client.StateRead
		}
	}
}

// unread reports whether the window holds received messages not read.
func (w *msgWindow) unread() bool {
	for i := range w.msgs {
		if !w.msgs[i].Outgoing && w.msgs[i].State == client.StateReceived {
			return true
		}
	}
	return false
}

// scrollAnchor is where a message was in the scroller before the window
// changed: restoring it keeps what the reader sees in place.
type scrollAnchor struct {
	id     string  // the message's data-id
	offset float64 // its offsetTop minus the scroller's scrollTop
}

// restoredScrollTop is the scrollTop that puts the anchor's message,
// now at offsetTop, back where it was.
func (a scrollAnchor) restoredScrollTop(offsetTop float64) float64 {
	top := offsetTop - a.offset
	if top < 0 {
		return 0
	}
	return top
}

// nearTop and nearBottom say whether the scroller is close enough to an
// end to read the next page there.
func nearTop(scrollTop float64) bool { return scrollTop < loadMargin }

func nearBottom(scrollTop, scrollHeight, clientHeight float64) bool {
	return scrollHeight-scrollTop-clientHeight < loadMargin
}

// atBottom says whether the scroller shows the end.
func atBottom(scrollTop, scrollHeight, clientHeight float64) bool {
	return scrollHeight-scrollTop-clientHeight <= bottomSlack
}
