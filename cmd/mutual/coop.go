package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/mutualcoop/mutual/relay/auth"
	"github.com/mutualcoop/mutual/relay/coop"
	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/directory/postgres"
	"github.com/mutualcoop/mutual/relay/directory/sqlite"
	"github.com/mutualcoop/mutual/relay/wire"
)

const coopUsage = `usage: mutual coop <command> [arguments] [flags]

commands:
  grant operator ADDRESS       make the account of ADDRESS an operator of the co-op
  revoke operator ADDRESS      take the operator role back
  grant contributor ADDRESS    make the account of ADDRESS a contributor for as long as
                               the grant stands (someone who works on Mutual)
  revoke contributor ADDRESS   take the contributor role back
  contributors --git REPO [--branch main] [--since 90d]
                               make contributors of the accounts whose addresses wrote
                               commits of the branch in the window (email:AUTHOR)
  costs set MONTH CATEGORY AMOUNT [--note TEXT]
                               record a cost line of MONTH (2026-12), AMOUNT in minor
                               units of the co-op's currency (12000 is 120.00); 0 removes it
  costs list [--months 12]     print the cost lines of the latest months

Every command opens the relay's directory as 'mutual serve' does: the
SQLite directory DATA/mutual.db of --data, or a cluster's PostgreSQL of
--db, with the server secret of --secret-file (default DATA/secret),
which keys the address hashes accounts are found by.
`

// coopCmd runs `mutual coop ...`: the co-op's records kept on the
// server's side (roles, costs), changed on the machine that runs the
// relay. It prints counts, never an address.
func coopCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c coopCommand
	fs := flag.NewFlagSet("coop", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(stderr, coopUsage, "\nflags:\n"); fs.PrintDefaults() }
	c.register(fs)
	pos, err := parseInterleaved(fs, args, stderr)
	if err != nil {
		return err
	}
	want := func(n int) error {
		if len(pos) != n {
			fmt.Fprint(stderr, coopUsage)
			return errUsage
		}
		return nil
	}
	if len(pos) < 2 && !(len(pos) == 1 && pos[0] == "contributors") {
		fmt.Fprint(stderr, coopUsage)
		return errUsage
	}
	c.now = time.Now
	switch {
	case (pos[0] == "grant" || pos[0] == "revoke") && (pos[1] == "operator" || pos[1] == "contributor"):
		if err := want(3); err != nil {
			return err
		}
		role := wire.RoleOperator
		if pos[1] == "contributor" {
			role = wire.RoleContributor
		}
		return c.run(ctx, func(d *coopDir) error { return d.setRole(ctx, stdout, role, pos[2], pos[0] == "grant") })
	case pos[0] == "contributors":
		if err := want(1); err != nil {
			return err
		}
		return c.contributors(ctx, stdout)
	case pos[0] == "costs" && pos[1] == "set":
		if err := want(5); err != nil {
			return err
		}
		return c.setCost(ctx, stdout, pos[2], pos[3], pos[4])
	case pos[0] == "costs" && pos[1] == "list":
		if err := want(2); err != nil {
			return err
		}
		return c.listCosts(ctx, stdout)
	}
	fmt.Fprintf(stderr, "mutual coop: unknown command %q\n\n%s", strings.Join(pos, " "), coopUsage)
	return errUsage
}

// coopCommand are the flags of `mutual coop`: where the directory is (as
// `mutual serve` has them), and each command's own.
type coopCommand struct {
	data       string
	secretFile string
	db         string
	dbSchema   string

	git    string
	branch string
	since  string
	note   string
	months int

	now func() time.Time
}

func (c *coopCommand) register(fs *flag.FlagSet) {
	fs.StringVar(&c.data, "data", "./data", "the relay's data directory (its SQLite directory and secret)")
	fs.StringVar(&c.secretFile, "secret-file", "", "file with the server secret (default DATA/secret)")
	fs.StringVar(&c.db, "db", "", "PostgreSQL URL of a cluster's directory, postgres://user:pass@host/db (MUTUAL_DB keeps the password off the command line)")
	fs.StringVar(&c.dbSchema, "db-schema", "", "PostgreSQL schema of the directory's tables")
	fs.StringVar(&c.git, "git", "", "contributors: the git repository (a directory) whose commits make contributors")
	fs.StringVar(&c.branch, "branch", "main", "contributors: the branch whose commits count")
	fs.StringVar(&c.since, "since", "90d", "contributors: how far back commits count, in days (90d) or as a duration (2160h)")
	fs.StringVar(&c.note, "note", "", "costs set: a note shown with the cost line")
	fs.IntVar(&c.months, "months", 12, "costs list: how many months, the current one included")
}

