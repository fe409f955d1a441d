package gocardless_test

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/coop"
	"github.com/mutualcoop/mutual/relay/coop/gocardless"
)

// vectors are testdata/signatures.json: the Webhook-Signature of each
// body in testdata/webhooks, computed by testdata/sign.py with Python's
// hmac, apart from this package's code.
type vectors struct {
	Secret     string            `json:"secret"`
	Signatures map[string]string `json:"signatures"`
}

func readVectors(t *testing.T) vectors {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "signatures.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Signatures) == 0 {
		t.Fatal("no signatures in testdata/signatures.json")
	}
	return v
}

func body(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "webhooks", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// errTransport fails every request at once, counting them: the events
// of these tests need no lookups, and a bad signature must make none.
type errTransport struct{ n atomic.Int64 }

func (e *errTransport) RoundTrip(*http.Request) (*http.Response, error) {
	e.n.Add(1)
	return nil, errors.New("no network in this test")
}

func offline(t testing.TB, secret string) (*gocardless.Provider, *errTransport) {
	t.Helper()
	tr := &errTransport{}
	p, err := gocardless.New(gocardless.Config{
		AccessToken: "sandbox_token", WebhookSecret: secret,
		HTTPClient: &http.Client{Transport: tr},
	})
	if err != nil {
		t.Fatal(err)
	}
	return p, tr
}

func signed(sig string) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	if sig != "" {
		h.Set("Webhook-Signature", sig)
	}
	return h
}

func TestSignatureVectors(t *testing.T) {
	v := readVectors(t)
	p, tr := offline(t, v.Secret)
	for name, sig := range v.Signatures {
		t.Run(name, func(t *testing.T) {
			b := body(t, name)
			if got := gocardless.Sign(v.Secret, b); got != sig {
				t.Errorf("Sign = %s, the vector is %s", got, sig)
			}
			if _, err := p.Events(signed(sig), b, time.Now()); err != nil {
				t.Errorf("Events with the vector's signature: %v", err)
			}
			if _, err := p.Events(signed(strings.ToUpper(sig)), b, time.Now()); err != nil {
				t.Errorf("Events with the signature in upper case: %v", err)
			}
		})
	}
	if n := tr.n.Load(); n != 0 {
		t.Errorf("%d API requests, want none", n)
	}
}

func TestEventsBadSignature(t *testing.T) {
	v := readVectors(t)
	p, tr := offline(t, v.Secret)
	if got := p.BadSignatureStatus(); got != 498 {
		t.Errorf("BadSignatureStatus = %d, want 498", got)
	}
	b := body(t, "checkout.json")
	sig := v.Signatures["checkout.json"]
	raw, err := hex.DecodeString(sig)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)-1] ^= 1
	flipped := hex.EncodeToString(raw)
	changed := append([]byte(nil), b...)
	changed[len(changed)-3] = ' '
	for _, tc := range []struct {
		name string
		sig  string
		body []byte
	}{
		{"no signature", "", b},
		{"not hex", "not-a-signature", b},
		{"truncated", sig[:62], b},
		{"too long", sig + "00", b},
		{"one bit", flipped, b},
		{"another body's", v.Signatures["lifecycle.json"], b},
		{"body changed", sig, changed},
		{"other secret", gocardless.Sign("another secret", b), b},
		{"not JSON, other secret", gocardless.Sign("another secret", []byte("{")), []byte("{")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := p.Events(signed(tc.sig), tc.body, time.Now())
			if !errors.Is(err, coop.ErrBadSignature) {
				t.Fatalf("Events = %v, %v; want ErrBadSignature", evs, err)
			}
		})
	}
	if n := tr.n.Load(); n != 0 {
		t.Errorf("%d API requests, want none", n)
	}
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

const ref = "m_abcdefghijklmnopqrstuvwxyz"

