package server

import (
	"context"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mutualcoop/mutual/relay/blobhttp"
	"github.com/mutualcoop/mutual/relay/gateway"
	"github.com/mutualcoop/mutual/relay/push"
	"github.com/mutualcoop/mutual/relay/router"
	"github.com/mutualcoop/mutual/relay/wire"
)

// metricsSet is what /metrics shows: the relay's own metrics and the
// standard Go runtime (go_*) and process (process_*) collectors, on a
// registry that belongs to this server (never Prometheus's global one, so
// that several servers in one process do not collide).
//
// Label values come from small fixed sets (frame types, the relay's close
// codes, wire error codes): never a user, an address or anything from a
// message.
type metricsSet struct {
	registry     *prometheus.Registry
	connections  prometheus.Gauge
	closes       *prometheus.CounterVec
	frames       *prometheus.CounterVec
	accepted     prometheus.Counter
	appendTime   prometheus.Histogram
	delivered    prometheus.Counter
	authFailures prometheus.Counter
	refused      *prometheus.CounterVec
	groupRefused *prometheus.CounterVec
	routed       prometheus.Counter
	rejected     *prometheus.CounterVec
	routeTime    prometheus.Histogram
	groupFanout  prometheus.Histogram
	groupDropped prometheus.Counter

	uploadsGranted   prometheus.Counter
	uploadsRefused   *prometheus.CounterVec
	uploadsCompleted prometheus.Counter
	blobBytesIn      prometheus.Counter
	blobBytesOut     prometheus.Counter
	blobsExpired     prometheus.Counter
	blobStoreErrors  *prometheus.CounterVec
	blobRefused      *prometheus.CounterVec

	pushSent    *prometheus.CounterVec
	pushDropped prometheus.Counter
}

// latencyBuckets are upper bounds, in seconds, for latencies from half a
// millisecond to ten seconds: a durable append takes a few milliseconds.
func latencyBuckets() []float64 {
	return []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
}

func newMetrics() *metricsSet {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	counterVec := func(name, help, label string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{label})
	}
	histogram := func(name, help string) prometheus.Histogram {
		return prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: latencyBuckets()})
	}
	m := &metricsSet{
		registry:     prometheus.NewRegistry(),
		connections:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "mutual_gateway_connections", Help: "Open WebSocket connections."}),
		closes:       counterVec("mutual_gateway_closes_total", "Connections closed, by close code.", "code"),
		frames:       counterVec("mutual_gateway_frames_total", "Frames received, by type.", "type"),
		accepted:     counter("mutual_gateway_accepted_total", "Messages made durable and answered accepted."),
		appendTime:   histogram("mutual_gateway_append_seconds", "Time to make a batch of sends durable."),
		delivered:    counter("mutual_gateway_delivered_total", "Deliver frames queued to devices."),
		authFailures: counter("mutual_gateway_auth_failures_total", "Failed device authentications."),
		refused:      counterVec("mutual_gateway_refused_total", "Connections refused before the upgrade, by the cap they did not fit.", "cap"),
		groupRefused: counterVec("mutual_gateway_set_group_refused_total", "Changes of group member lists refused, by the code of the answer.", "reason"),
		routed:       counter("mutual_router_routed_total", "Records appended to inboxes."),
		rejected:     counterVec("mutual_router_rejected_total", "Messages refused for a recipient, by reason.", "reason"),
		routeTime:    histogram("mutual_router_batch_seconds", "Time to route one batch of the in topic."),
		groupFanout: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "mutual_router_group_fanout_users", Help: "Users whose inboxes received one group message (the sender's own included).",
			Buckets: prometheus.ExponentialBuckets(1, 2, 11), // 1 to 1,024
		}),
		groupDropped: counter("mutual_router_group_dropped_total", "Group messages dropped whole: their sender had not joined the group."),

		uploadsGranted:   counter("mutual_blob_uploads_granted_total", "Uploads of new blobs granted (Upload frames)."),
		uploadsRefused:   counterVec("mutual_blob_uploads_refused_total", "Upload frames refused, by the code of the answer.", "reason"),
		uploadsCompleted: counter("mutual_blob_uploads_completed_total", "Uploads whose last byte arrived."),
		blobBytesIn:      counter("mutual_blob_received_bytes_total", "Blob bytes received and stored (PATCH bodies)."),
		blobBytesOut:     counter("mutual_blob_sent_bytes_total", "Blob bytes sent (downloads)."),
		blobsExpired:     counter("mutual_blob_expired_total", "Blobs deleted by the sweeper: expired, or uploads left unfinished."),
		blobStoreErrors:  counterVec("mutual_blob_store_errors_total", "Failures of the blob store or of the directory's blob records, by operation.", "op"),
		blobRefused:      counterVec("mutual_blob_http_refused_total", "Blob requests refused by a per-network limit: download, or failure (too many bad tokens).", "limit"),

		pushSent:    counterVec("mutual_push_sent_total", "Web Push requests sent, by result: sent, gone (the subscription was deleted) or failed.", "result"),
		pushDropped: counter("mutual_push_dropped_total", "Inbox records not looked at for pushes: the pusher's queue was full."),
	}
	m.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.connections, m.closes, m.frames, m.accepted, m.appendTime, m.delivered,
		m.authFailures, m.refused, m.groupRefused, m.routed, m.rejected, m.routeTime, m.groupFanout, m.groupDropped,
		m.uploadsGranted, m.uploadsRefused, m.uploadsCompleted, m.blobBytesIn, m.blobBytesOut, m.blobsExpired,
		m.blobStoreErrors, m.blobRefused, m.pushSent, m.pushDropped,
	)
	return m
}

