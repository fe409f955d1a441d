package ui

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

// What the Co-op screen draws (coop.go has the component).

// The payment providers the app knows how to name; a provider the relay
// does not offer is not shown, nor one the app does not know.
const (
	providerStripe     = "stripe"
	providerGoCardless = "gocardless"
)

// knownProviders are the providers in the order they are offered, with
// their buttons' labels.
var knownProviders = []struct{ name, label string }{
	{providerStripe, "Pay by card"},
	{providerGoCardless, "Pay by Direct Debit"},
}

// providerName is a provider as a sentence names it.
func providerName(p string) string {
	switch p {
	case providerStripe:
		return "Stripe"
	case providerGoCardless:
		return "GoCardless"
	}
	return p
}

// checkoutState is where a return from the provider's page stands.
type checkoutState int

const (
	checkoutNone     checkoutState = iota
	checkoutDone                   // ?checkout=done: paid at the provider, waiting for the relay to hear it
	checkoutCanceled               // ?checkout=cancel: left the provider's page
)

// coopState is what the Co-op screen shows.
type coopState struct {
	info     client.CoopInfo
	loaded   bool
	loadErr  string
	checkout checkoutState
	plan     string // the plan chosen to join with
	joining  string // the provider a Join is under way with
	joinErr  string
	busy     bool // cancelling
	err      string
	cost     formState
	grant    formState
	notices  formState
	now      time.Time
}

// formState is one of the screen's forms: a request under way, and what
// came of the last one.
type formState struct {
	busy bool
	err  string
	done string
}

// coopHandlers are the screen's event handlers; any may be nil (tests).
type coopHandlers struct {
	plan, join, cancel, closeDialog, confirmCancel app.EventHandler
	setCost, grant, revoke, notices                app.EventHandler
}

// chosenPlan is the plan to join with: the one chosen, or the first.
func chosenPlan(st coopState) string {
	for _, p := range st.info.Plans {
		if p.Name == st.plan {
			return p.Name
		}
	}
	if len(st.info.Plans) > 0 {
		return st.info.Plans[0].Name
	}
	return ""
}

// planText says what a plan costs: "£10.00 a month".
func planText(p wire.CoopPlan) string {
	per := p.Interval
	switch p.Interval {
	case "month":
		per = "a month"
	case "year":
		per = "a year"
	}
	return formatMoney(p.Amount, p.Currency) + " " + per
}

// planLabel names a plan beside its price: "Monthly: £10.00 a month".
func planLabel(p wire.CoopPlan) string {
	name := p.Name
	if name != "" {
		name = strings.ToUpper(name[:1]) + name[1:] + ": "
	}
	return name + planText(p)
}

// offeredProviders are the known providers the relay offers, in order.
func offeredProviders(info wire.CoopInfo) []struct{ name, label string } {
	var out []struct{ name, label string }
	for _, p := range knownProviders {
		if slices.Contains(info.Providers, p.name) {
			out = append(out, p)
		}
	}
	return out
}

// dateText is a day as the screen says it: "12 March 2026".
func dateText(ms int64, now time.Time) string {
	return time.UnixMilli(ms).In(now.Location()).Format("2 January 2006")
}

// coopName is the co-op as a sentence names it.
func coopName(info wire.CoopInfo) string {
	if n := strings.TrimSpace(info.Name); n != "" {
		return n
	}
	return "a members' co-operative"
}

