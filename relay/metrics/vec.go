package metrics

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// MaxLabelValues bounds the distinct label values of one vector; further
// values are counted under OverflowLabelValue.
const MaxLabelValues = 64

// OverflowLabelValue is the label value that stands for every value past
// MaxLabelValues.
const OverflowLabelValue = "other"

// labelled is one series of a vector: it appends its sample lines with the
// rendered label pair.
type labelled interface {
	appendSeries(b []byte, name, labels string) []byte
}

// vec is a metric with one label: a series per label value, created on
// first use.
type vec[T labelled] struct {
	label  string
	create func() T

	mu     sync.RWMutex
	series map[string]vecEntry[T]
}

type vecEntry[T labelled] struct {
	labels string // label="value", escaped
	m      T
}

func newVec[T labelled](label string, create func() T) *vec[T] {
	if !validName(label, false) || strings.HasPrefix(label, "__") {
		panic(fmt.Sprintf("metrics: invalid label name %q", label))
	}
	return &vec[T]{label: label, create: create, series: make(map[string]vecEntry[T])}
}

func (v *vec[T]) with(value string) T {
	v.mu.RLock()
	e, ok := v.series[value]
	v.mu.RUnlock()
	if ok {
		return e.m
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if e, ok := v.series[value]; ok {
		return e.m
	}
	if len(v.series) >= MaxLabelValues {
		value = OverflowLabelValue
		if e, ok := v.series[value]; ok {
			return e.m
		}
	}
	labels := string(appendEscaped([]byte(v.label+`="`), value, true)) + `"`
	e = vecEntry[T]{labels: labels, m: v.create()}
	v.series[value] = e
	return e.m
}

func (v *vec[T]) appendSamples(b []byte, name string) []byte {
	v.mu.RLock()
	entries := make([]vecEntry[T], 0, len(v.series))
	for _, e := range v.series {
		entries = append(entries, e)
	}
	v.mu.RUnlock()
	slices.SortFunc(entries, func(a, b vecEntry[T]) int { return strings.Compare(a.labels, b.labels) })
	for _, e := range entries {
		b = e.m.appendSeries(b, name, e.labels)
	}
	return b
}
