package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/auth"
	"github.com/mutualcoop/mutual/relay/coop"
	"github.com/mutualcoop/mutual/relay/directory/sqlite"
	"github.com/mutualcoop/mutual/relay/server"
	"github.com/mutualcoop/mutual/relay/wire"
)

// codeCatcher is a code sender that keeps the codes for the test.
type codeCatcher struct {
	mu    sync.Mutex
	codes map[string]string
}

func (c *codeCatcher) Send(_ context.Context, to auth.Address, m auth.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.codes[to.Key()] = m.Code
	return nil
}

// newRelayData makes a relay's data directory as `mutual serve` leaves
// it (its secret and its SQLite directory) with an account for each of
// addrs, and returns the accounts' users by address.
func newRelayData(t *testing.T, addrs ...string) (string, map[string]wire.UserID) {
	t.Helper()
	data := t.TempDir()
	secret, err := server.LoadSecret(filepath.Join(data, "secret"))
	if err != nil {
		t.Fatal(err)
	}
	dir, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(data, "mutual.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	return data, register(t, secret, dir, addrs...)
}

// register registers an account in store for each of addrs, by code as
// a device would, and returns their users by address.
func register(t *testing.T, secret []byte, store auth.Store, addrs ...string) map[string]wire.UserID {
	t.Helper()
	ctx := context.Background()
	catcher := &codeCatcher{codes: map[string]string{}}
	accounts, err := auth.New(auth.Config{Secret: secret}, store, auth.Senders{auth.SchemeEmail: catcher})
	if err != nil {
		t.Fatal(err)
	}
	users := map[string]wire.UserID{}
	for _, addr := range addrs {
		token, err := accounts.Request(ctx, addr, "192.0.2.1")
		if err != nil {
			t.Fatalf("request a code: %v", err)
		}
		a, _ := auth.ParseAddress(addr)
		catcher.mu.Lock()
		code := catcher.codes[a.Key()]
		catcher.mu.Unlock()
		user, created, err := accounts.Verify(ctx, addr, code, token, "192.0.2.1")
		if err != nil || !created {
			t.Fatalf("register: created %v, %v", created, err)
		}
		users[addr] = user
	}
	return users
}

// openDirectory opens the directory of data to see what a command did.
func openDirectory(t *testing.T, data string) *sqlite.Directory {
	t.Helper()
	dir, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(data, "mutual.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dir.Close() })
	return dir
}

// mutualCoop runs `mutual coop args... --data data` and returns its
// exit code, standard output and standard error.
func mutualCoop(t *testing.T, data string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(append(append([]string{"coop"}, args...), "--data", data), &out, &errb)
	return code, out.String(), errb.String()
}

// holders returns the grants of role by user.
func holders(t *testing.T, dir *sqlite.Directory, role wire.CoopRole) map[wire.UserID]coop.RoleGrant {
	t.Helper()
	gs, err := dir.RoleHolders(context.Background(), role)
	if err != nil {
		t.Fatal(err)
	}
	m := map[wire.UserID]coop.RoleGrant{}
	for _, g := range gs {
		m[g.User] = g
	}
	return m
}

// gitRepo is a git repository made by a test, with commits dated as the
// test says and authored by whom it says.
type gitRepo struct {
	t   *testing.T
	dir string
}

func newGitRepo(t *testing.T) *gitRepo {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	g := &gitRepo{t: t, dir: t.TempDir()}
	g.git("nobody@example.net", time.Now(), "init", "-q", "-b", "main")
	return g
}

// git runs git in the repository as email at time at.
func (g *gitRepo) git(email string, at time.Time, args ...string) {
	g.t.Helper()
	cmd := exec.Command("git", append([]string{"-C", g.dir}, args...)...)
	date := at.Format(time.RFC3339)
	cmd.Env = append(os.Environ(),
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=Someone", "GIT_AUTHOR_EMAIL="+email, "GIT_AUTHOR_DATE="+date,
		"GIT_COMMITTER_NAME=Someone", "GIT_COMMITTER_EMAIL="+email, "GIT_COMMITTER_DATE="+date,
	)
	if out, err := cmd.CombinedOutput(); err != nil {
		g.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// commit commits a change to a file of its own, by email at at.
func (g *gitRepo) commit(email string, at time.Time, file string) {
	g.t.Helper()
	if err := os.WriteFile(filepath.Join(g.dir, file), []byte(at.String()), 0o600); err != nil {
		g.t.Fatal(err)
	}
	g.git(email, at, "add", file)
	g.git(email, at, "commit", "-q", "-m", "change "+file)
}

// TestCoopContributors: `mutual coop contributors --git` makes
// contributors of exactly the accounts whose addresses wrote commits of
// the branch in the window, merged ones included and unmerged ones not,
// each from their latest commit; an author without an account is
// counted, never printed; a contributor granted by hand keeps the role
// without an end.
func TestCoopContributors(t *testing.T) {
	data, users := newRelayData(t,
		"email:alice@example.org", "email:bob@example.org", "email:carol@example.org",
		"email:dan@example.org", "email:frank@example.org", "email:grace@example.org")
	now := time.Now().Truncate(time.Second)
	day := 24 * time.Hour
	g := newGitRepo(t)
	g.commit("bob@example.org", now.Add(-200*day), "bob")
	g.commit("alice@example.org", now.Add(-150*day), "alice-old")
	g.commit("grace@example.org", now.Add(-100*day), "grace")
	// The same mailbox written another way is the same account.
	g.commit("Alice@Example.org", now.Add(-10*day), "alice")
	g.git("carol@example.org", now.Add(-9*day), "checkout", "-q", "-b", "feature")
	g.commit("carol@example.org", now.Add(-6*day), "carol")
	g.git("carol@example.org", now.Add(-9*day), "checkout", "-q", "main")
	g.commit("nobody@example.net", now.Add(-5*day), "nobody")
	// The repository's .mailmap says whose an old address is.
	if err := os.WriteFile(filepath.Join(g.dir, ".mailmap"), []byte("Carol <carol@example.org> <carol@old.example.net>\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	g.commit("carol@old.example.net", now.Add(-7*day), "carol-old")
	g.git("maintainer@example.net", now.Add(-4*day), "merge", "-q", "--no-ff", "-m", "merge feature", "feature")
	g.git("dan@example.org", now.Add(-3*day), "checkout", "-q", "-b", "unmerged")
	g.commit("dan@example.org", now.Add(-2*day), "dan")
	g.git("dan@example.org", now.Add(-3*day), "checkout", "-q", "main")
	g.commit("frank@example.org", now.Add(-1*day), "frank")

	if code, out, errb := mutualCoop(t, data, "grant", "contributor", "email:frank@example.org"); code != 0 {
		t.Fatalf("grant contributor: exit %d\n%s%s", code, out, errb)
	}
	code, out, errb := mutualCoop(t, data, "contributors", "--git", g.dir, "--since", "90d")
	if code != 0 {
		t.Fatalf("contributors: exit %d\n%s%s", code, out, errb)
	}
	// In the window: alice, carol (merged), nobody, carol under her old
	// address, the merge, frank.
	if !regexp.MustCompile(`commits of main since \d{4}-\d\d-\d\d: 6\n`).MatchString(out) {
		t.Errorf("output does not count 6 commits:\n%s", out)
	}
	for _, want := range []string{"authors: 5, with an account here: 3 (accounts: 3)\n",
		"contributors from their latest commit: 2\n", "contributors granted by hand, left as they are: 1\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output does not say %q:\n%s", want, out)
		}
	}
	if strings.Contains(out+errb, "@") || strings.Contains(out+errb, "nobody") || strings.Contains(out+errb, "maintainer") {
		t.Errorf("the output shows an address:\n%s%s", out, errb)
	}

	dir := openDirectory(t, data)
	got := holders(t, dir, wire.RoleContributor)
	want := map[wire.UserID]time.Time{
		users["email:alice@example.org"]: now.Add(-10 * day),
		users["email:carol@example.org"]: now.Add(-6 * day),
		users["email:frank@example.org"]: {},
	}
	if len(got) != len(want) {
		t.Errorf("%d contributors, want %d: %+v", len(got), len(want), got)
	}
	for u, at := range want {
		g, ok := got[u]
		if !ok {
			t.Errorf("%s is not a contributor", shortUser(u))
			continue
		}
		if !g.LastContributed.Equal(at) {
			t.Errorf("%s contributed last at %v, want %v", shortUser(u), g.LastContributed, at)
		}
	}
	dir.Close()

	// A wider window takes in older commits, and keeps each account's
	// latest.
	if code, out, errb := mutualCoop(t, data, "contributors", "--git", g.dir, "--since", "4700h"); code != 0 {
		t.Fatalf("contributors: exit %d\n%s%s", code, out, errb)
	}
	got = holders(t, openDirectory(t, data), wire.RoleContributor)
	want[users["email:grace@example.org"]] = now.Add(-100 * day)
	for u, at := range want {
		if g := got[u]; !g.LastContributed.Equal(at) {
			t.Errorf("%s contributed last at %v, want %v", shortUser(u), g.LastContributed, at)
		}
	}
	if _, ok := got[users["email:bob@example.org"]]; ok {
		t.Errorf("bob's commit of 200 days ago made him a contributor")
	}
	if _, ok := got[users["email:dan@example.org"]]; ok {
		t.Errorf("dan's unmerged commit made him a contributor")
	}
}

func TestCoopContributorsRefusals(t *testing.T) {
	data, _ := newRelayData(t)
	g := newGitRepo(t)
	g.commit("alice@example.org", time.Now(), "a")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no repository", []string{"contributors"}, "--git"},
		{"not a repository", []string{"contributors", "--git", t.TempDir()}, "git log"},
		{"no such branch", []string{"contributors", "--git", g.dir, "--branch", "nope"}, "git log"},
		{"an option for a branch", []string{"contributors", "--git", g.dir, "--branch=--all"}, "--branch"},
		{"bad window", []string{"contributors", "--git", g.dir, "--since", "ninety days"}, "--since"},
		{"negative window", []string{"contributors", "--git", g.dir, "--since", "-5d"}, "--since"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errb := mutualCoop(t, data, tt.args...)
			if code != 1 || !strings.Contains(errb, tt.want) {
				t.Fatalf("exit %d, stderr %q; want 1 and a word about %s", code, errb, tt.want)
			}
		})
	}
}

// TestCoopOperator: operators are granted and revoked by address, found
// as the relay finds accounts; an address without an account is refused
// without being repeated.
func TestCoopOperator(t *testing.T) {
	data, users := newRelayData(t, "email:alice@example.org", "email:bob@example.org")
	alice := users["email:alice@example.org"]
	if code, out, errb := mutualCoop(t, data, "grant", "operator", "email:Alice@example.org"); code != 0 || !strings.Contains(out, "is now an operator") {
		t.Fatalf("grant: exit %d\n%s%s", code, out, errb)
	}
	dir := openDirectory(t, data)
	ops := holders(t, dir, wire.RoleOperator)
	if len(ops) != 1 || ops[alice].User != alice || ops[alice].By != (wire.UserID{}) {
		t.Fatalf("operators %+v, want alice, granted from the command line", ops)
	}
	dir.Close()

	code, out, errb := mutualCoop(t, data, "grant", "operator", "email:nobody@example.org")
	if code != 1 || !strings.Contains(errb, "no account has this address") || strings.Contains(out+errb, "nobody") {
		t.Fatalf("grant to an address without an account: exit %d\n%s%s", code, out, errb)
	}
	if code, _, errb := mutualCoop(t, data, "grant", "operator", "not an address"); code != 1 || !strings.Contains(errb, "email:") {
		t.Fatalf("grant to a malformed address: exit %d, %s", code, errb)
	}
	if code, _, errb := mutualCoop(t, data, "grant", "owner", "email:alice@example.org"); code != 2 || !strings.Contains(errb, "unknown command") {
		t.Fatalf("grant of an unknown role: exit %d, %s", code, errb)
	}

	if code, out, errb := mutualCoop(t, data, "revoke", "operator", "email:alice@example.org"); code != 0 || !strings.Contains(out, "is no longer an operator") {
		t.Fatalf("revoke: exit %d\n%s%s", code, out, errb)
	}
	if ops := holders(t, openDirectory(t, data), wire.RoleOperator); len(ops) != 0 {
		t.Fatalf("operators after the revocation: %+v", ops)
	}
	if code, out, _ := mutualCoop(t, data, "revoke", "operator", "email:alice@example.org"); code != 0 || !strings.Contains(out, "is not an operator") {
		t.Fatalf("revoke again: exit %d, %s", code, out)
	}
}

// TestCoopCosts: cost lines are set, listed with each month's total, and
// removed with an amount of 0.
func TestCoopCosts(t *testing.T) {
	data, _ := newRelayData(t)
	now := time.Now().UTC()
	this := now.Format("2006-01")
	last := time.Date(now.Year(), now.Month()-1, 1, 0, 0, 0, 0, time.UTC).Format("2006-01")
	old := time.Date(now.Year(), now.Month()-13, 1, 0, 0, 0, 0, time.UTC).Format("2006-01")
	for _, args := range [][]string{
		{"costs", "set", this, "infrastructure", "12000", "--note", "two servers"},
		{"costs", "set", this, "email", "1500"},
		{"costs", "set", last, "infrastructure", "11000"},
		{"costs", "set", old, "infrastructure", "9000"},
	} {
		if code, out, errb := mutualCoop(t, data, args...); code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errb)
		}
	}
	dir := openDirectory(t, data)
	costs, err := dir.Costs(context.Background(), this, this)
	if err != nil {
		t.Fatal(err)
	}
	if len(costs) != 2 || costs[0].Category != "email" || costs[1].Amount != 12000 || costs[1].Note != "two servers" || costs[1].By != (wire.UserID{}) {
		t.Fatalf("this month's costs %+v", costs)
	}
	dir.Close()

	code, out, errb := mutualCoop(t, data, "costs", "list")
	if code != 0 {
		t.Fatalf("list: exit %d\n%s%s", code, out, errb)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	fields := make([][]string, len(lines))
	for i, l := range lines {
		fields[i] = strings.Fields(l)
	}
	want := [][]string{
		{"MONTH", "CATEGORY", "AMOUNT", "NOTE"},
		{last, "infrastructure", "11000"},
		{last, "total", "11000"},
		{this, "email", "1500"},
		{this, "infrastructure", "12000", "two", "servers"},
		{this, "total", "13500"},
	}
	if !slices.EqualFunc(fields, want, slices.Equal) {
		t.Fatalf("costs list:\n%s\nwant the lines %q", out, want)
	}
	if _, out, _ := mutualCoop(t, data, "costs", "list", "--months", "14"); !strings.Contains(out, old) {
		t.Fatalf("14 months do not show %s:\n%s", old, out)
	}

	if code, out, errb := mutualCoop(t, data, "costs", "set", this, "email", "0"); code != 0 || !strings.Contains(out, "removed") {
		t.Fatalf("remove: exit %d\n%s%s", code, out, errb)
	}
	if _, out, _ := mutualCoop(t, data, "costs", "list", "--months", "1"); strings.Contains(out, "email") || !strings.Contains(out, "12000") {
		t.Fatalf("after removing email:\n%s", out)
	}

	for _, args := range [][]string{
		{"costs", "set", "2026-13", "infrastructure", "1"},
		{"costs", "set", "26-01", "infrastructure", "1"},
		{"costs", "set", "1999-01", "infrastructure", "1"},
		{"costs", "set", this, " infrastructure", "1"},
		{"costs", "set", this, strings.Repeat("x", 65), "1"},
		{"costs", "set", this, "infrastructure", "12.00"},
		{"costs", "set", this, "infrastructure", "-1"},
		{"costs", "set", this, "bad\ncategory", "1"},
		{"costs", "list", "--months", "0"},
	} {
		if code, _, errb := mutualCoop(t, data, args...); code == 0 || errb == "" {
			t.Errorf("%q: exit %d, %q; want a refusal", args, code, errb)
		}
	}
}

// TestCoopNoDirectory: a command never creates a relay's directory.
func TestCoopNoDirectory(t *testing.T) {
	data := t.TempDir()
	if err := os.WriteFile(filepath.Join(data, "secret"), bytes.Repeat([]byte("s"), 64), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errb := mutualCoop(t, data, "costs", "list")
	if code != 1 || !strings.Contains(errb, "no relay directory") {
		t.Fatalf("exit %d, %q", code, errb)
	}
	if _, err := os.Stat(filepath.Join(data, "mutual.db")); err == nil {
		t.Fatal("the command created a directory")
	}
	if code, _, errb := mutualCoop(t, t.TempDir(), "costs", "list"); code != 1 || !strings.Contains(errb, "secret") {
		t.Fatalf("without a secret: exit %d, %q", code, errb)
	}
}