// coopView draws the Co-op screen.
func coopView(st coopState, h coopHandlers) app.UI {
	info := st.info.CoopInfo
	return app.Div().ID("coop").Class("page", "coop").Body(
		app.Div().Class("page-head").Body(
			app.H1().TabIndex(-1).Text("Co-op"),
		),
		app.P().ID("coop-about").Class("lead").Text(
			"Mutual is run by "+coopName(info)+", a co-operative of the people who use it. "+
				"Its members' dues pay for it, not advertising or investors: it makes no profit, "+
				"and what members pay covers what it costs to run."),
		checkoutBanner(st),
		app.If(st.loadErr != "", func() app.UI { return app.P().Class("error").Role("alert").Text(st.loadErr) }),
		app.If(!st.loaded && st.loadErr == "", func() app.UI { return app.P().Class("hint").Role("status").Text("Loading the co-op's figures…") }),
		app.If(st.loaded, func() app.UI {
			return app.Div().Body(
				membershipCard(st, h),
				figuresCard(info),
				historyCard(info),
				noticesCard(st, h.notices),
				app.If(st.info.HasRole(wire.RoleOperator), func() app.UI { return operatorCard(st, h) }),
			)
		}),
		cancelDialog(st, h),
	)
}

// checkoutBanner thanks someone back from paying, or says that a
// payment was left; nil otherwise.
func checkoutBanner(st coopState) app.UI {
	switch {
	case st.checkout == checkoutDone && st.loaded && st.info.Membership.Status.Paying():
		return app.P().ID("checkout-status").Class("coop-banner", "success").Role("status").
			Text("Thank you: you are a member of the co-op.")
	case st.checkout == checkoutDone:
		return app.P().ID("checkout-status").Class("coop-banner").Role("status").
			Text("Thank you: your membership starts when the payment is confirmed.")
	case st.checkout == checkoutCanceled:
		return app.P().ID("checkout-status").Class("coop-banner").Role("status").
			Text("You left the payment page: nothing was paid, and you are not a member.")
	}
	return nil
}

// membershipText says where the account's membership stands.
func membershipText(m wire.CoopMembership, now time.Time) string {
	switch m.Status {
	case wire.MemberActive:
		return "You are a member. Thank you for paying for Mutual."
	case wire.MemberGrace:
		s := "Your last payment did not go through."
		if m.GraceUntilMS > 0 {
			s += " You remain a member until " + dateText(m.GraceUntilMS, now) + "."
		}
		if m.Provider != "" {
			s += " Check your payment details with " + providerName(m.Provider) + "."
		}
		return s
	case wire.MemberPending:
		return "Your membership starts when your first payment is confirmed."
	case wire.MemberLapsed:
		return "Your membership lapsed: its payments did not go through. You can join again."
	case wire.MemberCanceled:
		return "Your membership is cancelled. You can join again."
	default:
		return "You are not a member yet."
	}
}

// roleLabels names the roles the account has now.
func roleLabels(roles []wire.CoopRole) []string {
	var out []string
	for _, r := range []wire.CoopRole{wire.RoleMember, wire.RoleOperator, wire.RoleContributor} {
		if slices.Contains(roles, r) {
			out = append(out, r.String())
		}
	}
	return out
}

// membershipCard is the account's membership: its status, its plan and
// next payment, cancelling it, or joining.
func membershipCard(st coopState, h coopHandlers) app.UI {
	m := st.info.Membership
	roles := roleLabels(st.info.Roles)
	paying := m.Status.Paying()
	return app.Section().ID("membership").Class("card").DataSet("status", m.Status.String()).
		Aria("labelledby", "membership-heading").Body(
		app.H2().ID("membership-heading").Text("Your membership"),
		app.P().ID("membership-status").Text(membershipText(m, st.now)),
		app.If(paying || len(roles) > 0, func() app.UI {
			return app.Dl().Class("facts").Body(
				app.If(paying && m.Amount > 0, func() app.UI {
					return app.Div().Class("facts-row").Body(
						app.Dt().Text("Dues"),
						app.Dd().ID("membership-plan").Text(planText(wire.CoopPlan{Name: m.Plan, Amount: m.Amount, Currency: m.Currency, Interval: planInterval(st.info.CoopInfo, m.Plan)})+providerSuffix(m.Provider)),
					)
				}),
				app.If(paying && m.NextPaymentMS > 0, func() app.UI {
					return app.Div().Class("facts-row").Body(
						app.Dt().Text("Next payment"),
						app.Dd().ID("next-payment").Text(dateText(m.NextPaymentMS, st.now)),
					)
				}),
				app.If(len(roles) > 0, func() app.UI {
					return app.Div().Class("facts-row").Body(
						app.Dt().Text("Roles"),
						app.Dd().ID("coop-roles").Body(app.Range(roles).Slice(func(i int) app.UI {
							return app.Span().Class("badge", "badge-role").DataSet("role", roles[i]).Text(roles[i])
						})),
					)
				}),
			)
		}),
		app.If(paying, func() app.UI {
			return app.Button().ID("cancel-membership").Type("button").Class("button").
				Disabled(st.busy).OnClick(h.cancel).Text("Cancel membership")
		}).Else(func() app.UI { return joinForm(st, h) }),
		app.If(st.err != "", func() app.UI { return app.P().Class("error").Role("alert").Text(st.err) }),
	)
}