// handler serves the registry to a Prometheus scraper. A collector that
// fails is logged and left out; the rest are still served.
func (m *metricsSet) handler(log *slog.Logger) http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
	})
}

func (m *metricsSet) gatewayHooks() gateway.Metrics {
	return gateway.Metrics{
		Connected: func(d int) { m.connections.Add(float64(d)) },
		Closed:    func(code int) { m.closes.WithLabelValues(strconv.Itoa(code)).Inc() },
		Frame:     func(t wire.Type) { m.frames.WithLabelValues(t.String()).Inc() },
		Accepted: func(n int, d time.Duration) {
			m.accepted.Add(float64(n))
			m.appendTime.Observe(d.Seconds())
		},
		Delivered:     func(n int) { m.delivered.Add(float64(n)) },
		AuthFailures:  m.authFailures.Inc,
		Refused:       func(name string) { m.refused.WithLabelValues(name).Inc() },
		GroupRefused:  func(c wire.Code) { m.groupRefused.WithLabelValues(c.String()).Inc() },
		UploadGranted: func(int64) { m.uploadsGranted.Inc() },
		UploadRefused: func(c wire.Code) { m.uploadsRefused.WithLabelValues(c.String()).Inc() },
	}
}

func (m *metricsSet) blobHooks() blobhttp.Metrics {
	return blobhttp.Metrics{
		Completed:  m.uploadsCompleted.Inc,
		BytesIn:    func(n int64) { m.blobBytesIn.Add(float64(n)) },
		BytesOut:   func(n int64) { m.blobBytesOut.Add(float64(n)) },
		StoreError: func(op string) { m.blobStoreErrors.WithLabelValues(op).Inc() },
		Refused:    func(why string) { m.blobRefused.WithLabelValues(why).Inc() },
	}
}

func (m *metricsSet) routerHooks() router.Metrics {
	return router.Metrics{
		Routed:       func(n int) { m.routed.Add(float64(n)) },
		Rejected:     func(c wire.Code) { m.rejected.WithLabelValues(c.String()).Inc() },
		Batch:        func(_ int, d time.Duration) { m.routeTime.Observe(d.Seconds()) },
		GroupFanout:  func(n int) { m.groupFanout.Observe(float64(n)) },
		GroupDropped: m.groupDropped.Inc,
	}
}

func (m *metricsSet) pushHooks() push.Metrics {
	return push.Metrics{
		Sent:    func(result string) { m.pushSent.WithLabelValues(result).Inc() },
		Dropped: m.pushDropped.Inc,
	}
}

// watchSubscriptions adds the gauge of stored push subscriptions, counted
// in the directory at each scrape.
func (m *metricsSet) watchSubscriptions(d interface {
	CountPushSubscriptions(ctx context.Context) (int64, error)
}) {
	m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "mutual_push_subscriptions", Help: "Web Push subscriptions stored (devices that can be woken).",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := d.CountPushSubscriptions(ctx)
		if err != nil {
			return math.NaN()
		}
		return float64(n)
	}))
}