func TestEventsMapping(t *testing.T) {
	v := readVectors(t)
	p, _ := offline(t, v.Secret)
	gc := coop.GoCardless
	for _, tc := range []struct {
		file string
		want []coop.Event
	}{
		{"empty.json", []coop.Event{}},
		{"checkout.json", []coop.Event{
			{Provider: gc, ID: "EV0000000101", Created: at("2026-03-02T09:15:27.123Z"), Type: coop.EventIgnored, Reference: ref},
			{Provider: gc, ID: "EV0000000102", Created: at("2026-03-02T09:15:28Z"), Type: coop.EventCheckoutCompleted, Reference: ref,
				Customer: "CU0000000010", Mandate: "MD0000000011"},
			{Provider: gc, ID: "EV0000000103", Created: at("2026-03-02T09:15:29Z"), Type: coop.EventIgnored},
			{Provider: gc, ID: "EV0000000104", Created: at("2026-03-02T09:15:29.5Z"), Type: coop.EventIgnored},
		}},
		{"lifecycle.json", []coop.Event{
			{Provider: gc, ID: "EV0000000201", Created: at("2026-03-02T09:16:00Z"), Type: coop.EventSubscriptionActive, Reference: ref, Subscription: "SB0000000020"},
			{Provider: gc, ID: "EV0000000202", Created: at("2026-03-05T00:00:00Z"), Type: coop.EventIgnored},
			{Provider: gc, ID: "EV0000000203", Created: at("2026-03-06T10:00:00Z"), Type: coop.EventIgnored},
			{Provider: gc, ID: "EV0000000204", Created: at("2026-05-01T08:00:00Z"), Type: coop.EventSubscriptionCanceled, Reference: ref, Subscription: "SB0000000020"},
			{Provider: gc, ID: "EV0000000205", Created: at("2026-05-01T08:00:01Z"), Type: coop.EventSubscriptionCanceled, Subscription: "SB0000000021"},
			{Provider: gc, ID: "EV0000000206", Created: at("2026-05-01T08:00:02Z"), Type: coop.EventSubscriptionCanceled, Reference: ref, Mandate: "MD0000000011"},
			{Provider: gc, ID: "EV0000000207", Created: at("2026-05-01T08:00:03Z"), Type: coop.EventSubscriptionCanceled, Mandate: "MD0000000012"},
			{Provider: gc, ID: "EV0000000208", Created: at("2026-05-01T08:00:04Z"), Type: coop.EventSubscriptionCanceled, Mandate: "MD0000000013"},
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			evs, err := p.Events(signed(v.Signatures[tc.file]), body(t, tc.file), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(evs, tc.want) {
				t.Errorf("events:\n got %+v\nwant %+v", evs, tc.want)
			}
		})
	}
}

// events returns a webhook body of the events given as JSON objects.
func events(evs ...string) []byte {
	return []byte(`{"events":[` + strings.Join(evs, ",") + `]}`)
}

func TestEventsMalformed(t *testing.T) {
	const secret = "malformed secret"
	p, tr := offline(t, secret)
	many := make([]string, gocardless.MaxEvents+1)
	for i := range many {
		many[i] = fmt.Sprintf(`{"id":"EV%d","created_at":"2026-03-02T09:15:28Z","resource_type":"mandates","action":"active","links":{"mandate":"MD1"}}`, i)
	}
	long := strings.Repeat("x", 201)
	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"not JSON", []byte("events")},
		{"events not a list", []byte(`{"events":{}}`)},
		{"over 250 events", events(many...)},
		{"no ID", events(`{"created_at":"2026-03-02T09:15:28Z","resource_type":"mandates","action":"active"}`)},
		{"long ID", events(`{"id":"` + long + `","created_at":"2026-03-02T09:15:28Z","resource_type":"mandates","action":"active"}`)},
		{"no time", events(`{"id":"EV1","resource_type":"mandates","action":"active"}`)},
		{"bad time", events(`{"id":"EV1","created_at":"2 March","resource_type":"mandates","action":"active"}`)},
		{"link not a string", events(`{"id":"EV1","created_at":"2026-03-02T09:15:28Z","resource_type":"mandates","action":"active","links":{"mandate":1}}`)},
		{"long link", events(`{"id":"EV1","created_at":"2026-03-02T09:15:28Z","resource_type":"mandates","action":"cancelled","links":{"mandate":"` + long + `"}}`)},
		{"long reference", events(`{"id":"EV1","created_at":"2026-03-02T09:15:28Z","resource_type":"mandates","action":"cancelled","links":{"mandate":"MD1"},"resource_metadata":{"membership":"` + long + `"}}`)},
		{"payment without its payment", events(`{"id":"EV1","created_at":"2026-03-02T09:15:28Z","resource_type":"payments","action":"confirmed","links":{}}`)},
		{"fulfilled without its billing request", events(`{"id":"EV1","created_at":"2026-03-02T09:15:28Z","resource_type":"billing_requests","action":"fulfilled","links":{"mandate_request_mandate":"MD1"}}`)},
		{"subscription without its subscription", events(`{"id":"EV1","created_at":"2026-03-02T09:15:28Z","resource_type":"subscriptions","action":"created","links":{}}`)},
		{"mandate without its mandate", events(`{"id":"EV1","created_at":"2026-03-02T09:15:28Z","resource_type":"mandates","action":"expired"}`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := p.Events(signed(gocardless.Sign(secret, tc.body)), tc.body, time.Now())
			if !errors.Is(err, coop.ErrInvalid) {
				t.Fatalf("Events = %v, %v; want ErrInvalid", evs, err)
			}
		})
	}
	if n := tr.n.Load(); n != 0 {
		t.Errorf("%d API requests, want none", n)
	}
	t.Run("250 events", func(t *testing.T) {
		b := events(many[:gocardless.MaxEvents]...)
		evs, err := p.Events(signed(gocardless.Sign(secret, b)), b, time.Now())
		if err != nil || len(evs) != gocardless.MaxEvents {
			t.Fatalf("Events = %d events, %v; want %d", len(evs), err, gocardless.MaxEvents)
		}
	})
}

