package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

// The co-op that runs the relay: its figures, this account's membership,
// and what operators do. Every subcommand asks the relay.

// coopMonthJSON is one month of the co-op's figures, with what they make
// (as /coop.json on the relay prints them).
type coopMonthJSON struct {
	Month          string         `json:"month"`
	ActiveUsers    int64          `json:"active_users"`
	Members        int64          `json:"members"`
	Dues           int64          `json:"dues"`
	Costs          []coopCostJSON `json:"costs"`
	TotalCosts     int64          `json:"total_costs"`
	CostPerUser    int64          `json:"cost_per_user"`
	UsersPerMember int64          `json:"users_per_member"`
	Coverage       int64          `json:"coverage"` // percent; -1 without costs
}

type coopCostJSON struct {
	Category string `json:"category"`
	Amount   int64  `json:"amount"`
	Note     string `json:"note,omitempty"`
}

type coopPlanJSON struct {
	Name     string `json:"name"`
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
	Interval string `json:"interval"`
}

type coopMembershipJSON struct {
	Status      string `json:"status"`
	Provider    string `json:"provider,omitempty"`
	Plan        string `json:"plan,omitempty"`
	Amount      int64  `json:"amount,omitempty"`
	Currency    string `json:"currency,omitempty"`
	NextPayment string `json:"next_payment,omitempty"`
	PaidThrough string `json:"paid_through,omitempty"`
	GraceUntil  string `json:"grace_until,omitempty"`
}

// coopJSON is what 'coop --json' prints. Amounts are in minor units of
// Currency (1000 is 10.00).
type coopJSON struct {
	Name           string             `json:"name"`
	Currency       string             `json:"currency"`
	Providers      []string           `json:"providers"`
	Plans          []coopPlanJSON     `json:"plans"`
	Membership     coopMembershipJSON `json:"membership"`
	Roles          []string           `json:"roles"`
	Notices        bool               `json:"notices"`
	Months         []coopMonthJSON    `json:"months"`
	NoticesDropped uint64             `json:"notices_dropped,omitempty"`
}

// coopNoticeJSON is a co-op notice in 'receive --json' (kind "coop").
type coopNoticeJSON struct {
	Kind        string `json:"kind"` // dues, degrees, membership
	Amount      int64  `json:"amount,omitempty"`
	Currency    string `json:"currency,omitempty"`
	Supports    int64  `json:"supports,omitempty"`
	CostPerUser int64  `json:"cost_per_user,omitempty"`
	Month       string `json:"month,omitempty"`
	Distance    *int64 `json:"distance,omitempty"`
	Year        uint32 `json:"year,omitempty"`
	Status      string `json:"status,omitempty"`
}

func noticeJSON(n *wire.CoopNotice) *coopNoticeJSON {
	j := &coopNoticeJSON{Amount: n.Amount, Currency: n.Currency, Supports: n.Supports, CostPerUser: n.CostPerUser, Month: n.Month}
	switch n.Kind {
	case wire.NoticeDues:
		j.Kind = "dues"
	case wire.NoticeDegrees:
		d := n.Distance
		j.Kind, j.Distance, j.Year = "degrees", &d, n.Year
	case wire.NoticeMembership:
		j.Kind, j.Status = "membership", n.Status.String()
	default:
		j.Kind = fmt.Sprintf("notice(%d)", n.Kind)
	}
	return j
}

func (c *cli) coop(ctx context.Context, args []string) error {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "join":
			return c.coopJoin(ctx, args[1:])
		case "cancel":
			return c.coopCall(ctx, args[1:], "cancel", func(cl *client.Client) (client.CoopInfo, error) { return cl.CancelMembership(ctx) })
		case "notices":
			if len(args) != 2 || (args[1] != "on" && args[1] != "off") {
				return usageError("coop notices takes on or off")
			}
			return c.coopCall(ctx, nil, "notices", func(cl *client.Client) (client.CoopInfo, error) { return cl.SetCoopNotices(ctx, args[1] == "on") })
		case "costs":
			return c.coopCosts(ctx, args[1:])
		case "grant":
			return c.coopGrant(ctx, args[1:])
		}
		return usageError("unknown coop command %q", args[0])
	}
	fs := flag.NewFlagSet("coop", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return usageError("coop takes only --json")
	}
	s, err := c.online(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	info, err := s.client.Coop(ctx)
	if err != nil {
		return explainCoop(err)
	}
	dropped, err := s.client.CoopNoticesDropped(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		j := coopInfoJSON(&info)
		j.NoticesDropped = dropped
		return json.NewEncoder(c.stdout).Encode(j)
	}
	c.printCoop(&info)
	if dropped > 0 {
		fmt.Fprintf(c.stdout, "Notices dropped because they were not signed by this relay's co-op: %d\n", dropped)
	}
	return nil
}

