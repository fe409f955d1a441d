// Package metrics is a small Prometheus registry: counters, gauges and
// histograms, exposed in the Prometheus text format (version 0.0.4) by
// Registry.ServeHTTP.
//
// A Registry owns its metrics; there is no default registry. Metrics are
// created on a Registry, usually at start-up:
//
//	reg := metrics.NewRegistry()
//	frames := reg.NewCounterVec("mutual_gateway_frames_total", "Frames received, by type.", "type")
//	latency := reg.NewHistogram("mutual_send_seconds", "Time to make a message durable.", metrics.LatencyBuckets())
//	reg.RegisterRuntime()
//	...
//	frames.With("send").Inc()
//	latency.ObserveDuration(time.Since(start))
//
// Updates are lock-free atomics and never allocate once a labelled series
// exists. A vector has one label, whose values must come from a small fixed
// set (frame types, error codes), never from user data: past
// MaxLabelValues distinct values, further ones are counted under
// OverflowLabelValue.
//
// Creating a metric with an invalid or already registered name panics:
// that is a programming error found at start-up.
package metrics
