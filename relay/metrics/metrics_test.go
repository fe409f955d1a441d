package metrics_test

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/metrics"
)

func TestExposition(t *testing.T) {
	reg := metrics.NewRegistry()
	frames := reg.NewCounterVec("mutual_frames_total", "Frames received, by type.", "type")
	conns := reg.NewGauge("mutual_connections", "Open connections.")
	lat := reg.NewHistogram("mutual_send_seconds", "Time to make a message durable.", []float64{0.01, 0.1, 1})
	reg.NewGaugeFunc("mutual_ratio", `A "ratio" with \ and
a newline in its help.`, func() float64 { return 0.25 })
	reg.NewCounterFunc("mutual_appends_total", "Bus appends.", func() uint64 { return 12345678901 })
	byCode := reg.NewHistogramVec("mutual_code_seconds", "By code.", "code", []float64{0.5, math.Inf(1)})
	reg.NewCounter("mutual_empty_total", "Never incremented.")
	reg.NewCounterVec("mutual_unused_total", "A vector with no series yet.", "kind")

	frames.With("send").Add(3)
	frames.With("ack").Inc()
	frames.With("we\"ird\\\nvalue").Inc()
	conns.Set(7)
	conns.Dec()
	for _, v := range []float64{0.005, 0.01, 0.05, 2, math.NaN()} {
		lat.Observe(v)
	}
	byCode.With("rate_limited").ObserveDuration(250 * time.Millisecond)
	byCode.With("internal").Observe(3)

	want := `# HELP mutual_appends_total Bus appends.
# TYPE mutual_appends_total counter
mutual_appends_total 12345678901
# HELP mutual_code_seconds By code.
# TYPE mutual_code_seconds histogram
mutual_code_seconds_bucket{code="internal",le="0.5"} 0
mutual_code_seconds_bucket{code="internal",le="+Inf"} 1
mutual_code_seconds_sum{code="internal"} 3
mutual_code_seconds_count{code="internal"} 1
mutual_code_seconds_bucket{code="rate_limited",le="0.5"} 1
mutual_code_seconds_bucket{code="rate_limited",le="+Inf"} 1
mutual_code_seconds_sum{code="rate_limited"} 0.25
mutual_code_seconds_count{code="rate_limited"} 1
# HELP mutual_connections Open connections.
# TYPE mutual_connections gauge
mutual_connections 6
# HELP mutual_empty_total Never incremented.
# TYPE mutual_empty_total counter
mutual_empty_total 0
# HELP mutual_frames_total Frames received, by type.
# TYPE mutual_frames_total counter
mutual_frames_total{type="ack"} 1
mutual_frames_total{type="send"} 3
mutual_frames_total{type="we\"ird\\\nvalue"} 1
# HELP mutual_ratio A "ratio" with \\ and\na newline in its help.
# TYPE mutual_ratio gauge
mutual_ratio 0.25
# HELP mutual_send_seconds Time to make a message durable.
# TYPE mutual_send_seconds histogram
mutual_send_seconds_bucket{le="0.01"} 2
mutual_send_seconds_bucket{le="0.1"} 3
mutual_send_seconds_bucket{le="1"} 3
mutual_send_seconds_bucket{le="+Inf"} 4
mutual_send_seconds_sum 2.065
mutual_send_seconds_count 4
# HELP mutual_unused_total A vector with no series yet.
# TYPE mutual_unused_total counter
`
	var sb strings.Builder
	n, err := reg.WriteTo(&sb)
	if err != nil || n != int64(sb.Len()) {
		t.Fatalf("WriteTo: %d, %v (wrote %d)", n, err, sb.Len())
	}
	if got := sb.String(); got != want {
		t.Fatalf("exposition differs:\n--- got\n%s\n--- want\n%s", got, want)
	}
}

func TestServeHTTP(t *testing.T) {
	reg := metrics.NewRegistry()
	reg.NewCounter("a_total", "A.").Inc()
	srv := httptest.NewServer(reg)
	defer srv.Close()

	tests := []struct {
		method string
		status int
		body   string
	}{
		{http.MethodGet, http.StatusOK, "# HELP a_total A.\n# TYPE a_total counter\na_total 1\n"},
		{http.MethodHead, http.StatusOK, ""},
		{http.MethodPost, http.StatusMethodNotAllowed, "method not allowed\n"},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status || string(body) != tt.body {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, body, tt.status, tt.body)
			}
			if tt.status == http.StatusOK {
				if ct := resp.Header.Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
					t.Fatalf("Content-Type %q", ct)
				}
			}
		})
	}
}

