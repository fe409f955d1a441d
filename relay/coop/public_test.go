package coop_test

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/mutualcoop/mutual/relay/coop"
	"github.com/mutualcoop/mutual/relay/wire"
)

// get fetches path from the harness's server and returns its body.
func (h *harness) get(path string) (*http.Response, string) {
	h.t.Helper()
	resp, err := http.Get(h.web.URL + path)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	if got := resp.Header.Get("Cache-Control"); got != "public, max-age=60" {
		h.t.Fatalf("GET %s: Cache-Control %q", path, got)
	}
	return resp, string(b)
}

var (
	htmlRow   = regexp.MustCompile(`(?s)<tr data-month="(\d{4}-\d{2})">(.*?)</tr>`)
	htmlField = regexp.MustCompile(`data-field="(\w+)" data-value="(-?\d+)"`)
	htmlNow   = regexp.MustCompile(`(?s)<dl>(.*?)</dl>`)
	htmlCost  = regexp.MustCompile(`<tr data-category="([^"]*)"><td>[^<]*</td><td data-value="(\d+)">`)
)

// fields reads the data-field and data-value pairs of s.
func fields(t *testing.T, s string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, m := range htmlField.FindAllStringSubmatch(s, -1) {
		v, err := strconv.ParseInt(m[2], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		out[m[1]] = v
	}
	return out
}

// want is what a month's fields must be.
func want(m coop.FiguresMonth) map[string]int64 {
	return map[string]int64{
		"active_users": m.ActiveUsers, "members": m.Members, "dues": m.Dues,
		"total_costs": m.TotalCosts, "cost_per_user": m.CostPerUser,
		"users_per_member": m.UsersPerMember, "coverage": m.Coverage,
	}
}

func TestPublicPages(t *testing.T) {
	h := newHarness(t)
	op := h.operator("op@example.org")
	var users []wire.UserID
	for _, a := range []string{"a@example.org", "b@example.org", "c@example.org", "d@example.org", "e@example.org"} {
		users = append(users, h.user(a))
	}
	lastMonth := start.AddDate(0, -1, 0)
	h.clock.Set(lastMonth)
	for _, u := range users[:2] {
		h.svc.Connected(h.ctx, u)
	}
	h.clock.Set(start)
	for _, u := range append(users, op) {
		h.svc.Connected(h.ctx, u)
	}
	for _, c := range []wire.Coop{
		{Op: wire.CoopSetCost, Month: "2026-03", Category: "infrastructure", Amount: 4000, Note: "servers <& co>"},
		{Op: wire.CoopSetCost, Month: "2026-03", Category: "sms", Amount: 1001},
		{Op: wire.CoopSetCost, Month: "2026-02", Category: "infrastructure", Amount: 3000},
	} {
		if _, err := h.do(op, c); err != nil {
			t.Fatal(err)
		}
	}
	for i, u := range users[:2] {
		ref := h.join(u)
		id := strconv.Itoa(i)
		h.webhook(
			coop.Event{ID: "evt_c" + id, Created: start, Type: coop.EventCheckoutCompleted, Reference: ref, Customer: "cus_" + id, Subscription: "sub_" + id},
			coop.Event{ID: "evt_p" + id, Created: start, Type: coop.EventPaymentSucceeded, Subscription: "sub_" + id, Payment: "in_" + id, Amount: 1000 + int64(i)*500, Currency: "GBP"},
		)
	}

	months, err := h.svc.Figures(h.ctx, 12)
	if err != nil {
		t.Fatal(err)
	}
	if len(months) != 12 || months[0].Month != "2026-03" || months[1].Month != "2026-02" || months[11].Month != "2025-04" {
		t.Fatalf("months %v…: want the last 12, newest first", months[0].Month)
	}
	now := months[0]
	if now.ActiveUsers != 6 || now.Members != 2 || now.Dues != 2500 || now.TotalCosts() != 5001 {
		t.Fatalf("this month %+v", now)
	}
	if now.CostPerUser() != 834 || now.UsersPerMember() != 3 || now.Coverage() != 49 {
		t.Fatalf("derived %d %d %d", now.CostPerUser(), now.UsersPerMember(), now.Coverage())
	}
	if months[1].ActiveUsers != 2 || months[1].TotalCosts() != 3000 || months[2].Coverage() != -1 {
		t.Fatalf("earlier months %+v %+v", months[1], months[2])
	}

	resp, body := h.get("/coop.json")
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
	var f coop.Figures
	if err := json.Unmarshal([]byte(body), &f); err != nil {
		t.Fatal(err)
	}
	if f.Name != "Mutual Test Co-op" || f.Currency != "GBP" || len(f.Months) != len(months) {
		t.Fatalf("coop.json %+v", f)
	}
	for i, m := range months {
		j := f.Months[i]
		if j.Month != m.Month || j.ActiveUsers != m.ActiveUsers || j.Members != m.Members || j.Dues != m.Dues ||
			j.TotalCosts != m.TotalCosts() || j.CostPerUser != m.CostPerUser() || j.UsersPerMember != m.UsersPerMember() || j.Coverage != m.Coverage() ||
			len(j.Costs) != len(m.Costs) {
			t.Fatalf("coop.json month %+v, figures %+v", j, m)
		}
		for k, c := range m.Costs {
			if j.Costs[k] != (coop.FiguresCost{Category: c.Category, Amount: c.Amount, Note: c.Note}) {
				t.Fatalf("coop.json cost %+v, figures %+v", j.Costs[k], c)
			}
		}
	}
	var raw struct {
		Months []map[string]json.RawMessage `json:"months"`
	}
	if err := json.Unmarshal([]byte(body), &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"month", "active_users", "members", "dues", "costs", "total_costs", "cost_per_user", "users_per_member", "coverage"} {
		if _, ok := raw.Months[0][k]; !ok {
			t.Fatalf("coop.json months lack %q", k)
		}
	}
	if string(raw.Months[2]["costs"]) != "[]" {
		t.Fatalf("a month without costs has costs %s, want []", raw.Months[2]["costs"])
	}
	if _, body := h.get("/coop.json?months=120"); !strings.Contains(body, `"month":"2016-04"`) {
		t.Fatal("coop.json?months=120 lacks its oldest month")
	}

	resp, page := h.get("/coop")
	if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Fatalf("Content-Type %q", ct)
	}
	// Nothing the strictest policy (default-src 'none') would block.
	markup := strings.ToLower(strings.Replace(page, `xmlns="http://www.w3.org/2000/svg"`, "", 1))
	for _, bad := range []string{"<script", "<style", "style=", "<link", "<img", "<form", "<iframe", "<object", "http:", "https:", "url("} {
		if strings.Contains(markup, bad) {
			t.Errorf("the page holds %q", bad)
		}
	}
	if handler := regexp.MustCompile(`\son\w+=`).FindString(markup); handler != "" {
		t.Errorf("the page holds an event handler %q", handler)
	}
	if !strings.Contains(page, "<h1>Mutual Test Co-op</h1>") || !strings.Contains(page, "<svg") || !strings.Contains(page, "servers &lt;&amp; co&gt;") {
		t.Fatal("the page lacks the co-op's name, its chart or an escaped note")
	}
	cur := htmlNow.FindStringSubmatch(page)
	if cur == nil {
		t.Fatal("no figures of this month on the page")
	}
	if got, w := fields(t, cur[1]), want(f.Months[0]); !equal(got, w) {
		t.Fatalf("this month on the page %v, in coop.json %v", got, w)
	}
	costs := htmlCost.FindAllStringSubmatch(page, -1)
	if len(costs) != len(f.Months[0].Costs) {
		t.Fatalf("%d cost lines on the page, %d in coop.json", len(costs), len(f.Months[0].Costs))
	}
	for i, c := range costs {
		if c[1] != f.Months[0].Costs[i].Category || c[2] != strconv.FormatInt(f.Months[0].Costs[i].Amount, 10) {
			t.Fatalf("cost line %v on the page, %+v in coop.json", c[1:], f.Months[0].Costs[i])
		}
	}
	rows := htmlRow.FindAllStringSubmatch(page, -1)
	if len(rows) != len(f.Months) {
		t.Fatalf("%d history rows, %d months in coop.json", len(rows), len(f.Months))
	}
	for i, r := range rows {
		if r[1] != f.Months[i].Month {
			t.Fatalf("history row %d is %s, coop.json's %s", i, r[1], f.Months[i].Month)
		}
		if got, w := fields(t, r[2]), want(f.Months[i]); !equal(got, w) {
			t.Fatalf("%s on the page %v, in coop.json %v", r[1], got, w)
		}
	}
	for _, s := range []string{"£25.00", "£50.01", "£8.34", "49%", "no costs entered"} {
		if !strings.Contains(page, s) {
			t.Errorf("the page lacks %q", s)
		}
	}
	if n := strings.Count(page, "</rect>"); n != 2*12 {
		t.Fatalf("%d bars, want two a month", n)
	}

	// HEAD and other methods.
	req, _ := http.NewRequestWithContext(h.ctx, http.MethodPost, h.web.URL+"/coop", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST /coop: %v %v", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
	if resp, err := http.Get(h.web.URL + "/coop.json?months=121"); err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("121 months: %v %v", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
}

func equal(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