// planInterval is the interval of the plan named plan, "month" if it is
// not offered any more.
func planInterval(info wire.CoopInfo, plan string) string {
	for _, p := range info.Plans {
		if p.Name == plan {
			return p.Interval
		}
	}
	return "month"
}

// providerSuffix says who takes the dues: " (Stripe)".
func providerSuffix(p string) string {
	if p == "" {
		return ""
	}
	return " (" + providerName(p) + ")"
}

// joinForm offers the plans and the providers to become a member with.
func joinForm(st coopState, h coopHandlers) app.UI {
	info := st.info.CoopInfo
	providers := offeredProviders(info)
	if len(providers) == 0 || len(info.Plans) == 0 {
		return app.P().ID("join-unavailable").Class("hint").Text("This server does not take memberships yet.")
	}
	plan := chosenPlan(st)
	return app.Div().ID("join").Class("stack").Body(
		app.H3().Text("Become a member"),
		app.P().Class("hint").Text("You pay on your payment provider's page, then come back here. You can cancel at any time."),
		app.FieldSet().Class("plans").Body(
			app.Legend().Text("Dues"),
			app.Range(info.Plans).Slice(func(i int) app.UI {
				p := info.Plans[i]
				id := "plan-" + p.Name
				return app.Div().Class("plan").Body(
					app.Input().ID(id).Type("radio").Name("coop-plan").Value(p.Name).
						Checked(p.Name == plan).OnChange(h.plan),
					app.Label().For(id).Text(planLabel(p)),
				)
			}),
		),
		app.Div().Class("row").Body(app.Range(providers).Slice(func(i int) app.UI {
			p := providers[i]
			label := p.label
			if st.joining == p.name {
				label = "Opening " + providerName(p.name) + "…"
			}
			return app.Button().ID("join-"+p.name).Type("button").Class("button", "button-primary").
				DataSet("provider", p.name).Disabled(st.joining != "").OnClick(h.join).Text(label)
		})),
		app.If(st.joinErr != "", func() app.UI { return app.P().ID("join-error").Class("error").Role("alert").Text(st.joinErr) }),
	)
}

// figuresCard is the current month's figures and its costs.
func figuresCard(info wire.CoopInfo) app.UI {
	if len(info.Months) == 0 {
		return app.Section().ID("coop-figures").Class("card").Aria("labelledby", "figures-heading").Body(
			app.H2().ID("figures-heading").Text("This month"),
			app.P().Class("hint").Text("No figures yet."),
		)
	}
	m := &info.Months[0]
	cur := info.Currency
	perMember := "No members yet"
	if n := m.UsersPerMember(); m.Members > 0 {
		perMember = strconv.FormatInt(n, 10)
	}
	fact := func(id, dt, dd string) app.UI {
		v := app.Dd().ID(id).Text(dd)
		if strings.ContainsRune(dd, ' ') {
			v = v.Class("fact-words") // a sentence, not a figure
		}
		return app.Div().Class("facts-row").Body(app.Dt().Text(dt), v)
	}
	return app.Section().ID("coop-figures").Class("card").Aria("labelledby", "figures-heading").Body(
		app.H2().ID("figures-heading").Text(monthName(m.Month)),
		app.Dl().Class("facts", "coop-facts").Body(
			fact("fig-users", "Active users", strconv.FormatInt(m.ActiveUsers, 10)),
			fact("fig-members", "Paying members", strconv.FormatInt(m.Members, 10)),
			fact("fig-cost-per-user", "Cost per user a month", formatMoney(m.CostPerUser(), cur)),
			fact("fig-per-member", "Users each member supports", perMember),
			fact("fig-coverage", "Costs covered by dues", coverageText(m)),
		),
		app.H3().Text("Costs"),
		costsTable(m, cur),
	)
}

