package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/internal/relaytest"
	"github.com/mutualcoop/mutual/relay/coop"
	"github.com/mutualcoop/mutual/relay/directory/sqlite"
	"github.com/mutualcoop/mutual/relay/server"
	"github.com/mutualcoop/mutual/relay/wire"
)

// TestCoop: the co-op's figures and standing, what only operators may
// do, the yearly notices' switch, and a notice of the co-op in receive.
func TestCoop(t *testing.T) {
	r := relaytest.Start(t, relaytest.Options{Config: func(c *server.Config) {
		c.Coop = &coop.Config{Name: "Mutual Test", Currency: "GBP", Plans: []coop.Plan{{Name: "monthly", Amount: 500, Currency: "GBP", Interval: "month"}}}
	}})
	alice := newHome(t, r, "email:alice@example.org")
	bob := newHome(t, r, "email:bob@example.org")
	alice.register()
	bob.register()
	month := time.Now().UTC().Format("2006-01")

	var info coopJSON
	if err := json.Unmarshal([]byte(alice.must("coop", "--json")), &info); err != nil {
		t.Fatal(err)
	}
	if info.Name != "Mutual Test" || info.Currency != "GBP" || info.Membership.Status != "none" || !info.Notices ||
		len(info.Months) == 0 || info.Months[0].Month != month || info.Months[0].ActiveUsers < 1 || info.Months[0].Coverage != -1 {
		t.Fatalf("coop --json: %+v", info)
	}
	if out := alice.must("coop"); !strings.Contains(out, "You are not a member.") || !strings.Contains(out, "This month ("+month+")") {
		t.Fatalf("coop:\n%s", out)
	}

	if code, _, errs := alice.cli("", "coop", "costs", "set", month, "infrastructure", "12000"); code != exitFailure || !strings.Contains(errs, "only the co-op's operators") {
		t.Fatalf("a cost set by a member: %d %s", code, errs)
	}
	if code, _, errs := alice.cli("", "coop", "costs", "set", "December", "infrastructure", "12000"); code != exitUsage {
		t.Fatalf("a cost with a bad month: %d %s", code, errs)
	}
	if code, _, errs := alice.cli("", "coop", "join", "--provider", "stripe"); code != exitFailure {
		t.Fatalf("joining through a provider the relay lacks: %d %s", code, errs)
	}

	// The first operator is made on the server.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(r.Dir(), "mutual.db")})
	if err != nil {
		t.Fatal(err)
	}
	bob.must("contacts", "add", alice.addr)
	aliceID, err := wire.ParseUserID(alice.userID(bob))
	if err == nil {
		err = dir.SetRole(ctx, coop.RoleGrant{User: aliceID, Role: wire.RoleOperator, Granted: time.Now()}, true)
	}
	dir.Close()
	if err != nil {
		t.Fatal(err)
	}
	if out := alice.must("coop", "costs", "set", month, "infrastructure", "12000", "--note", "two servers"); !strings.Contains(out, "120.00 GBP") {
		t.Fatalf("costs set: %s", out)
	}
	alice.must("coop", "grant", "contributor", bob.addr)
	if err := json.Unmarshal([]byte(bob.must("coop", "--json")), &info); err != nil {
		t.Fatal(err)
	}
	cur := info.Months[0]
	if len(info.Roles) != 1 || info.Roles[0] != "contributor" || cur.TotalCosts != 12000 || len(cur.Costs) != 1 || cur.Costs[0].Note != "two servers" ||
		cur.CostPerUser != 12000/cur.ActiveUsers {
		t.Fatalf("bob's coop --json: %+v", info)
	}
	if out := bob.must("coop", "notices", "off"); !strings.Contains(out, "off") {
		t.Fatalf("notices off: %s", out)
	}

	// A notice of the co-op.
	n := &wire.CoopNotice{ID: coop.NoticeID(wire.NoticeDegrees, aliceID, "2026"), Kind: wire.NoticeDegrees, Text: "You are 2 contacts away from someone who pays for Mutual.", Distance: 2, Year: 2026}
	if err := r.Server().Coop().Notify(ctx, aliceID, n); err != nil {
		t.Fatal(err)
	}
	got := alice.receiveJSON()
	if len(got) != 1 || got[0].Kind != "coop" || got[0].From != "Mutual co-op" || got[0].Text != n.Text || got[0].Coop == nil ||
		got[0].Coop.Kind != "degrees" || got[0].Coop.Distance == nil || *got[0].Coop.Distance != 2 {
		t.Fatalf("receive --json: %+v", got)
	}
	if again := alice.receiveJSON(); len(again) != 0 {
		t.Fatalf("shown again: %+v", again)
	}
}