func TestEventsLookupFails(t *testing.T) {
	const secret = "lookup secret"
	p, tr := offline(t, secret)
	b := events(`{"id":"EV1","created_at":"2026-03-02T09:15:28Z","resource_type":"payments","action":"confirmed","links":{"payment":"PM1"}}`)
	_, err := p.Events(signed(gocardless.Sign(secret, b)), b, time.Now())
	if !errors.Is(err, coop.ErrProvider) {
		t.Fatalf("Events = %v, want ErrProvider (the payment could not be read)", err)
	}
	if tr.n.Load() != 1 {
		t.Errorf("%d requests, want 1", tr.n.Load())
	}
}

func FuzzEvents(f *testing.F) {
	for _, name := range []string{"checkout.json", "lifecycle.json", "empty.json"} {
		f.Add(body(f, name))
	}
	f.Add(events(`{"id":"EV1","created_at":"2026-03-02T09:15:28Z","resource_type":"payments","action":"failed","links":{"payment":"PM1"}}`))
	f.Add(events(`{"id":"EV1","created_at":"2026-03-02T09:15:28Z","resource_type":"billing_requests","action":"fulfilled","links":{"billing_request":"BRQ1"}}`))
	const secret = "fuzz secret"
	p, _ := offline(f, secret)
	f.Fuzz(func(t *testing.T, b []byte) {
		evs, err := p.Events(signed(gocardless.Sign(secret, b)), b, time.Now())
		if err != nil {
			if !errors.Is(err, coop.ErrInvalid) && !errors.Is(err, coop.ErrProvider) {
				t.Fatalf("Events: %v, want ErrInvalid or ErrProvider", err)
			}
			return
		}
		for _, ev := range evs {
			if ev.ID == "" || ev.Provider != coop.GoCardless || ev.Created.IsZero() {
				t.Fatalf("event %+v lacks its ID, provider or time", ev)
			}
		}
	})
}
