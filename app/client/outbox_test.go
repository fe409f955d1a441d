package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/app/store/memstore"
	"github.com/mutualcoop/mutual/crypto/keys"
	"github.com/mutualcoop/mutual/crypto/pqxdh"
	"github.com/mutualcoop/mutual/crypto/session"
	"github.com/mutualcoop/mutual/relay/wire"
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

// peerDevice is a device of another user, made without a relay: its
// identity and a bundle of its keys as the relay would hand it out.
type peerDevice struct {
	user   wire.UserID
	device wire.DeviceID
	bundle wire.Bundle
}

func newPeerDevice(t *testing.T, user wire.UserID) *peerDevice {
	t.Helper()
	id, err := pqxdh.GenerateIdentity(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	signed, err := pqxdh.GenerateSignedPreKey(rand.Reader, id.Key, 1, now)
	if err != nil {
		t.Fatal(err)
	}
	kem, err := pqxdh.GenerateKEMPreKey(rand.Reader, id.Key, 2, true, now)
	if err != nil {
		t.Fatal(err)
	}
	return &peerDevice{user: user, device: 1, bundle: wire.Bundle{
		Device: 1, Identity: id.Key.Public().Bytes(),
		Signed: wire.Prekey{ID: signed.ID, Public: signed.Key.Public().Bytes(), Signature: signed.Signature},
		KEM:    wire.Prekey{ID: kem.ID, Public: kem.Key.Public().Bytes(), Signature: kem.Signature}, KEMLastResort: true,
	}}
}

// outboxFixture is an offline client with a contact, Bob, a session with
// his one device, and a text message to him in the outbox, not
// encrypted yet.
type outboxFixture struct {
	c     *Client
	bob   *peerDevice
	entry *outboxEntry
	msg   wire.MessageID
}

func newOutboxFixture(t *testing.T) *outboxFixture {
	t.Helper()
	ctx := context.Background()
	st := memstore.New()
	t.Cleanup(func() { st.Close() })
	c := offlineClient(t, st)
	f := &outboxFixture{c: c, bob: newPeerDevice(t, addContact(t, c, ContactAllowed, time.Now()))}
	err := c.update(ctx, func(ts *txState) error {
		pb, err := BundleFromWire(&f.bob.bundle)
		if err != nil {
			return err
		}
		if _, err := c.recordIdentity(ts, f.bob.user, f.bob.device, pb.IdentityKey, true, &f.bob.bundle); err != nil {
			return err
		}
		return ts.sessions.ProcessBundle(ctx, sessionAddress(f.bob.user, f.bob.device), pb)
	})
	if err != nil {
		t.Fatal(err)
	}
	if f.msg, err = c.Send(ctx, f.bob.user, "hello"); err != nil {
		t.Fatal(err)
	}
	entries := f.entries(t)
	if len(entries) != 1 {
		t.Fatalf("%d outbox entries", len(entries))
	}
	f.entry = entries[0]
	return f
}

func (f *outboxFixture) entries(t *testing.T) []*outboxEntry {
	t.Helper()
	var out []*outboxEntry
	err := f.c.st.View(context.Background(), func(tx store.Tx) error {
		return tx.Scan(bOutbox, nil, func(k, v []byte) error {
			e, err := parseOutbox(v)
			if err == nil {
				e.seq = seqFromKey(k)
				out = append(out, e)
			}
			return err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// session returns the stored session with Bob's device.
func (f *outboxFixture) session(t *testing.T) []byte {
	t.Helper()
	var b []byte
	err := f.c.st.View(context.Background(), func(tx store.Tx) (err error) {
		b, err = tx.Get(bSessions, deviceKey(f.bob.user, f.bob.device))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// setIdentity records key as the identity of Bob's device, with status.
func (f *outboxFixture) setIdentity(t *testing.T, key keys.PublicKey, status identityStatus) {
	t.Helper()
	err := f.c.st.Update(context.Background(), func(tx store.Tx) error {
		rec := identityRecord{Key: key, Status: status, FirstSeen: 1}
		return tx.Put(bIdentities, deviceKey(f.bob.user, f.bob.device), rec.marshal())
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (f *outboxFixture) failures() []error {
	var out []error
	for {
		select {
		case ev := <-f.c.Events():
			if fe, ok := ev.(Failure); ok {
				out = append(out, fe.Err)
			}
		default:
			return out
		}
	}
}

// TestPrepare: encrypting a queued entry seals it, holds it, or finds it
// gone, each without an error; what is held or gone stores nothing of
// the encryption.
func TestPrepare(t *testing.T) {
	otherKey := func(t *testing.T) keys.PublicKey {
		id, err := pqxdh.GenerateIdentity(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return id.Key.Public()
	}
	for _, tc := range []struct {
		name   string
		edit   func(t *testing.T, f *outboxFixture)
		want   outcome
		sealed bool
	}{
		{"sealed", func(*testing.T, *outboxFixture) {}, outcomeReady, true},
		{
			// A session whose identity key is not the trusted one:
			// Encrypt refuses it after the transaction has started.
			"untrusted session", func(t *testing.T, f *outboxFixture) { f.setIdentity(t, otherKey(t), identityTrusted) },
			outcomeHeld, false,
		},
		{
			"unverified identity", func(t *testing.T, f *outboxFixture) {
				pb, err := BundleFromWire(&f.bob.bundle)
				if err != nil {
					t.Fatal(err)
				}
				f.setIdentity(t, pb.IdentityKey, identityUnverified)
			},
			outcomeHeld, false,
		},
		{
			"removed meanwhile", func(t *testing.T, f *outboxFixture) {
				err := f.c.st.Update(context.Background(), func(tx store.Tx) error { return tx.Delete(bOutbox, seqKey(f.entry.seq)) })
				if err != nil {
					t.Fatal(err)
				}
			},
			outcomeDone, false,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newOutboxFixture(t)
			tc.edit(t, f)
			before := f.session(t)
			out, err := f.c.prepare(context.Background(), nil, f.entry)
			if err != nil || out != tc.want {
				t.Fatalf("prepare = %d, %v; want %d", out, err, tc.want)
			}
			if errs := f.failures(); len(errs) != 0 {
				t.Errorf("failures reported: %v", errs)
			}
			stored := f.entries(t)
			if tc.sealed {
				if len(stored) != 1 || !stored[0].Encrypted || len(stored[0].Recipients) != 1 || !f.entry.Encrypted {
					t.Errorf("stored %+v", stored)
				}
				if bytes.Equal(f.session(t), before) {
					t.Error("the session did not advance")
				}
				return
			}
			if slices.ContainsFunc(stored, func(e *outboxEntry) bool { return e.Encrypted }) {
				t.Errorf("an entry was sealed: %+v", stored)
			}
			if !bytes.Equal(f.session(t), before) {
				t.Error("the session advanced")
			}
		})
	}
}

// TestMustWait: an entry waits, until woken, while an identity key is
// unverified, and while a request to its peer is pending, at most until
// requestWindow has passed.
func TestMustWait(t *testing.T) {
	ctx := context.Background()
	f := newOutboxFixture(t)
	if out, wait, err := f.c.mustWait(ctx, f.entry); err != nil || out != outcomeReady || wait != 0 {
		t.Fatalf("accepted contact: %d, %v, %v", out, wait, err)
	}
	err := f.c.update(ctx, func(ts *txState) error {
		ct, err := getContact(ts.tx, f.c.me().User, f.bob.user)
		if err != nil {
			return err
		}
		ct.Accepted, ct.RequestSent = false, f.c.now()
		return f.c.putContact(ts, ct)
	})
	if err != nil {
		t.Fatal(err)
	}
	if out, wait, err := f.c.mustWait(ctx, f.entry); err != nil || out != outcomeHeld || wait <= 0 || wait > requestWindow {
		t.Fatalf("request pending: %d, %v, %v", out, wait, err)
	}
	pb, err := BundleFromWire(&f.bob.bundle)
	if err != nil {
		t.Fatal(err)
	}
	f.setIdentity(t, pb.IdentityKey, identityUnverified)
	if out, wait, err := f.c.mustWait(ctx, f.entry); err != nil || out != outcomeHeld || wait != 0 {
		t.Fatalf("identity unverified: %d, %v, %v", out, wait, err)
	}
}

// TestSealFailed: a failure of the transaction that encrypts becomes the
// entry's outcome: an untrusted identity holds it, a message too large
// for a frame fails, anything else is reported and retried; only a
// context ended is an error.
func TestSealFailed(t *testing.T) {
	for _, tc := range []struct {
		name    string
		err     error
		cancel  bool
		want    outcome
		state   MessageState
		failure wire.Code
		entries int
		report  bool
	}{
		{"untrusted", fmt.Errorf("encrypt for device 1: %w", session.ErrUntrusted), false, outcomeHeld, StateSending, 0, 1, false},
		{"too large", errTooLarge, false, outcomeDone, StateFailed, wire.CodeTooLarge, 0, false},
		{"other", errors.New("no such thing"), false, outcomeRetry, StateSending, 0, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			f := newOutboxFixture(t)
			out, err := f.c.sealFailed(ctx, f.entry, tc.err)
			if err != nil || out != tc.want {
				t.Fatalf("sealFailed = %d, %v; want %d", out, err, tc.want)
			}
			m, err := f.c.Message(ctx, f.c.me().User, f.msg)
			if err != nil || m.State != tc.state || m.Failure != tc.failure {
				t.Errorf("message %v %v, %v", m.State, m.Failure, err)
			}
			if n := len(f.entries(t)); n != tc.entries {
				t.Errorf("%d entries, want %d", n, tc.entries)
			}
			if errs := f.failures(); (len(errs) > 0) != tc.report {
				t.Errorf("failures reported: %v", errs)
			}
		})
	}
	t.Run("context ended", func(t *testing.T) {
		f := newOutboxFixture(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := f.c.sealFailed(ctx, f.entry, errors.New("interrupted")); !errors.Is(err, context.Canceled) {
			t.Fatalf("sealFailed: %v", err)
		}
	})
}
