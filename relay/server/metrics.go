package server

import (
	"strconv"
	"time"

	"github.com/mutualcoop/mutual/relay/gateway"
	"github.com/mutualcoop/mutual/relay/metrics"
	"github.com/mutualcoop/mutual/relay/router"
	"github.com/mutualcoop/mutual/relay/wire"
)

// metricsSet is what /metrics shows. Labels are frame types, close codes
// and reasons: never a user, an address or anything from a message.
type metricsSet struct {
	registry     *metrics.Registry
	connections  *metrics.Gauge
	closes       *metrics.CounterVec
	frames       *metrics.CounterVec
	accepted     *metrics.Counter
	appendTime   *metrics.Histogram
	delivered    *metrics.Counter
	authFailures *metrics.Counter
	routed       *metrics.Counter
	rejected     *metrics.CounterVec
	routeTime    *metrics.Histogram
}

func newMetrics() *metricsSet {
	r := metrics.NewRegistry()
	r.RegisterRuntime()
	return &metricsSet{
		registry:     r,
		connections:  r.NewGauge("mutual_gateway_connections", "Open WebSocket connections."),
		closes:       r.NewCounterVec("mutual_gateway_closes_total", "Connections closed, by close code.", "code"),
		frames:       r.NewCounterVec("mutual_gateway_frames_total", "Frames received, by type.", "type"),
		accepted:     r.NewCounter("mutual_gateway_accepted_total", "Messages made durable and answered accepted."),
		appendTime:   r.NewHistogram("mutual_gateway_append_seconds", "Time to make a batch of sends durable.", metrics.LatencyBuckets()),
		delivered:    r.NewCounter("mutual_gateway_delivered_total", "Deliver frames queued to devices."),
		authFailures: r.NewCounter("mutual_gateway_auth_failures_total", "Failed device authentications."),
		routed:       r.NewCounter("mutual_router_routed_total", "Records appended to inboxes."),
		rejected:     r.NewCounterVec("mutual_router_rejected_total", "Messages refused for a recipient, by reason.", "reason"),
		routeTime:    r.NewHistogram("mutual_router_batch_seconds", "Time to route one batch of the in topic.", metrics.LatencyBuckets()),
	}
}

func (m *metricsSet) gatewayHooks() gateway.Metrics {
	return gateway.Metrics{
		Connected: func(d int) { m.connections.Add(int64(d)) },
		Closed:    func(code int) { m.closes.With(strconv.Itoa(code)).Inc() },
		Frame:     func(t wire.Type) { m.frames.With(t.String()).Inc() },
		Accepted: func(n int, d time.Duration) {
			m.accepted.Add(uint64(n))
			m.appendTime.ObserveDuration(d)
		},
		Delivered:    func(n int) { m.delivered.Add(uint64(n)) },
		AuthFailures: m.authFailures.Inc,
	}
}

func (m *metricsSet) routerHooks() router.Metrics {
	return router.Metrics{
		Routed:   func(n int) { m.routed.Add(uint64(n)) },
		Rejected: func(c wire.Code) { m.rejected.With(c.String()).Inc() },
		Batch:    func(_ int, d time.Duration) { m.routeTime.ObserveDuration(d) },
	}
}
