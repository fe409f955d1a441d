package coop

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/mutualcoop/mutual/relay/wire"
)

// publicMonths is how many months the public pages show, unless
// /coop.json is asked for more (?months=N, up to wire.MaxCoopMonths).
const publicMonths = 12

// publicMaxAge is how long the public pages may be cached.
const publicMaxAge = time.Minute

//go:embed public.html
var publicPage string

// Figures is the co-op's public figures, as /coop.json gives them.
type Figures struct {
	Name     string         `json:"name"`
	Currency string         `json:"currency"`
	Months   []FiguresMonth `json:"months"` // newest first
}

// FiguresMonth is one month of Figures: wire.CoopMonth with its derived
// figures, computed by its methods.
type FiguresMonth struct {
	Month          string        `json:"month"`
	ActiveUsers    int64         `json:"active_users"`
	Members        int64         `json:"members"`
	Dues           int64         `json:"dues"`
	Costs          []FiguresCost `json:"costs"`
	TotalCosts     int64         `json:"total_costs"`
	CostPerUser    int64         `json:"cost_per_user"`
	UsersPerMember int64         `json:"users_per_member"`
	Coverage       int64         `json:"coverage"` // whole percent; -1 without costs
}

// PublicHandler serves the co-op's public figures, to anyone, without a
// login: GET /coop, a page (no script, no style sheet, an SVG chart drawn
// here: it loads nothing and runs under the relay's strictest Content
// Security Policy) and GET /coop.json. Both may be cached for a minute.
func (s *Service) PublicHandler() http.Handler {
	page := template.Must(template.New("coop").Funcs(template.FuncMap{
		"money":    func(amount int64) string { return money(amount, s.cfg.Currency) },
		"coverage": coverageText,
	}).Parse(publicPage))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /coop", func(w http.ResponseWriter, r *http.Request) {
		f, ok := s.publicFigures(w, r, publicMonths)
		if !ok {
			return
		}
		data := struct {
			Figures
			Current *FiguresMonth
			Chart   chart
		}{Figures: f, Current: &f.Months[0], Chart: drawChart(f.Months, s.cfg.Currency)}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := page.Execute(w, data); err != nil {
			s.cfg.Logger.Warn("coop: public page", "err", err)
		}
	})
	mux.HandleFunc("GET /coop.json", func(w http.ResponseWriter, r *http.Request) {
		n := publicMonths
		if v := r.URL.Query().Get("months"); v != "" {
			var err error
			if n, err = strconv.Atoi(v); err != nil || n < 1 || n > wire.MaxCoopMonths {
				http.Error(w, fmt.Sprintf("months: 1 to %d", wire.MaxCoopMonths), http.StatusBadRequest)
				return
			}
		}
		f, ok := s.publicFigures(w, r, n)
		if !ok {
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if err := json.NewEncoder(w).Encode(f); err != nil {
			s.cfg.Logger.Debug("coop: public figures", "err", err)
		}
	})
	return mux
}

// publicFigures returns the figures of the last n months, having set
// the response's caching; on failure it answers 500 and returns false.
func (s *Service) publicFigures(w http.ResponseWriter, r *http.Request, n int) (Figures, bool) {
	months, err := s.Figures(r.Context(), n)
	if err != nil {
		s.cfg.Logger.Error("coop: public figures", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return Figures{}, false
	}
	w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(publicMaxAge.Seconds())))
	return figuresOf(s.cfg.Name, s.cfg.Currency, months), true
}

// figuresOf returns months with their derived figures, as /coop.json
// shows them.
func figuresOf(name, currency string, months []wire.CoopMonth) Figures {
	f := Figures{Name: name, Currency: currency, Months: make([]FiguresMonth, len(months))}
	for i := range months {
		m := &months[i]
		costs := make([]FiguresCost, len(m.Costs))
		for j, c := range m.Costs {
			costs[j] = FiguresCost{Category: c.Category, Amount: c.Amount, Note: c.Note}
		}
		f.Months[i] = FiguresMonth{
			Month:          m.Month,
			ActiveUsers:    m.ActiveUsers,
			Members:        m.Members,
			Dues:           m.Dues,
			Costs:          costs,
			TotalCosts:     m.TotalCosts(),
			CostPerUser:    m.CostPerUser(),
			UsersPerMember: m.UsersPerMember(),
			Coverage:       m.Coverage(),
		}
	}
	return f
}

// FiguresCost is a cost line of FiguresMonth.
type FiguresCost struct {
	Category string `json:"category"`
	Amount   int64  `json:"amount"` // minor units
	Note     string `json:"note"`
}

// coverageText is a month's Coverage for people.
func coverageText(c int64) string {
	if c < 0 {
		return "no costs entered"
	}
	return strconv.FormatInt(c, 10) + "%"
}
