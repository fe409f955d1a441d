package metrics

import (
	"fmt"
	"math"
	"strconv"
	"sync/atomic"
	"time"
)

// LatencyBuckets returns upper bounds, in seconds, suited to request
// latencies from half a millisecond to ten seconds.
func LatencyBuckets() []float64 {
	return []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
}

// Histogram counts observations in buckets with fixed upper bounds and
// keeps their sum. Observe is lock-free.
type Histogram struct {
	upper   []float64
	le      []string        // rendered bounds, "+Inf" last
	counts  []atomic.Uint64 // per bucket, not cumulative; the last is +Inf
	sumBits atomic.Uint64   // float64 bits
}

func newHistogram(upper []float64) *Histogram {
	h := &Histogram{upper: upper, counts: make([]atomic.Uint64, len(upper)+1)}
	for _, u := range upper {
		h.le = append(h.le, string(appendFloat(nil, u)))
	}
	h.le = append(h.le, "+Inf")
	return h
}

// checkBuckets returns a copy of strictly increasing finite bounds; a
// trailing +Inf is implied and dropped. It panics on anything else.
func checkBuckets(buckets []float64) []float64 {
	if n := len(buckets); n > 0 && math.IsInf(buckets[n-1], 1) {
		buckets = buckets[:n-1]
	}
	if len(buckets) == 0 {
		panic("metrics: a histogram needs at least one finite bucket")
	}
	for i, u := range buckets {
		if math.IsNaN(u) || math.IsInf(u, 0) || i > 0 && u <= buckets[i-1] {
			panic(fmt.Sprintf("metrics: histogram buckets must be finite and strictly increasing: %v", buckets))
		}
	}
	return append([]float64(nil), buckets...)
}

// Observe records one value. NaN is ignored.
func (h *Histogram) Observe(v float64) {
	if math.IsNaN(v) {
		return
	}
	i := 0
	for i < len(h.upper) && v > h.upper[i] {
		i++
	}
	h.counts[i].Add(1)
	for {
		old := h.sumBits.Load()
		if h.sumBits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			return
		}
	}
}

// ObserveDuration records d in seconds.
func (h *Histogram) ObserveDuration(d time.Duration) { h.Observe(d.Seconds()) }

func (h *Histogram) appendSamples(b []byte, name string) []byte {
	return h.appendSeries(b, name, "")
}

// appendSeries writes cumulative buckets; _count is the +Inf bucket, so the
// two always agree even while observations race with the scrape.
func (h *Histogram) appendSeries(b []byte, name, labels string) []byte {
	var num [32]byte
	sep := ""
	if labels != "" {
		sep = ","
	}
	var total uint64
	for i := range h.counts {
		total += h.counts[i].Load()
		b = appendSample(b, name, "_bucket", labels+sep+`le="`+h.le[i]+`"`, strconv.AppendUint(num[:0], total, 10))
	}
	b = appendSample(b, name, "_sum", labels, appendFloat(num[:0], math.Float64frombits(h.sumBits.Load())))
	return appendSample(b, name, "_count", labels, strconv.AppendUint(num[:0], total, 10))
}

// NewHistogram registers a histogram with the given bucket upper bounds
// (see LatencyBuckets).
func (r *Registry) NewHistogram(name, help string, buckets []float64) *Histogram {
	h := newHistogram(checkBuckets(buckets))
	r.register(name, help, "histogram", h)
	return h
}

// HistogramVec is a histogram with one label.
type HistogramVec struct {
	v *vec[*Histogram]
}

// With returns the histogram for a label value, creating it on first use.
func (v *HistogramVec) With(value string) *Histogram { return v.v.with(value) }

func (v *HistogramVec) appendSamples(b []byte, name string) []byte { return v.v.appendSamples(b, name) }

// NewHistogramVec registers a histogram with one label (which may not be
// "le").
func (r *Registry) NewHistogramVec(name, help, label string, buckets []float64) *HistogramVec {
	if label == "le" {
		panic("metrics: a histogram label may not be le")
	}
	upper := checkBuckets(buckets)
	v := &HistogramVec{v: newVec(label, func() *Histogram { return newHistogram(upper) })}
	r.register(name, help, "histogram", v)
	return v
}
