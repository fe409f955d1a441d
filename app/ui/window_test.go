package ui

import (
	"testing"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

// conversationOf is a conversation of n messages with Seq 1..n.
func conversationOf(n int) []client.Message {
	msgs := make([]client.Message, n)
	for i := range msgs {
		msgs[i] = msgWithSeq(uint64(i + 1))
	}
	return msgs
}

func msgWithSeq(seq uint64) client.Message {
	var id wire.MessageID
	id[0], id[1], id[2] = byte(seq>>16), byte(seq>>8), byte(seq)
	return client.Message{ID: id, Seq: seq, State: client.StateReceived}
}

// history answers like client.History over all: up to limit messages
// with Seq < before (before 0: the newest), in increasing order.
func history(all []client.Message, before uint64, limit int) []client.Message {
	end := len(all)
	if before != 0 && before-1 < uint64(len(all)) {
		end = int(before - 1)
	}
	start := max(end-limit, 0)
	return append([]client.Message(nil), all[start:end]...)
}

// checkContiguous fails unless the window's Seqs follow each other.
func checkContiguous(t *testing.T, w *msgWindow) {
	t.Helper()
	if len(w.msgs) > maxWindow {
		t.Fatalf("window holds %d messages, more than %d", len(w.msgs), maxWindow)
	}
	for i := 1; i < len(w.msgs); i++ {
		if w.msgs[i].Seq != w.msgs[i-1].Seq+1 {
			t.Fatalf("window not contiguous at %d: %d then %d", i, w.msgs[i-1].Seq, w.msgs[i].Seq)
		}
	}
}

func TestWindowReset(t *testing.T) {
	for _, tc := range []struct {
		name      string
		total     int
		wantOlder bool
	}{
		{"empty", 0, false},
		{"short", 30, false},
		{"exactly a page", pageSize, false},
		{"more than a page", pageSize + 1, true},
		{"ten thousand", 10_000, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w msgWindow
			all := conversationOf(tc.total)
			w.reset(history(all, 0, pageSize))
			if w.hasOlder != tc.wantOlder || w.hasNewer {
				t.Errorf("hasOlder, hasNewer = %v, %v; want %v, false", w.hasOlder, w.hasNewer, tc.wantOlder)
			}
			if want := min(tc.total, pageSize); len(w.msgs) != want {
				t.Errorf("%d messages, want %d", len(w.msgs), want)
			}
			if tc.total > 0 && w.msgs[len(w.msgs)-1].Seq != uint64(tc.total) {
				t.Errorf("last Seq %d, want %d", w.msgs[len(w.msgs)-1].Seq, tc.total)
			}
			checkContiguous(t, &w)
		})
	}
}

func TestWindowScrollsThroughTenThousand(t *testing.T) {
	all := conversationOf(10_000)
	var w msgWindow
	w.reset(history(all, 0, pageSize))
	reads := 1
	for w.hasOlder {
		before := w.olderCursor()
		if n := w.prepend(history(all, before, pageSize)); n == 0 {
			t.Fatal("an older page added nothing")
		}
		reads++
		checkContiguous(t, &w)
		if reads > 200 {
			t.Fatal("does not reach the first message")
		}
	}
	if w.msgs[0].Seq != 1 || !w.hasNewer || len(w.msgs) != maxWindow {
		t.Fatalf("at the top: first %d, hasNewer %v, %d messages", w.msgs[0].Seq, w.hasNewer, len(w.msgs))
	}
	if reads != 100 {
		t.Errorf("%d reads to reach the top, want 100", reads)
	}
	for w.hasNewer {
		if !w.appendNewer(history(all, w.newerCursor(), pageSize)) {
			t.Fatalf("a newer page does not continue the window after %d", w.msgs[len(w.msgs)-1].Seq)
		}
		checkContiguous(t, &w)
	}
	if last := w.msgs[len(w.msgs)-1].Seq; last != 10_000 || !w.hasOlder {
		t.Fatalf("at the bottom: last %d, hasOlder %v", last, w.hasOlder)
	}
}

func TestWindowPrependDropsOverlap(t *testing.T) {
	all := conversationOf(250)
	var w msgWindow
	w.reset(history(all, 0, pageSize))  // 151..250
	page := history(all, 160, pageSize) // 60..159: overlaps 151..159
	if n := w.prepend(page); n != 91 {
		t.Fatalf("prepend added %d, want 91", n)
	}
	checkContiguous(t, &w)
	if w.hasOlder {
		t.Error("hasOlder after a page cut short by the overlap")
	}
}

func TestWindowAppendNewerGap(t *testing.T) {
	all := conversationOf(1000)
	var w msgWindow
	w.reset(history(all, 0, pageSize))
	for range 4 {
		w.prepend(history(all, w.olderCursor(), pageSize))
	}
	// A page that does not start right after the window's last message.
	if w.appendNewer(history(all, 0, pageSize)) {
		t.Error("appendNewer accepted a page with a gap")
	}
	if !w.appendNewer(nil) || w.hasNewer {
		t.Error("an empty newer page does not end the window")
	}
}