// parseInterleaved parses flags given before, between or after the
// positional arguments, and returns the positional arguments in order.
func parseInterleaved(fs *flag.FlagSet, args []string, stderr io.Writer) ([]string, error) {
	rest, err := parseFlagsArgs(fs, args, stderr)
	var pos []string
	for err == nil && len(rest) > 0 {
		pos = append(pos, rest[0])
		if err = fs.Parse(rest[1:]); err != nil {
			return nil, errUsage
		}
		rest = fs.Args()
	}
	return pos, err
}

// coopDirectory is what `mutual coop` needs of the relay's directory: the
// co-op's records, and the accounts to find by address.
type coopDirectory interface {
	coop.Store
	auth.Store
	Close() error
}

// coopDir is an open directory with the accounts' lookup.
type coopDir struct {
	st       coopDirectory
	accounts *auth.Service
	now      func() time.Time
}

// run opens the directory and the server secret, calls fn, and closes
// the directory.
func (c *coopCommand) run(ctx context.Context, fn func(*coopDir) error) error {
	d, err := c.open(ctx)
	if err != nil {
		return err
	}
	err = fn(d)
	if cerr := d.st.Close(); err == nil {
		err = cerr
	}
	return err
}

// open opens the directory the way `mutual serve` does, and its secret:
// PostgreSQL with --db, else the SQLite file in --data, which must exist
// (a command never creates a relay's directory).
func (c *coopCommand) open(ctx context.Context) (*coopDir, error) {
	secretFile := c.secretFile
	if secretFile == "" {
		if c.db != "" {
			return nil, errors.New("--db needs --secret-file, the one every gateway of the cluster uses")
		}
		secretFile = filepath.Join(c.data, "secret")
	}
	secret, err := auth.ReadSecretFile(secretFile)
	if err != nil {
		return nil, err
	}
	var st coopDirectory
	if c.db != "" {
		if !strings.HasPrefix(c.db, "postgres://") && !strings.HasPrefix(c.db, "postgresql://") {
			return nil, errors.New("--db: want a postgres:// URL")
		}
		st, err = postgres.Open(ctx, postgres.Config{URL: c.db, Schema: c.dbSchema})
	} else {
		path := filepath.Join(c.data, "mutual.db")
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("no relay directory in %s: give the --data of 'mutual serve' (%w)", c.data, err)
		}
		st, err = sqlite.Open(ctx, sqlite.Config{Path: path})
	}
	if err != nil {
		return nil, fmt.Errorf("open directory: %w", err)
	}
	accounts, err := auth.New(auth.Config{Secret: secret}, st, auth.Senders{auth.SchemeEmail: noCodes{}})
	if err != nil {
		st.Close()
		return nil, err
	}
	return &coopDir{st: st, accounts: accounts, now: c.now}, nil
}

// noCodes is the code sender of a command that sends none: it only
// looks accounts up by address.
type noCodes struct{}

func (noCodes) Send(context.Context, auth.Address, auth.Message) error {
	return errors.New("mutual coop sends no codes")
}

// user finds the account of an address typed by the operator, as the
// relay finds it when a contact is added.
func (d *coopDir) user(ctx context.Context, address string) (wire.UserID, error) {
	u, err := d.accounts.Lookup(ctx, address)
	switch {
	case errors.Is(err, directory.ErrNotFound):
		return wire.UserID{}, errors.New("no account has this address on this relay")
	case errors.Is(err, auth.ErrBadAddress), errors.Is(err, auth.ErrUnsupportedScheme):
		return wire.UserID{}, fmt.Errorf("%w (an address is written email:someone@example.org)", err)
	}
	return u, err
}

// setRole grants or revokes role for the account of address. A
// contributor granted here counts for as long as the grant stands.
func (d *coopDir) setRole(ctx context.Context, stdout io.Writer, role wire.CoopRole, address string, on bool) error {
	user, err := d.user(ctx, address)
	if err != nil {
		return err
	}
	g := coop.RoleGrant{User: user, Role: role, Granted: d.now()}
	if on && role == wire.RoleContributor {
		// A contributor from git has an end; a grant here has none, so
		// the grant from git gives way to it.
		held, err := d.holds(ctx, user, role)
		if err != nil {
			return err
		}
		if held != nil && !held.LastContributed.IsZero() {
			if err := d.st.SetRole(ctx, *held, false); err != nil {
				return fmt.Errorf("revoke the contributor role from git: %w", err)
			}
		}
	}
	if !on {
		held, err := d.holds(ctx, user, role)
		if err != nil {
			return err
		}
		if held == nil {
			fmt.Fprintf(stdout, "the account %s is not a%s %s\n", shortUser(user), article(role), role)
			return nil
		}
	}
	if err := d.st.SetRole(ctx, g, on); err != nil {
		return fmt.Errorf("set role: %w", err)
	}
	verb := "is now"
	if !on {
		verb = "is no longer"
	}
	fmt.Fprintf(stdout, "the account %s %s a%s %s\n", shortUser(user), verb, article(role), role)
	return nil
}

