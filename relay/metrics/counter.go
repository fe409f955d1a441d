package metrics

import (
	"strconv"
	"sync/atomic"
)

// Counter is a count that only goes up.
type Counter struct {
	v atomic.Uint64
}

// Inc adds one.
func (c *Counter) Inc() { c.v.Add(1) }

// Add adds n.
func (c *Counter) Add(n uint64) { c.v.Add(n) }

// Value returns the count.
func (c *Counter) Value() uint64 { return c.v.Load() }

func (c *Counter) appendSamples(b []byte, name string) []byte {
	return c.appendSeries(b, name, "")
}

func (c *Counter) appendSeries(b []byte, name, labels string) []byte {
	var num [20]byte
	return appendSample(b, name, "", labels, strconv.AppendUint(num[:0], c.Value(), 10))
}

// NewCounter registers a counter.
func (r *Registry) NewCounter(name, help string) *Counter {
	c := new(Counter)
	r.register(name, help, "counter", c)
	return c
}

// CounterVec is a counter with one label.
type CounterVec struct {
	v *vec[*Counter]
}

// With returns the counter for a label value, creating it on first use.
// Callers on a hot path may keep the result.
func (v *CounterVec) With(value string) *Counter { return v.v.with(value) }

func (v *CounterVec) appendSamples(b []byte, name string) []byte { return v.v.appendSamples(b, name) }

// NewCounterVec registers a counter with one label.
func (r *Registry) NewCounterVec(name, help, label string) *CounterVec {
	v := &CounterVec{v: newVec(label, func() *Counter { return new(Counter) })}
	r.register(name, help, "counter", v)
	return v
}

type counterFunc func() uint64

func (f counterFunc) appendSamples(b []byte, name string) []byte {
	var num [20]byte
	return appendSample(b, name, "", "", strconv.AppendUint(num[:0], f(), 10))
}

// NewCounterFunc registers a counter whose value f returns at each scrape,
// for counts another component keeps. f must be safe to call from any
// goroutine.
func (r *Registry) NewCounterFunc(name, help string, f func() uint64) {
	r.register(name, help, "counter", counterFunc(f))
}
