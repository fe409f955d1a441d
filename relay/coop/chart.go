package coop

import "time"

// chart is the public page's bar chart of dues and costs by month, laid
// out here so that the page needs no script: a pair of bars a month, the
// oldest on the left, scaled to the largest amount.
type chart struct {
	Width, Height, Base int // the drawing's size; the bars' baseline
	Bars                []bar
	Labels              []label
	DuesFill, CostsFill string // the legend's colours
}

type bar struct {
	X, Y, W, H int
	Fill       string
	Label      string // what a pointer over it shows: "2026-12 dues: £10.00"
}

type label struct {
	X, Y int
	Text string
}

// Colours of the chart's bars: dues green, costs grey (each with a
// contrast above 3:1 on white).
const (
	duesFill  = "#2e7d32"
	costsFill = "#757575"
)

// drawChart lays out the chart of months (newest first, as Figures
// gives them) in currency.
func drawChart(months []FiguresMonth, currency string) chart {
	const (
		slot   = 50 // width of a month
		barW   = 18
		top    = 24  // room for the legend
		plot   = 180 // height of the tallest bar
		labels = 20  // room under the baseline for the month's name
	)
	c := chart{Width: slot * len(months), Height: top + plot + labels, Base: top + plot, DuesFill: duesFill, CostsFill: costsFill}
	var most int64
	for _, m := range months {
		most = max(most, m.Dues, m.TotalCosts)
	}
	height := func(v int64) int {
		if most <= 0 || v <= 0 {
			return 0
		}
		return max(1, int(float64(v)*plot/float64(most)))
	}
	for i := range months {
		m := &months[len(months)-1-i]
		x := i * slot
		dues, costs := height(m.Dues), height(m.TotalCosts)
		c.Bars = append(c.Bars,
			bar{X: x + slot/2 - barW, Y: c.Base - dues, W: barW, H: dues, Fill: duesFill, Label: m.Month + " dues: " + money(m.Dues, currency)},
			bar{X: x + slot/2, Y: c.Base - costs, W: barW, H: costs, Fill: costsFill, Label: m.Month + " costs: " + money(m.TotalCosts, currency)},
		)
		c.Labels = append(c.Labels, label{X: x + slot/2, Y: c.Height - 5, Text: monthName(m.Month)})
	}
	return c
}

// monthName is a month's short name ("Dec"), or "Jan 27" for a January.
func monthName(month string) string {
	t, err := time.Parse(monthLayout, month)
	if err != nil {
		return month
	}
	if t.Month() == time.January {
		return t.Format("Jan 06")
	}
	return t.Format("Jan")
}
