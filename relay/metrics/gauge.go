package metrics

import (
	"strconv"
	"sync/atomic"
)

// Gauge is a value that goes up and down.
type Gauge struct {
	v atomic.Int64
}

// Set sets the value.
func (g *Gauge) Set(v int64) { g.v.Store(v) }

// Add adds d, which may be negative.
func (g *Gauge) Add(d int64) { g.v.Add(d) }

// Inc adds one.
func (g *Gauge) Inc() { g.v.Add(1) }

// Dec subtracts one.
func (g *Gauge) Dec() { g.v.Add(-1) }

// Value returns the value.
func (g *Gauge) Value() int64 { return g.v.Load() }

func (g *Gauge) appendSamples(b []byte, name string) []byte {
	return g.appendSeries(b, name, "")
}

func (g *Gauge) appendSeries(b []byte, name, labels string) []byte {
	var num [20]byte
	return appendSample(b, name, "", labels, strconv.AppendInt(num[:0], g.Value(), 10))
}

// NewGauge registers a gauge.
func (r *Registry) NewGauge(name, help string) *Gauge {
	g := new(Gauge)
	r.register(name, help, "gauge", g)
	return g
}

// GaugeVec is a gauge with one label.
type GaugeVec struct {
	v *vec[*Gauge]
}

// With returns the gauge for a label value, creating it on first use.
func (v *GaugeVec) With(value string) *Gauge { return v.v.with(value) }

func (v *GaugeVec) appendSamples(b []byte, name string) []byte { return v.v.appendSamples(b, name) }

// NewGaugeVec registers a gauge with one label.
func (r *Registry) NewGaugeVec(name, help, label string) *GaugeVec {
	v := &GaugeVec{v: newVec(label, func() *Gauge { return new(Gauge) })}
	r.register(name, help, "gauge", v)
	return v
}

type gaugeFunc func() float64

func (f gaugeFunc) appendSamples(b []byte, name string) []byte {
	var num [32]byte
	return appendSample(b, name, "", "", appendFloat(num[:0], f()))
}

// NewGaugeFunc registers a gauge whose value f computes at each scrape. f
// must be safe to call from any goroutine.
func (r *Registry) NewGaugeFunc(name, help string, f func() float64) {
	r.register(name, help, "gauge", gaugeFunc(f))
}
