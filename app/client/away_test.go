package client

import (
	"testing"
	"time"
)

// TestAwayDelay: the wait between tries of a message to someone without
// a device signed in doubles from a minute and stays at an hour.
func TestAwayDelay(t *testing.T) {
	for n, want := range map[uint32]time.Duration{
		0: time.Minute, 1: time.Minute, 2: 2 * time.Minute, 3: 4 * time.Minute,
		6: 32 * time.Minute, 7: time.Hour, 8: time.Hour, 1000: time.Hour,
	} {
		if got := awayDelay(n); got != want {
			t.Errorf("awayDelay(%d) = %v, want %v", n, got, want)
		}
	}
	// At most an hour apart, the tries of 30 days stay well under the
	// relay's 500 lookups a day even if each were one.
	if perDay := int(24 * time.Hour / awayDelay(100)); perDay > 24 || int(24*time.Hour/awayFetchGap) > 4 {
		t.Errorf("%d tries a day, %d of them fetches", perDay, int(24*time.Hour/awayFetchGap))
	}
}

// TestDeliveryFieldsRoundTrip: the fields that say how an entry waits for
// a device, and a message's attempt, read back as written, and a record
// without them (as older clients wrote it) reads with none.
func TestDeliveryFieldsRoundTrip(t *testing.T) {
	e := sampleOutbox()
	e.Away = awayState{Since: 1_700_000_000_000, Tries: 3, NextTry: 1_700_000_240_000, Fetched: 1_700_000_060_000}
	got, err := parseOutbox(e.marshal())
	if err != nil || got.Away != e.Away {
		t.Fatalf("outbox entry reads back %+v, %v; want %+v", got.Away, err, e.Away)
	}
	if got, err := parseOutbox(sampleOutbox().marshal()); err != nil || got.Away.waiting() {
		t.Fatalf("an entry without them reads as waiting: %+v, %v", got.Away, err)
	}
	m := sampleMessage()
	m.Attempt = 2
	if got, err := parseMessage(m.marshal()); err != nil || got.Attempt != 2 {
		t.Fatalf("message reads back attempt %d, %v; want 2", got.Attempt, err)
	}
}
