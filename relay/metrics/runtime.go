package metrics

import (
	"bytes"
	"os"
	"runtime"
	rtmetrics "runtime/metrics"
	"strconv"
)

// RegisterRuntime registers gauges about the Go runtime and the process:
// go_goroutines, go_memstats_heap_alloc_bytes, go_gc_cycles_total and, where
// /proc/self/statm is readable (Linux), process_resident_memory_bytes.
func (r *Registry) RegisterRuntime() {
	r.NewGaugeFunc("go_goroutines", "Number of goroutines that currently exist.",
		func() float64 { return float64(runtime.NumGoroutine()) })
	r.NewGaugeFunc("go_memstats_heap_alloc_bytes", "Number of heap bytes allocated and still in use.",
		func() float64 { return float64(readRuntime("/memory/classes/heap/objects:bytes")) })
	r.NewCounterFunc("go_gc_cycles_total", "Number of completed garbage collection cycles.",
		func() uint64 { return readRuntime("/gc/cycles/total:gc-cycles") })
	if _, ok := residentBytes(); ok {
		r.NewGaugeFunc("process_resident_memory_bytes", "Resident memory size in bytes.",
			func() float64 { n, _ := residentBytes(); return float64(n) })
	}
}

// readRuntime reads one uint64 runtime metric; 0 if this Go does not have it.
func readRuntime(name string) uint64 {
	s := []rtmetrics.Sample{{Name: name}}
	rtmetrics.Read(s)
	if s[0].Value.Kind() != rtmetrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// residentBytes reads the resident set size from /proc/self/statm, whose
// second field counts pages.
func residentBytes() (uint64, bool) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, false
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0, false
	}
	pages, err := strconv.ParseUint(string(f[1]), 10, 64)
	if err != nil {
		return 0, false
	}
	return pages * uint64(os.Getpagesize()), true
}
