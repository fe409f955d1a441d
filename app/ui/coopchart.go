package ui

import (
	"html"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/relay/wire"
)

// The co-op's history is a bar chart of each month's costs beside its
// dues, drawn as inline SVG. Its text is sized by the style sheet in rem,
// not scaled with the drawing, so that it follows the browser's text
// size: the bars are laid out in percentages of the chart's width and
// the labels placed in em. A wide screen shows the last chartMonthsWide
// months, a phone the last chartMonthsNarrow; the numbers are also in a
// table that only screen readers read.
const (
	chartMonthsWide   = 12
	chartMonthsNarrow = 6
)

// monthTime parses a "YYYY-MM" month; ok is false for anything else.
func monthTime(month string) (time.Time, bool) {
	t, err := time.Parse("2006-01", month)
	return t, err == nil
}

// monthName is a month as a heading says it: "December 2026".
func monthName(month string) string {
	if t, ok := monthTime(month); ok {
		return t.Format("January 2006")
	}
	return month
}

// niceCeil is the smallest of 1, 2, 2.5 and 5 times a power of ten that
// is at least v (v > 0): the top of the chart's scale.
func niceCeil(v int64) int64 {
	p := int64(1)
	for p*10 <= v {
		p *= 10
	}
	for _, m := range []int64{10, 20, 25, 50, 100} {
		if n := p * m / 10; n >= v {
			return n
		}
	}
	return p * 10
}

// chartMonths is the last n months of months (newest first), oldest
// first.
func chartMonths(months []wire.CoopMonth, n int) []wire.CoopMonth {
	if len(months) > n {
		months = months[:n]
	}
	out := slices.Clone(months)
	slices.Reverse(out)
	return out
}

// pct writes a percentage for an SVG attribute.
func pct(v float64) string {
	return strconv.FormatFloat(v, 'f', 2, 64) + "%"
}

// chartSVG draws months (oldest first) as an SVG bar chart whose title
// has the ID titleID. class names its size ("wide" or "narrow").
func chartSVG(months []wire.CoopMonth, currency, titleID, class string) string {
	var top int64
	for i := range months {
		top = max(top, months[i].TotalCosts(), months[i].Dues)
	}
	if top <= 0 {
		top = 1
	}
	top = niceCeil(top)
	var b strings.Builder
	b.WriteString(`<svg class="chart chart-` + class + `" role="img" aria-labelledby="` + titleID + `" focusable="false">`)
	b.WriteString(`<title id="` + titleID + `">` + html.EscapeString(chartTitle(months)) + `</title>`)
	// The plot fills the top of the drawing and a band at the bottom
	// holds the months' names: its height in the style sheet is in rem,
	// so both grow with the text.
	const plotTop, plotBottom = 12.0, 80.0 // percent of the height
	scale := func(v int64) float64 { return float64(v) / float64(top) * (plotBottom - plotTop) }
	for _, g := range []struct {
		v   int64
		cls string
	}{{top, "chart-grid"}, {top / 2, "chart-grid"}, {0, "chart-axis"}} {
		y := pct(plotBottom - scale(g.v))
		b.WriteString(`<line class="` + g.cls + `" x1="0" x2="100%" y1="` + y + `" y2="` + y + `"/>`)
	}
	b.WriteString(`<text class="chart-scale" x="0" y="` + pct(plotTop) + `" dy="-0.35em">` + html.EscapeString(formatMoneyWhole(top, currency)) + `</text>`)
	slot := 100 / float64(max(len(months), 1))
	bar := slot * 0.32
	for i := range months {
		m := &months[i]
		x := slot * float64(i)
		for j, v := range []struct {
			amount int64
			cls    string
		}{{m.TotalCosts(), "chart-costs"}, {m.Dues, "chart-dues"}} {
			h := scale(v.amount)
			bx := x + slot*0.16 + float64(j)*bar
			b.WriteString(`<rect class="` + v.cls + `" x="` + pct(bx) + `" width="` + pct(bar) +
				`" y="` + pct(plotBottom-h) + `" height="` + pct(h) + `"/>`)
		}
		name, year := m.Month, ""
		if t, ok := monthTime(m.Month); ok {
			name = t.Format("Jan")
			if i == 0 || t.Month() == time.January {
				year = t.Format("2006")
			}
		}
		cx := pct(x + slot/2)
		b.WriteString(`<text class="chart-month" text-anchor="middle" x="` + cx + `" y="` + pct(plotBottom) + `" dy="1.2em">` + html.EscapeString(name) + `</text>`)
		if year != "" {
			b.WriteString(`<text class="chart-month" text-anchor="middle" x="` + cx + `" y="` + pct(plotBottom) + `" dy="2.4em">` + year + `</text>`)
		}
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// chartTitle names what the chart shows.
func chartTitle(months []wire.CoopMonth) string {
	switch len(months) {
	case 0:
		return "Costs and dues per month"
	case 1:
		return "Costs and dues in " + monthName(months[0].Month)
	}
	return "Costs and dues per month, " + monthName(months[0].Month) + " to " + monthName(months[len(months)-1].Month)
}

// coverageText says how much of a month's costs its dues cover.
func coverageText(m *wire.CoopMonth) string {
	c := m.Coverage()
	if c < 0 {
		return "No costs entered"
	}
	return strconv.FormatInt(c, 10) + "%"
}

// coopHistory is the chart of the co-op's months (newest first), its
// legend, and the table of its numbers for screen readers.
func coopHistory(months []wire.CoopMonth, currency string) app.UI {
	if len(months) == 0 {
		return app.P().Class("hint").Text("No figures yet.")
	}
	wide := chartMonths(months, chartMonthsWide)
	narrow := chartMonths(months, chartMonthsNarrow)
	table := chartMonths(months, chartMonthsWide)
	return app.Div().ID("coop-chart").Class("coop-chart").Body(
		app.Raw(chartSVG(wide, currency, "coop-chart-title", "wide")),
		app.Raw(chartSVG(narrow, currency, "coop-chart-title-narrow", "narrow")),
		app.Ul().Class("chart-legend").Aria("hidden", "true").Body(
			app.Li().Body(app.Span().Class("chart-key", "chart-key-costs"), app.Text("Costs")),
			app.Li().Body(app.Span().Class("chart-key", "chart-key-dues"), app.Text("Dues")),
		),
		app.Table().ID("coop-history").Class("sr-only").Body(
			app.Caption().Text("Costs and dues per month"),
			app.THead().Body(app.Tr().Body(
				app.Th().Scope("col").Text("Month"),
				app.Th().Scope("col").Text("Costs"),
				app.Th().Scope("col").Text("Dues"),
				app.Th().Scope("col").Text("Dues cover"),
			)),
			app.TBody().Body(app.Range(table).Slice(func(i int) app.UI {
				m := &table[i]
				return app.Tr().Body(
					app.Th().Scope("row").Text(monthName(m.Month)),
					app.Td().Text(formatMoney(m.TotalCosts(), currency)),
					app.Td().Text(formatMoney(m.Dues, currency)),
					app.Td().Text(coverageText(m)),
				)
			})),
		),
	)
}