// holds returns user's grant of role, or nil.
func (d *coopDir) holds(ctx context.Context, user wire.UserID, role wire.CoopRole) (*coop.RoleGrant, error) {
	roles, err := d.st.Roles(ctx, user)
	if err != nil && !errors.Is(err, coop.ErrNotFound) {
		return nil, fmt.Errorf("roles: %w", err)
	}
	for _, g := range roles {
		if g.Role == role {
			return &g, nil
		}
	}
	return nil, nil
}

func article(r wire.CoopRole) string {
	if r == wire.RoleOperator {
		return "n"
	}
	return ""
}

// shortUser is the beginning of a user ID, enough for an operator to
// tell accounts apart in what the command prints.
func shortUser(u wire.UserID) string { return fmt.Sprintf("%x", u[:4]) }

// contributors makes contributors of the accounts whose addresses
// (email: and the author's email) wrote commits reachable from --branch
// whose commit time is within --since. Each gets the time of their
// latest such commit, from which the contributor window runs. It prints
// counts only: no address, matched or not.
func (c *coopCommand) contributors(ctx context.Context, stdout io.Writer) error {
	if c.git == "" {
		return errors.New("contributors needs --git REPO, the repository whose commits count")
	}
	window, err := parseSince(c.since)
	if err != nil {
		return err
	}
	since := c.now().Add(-window).Truncate(time.Second)
	log, err := gitAuthors(ctx, c.git, c.branch, since)
	if err != nil {
		return err
	}
	return c.run(ctx, func(d *coopDir) error {
		latest := map[wire.UserID]time.Time{}
		matched := 0
		for _, a := range log.authors {
			user, err := d.accounts.Lookup(ctx, "email:"+a.email)
			switch {
			case errors.Is(err, directory.ErrNotFound), errors.Is(err, auth.ErrBadAddress), errors.Is(err, auth.ErrUnsupportedScheme):
				continue
			case err != nil:
				return fmt.Errorf("look up an author: %w", err)
			}
			matched++
			if a.latest.After(latest[user]) {
				latest[user] = a.latest
			}
		}
		var noted, fullTime int
		for user, at := range latest {
			held, err := d.holds(ctx, user, wire.RoleContributor)
			if err != nil {
				return err
			}
			if held != nil && held.LastContributed.IsZero() {
				// Granted by hand: it counts without an end, which a
				// commit's time would give it.
				fullTime++
				continue
			}
			if err := d.st.NoteContribution(ctx, user, at); err != nil {
				return fmt.Errorf("note a contribution: %w", err)
			}
			noted++
		}
		fmt.Fprintf(stdout, "commits of %s since %s: %d\n", c.branch, since.UTC().Format(time.DateOnly), log.commits)
		fmt.Fprintf(stdout, "authors: %d, with an account here: %d (accounts: %d)\n", len(log.authors), matched, len(latest))
		fmt.Fprintf(stdout, "contributors from their latest commit: %d\n", noted)
		fmt.Fprintf(stdout, "contributors granted by hand, left as they are: %d\n", fullTime)
		return nil
	})
}

// parseSince parses --since: a number of days (90d) or a Go duration.
func parseSince(s string) (time.Duration, error) {
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n > 100*366 {
			return 0, fmt.Errorf("--since %q: want a number of days (90d) or a duration (2160h)", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("--since %q: want a number of days (90d) or a duration (2160h)", s)
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("--since %q: want a positive window", s)
	}
	return d, nil
}

// gitLog is what a branch's history says about its authors.
type gitLog struct {
	commits int
	authors []gitAuthor // by first appearance, newest commit first
}

// gitAuthor is one author's email and the commit time of their latest
// commit.
type gitAuthor struct {
	email  string
	latest time.Time
}

// gitAuthors reads the commits reachable from branch in the repository
// at repo whose commit time is since or later, with each author's
// email (after the repository's .mailmap) and latest commit time.
func gitAuthors(ctx context.Context, repo, branch string, since time.Time) (gitLog, error) {
	if branch == "" || strings.HasPrefix(branch, "-") {
		return gitLog{}, fmt.Errorf("--branch %q: want a branch name", branch)
	}
	out, err := gitOutput(ctx, repo, "log", "--no-color", "--format=%H%x00%aE%x00%ct",
		"--since="+since.UTC().Format(time.RFC3339), branch, "--")
	if err != nil {
		return gitLog{}, err
	}
	var log gitLog
	index := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, "\x00")
		if len(f) != 3 {
			return gitLog{}, fmt.Errorf("git log: unexpected line %q", f[0])
		}
		sec, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			return gitLog{}, fmt.Errorf("git log: commit %s: time %q", f[0], f[2])
		}
		at := time.Unix(sec, 0).UTC()
		if at.Before(since) {
			continue // git's --since may let older commits through
		}
		log.commits++
		email := strings.ToLower(strings.TrimSpace(f[1]))
		i, ok := index[email]
		if !ok {
			i = len(log.authors)
			index[email] = i
			log.authors = append(log.authors, gitAuthor{email: email})
		}
		if at.After(log.authors[i].latest) {
			log.authors[i].latest = at
		}
	}
	return log, nil
}

