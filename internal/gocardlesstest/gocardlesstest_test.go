package gocardlesstest_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/internal/gocardlesstest"
)

const (
	token  = "sandbox_token"
	secret = "sandbox_webhook_secret"
)

type call struct {
	method, path, body string
	header             map[string]string
}

// do sends c with the headers GoCardless wants, overridden by
// c.header ("" removes one), and returns the status and decoded body.
func do(t *testing.T, gc *gocardlesstest.Server, c call) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(c.method, gc.URL+c.path, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("GoCardless-Version", "2015-07-06")
	if c.method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "key-"+c.path)
	}
	for k, v := range c.header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s %s: answer not JSON: %v", c.method, c.path, err)
	}
	return resp.StatusCode, out
}

const brBody = `{"billing_requests":{"mandate_request":{"scheme":"bacs","currency":"GBP"},"metadata":{"membership":"m_1"}}}`

func TestChecks(t *testing.T) {
	gc := gocardlesstest.Start(t, gocardlesstest.Options{AccessToken: token, WebhookSecret: secret})
	for _, tc := range []struct {
		name   string
		c      call
		status int
		reason string
	}{
		{"no token", call{"GET", "/payments/PM1", "", map[string]string{"Authorization": ""}}, 401, "unauthorized"},
		{"wrong token", call{"GET", "/payments/PM1", "", map[string]string{"Authorization": "Bearer other"}}, 401, "unauthorized"},
		{"no version", call{"GET", "/payments/PM1", "", map[string]string{"GoCardless-Version": ""}}, 400, "missing_version_header"},
		{"other version", call{"GET", "/payments/PM1", "", map[string]string{"GoCardless-Version": "2024-01-01"}}, 400, "version_not_found"},
		{"no idempotency key", call{"POST", "/billing_requests", brBody, map[string]string{"Idempotency-Key": ""}}, 400, "missing_idempotency_key"},
		{"not JSON", call{"POST", "/billing_requests", brBody, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}, 415, "invalid_content_type"},
		{"not wrapped", call{"POST", "/billing_requests", `{"mandate_request":{"currency":"GBP"}}`, nil}, 400, "invalid_document_structure"},
		{"unknown field", call{"POST", "/billing_requests", `{"billing_requests":{"mandate_request":{"currency":"GBP"},"email":"a@b.c"}}`, nil}, 422, "validation_failed"},
		{"scheme's currency", call{"POST", "/billing_requests", `{"billing_requests":{"mandate_request":{"scheme":"bacs","currency":"EUR"}}}`, nil}, 422, "validation_failed"},
		{"metadata keys", call{"POST", "/billing_requests", `{"billing_requests":{"mandate_request":{"currency":"GBP"},"metadata":{"a":"1","b":"2","c":"3","d":"4"}}}`, nil}, 422, "validation_failed"},
		{"unknown payment", call{"GET", "/payments/PM1", "", nil}, 404, "resource_not_found"},
		{"unknown path", call{"GET", "/creditors", "", nil}, 404, "path_not_found"},
		{"flow of no billing request", call{"POST", "/billing_request_flows", `{"billing_request_flows":{"redirect_uri":"https://a.example/","links":{"billing_request":"BRQ1"}}}`, nil}, 422, "validation_failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, out := do(t, gc, tc.c)
			e, _ := out["error"].(map[string]any)
			errs, _ := e["errors"].([]any)
			var reason string
			if len(errs) > 0 {
				reason, _ = errs[0].(map[string]any)["reason"].(string)
			}
			if status != tc.status || reason != tc.reason || e["message"] == "" {
				t.Fatalf("%d %v, want %d %s", status, out, tc.status, tc.reason)
			}
		})
	}
	if n := gc.Count("billing_requests"); n != 0 {
		t.Fatalf("%d billing requests created by refused requests", n)
	}
}

func TestIdempotencyConflict(t *testing.T) {
	gc := gocardlesstest.Start(t, gocardlesstest.Options{AccessToken: token, WebhookSecret: secret})
	status, out := do(t, gc, call{"POST", "/billing_requests", brBody, nil})
	if status != 201 {
		t.Fatalf("create = %d %v", status, out)
	}
	id := out["billing_requests"].(map[string]any)["id"].(string)
	status, out = do(t, gc, call{"POST", "/billing_requests", brBody, nil})
	e := out["error"].(map[string]any)
	detail := e["errors"].([]any)[0].(map[string]any)
	links, _ := detail["links"].(map[string]any)
	if status != 409 || e["type"] != "invalid_state" || detail["reason"] != "idempotent_creation_conflict" || links["conflicting_resource_id"] != id {
		t.Fatalf("create again = %d %v, want 409 naming %s", status, out, id)
	}
	if status, _ := do(t, gc, call{"POST", "/billing_requests", brBody, map[string]string{"Idempotency-Key": "another"}}); status != 201 {
		t.Fatalf("create with another key = %d", status)
	}
	if n := gc.Count("billing_requests"); n != 2 {
		t.Fatalf("%d billing requests, want 2", n)
	}
}

