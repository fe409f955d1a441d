package stripe

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/coop"
)

const testSecret = "whsec_test_5b2f0c8e1a"

func newTestProvider(t testing.TB, secrets ...string) *Provider {
	t.Helper()
	p, err := New(Config{SecretKey: "sk_test_unit", WebhookSecrets: secrets})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// sign makes a Stripe-Signature header for body at t.
func sign(secret string, t time.Time, body []byte) http.Header {
	ts := fmt.Sprint(t.Unix())
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	h := http.Header{}
	h.Set(SignatureHeader, "t="+ts+",v1="+hex.EncodeToString(mac.Sum(nil)))
	return h
}

// TestSignatureVectors checks the signature against vectors computed
// independently (testdata/gen_vectors.py, with Python's hmac).
func TestSignatureVectors(t *testing.T) {
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Now   int64 `json:"now"`
		Cases []struct {
			Name    string   `json:"name"`
			Secrets []string `json:"secrets"`
			Header  *string  `json:"header"`
			Body    string   `json:"body"`
			OK      bool     `json:"ok"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Cases) < 10 {
		t.Fatalf("%d vectors", len(v.Cases))
	}
	now := time.Unix(v.Now, 0)
	for _, c := range v.Cases {
		t.Run(c.Name, func(t *testing.T) {
			p := newTestProvider(t, c.Secrets...)
			h := http.Header{}
			if c.Header != nil {
				h.Set(SignatureHeader, *c.Header)
			}
			evs, err := p.Events(h, []byte(c.Body), now)
			switch {
			case c.OK && err != nil:
				t.Fatalf("refused: %v", err)
			case c.OK && (len(evs) == 0 || evs[0].Type != coop.EventCheckoutCompleted):
				t.Fatalf("events %+v", evs)
			case !c.OK && !errors.Is(err, coop.ErrBadSignature):
				t.Fatalf("got %v, %v; want ErrBadSignature", evs, err)
			}
		})
	}
}

// TestSignatureBeforeParsing: a body that is not JSON is refused for
// its signature, not its syntax, and with a good signature for its
// syntax.
func TestSignatureBeforeParsing(t *testing.T) {
	p := newTestProvider(t, testSecret)
	now := time.Unix(1767225600, 0)
	body := []byte("{not json")
	if _, err := p.Events(sign("whsec_other", now, body), body, now); !errors.Is(err, coop.ErrBadSignature) {
		t.Fatalf("bad signature over a bad body: %v", err)
	}
	if _, err := p.Events(sign(testSecret, now, body), body, now); !errors.Is(err, coop.ErrInvalid) {
		t.Fatalf("good signature over a bad body: %v", err)
	}
	two := sign(testSecret, now, body)
	two.Add(SignatureHeader, two.Get(SignatureHeader))
	if _, err := p.Events(two, body, now); !errors.Is(err, coop.ErrBadSignature) {
		t.Fatalf("two headers: %v", err)
	}
}

func TestEvents(t *testing.T) {
	const ref = "m_abcdefghijklmnopqrstuvwxyz"
	at := func(secs int64) time.Time { return time.Unix(secs, 0).UTC() }
	ev := func(id string, created int64, typ coop.EventType) coop.Event {
		return coop.Event{Provider: coop.Stripe, ID: id, Created: at(created), Type: typ}
	}
	with := func(e coop.Event, f func(*coop.Event)) coop.Event { f(&e); return e }
	tests := []struct {
		file string
		want []coop.Event
	}{
		{"checkout_paid", []coop.Event{
			with(ev("evt_1Checkout", 1767225600, coop.EventCheckoutCompleted), func(e *coop.Event) {
				e.Reference, e.Customer, e.Subscription, e.Payment = ref, "cus_A", "sub_A", "in_A1"
			}),
		}},
		{"checkout_unpaid", []coop.Event{
			with(ev("evt_2Checkout", 1767225601, coop.EventCheckoutCompleted), func(e *coop.Event) {
				e.Reference, e.Customer, e.Subscription = "m_bbbbbbbbbbbbbbbbbbbbbbbbbb", "cus_B", "sub_B"
			}),
		}},
		{"subscription_created", []coop.Event{
			with(ev("evt_3Sub", 1767225602, coop.EventSubscriptionActive), func(e *coop.Event) {
				e.Reference, e.Customer, e.Subscription, e.NextPayment = ref, "cus_A", "sub_A", at(1769904000)
			}),
		}},
		{"subscription_past_due", []coop.Event{
			with(ev("evt_4Sub", 1769904100, coop.EventPaymentFailed), func(e *coop.Event) {
				e.Reference, e.Customer, e.Subscription, e.NextPayment = ref, "cus_A", "sub_A", at(1772323200)
			}),
		}},
		{"subscription_canceled", []coop.Event{
			with(ev("evt_5Sub", 1769904200, coop.EventSubscriptionCanceled), func(e *coop.Event) {
				e.Reference, e.Customer, e.Subscription = ref, "cus_A", "sub_A"
			}),
		}},
		{"subscription_incomplete", []coop.Event{
			with(ev("evt_6Sub", 1767225600, coop.EventIgnored), func(e *coop.Event) {
				e.Reference, e.Customer, e.Subscription = "m_cccccccccccccccccccccccccc", "cus_C", "sub_C"
			}),
		}},
		{"subscription_deleted", []coop.Event{
			with(ev("evt_7Sub", 1769904300, coop.EventSubscriptionCanceled), func(e *coop.Event) {
				e.Reference, e.Customer, e.Subscription = ref, "cus_A", "sub_A"
			}),
		}},
		{"invoice_paid", []coop.Event{
			with(ev("evt_8Inv", 1767225603, coop.EventPaymentSucceeded), func(e *coop.Event) {
				e.Reference, e.Customer, e.Subscription = ref, "cus_A", "sub_A"
				e.Payment, e.Amount, e.Currency, e.PeriodEnd = "in_A1", 1000, "GBP", at(1769904000)
			}),
		}},
		{"invoice_payment_succeeded", []coop.Event{
			with(ev("evt_9Inv", 1767225603, coop.EventPaymentSucceeded), func(e *coop.Event) {
				e.Reference, e.Customer, e.Subscription = ref, "cus_A", "sub_A"
				e.Payment, e.Amount, e.Currency, e.PeriodEnd = "in_A1", 1000, "GBP", at(1769904000)
			}),
		}},
		{"invoice_old_api", []coop.Event{
			with(ev("evt_10Inv", 1769904000, coop.EventPaymentSucceeded), func(e *coop.Event) {
				e.Customer, e.Subscription = "cus_A", "sub_A"
				e.Payment, e.Amount, e.Currency, e.PeriodEnd = "in_A2", 1200, "EUR", at(1772323200)
			}),
		}},
		{"invoice_zero", []coop.Event{
			with(ev("evt_11Inv", 1769904000, coop.EventIgnored), func(e *coop.Event) {
				e.Customer, e.Subscription, e.Payment = "cus_A", "sub_A", "in_A3"
			}),
		}},
		{"invoice_payment_failed", []coop.Event{
			with(ev("evt_12Inv", 1769904050, coop.EventPaymentFailed), func(e *coop.Event) {
				e.Reference, e.Customer, e.Subscription = ref, "cus_A", "sub_A"
				e.Payment, e.NextPayment = "in_A4", at(1770163250)
			}),
		}},
		{"customer_created", []coop.Event{ev("evt_13Cus", 1767225599, coop.EventIgnored)}},
	}
	p := newTestProvider(t, "whsec_old", testSecret)
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", "events", tc.file+".json"))
			if err != nil {
				t.Fatal(err)
			}
			now := tc.want[0].Created.Add(time.Minute)
			got, err := p.Events(sign(testSecret, now, body), body, now)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

// TestInvoiceEventsOnePayment: invoice.paid and invoice.payment_succeeded
// of one invoice name the same payment, so that its dues count once.
func TestInvoiceEventsOnePayment(t *testing.T) {
	p := newTestProvider(t, testSecret)
	var payments []string
	for _, f := range []string{"invoice_paid", "invoice_payment_succeeded"} {
		body, err := os.ReadFile(filepath.Join("testdata", "events", f+".json"))
		if err != nil {
			t.Fatal(err)
		}
		now := time.Unix(1767225603, 0)
		evs, err := p.Events(sign(testSecret, now, body), body, now)
		if err != nil {
			t.Fatal(err)
		}
		payments = append(payments, evs[0].Payment)
	}
	if payments[0] == "" || payments[0] != payments[1] {
		t.Fatalf("payments %q", payments)
	}
}

func TestEventsMalformed(t *testing.T) {
	p := newTestProvider(t, testSecret)
	now := time.Unix(1767225600, 0)
	for name, body := range map[string]string{
		"no id":          `{"type":"invoice.paid","created":1767225600,"data":{"object":{}}}`,
		"no type":        `{"id":"evt_1","created":1767225600,"data":{"object":{}}}`,
		"no time":        `{"id":"evt_1","type":"invoice.paid","data":{"object":{}}}`,
		"bad object":     `{"id":"evt_1","type":"invoice.paid","created":1767225600,"data":{"object":[1]}}`,
		"bad amount":     `{"id":"evt_1","type":"invoice.paid","created":1767225600,"data":{"object":{"amount_paid":"ten"}}}`,
		"bad customer":   `{"id":"evt_1","type":"invoice.paid","created":1767225600,"data":{"object":{"customer":7}}}`,
		"not an object":  `[]`,
		"trailing value": `{"id":"evt_1"} {}`,
	} {
		t.Run(name, func(t *testing.T) {
			b := []byte(body)
			if evs, err := p.Events(sign(testSecret, now, b), b, now); !errors.Is(err, coop.ErrInvalid) {
				t.Fatalf("got %+v, %v; want ErrInvalid", evs, err)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	for name, c := range map[string]Config{
		"no key":          {WebhookSecrets: []string{"whsec_a"}},
		"no secret":       {SecretKey: "sk_test_a"},
		"an empty secret": {SecretKey: "sk_test_a", WebhookSecrets: []string{"whsec_a", ""}},
		"bad URL":         {SecretKey: "sk_test_a", WebhookSecrets: []string{"whsec_a"}, APIURL: "api.stripe.com"},
	} {
		if _, err := New(c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzEvents: no header or body makes Events panic, and whatever it
// accepts was signed.
func FuzzEvents(f *testing.F) {
	files, err := filepath.Glob("testdata/events/*.json")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, true)
	}
	f.Add([]byte(`{"id":"evt_1","type":"invoice.paid","created":1,"data":{"object":{"customer":{"id":7}}}}`), true)
	f.Add([]byte("t=1,v1=00"), false)
	p := newTestProvider(f, testSecret)
	now := time.Unix(1767225600, 0)
	f.Fuzz(func(t *testing.T, body []byte, signed bool) {
		h := http.Header{}
		if signed {
			h = sign(testSecret, now, body)
		} else {
			h.Set(SignatureHeader, string(body))
		}
		evs, err := p.Events(h, body, now)
		if !signed && err == nil {
			t.Fatalf("unsigned body accepted: %+v", evs)
		}
		if err == nil && len(evs) == 0 {
			t.Fatal("no error and no event")
		}
	})
}