func TestWindowAdd(t *testing.T) {
	t.Run("appends at the bottom", func(t *testing.T) {
		var w msgWindow
		w.reset(conversationOf(10))
		if !w.add(msgWithSeq(11), true) || w.msgs[10].Seq != 11 {
			t.Fatal("not appended")
		}
	})
	t.Run("without a Seq goes last", func(t *testing.T) {
		var w msgWindow
		w.reset(conversationOf(10))
		m := msgWithSeq(0)
		m.ID[15] = 1
		if !w.add(m, true) || w.msgs[10].ID != m.ID {
			t.Fatal("not appended")
		}
	})
	t.Run("updates one already there", func(t *testing.T) {
		var w msgWindow
		w.reset(conversationOf(10))
		m := msgWithSeq(5)
		m.State = client.StateRead
		if !w.add(m, false) || len(w.msgs) != 10 || w.msgs[4].State != client.StateRead {
			t.Fatal("not updated in place")
		}
	})
	t.Run("full and reading older ones", func(t *testing.T) {
		all := conversationOf(maxWindow + 1)
		var w msgWindow
		w.reset(all[:maxWindow])
		if w.add(all[maxWindow], false) {
			t.Fatal("shown although the window is full and the reader is up")
		}
		if !w.hasNewer || len(w.msgs) != maxWindow {
			t.Fatalf("hasNewer %v, %d messages", w.hasNewer, len(w.msgs))
		}
		if w.add(msgWithSeq(maxWindow+2), true) {
			t.Fatal("shown below a window that does not reach the newest")
		}
	})
	t.Run("full at the bottom trims the top", func(t *testing.T) {
		all := conversationOf(maxWindow + 1)
		var w msgWindow
		w.reset(all[:maxWindow])
		w.hasOlder = false
		if !w.add(all[maxWindow], true) {
			t.Fatal("not shown")
		}
		if len(w.msgs) != maxWindow || w.msgs[0].Seq != 2 || !w.hasOlder {
			t.Fatalf("%d messages from %d, hasOlder %v", len(w.msgs), w.msgs[0].Seq, w.hasOlder)
		}
		checkContiguous(t, &w)
	})
	t.Run("older than the window", func(t *testing.T) {
		var w msgWindow
		w.reset(history(conversationOf(500), 0, pageSize))
		if w.add(msgWithSeq(3), true) {
			t.Fatal("a message above the window was shown")
		}
	})
}

func TestWindowUpdateMatchesDirection(t *testing.T) {
	var w msgWindow
	w.reset(conversationOf(3))
	out := w.msgs[1]
	out.Outgoing, out.State = true, client.StateSent
	if w.update(out) {
		t.Fatal("an outgoing message replaced an incoming one with the same ID")
	}
	in := w.msgs[1]
	in.State, in.Seq = client.StateRead, 0
	if !w.update(in) || w.msgs[1].Seq != 2 || w.msgs[1].State != client.StateRead {
		t.Fatalf("update: %+v", w.msgs[1])
	}
}

func TestWindowStatesNeverMoveBack(t *testing.T) {
	var w msgWindow
	out := msgWithSeq(1)
	out.Outgoing, out.State = true, client.StateDelivered
	w.reset([]client.Message{out})
	stale := out
	stale.State = client.StateSending
	if !w.add(stale, true) || w.msgs[0].State != client.StateDelivered || len(w.msgs) != 1 {
		t.Fatalf("a stale record moved the state back to %v", w.msgs[0].State)
	}
	read := out
	read.State = client.StateRead
	if !w.update(read) || w.msgs[0].State != client.StateRead {
		t.Fatal("a newer state was not taken")
	}
	in := msgWithSeq(2)
	w.add(in, true)
	in.State = client.StateRead
	if !w.update(in) || w.msgs[1].State != client.StateRead {
		t.Fatal("an incoming message was not marked read")
	}
}

func TestWindowMarkRead(t *testing.T) {
	var w msgWindow
	w.reset(conversationOf(3))
	w.msgs[0].Outgoing, w.msgs[0].State = true, client.StateDelivered
	if !w.unread() {
		t.Fatal("no unread messages")
	}
	w.markRead()
	if w.unread() || w.msgs[0].State != client.StateDelivered || w.msgs[2].State != client.StateRead {
		t.Fatalf("after markRead: %v %v %v", w.msgs[0].State, w.msgs[1].State, w.msgs[2].State)
	}
}

func TestScrollGeometry(t *testing.T) {
	a := scrollAnchor{id: "x", offset: 120}
	for _, tc := range []struct{ offsetTop, want float64 }{
		{1000, 880}, {120, 0}, {50, 0},
	} {
		if got := a.restoredScrollTop(tc.offsetTop); got != tc.want {
			t.Errorf("restoredScrollTop(%v) = %v, want %v", tc.offsetTop, got, tc.want)
		}
	}
	for _, tc := range []struct {
		name                string
		top, height, view   float64
		wantTop, wantBottom bool
		wantAtBottom        bool
	}{
		{"at the top of a long list", 0, 20000, 600, true, false, false},
		{"in the middle", 8000, 20000, 600, false, false, false},
		{"near the end", 18700, 20000, 600, false, true, false},
		{"at the end", 19400, 20000, 600, false, true, true},
		{"within the slack", 19360, 20000, 600, false, true, true},
		{"short list", 0, 500, 600, true, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := nearTop(tc.top); got != tc.wantTop {
				t.Errorf("nearTop = %v", got)
			}
			if got := nearBottom(tc.top, tc.height, tc.view); got != tc.wantBottom {
				t.Errorf("nearBottom = %v", got)
			}
			if got := atBottom(tc.top, tc.height, tc.view); got != tc.wantAtBottom {
				t.Errorf("atBottom = %v", got)
			}
		})
	}
}