func TestLabelOverflow(t *testing.T) {
	reg := metrics.NewRegistry()
	v := reg.NewCounterVec("x_total", "X.", "v")
	for i := range metrics.MaxLabelValues + 10 {
		v.With(strconv.Itoa(i)).Inc()
	}
	if got := v.With(metrics.OverflowLabelValue).Value(); got != 10 {
		t.Fatalf("overflow series counted %d, want 10", got)
	}
	if got := v.With("0").Value(); got != 1 {
		t.Fatalf("first series counted %d", got)
	}
	var sb strings.Builder
	reg.WriteTo(&sb)
	if lines := strings.Count(sb.String(), "\n"); lines != 2+metrics.MaxLabelValues+1 {
		t.Fatalf("%d lines:\n%s", lines, sb.String())
	}
}

func TestRegisterPanics(t *testing.T) {
	tests := []struct {
		name string
		f    func(r *metrics.Registry)
	}{
		{"duplicate", func(r *metrics.Registry) { r.NewCounter("a", ""); r.NewGauge("a", "") }},
		{"empty name", func(r *metrics.Registry) { r.NewCounter("", "") }},
		{"bad name", func(r *metrics.Registry) { r.NewCounter("a-b", "") }},
		{"leading digit", func(r *metrics.Registry) { r.NewGauge("1a", "") }},
		{"bad label", func(r *metrics.Registry) { r.NewCounterVec("a", "", "a:b") }},
		{"reserved label", func(r *metrics.Registry) { r.NewGaugeVec("a", "", "__x") }},
		{"le label", func(r *metrics.Registry) { r.NewHistogramVec("a", "", "le", metrics.LatencyBuckets()) }},
		{"no buckets", func(r *metrics.Registry) { r.NewHistogram("a", "", nil) }},
		{"only +Inf", func(r *metrics.Registry) { r.NewHistogram("a", "", []float64{math.Inf(1)}) }},
		{"unsorted buckets", func(r *metrics.Registry) { r.NewHistogram("a", "", []float64{1, 0.5}) }},
		{"repeated bucket", func(r *metrics.Registry) { r.NewHistogram("a", "", []float64{1, 1}) }},
		{"NaN bucket", func(r *metrics.Registry) { r.NewHistogram("a", "", []float64{math.NaN()}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			tt.f(metrics.NewRegistry())
		})
	}
	// Valid names that look odd.
	r := metrics.NewRegistry()
	r.NewCounter("a:b_c9", "")
	r.NewCounterVec("_x", "", "_y")
}

func TestRuntime(t *testing.T) {
	reg := metrics.NewRegistry()
	reg.RegisterRuntime()
	var sb strings.Builder
	reg.WriteTo(&sb)
	values := parse(t, sb.String())
	for _, name := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "process_resident_memory_bytes"} {
		if v, ok := values[name]; !ok || v <= 0 {
			t.Errorf("%s = %v, %v", name, v, ok)
		}
	}
	if _, ok := values["go_gc_cycles_total"]; !ok {
		t.Error("go_gc_cycles_total missing")
	}
}