// costsTable is a month's costs, line by line, with their total.
func costsTable(m *wire.CoopMonth, cur string) app.UI {
	if len(m.Costs) == 0 {
		return app.P().ID("coop-costs").Class("hint").Text("No costs entered for this month yet.")
	}
	return app.Table().ID("coop-costs").Class("coop-costs").Body(
		app.THead().Body(app.Tr().Body(
			app.Th().Scope("col").Text("What"),
			app.Th().Scope("col").Class("amount").Text("Amount"),
		)),
		app.TBody().Body(app.Range(m.Costs).Slice(func(i int) app.UI {
			c := m.Costs[i]
			return app.Tr().DataSet("category", c.Category).Body(
				app.Th().Scope("row").Body(
					app.Span().Class("cost-category").Text(c.Category),
					app.If(c.Note != "", func() app.UI { return app.Span().Class("cost-note").Text(c.Note) }),
				),
				app.Td().Class("amount").Text(formatMoney(c.Amount, cur)),
			)
		})),
		app.TFoot().Body(app.Tr().Body(
			app.Th().Scope("row").Text("Total"),
			app.Td().ID("coop-total").Class("amount").Text(formatMoney(m.TotalCosts(), cur)),
		)),
	)
}

// historyCard is the chart of the months.
func historyCard(info wire.CoopInfo) app.UI {
	return app.Section().ID("coop-history-card").Class("card").Aria("labelledby", "history-heading").Body(
		app.H2().ID("history-heading").Text("Costs and dues"),
		coopHistory(info.Months, info.Currency),
	)
}

// noticesCard is the switch of the yearly notice.
func noticesCard(st coopState, onChange app.EventHandler) app.UI {
	return app.Section().ID("coop-notices-card").Class("card").Aria("labelledby", "coop-notices-heading").Body(
		app.H2().ID("coop-notices-heading").Text("Notices"),
		noticesSwitch(!st.info.NoticesOff, st.loaded && !st.notices.busy, onChange),
		formResult(st.notices),
	)
}

// noticesSwitch is the switch of the yearly co-op notice, here and in
// the settings.
func noticesSwitch(on, enabled bool, onChange app.EventHandler) app.UI {
	return app.Div().Body(
		app.Div().Class("switch-row").Body(
			app.Input().ID("coop-notices").Type("checkbox").Class("switch").Checked(on).
				Disabled(!enabled).Aria("describedby", "coop-notices-hint").OnChange(onChange),
			app.Label().For("coop-notices").Text("Yearly co-op notice"),
		),
		app.P().ID("coop-notices-hint").Class("hint").Text("Once a year, the co-op tells you how many contacts away you are from someone who pays for Mutual. Notices about your own membership always come."),
	)
}