// gitOutput runs git in repo and returns its standard output; its error
// says what git said.
func gitOutput(ctx context.Context, repo string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", repo}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// setCost records a cost line from the command line (By zero).
func (c *coopCommand) setCost(ctx context.Context, stdout io.Writer, month, category, amount string) error {
	if !c.validMonth(month) {
		return fmt.Errorf("month %q: want YYYY-MM, such as 2026-12, within the last ten years or up to the end of next year", month)
	}
	if category == "" || len(category) > maxCategory || !printable(category) || strings.TrimSpace(category) != category {
		return fmt.Errorf("category: want 1 to %d printable bytes, such as infrastructure", maxCategory)
	}
	if len(c.note) > wire.MaxCoopNote || !printable(c.note) {
		return fmt.Errorf("--note: want at most %d printable bytes", wire.MaxCoopNote)
	}
	n, err := strconv.ParseInt(amount, 10, 64)
	if err != nil || n < 0 || n > maxPlanAmount {
		return fmt.Errorf("amount %q: want a whole number of minor units (12000 is 120.00), 0 to remove the line", amount)
	}
	return c.run(ctx, func(d *coopDir) error {
		err := d.st.SetCost(ctx, coop.Cost{Month: month, Category: category, Amount: n, Note: c.note, Updated: d.now()})
		if err != nil {
			return fmt.Errorf("set cost: %w", err)
		}
		if n == 0 {
			fmt.Fprintf(stdout, "removed %s's %s\n", month, category)
		} else {
			fmt.Fprintf(stdout, "%s's %s: %d\n", month, category, n)
		}
		return nil
	})
}

// maxCategory bounds a cost's category, in bytes, as the relay does
// for operators in the app.
const maxCategory = 64

// validMonth says whether month is "YYYY-MM" within the last ten years
// or up to the end of next year: the months the relay takes costs for
// in the app.
func (c *coopCommand) validMonth(month string) bool {
	t, err := time.Parse("2006-01", month)
	if err != nil || t.Format("2006-01") != month {
		return false
	}
	now := c.now().UTC()
	first := time.Date(now.Year()-10, now.Month(), 1, 0, 0, 0, 0, time.UTC)
	last := time.Date(now.Year()+1, time.December, 1, 0, 0, 0, 0, time.UTC)
	return !t.Before(first) && !t.After(last)
}

// printable says whether s is valid text without control characters.
func printable(s string) bool {
	for _, r := range s {
		if r == unicode.ReplacementChar || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// listCosts prints the cost lines of the latest --months months, with
// each month's total.
func (c *coopCommand) listCosts(ctx context.Context, stdout io.Writer) error {
	if c.months < 1 || c.months > wire.MaxCoopMonths {
		return fmt.Errorf("--months %d: want 1 to %d", c.months, wire.MaxCoopMonths)
	}
	now := c.now().UTC()
	first := time.Date(now.Year(), now.Month()-time.Month(c.months-1), 1, 0, 0, 0, 0, time.UTC)
	from, to := first.Format("2006-01"), now.Format("2006-01")
	return c.run(ctx, func(d *coopDir) error {
		costs, err := d.st.Costs(ctx, from, to)
		if err != nil {
			return fmt.Errorf("costs: %w", err)
		}
		if len(costs) == 0 {
			fmt.Fprintf(stdout, "no costs from %s to %s\n", from, to)
			return nil
		}
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "MONTH\tCATEGORY\tAMOUNT\tNOTE")
		var total int64
		for i, cost := range costs {
			fmt.Fprintf(w, "%s\t%s\t%d\t%s\n", cost.Month, cost.Category, cost.Amount, cost.Note)
			total += cost.Amount
			if i == len(costs)-1 || costs[i+1].Month != cost.Month {
				fmt.Fprintf(w, "%s\ttotal\t%d\t\n", cost.Month, total)
				total = 0
			}
		}
		return w.Flush()
	})
}
