package client

import (
	"testing"
	"time"
)

// TestRequestWait: messages wait only while a request to the contact is
// pending and younger than requestWindow.
func TestRequestWait(t *testing.T) {
	sent := time.UnixMilli(1_700_000_000_000)
	pending := func(edit func(*Contact)) *Contact {
		ct := &Contact{State: ContactAllowed, RequestSent: sent}
		if edit != nil {
			edit(ct)
		}
		return ct
	}
	for _, tc := range []struct {
		name string
		ct   *Contact
		now  time.Time
		want time.Duration
	}{
		{"no contact", nil, sent, 0},
		{"no request", pending(func(ct *Contact) { ct.RequestSent = time.Time{} }), sent, 0},
		{"accepted", pending(func(ct *Contact) { ct.accept() }), sent, 0},
		{"blocked", pending(func(ct *Contact) { ct.State = ContactBlocked }), sent, 0},
		{"just sent", pending(nil), sent, requestWindow},
		{"an hour later", pending(nil), sent.Add(time.Hour), requestWindow - time.Hour},
		{"clock behind", pending(nil), sent.Add(-time.Minute), requestWindow + time.Minute},
		{"window over", pending(nil), sent.Add(requestWindow), 0},
		{"days later", pending(nil), sent.Add(3 * requestWindow), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := requestWait(tc.ct, tc.now); got != tc.want {
				t.Errorf("requestWait = %v, want %v", got, tc.want)
			}
			if tc.ct != nil && tc.ct.AwaitingAcceptance() != !tc.ct.RequestSent.IsZero() {
				t.Errorf("AwaitingAcceptance = %v with RequestSent %v", tc.ct.AwaitingAcceptance(), tc.ct.RequestSent)
			}
		})
	}
}