// operatorCard is what an operator enters: a month's cost lines, and who
// else operates or contributes.
func operatorCard(st coopState, h coopHandlers) app.UI {
	cur := st.info.Currency
	month := st.now.UTC().Format("2006-01")
	if len(st.info.Months) > 0 {
		month = st.info.Months[0].Month
	}
	return app.Section().ID("coop-operator").Class("card").Aria("labelledby", "operator-heading").Body(
		app.H2().ID("operator-heading").Text("For operators"),
		app.Form().ID("cost-form").Class("stack").OnSubmit(h.setCost).Body(
			app.H3().Text("Enter a cost"),
			app.Label().For("cost-month").Text("Month"),
			app.Input().ID("cost-month").Type("month").Value(month).Required(true),
			app.Label().For("cost-category").Text("Category"),
			app.Input().ID("cost-category").Type("text").List("cost-categories").MaxLength(wire.MaxCoopText).
				Placeholder("infrastructure").Required(true),
			app.DataList().ID("cost-categories").Body(
				app.Option().Value("infrastructure"),
				app.Option().Value("sms"),
				app.Option().Value("email"),
				app.Option().Value("staff"),
			),
			app.Label().For("cost-amount").Text("Amount ("+strings.ToUpper(cur)+")"),
			app.Input().ID("cost-amount").Type("text").Attr("inputmode", "decimal").Placeholder("0.00").
				Required(true).Aria("describedby", "cost-amount-hint"),
			app.P().ID("cost-amount-hint").Class("hint").Text("The month's amount for this category replaces the one entered before; 0 removes the line."),
			app.Label().For("cost-note").Text("Note"),
			app.Input().ID("cost-note").Type("text").MaxLength(wire.MaxCoopNote).Placeholder("Optional"),
			app.Div().Class("row").Body(
				app.Button().ID("save-cost").Type("submit").Class("button", "button-primary").Disabled(st.cost.busy).Text("Save cost"),
			),
			formResult(st.cost),
		),
		app.Form().ID("grant-form").Class("stack").OnSubmit(h.grant).Body(
			app.H3().Text("Roles"),
			app.Label().For("grant-address").Text("Email address"),
			app.Input().ID("grant-address").Type("email").Attr("autocomplete", "off").MaxLength(wire.MaxAddress).
				Placeholder("someone@example.org").Required(true),
			app.Label().For("grant-role").Text("Role"),
			app.Select().ID("grant-role").Body(
				app.Option().Value(strconv.FormatUint(uint64(wire.RoleOperator), 10)).Text("Operator"),
				app.Option().Value(strconv.FormatUint(uint64(wire.RoleContributor), 10)).Text("Contributor"),
			),
			app.Div().Class("row").Body(
				app.Button().ID("grant-role-button").Type("submit").Class("button", "button-primary").Disabled(st.grant.busy).Text("Grant"),
				app.Button().ID("revoke-role-button").Type("button").Class("button").Disabled(st.grant.busy).OnClick(h.revoke).Text("Revoke"),
			),
			formResult(st.grant),
		),
	)
}

// formResult says how a form's last request went.
func formResult(f formState) app.UI {
	switch {
	case f.err != "":
		return app.P().Class("error").Role("alert").Text(f.err)
	case f.done != "":
		return app.P().Class("success").Role("status").Text(f.done)
	}
	return nil
}

// cancelDialog asks before cancelling the membership: a modal <dialog>.
func cancelDialog(st coopState, h coopHandlers) app.UI {
	m := st.info.Membership
	text := "Your dues stop and you will no longer be a member."
	if m.Provider != "" {
		text = "Your dues at " + providerName(m.Provider) + " stop and you will no longer be a member."
	}
	label := "Cancel membership"
	if st.busy {
		label = "Cancelling…"
	}
	return app.Dialog().ID("coop-dialog").Class("dialog").Aria("labelledby", "coop-dialog-title").
		Aria("describedby", "coop-dialog-text").Body(
		app.Form().Class("stack").OnSubmit(h.confirmCancel).Body(
			app.H2().ID("coop-dialog-title").Text("Cancel your membership?"),
			app.P().ID("coop-dialog-text").Text(text),
			app.Div().Class("row", "row-end").Body(
				app.Button().ID("keep-membership").Type("button").Class("button").
					Disabled(st.busy).OnClick(h.closeDialog).Text("Keep it"),
				app.Button().ID("confirm-cancel-membership").Type("submit").Class("button", "button-danger").
					Disabled(st.busy).Text(label),
			),
		),
	)
}