// TestConcurrent updates every kind of metric from many goroutines while
// scraping, then checks the totals.
func TestConcurrent(t *testing.T) {
	const (
		workers = 8
		each    = 2000
	)
	reg := metrics.NewRegistry()
	c := reg.NewCounter("c_total", "")
	cv := reg.NewCounterVec("cv_total", "", "w")
	g := reg.NewGauge("g", "")
	h := reg.NewHistogram("h_seconds", "", metrics.LatencyBuckets())
	hv := reg.NewHistogramVec("hv_seconds", "", "w", []float64{1})

	stop := make(chan struct{})
	scraped := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				scraped <- nil
				return
			default:
			}
			var sb strings.Builder
			reg.WriteTo(&sb)
			if err := consistent(sb.String()); err != nil {
				scraped <- err
				return
			}
		}
	}()
	var wantSum float64
	for i := range each {
		wantSum += float64(i%7) * 0.001
	}
	wantSum *= workers
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			label := strconv.Itoa(w % 3)
			for i := range each {
				c.Inc()
				cv.With(label).Add(2)
				g.Inc()
				g.Dec()
				h.Observe(float64(i%7) * 0.001)
				hv.With(label).Observe(0.5)
			}
		})
	}
	wg.Wait()
	close(stop)
	if err := <-scraped; err != nil {
		t.Fatal(err)
	}

	var sb strings.Builder
	reg.WriteTo(&sb)
	values := parse(t, sb.String())
	var cvSum, hvCount float64
	for k, v := range values {
		if strings.HasPrefix(k, "cv_total{") {
			cvSum += v
		}
		if strings.HasPrefix(k, "hv_seconds_count{") {
			hvCount += v
		}
	}
	checks := []struct {
		what      string
		got, want float64
	}{
		{"counter", values["c_total"], workers * each},
		{"counter vector", cvSum, 2 * workers * each},
		{"gauge", values["g"], 0},
		{"histogram count", values["h_seconds_count"], workers * each},
		{"histogram +Inf", values[`h_seconds_bucket{le="+Inf"}`], workers * each},
		{"histogram sum", math.Round(values["h_seconds_sum"] * 1e6), math.Round(wantSum * 1e6)},
		{"histogram vector count", hvCount, workers * each},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s: %v, want %v", ck.what, ck.got, ck.want)
		}
	}
}

// consistent checks that in each histogram the buckets are cumulative and
// _count equals the +Inf bucket. A series' bucket lines are consecutive and
// end with its _count line.
func consistent(text string) error {
	var prev float64
	var inf = map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		key, val, _ := strings.Cut(line, " ")
		v, err := strconv.ParseFloat(val, 64)
		if err != nil {
			return fmt.Errorf("line %q: %v", line, err)
		}
		name, labels, _ := strings.Cut(key, "{")
		switch {
		case strings.HasSuffix(name, "_bucket"):
			if strings.Contains(labels, `le="+Inf"`) {
				series := strings.TrimSuffix(name, "_bucket") + "{" + strings.Replace(labels, `le="+Inf"`, "", 1)
				series = strings.TrimSuffix(strings.TrimSuffix(series, "}"), ",")
				inf[series] = v
			}
			if !strings.HasPrefix(labels, `le="`) && !strings.Contains(labels, `",le="`) {
				return fmt.Errorf("line %q: no le label", line)
			}
			if v < prev {
				return fmt.Errorf("line %q: buckets not cumulative", line)
			}
			prev = v
		case strings.HasSuffix(name, "_count"):
			series := strings.TrimSuffix(name, "_count") + "{" + strings.TrimSuffix(labels, "}")
			if inf[series] != v {
				return fmt.Errorf("%s: count %v, +Inf bucket %v", series, v, inf[series])
			}
			prev = 0
		}
	}
	return sc.Err()
}

// parse maps "name{labels}" to the value of each sample line.
func parse(t *testing.T, text string) map[string]float64 {
	t.Helper()
	values := map[string]float64{}
	for line := range strings.Lines(text) {
		line = strings.TrimSuffix(line, "\n")
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		values[line[:i]] = v
	}
	return values
}

func BenchmarkCounterInc(b *testing.B) {
	c := metrics.NewRegistry().NewCounter("c_total", "")
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			c.Inc()
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.Inc()
			}
		})
	})
	v := metrics.NewRegistry().NewCounterVec("v_total", "", "type")
	b.Run("vector", func(b *testing.B) {
		for b.Loop() {
			v.With("send").Inc()
		}
	})
}

func BenchmarkHistogramObserve(b *testing.B) {
	h := metrics.NewRegistry().NewHistogram("h_seconds", "", metrics.LatencyBuckets())
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			h.Observe(0.003)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				h.Observe(0.003)
			}
		})
	})
}

func BenchmarkScrape(b *testing.B) {
	reg := metrics.NewRegistry()
	reg.RegisterRuntime()
	v := reg.NewCounterVec("frames_total", "", "type")
	for _, typ := range []string{"send", "ack", "auth", "fetch_bundles", "lookup"} {
		v.With(typ).Inc()
	}
	hv := reg.NewHistogramVec("latency_seconds", "", "type", metrics.LatencyBuckets())
	hv.With("send").Observe(0.01)
	hv.With("fetch_bundles").Observe(0.002)
	b.ReportAllocs()
	for b.Loop() {
		reg.WriteTo(io.Discard)
	}
}
