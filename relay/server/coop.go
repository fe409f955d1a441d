package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mutualcoop/mutual/relay/coop"
	"github.com/mutualcoop/mutual/relay/gateway"
	"github.com/mutualcoop/mutual/relay/limit"
	"github.com/mutualcoop/mutual/relay/wire"
)

// The co-op (relay/coop) runs in every relay process that has
// Config.Coop, over the directory's co-op records: it answers the
// gateway's Coop frames, takes the payment providers' webhooks at
// POST /v1/coop/webhooks/{stripe,gocardless}, serves the public figures
// at GET /coop and /coop.json, and in the background lapses the
// memberships whose grace ended (every minute) and sends the day's
// yearly notices (every hour). Of the processes of a cluster, one does
// each round (they share a lease in the rate limits), and a round done
// twice does no harm: a notice written twice is one notice to clients.

// Intervals of the co-op's background work.
const (
	coopSweepEvery  = time.Minute
	coopYearlyEvery = time.Hour
	// webhookReadTimeout bounds the reading of a webhook's body.
	webhookReadTimeout = 30 * time.Second
)

// Leases of the co-op's rounds (keys in the rate limits).
const (
	coopSweepLease  = "coop-grace-sweep"
	coopYearlyLease = "coop-yearly"
)

// coopWork is what the background loop needs of the co-op.
type coopWork interface {
	SweepGrace(ctx context.Context, now time.Time) (int, error)
	Yearly(ctx context.Context, now time.Time) (int, error)
}

var (
	_ gateway.Coop = (*coop.Service)(nil)
	_ coopWork     = (*coop.Service)(nil)
)

// newCoop makes the co-op's service over the directory and bus of parts.
func (s *Server) newCoop(ctx context.Context, cfg coop.Config) (*coop.Service, error) {
	st, ok := s.parts.Directory.(coop.Store)
	if !ok {
		return nil, errors.New("server: the directory keeps no co-op records")
	}
	if cfg.Accounts == nil {
		cfg.Accounts = s.parts.Accounts
	}
	cfg.Logger = s.cfg.Logger
	cfg.Metrics = s.metrics.coopHooks()
	svc, err := coop.New(ctx, st, s.parts.Bus, cfg)
	if err != nil {
		return nil, err
	}
	return svc, nil
}

// mountCoop serves the co-op's webhooks and public pages on mux.
func mountCoop(mux *http.ServeMux, svc *coop.Service) {
	for _, p := range []coop.ProviderName{coop.Stripe, coop.GoCardless} {
		mux.Handle("POST /v1/coop/webhooks/"+string(p), readDeadline(svc.Webhook(p), webhookReadTimeout))
	}
	public := svc.PublicHandler()
	mux.Handle("GET /coop", public)
	mux.Handle("GET /coop.json", public)
}

// readDeadline gives a request d to send its body: the server sets no
// read timeout, since WebSockets live long.
func readDeadline(h http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// An error means the connection cannot have a deadline (HTTP/2 in
		// tests); the body is still bounded by the handler.
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(d))
		h.ServeHTTP(w, r)
	})
}

// runCoop runs the co-op's background work until ctx ends: the grace
// sweep every coopSweepEvery, the yearly notices every coopYearlyEvery,
// each when this process holds its lease, and both once at start.
func runCoop(ctx context.Context, w coopWork, lease limit.Store, now func() time.Time, log *slog.Logger) {
	if now == nil {
		now = time.Now
	}
	sweep := time.NewTicker(coopSweepEvery)
	defer sweep.Stop()
	yearly := time.NewTicker(coopYearlyEvery)
	defer yearly.Stop()
	round := func(key string, every time.Duration, name string, f func(context.Context, time.Time) (int, error)) {
		// A little less than the interval: a ticker that fires a moment
		// early still finds the lease back.
		ok, _, err := lease.Take(ctx, key, limit.Rate{Every: every - every/10, Burst: 1}, 1, now())
		if err != nil || !ok {
			return
		}
		if _, err := f(ctx, now()); err != nil && ctx.Err() == nil {
			log.Warn("co-op: round failed", "round", name, "err", err)
		}
	}
	round(coopSweepLease, coopSweepEvery, "grace", w.SweepGrace)
	round(coopYearlyLease, coopYearlyEvery, "yearly", w.Yearly)
	for {
		select {
		case <-ctx.Done():
			return
		case <-sweep.C:
			round(coopSweepLease, coopSweepEvery, "grace", w.SweepGrace)
		case <-yearly.C:
			round(coopYearlyLease, coopYearlyEvery, "yearly", w.Yearly)
		}
	}
}

// coopMetrics are the co-op's metrics, registered with the server's.
type coopMetrics struct {
	webhooks  *prometheus.CounterVec
	notices   *prometheus.CounterVec
	checkouts *prometheus.CounterVec
}

func newCoopMetrics(reg *prometheus.Registry) *coopMetrics {
	m := &coopMetrics{
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mutual_coop_webhooks_total", Help: "Payment providers' webhooks, by provider and outcome (applied, duplicate, bad_signature, malformed, failed).",
		}, []string{"provider", "outcome"}),
		notices: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mutual_coop_notices_total", Help: "Co-op notices written to inboxes, by kind (dues, degrees, membership).",
		}, []string{"kind"}),
		checkouts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mutual_coop_checkouts_total", Help: "Checkouts created at payment providers, by provider and outcome (ok, failed).",
		}, []string{"provider", "outcome"}),
	}
	reg.MustRegister(m.webhooks, m.notices, m.checkouts)
	return m
}

func (m *metricsSet) coopHooks() coop.Metrics {
	cm := newCoopMetrics(m.registry)
	return coop.Metrics{
		Webhook: func(p coop.ProviderName, outcome string) { cm.webhooks.WithLabelValues(string(p), outcome).Inc() },
		Notice:  func(k wire.CoopNoticeKind) { cm.notices.WithLabelValues(noticeKind(k)).Inc() },
		Checkout: func(p coop.ProviderName, ok bool) {
			outcome := "ok"
			if !ok {
				outcome = "failed"
			}
			cm.checkouts.WithLabelValues(string(p), outcome).Inc()
		},
	}
}

// noticeKind names a notice's kind for a metric's label.
func noticeKind(k wire.CoopNoticeKind) string {
	switch k {
	case wire.NoticeDues:
		return "dues"
	case wire.NoticeDegrees:
		return "degrees"
	case wire.NoticeMembership:
		return "membership"
	}
	return strconv.Itoa(int(k))
}