// hook is a webhook endpoint that keeps what it gets.
type hook struct {
	mu     sync.Mutex
	bodies [][]byte
	sigs   []string
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	h.bodies = append(h.bodies, b)
	h.sigs = append(h.sigs, r.Header.Get("Webhook-Signature"))
	h.mu.Unlock()
}

func TestFlowPageAndWebhook(t *testing.T) {
	h := &hook{}
	hs := httptest.NewServer(h)
	defer hs.Close()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	gc := gocardlesstest.Start(t, gocardlesstest.Options{
		AccessToken: token, WebhookSecret: secret, WebhookURL: hs.URL,
		Now: func() time.Time { return now },
	})
	_, out := do(t, gc, call{"POST", "/billing_requests", brBody, nil})
	brq := out["billing_requests"].(map[string]any)["id"].(string)
	_, out = do(t, gc, call{"POST", "/billing_request_flows",
		`{"billing_request_flows":{"redirect_uri":"https://mutual.example/co-op?checkout=done","exit_uri":"https://mutual.example/co-op?checkout=cancel&x=<b>","links":{"billing_request":"` + brq + `"}}}`, nil})
	flow := out["billing_request_flows"].(map[string]any)
	u := flow["authorisation_url"].(string)

	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{">Confirm</button>", `href="https://mutual.example/co-op?checkout=cancel&amp;x=%3cb%3e"`} {
		if !strings.Contains(string(page), want) {
			t.Errorf("flow page lacks %s:\n%s", want, page)
		}
	}

	if err := gc.Confirm(u); err != nil {
		t.Fatal(err)
	}
	if got := gc.Status(brq); got != "fulfilled" {
		t.Fatalf("billing request %s, want fulfilled", got)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.bodies) != 1 {
		t.Fatalf("%d webhooks, want 1", len(h.bodies))
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(h.bodies[0])
	if want := hex.EncodeToString(mac.Sum(nil)); h.sigs[0] != want {
		t.Errorf("Webhook-Signature %s, want %s", h.sigs[0], want)
	}
	var w struct {
		Events []struct {
			ResourceType     string            `json:"resource_type"`
			Action           string            `json:"action"`
			Links            map[string]string `json:"links"`
			ResourceMetadata map[string]string `json:"resource_metadata"`
		}
	}
	if err := json.Unmarshal(h.bodies[0], &w); err != nil {
		t.Fatal(err)
	}
	var fulfilled bool
	for _, ev := range w.Events {
		if ev.ResourceType == "billing_requests" && ev.Action == "fulfilled" {
			fulfilled = ev.Links["billing_request"] == brq && ev.Links["mandate_request_mandate"] != "" &&
				ev.Links["customer"] != "" && ev.ResourceMetadata["membership"] == "m_1"
		}
	}
	if !fulfilled {
		t.Errorf("webhook %s lacks billing_requests fulfilled with its links and metadata", h.bodies[0])
	}
}

// Close ends a webhook in flight and whatever waits for it.
func TestCloseWhileSending(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
	}))
	defer hs.Close()
	defer close(release)
	gc, err := gocardlesstest.New(gocardlesstest.Options{AccessToken: token, WebhookSecret: secret, WebhookURL: hs.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, out := do(t, gc, call{"POST", "/billing_requests", brBody, nil})
	brq := out["billing_requests"].(map[string]any)["id"].(string)
	_, out = do(t, gc, call{"POST", "/billing_request_flows", `{"billing_request_flows":{"redirect_uri":"https://a.example/","links":{"billing_request":"` + brq + `"}}}`, nil})
	u := out["billing_request_flows"].(map[string]any)["authorisation_url"].(string)
	done := make(chan error, 1)
	go func() { done <- gc.Confirm(u) }()
	<-arrived
	gc.Close()
	if err := <-done; err == nil {
		t.Fatal("Confirm succeeded though the webhook was never answered")
	}
}