// coopCall runs one call that answers with the co-op's state, and says
// it is done.
func (c *cli) coopCall(ctx context.Context, args []string, what string, call func(*client.Client) (client.CoopInfo, error)) error {
	if len(args) > 0 {
		return usageError("coop %s takes no arguments", what)
	}
	s, err := c.online(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	info, err := call(s.client)
	if err != nil {
		return explainCoop(err)
	}
	switch what {
	case "cancel":
		fmt.Fprintf(c.stdout, "Membership %s.\n", info.Membership.Status)
	case "notices":
		state := "on"
		if info.NoticesOff {
			state = "off"
		}
		fmt.Fprintf(c.stdout, "Yearly co-op notices are %s.\n", state)
	}
	return nil
}

func (c *cli) coopJoin(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("coop join", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	provider := fs.String("provider", "stripe", "")
	plan := fs.String("plan", "monthly", "")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return usageError("coop join takes only --provider NAME and --plan NAME")
	}
	s, err := c.online(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	url, err := s.client.Join(ctx, *provider, *plan)
	if err != nil {
		return explainCoop(err)
	}
	fmt.Fprintf(c.stderr, "Open this page to pay; your membership starts once the payment is through:\n")
	fmt.Fprintln(c.stdout, url)
	return nil
}

func (c *cli) coopCosts(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "set" {
		return usageError("coop costs takes set MONTH CATEGORY AMOUNT [--note TEXT]")
	}
	fs := flag.NewFlagSet("coop costs set", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	note := fs.String("note", "", "")
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil || len(pos) != 3 {
		return usageError("coop costs set takes MONTH CATEGORY AMOUNT [--note TEXT]")
	}
	month, category := pos[0], pos[1]
	if _, err := time.Parse("2006-01", month); err != nil {
		return usageError("month %q: want YYYY-MM", month)
	}
	amount, err := strconv.ParseInt(pos[2], 10, 64)
	if err != nil || amount < 0 {
		return usageError("amount %q: want a whole number of minor units (12000 is 120.00), 0 to remove the line", pos[2])
	}
	s, err := c.online(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	info, err := s.client.SetCost(ctx, month, category, amount, *note)
	if err != nil {
		return explainCoop(err)
	}
	if amount == 0 {
		fmt.Fprintf(c.stdout, "Removed %s from %s.\n", category, month)
	} else {
		fmt.Fprintf(c.stdout, "Set %s of %s to %s.\n", category, month, money(amount, info.Currency))
	}
	return nil
}

func (c *cli) coopGrant(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("coop grant", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	revoke := fs.Bool("revoke", false, "")
	pos, err := parseInterspersed(fs, args)
	if err != nil || len(pos) != 2 {
		return usageError("coop grant takes operator|contributor ADDRESS [--revoke]")
	}
	var role wire.CoopRole
	switch pos[0] {
	case "operator":
		role = wire.RoleOperator
	case "contributor":
		role = wire.RoleContributor
	default:
		return usageError("coop grant: the role is operator or contributor, not %q", pos[0])
	}
	s, err := c.online(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	if err := s.client.Grant(ctx, role, pos[1], *revoke); err != nil {
		return explainCoop(err)
	}
	if *revoke {
		fmt.Fprintf(c.stdout, "No longer %s: %s\n", role, pos[1])
	} else {
		fmt.Fprintf(c.stdout, "Now %s: %s\n", role, pos[1])
	}
	return nil
}

// parseInterspersed parses fs's flags wherever they are among args and
// returns the other arguments.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// explainCoop turns the relay's answers to co-op requests into sentences.
func explainCoop(err error) error {
	var we *wire.Error
	if !errors.As(err, &we) {
		return err
	}
	switch we.Code {
	case wire.CodeForbidden:
		return errors.New("only the co-op's operators may do this")
	case wire.CodeExists:
		return errors.New("you are a member already")
	case wire.CodeNotFound:
		return fmt.Errorf("not found: %s", we.Message)
	case wire.CodeUnavailable:
		return fmt.Errorf("the co-op cannot do this now: %s", we.Message)
	case wire.CodeBadRequest:
		return fmt.Errorf("the relay refused this: %s", we.Message)
	}
	return explain(err)
}

func coopInfoJSON(info *client.CoopInfo) coopJSON {
	j := coopJSON{
		Name: info.Name, Currency: info.Currency, Providers: info.Providers, Notices: !info.NoticesOff,
		Plans: []coopPlanJSON{}, Roles: []string{}, Months: []coopMonthJSON{},
	}
	if j.Providers == nil {
		j.Providers = []string{}
	}
	for _, p := range info.Plans {
		j.Plans = append(j.Plans, coopPlanJSON(p))
	}
	ms := info.Membership
	j.Membership = coopMembershipJSON{
		Status: ms.Status.String(), Provider: ms.Provider, Plan: ms.Plan, Amount: ms.Amount, Currency: ms.Currency,
		NextPayment: day(ms.NextPaymentMS), PaidThrough: day(ms.PaidThroughMS), GraceUntil: day(ms.GraceUntilMS),
	}
	for _, r := range info.Roles {
		j.Roles = append(j.Roles, r.String())
	}
	for i := range info.Months {
		m := &info.Months[i]
		mj := coopMonthJSON{
			Month: m.Month, ActiveUsers: m.ActiveUsers, Members: m.Members, Dues: m.Dues, Costs: []coopCostJSON{},
			TotalCosts: m.TotalCosts(), CostPerUser: m.CostPerUser(), UsersPerMember: m.UsersPerMember(), Coverage: m.Coverage(),
		}
		for _, c := range m.Costs {
			mj.Costs = append(mj.Costs, coopCostJSON(c))
		}
		j.Months = append(j.Months, mj)
	}
	return j
}

// day prints a time in Unix milliseconds as a date; empty for none.
func day(ms int64) string {
	if ms == 0 {
		return ""
	}
	return time.UnixMilli(ms).UTC().Format("2006-01-02")
}

// money prints minor units of a currency with two decimals: "10.00 GBP".
func money(amount int64, currency string) string {
	sign := ""
	if amount < 0 {
		sign, amount = "-", -amount
	}
	return fmt.Sprintf("%s%d.%02d %s", sign, amount/100, amount%100, currency)
}

func (c *cli) printCoop(info *client.CoopInfo) {
	w := c.stdout
	fmt.Fprintf(w, "%s, run by its members (figures in %s)\n\n", info.Name, info.Currency)
	ms := info.Membership
	switch {
	case ms.Status == wire.MemberNone:
		fmt.Fprintln(w, "You are not a member.")
	default:
		fmt.Fprintf(w, "Your membership: %s", ms.Status)
		if ms.Plan != "" {
			fmt.Fprintf(w, " (%s, %s through %s)", ms.Plan, money(ms.Amount, ms.Currency), ms.Provider)
		}
		fmt.Fprintln(w)
		if d := day(ms.PaidThroughMS); d != "" {
			fmt.Fprintf(w, "Paid through %s.\n", d)
		}
		if d := day(ms.GraceUntilMS); d != "" && ms.Status == wire.MemberGrace {
			fmt.Fprintf(w, "A payment failed: you stay a member until %s.\n", d)
		}
	}
	if len(info.Roles) > 0 {
		var names []string
		for _, r := range info.Roles {
			names = append(names, r.String())
		}
		fmt.Fprintf(w, "Your roles: %s\n", strings.Join(names, ", "))
	}
	if info.NoticesOff {
		fmt.Fprintln(w, "Yearly notices: off")
	} else {
		fmt.Fprintln(w, "Yearly notices: on")
	}
	if len(info.Months) > 0 {
		m := info.Current()
		fmt.Fprintf(w, "\nThis month (%s): %d active users, %d paying members\n", m.Month, m.ActiveUsers, m.Members)
		fmt.Fprintf(w, "  costs %s, dues %s", money(m.TotalCosts(), info.Currency), money(m.Dues, info.Currency))
		if cov := m.Coverage(); cov >= 0 {
			fmt.Fprintf(w, " (dues cover %d%%)", cov)
		}
		fmt.Fprintln(w)
		fmt.Fprintf(w, "  cost per user %s; each member supports about %d people\n", money(m.CostPerUser(), info.Currency), m.UsersPerMember())
		for _, ct := range m.Costs {
			fmt.Fprintf(w, "  %-16s %s", ct.Category, money(ct.Amount, info.Currency))
			if ct.Note != "" {
				fmt.Fprintf(w, "  %s", ct.Note)
			}
			fmt.Fprintln(w)
		}
		if len(info.Months) > 1 {
			fmt.Fprintln(w, "\nMonth     users  members  costs  dues  coverage")
			for i := range info.Months[1:] {
				m := &info.Months[i+1]
				cov := "-"
				if c := m.Coverage(); c >= 0 {
					cov = fmt.Sprintf("%d%%", c)
				}
				fmt.Fprintf(w, "%s  %d  %d  %s  %s  %s\n", m.Month, m.ActiveUsers, m.Members, money(m.TotalCosts(), info.Currency), money(m.Dues, info.Currency), cov)
			}
		}
	}
	if !info.Member() && len(info.Providers) > 0 && len(info.Plans) > 0 {
		fmt.Fprintln(w, "\nJoin with 'mutual-cli coop join --provider NAME --plan NAME':")
		fmt.Fprintf(w, "  providers: %s\n", strings.Join(info.Providers, ", "))
		for _, p := range info.Plans {
			fmt.Fprintf(w, "  plan %s: %s a %s\n", p.Name, money(p.Amount, p.Currency), p.Interval)
		}
	}
}
