package degrees_test

import (
	"bytes"
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/coop/degrees"
	"github.com/mutualcoop/mutual/relay/wire"
)

// synthetic is a relay's graph of mutual contacts, as the store would
// stream it: users, pairs by first user then second (both in the order
// of their IDs' bytes), and the paying members.
type synthetic struct {
	ids     []wire.UserID // sorted: user k has the k-th smallest ID
	order   []uint32      // the order the store lists users in
	off     []int64       // user k's contacts are nbr[off[k]:off[k+1]], sorted
	nbr     []uint32
	members []wire.UserID
}

// generate makes a graph of n users with about mean contacts each, with
// power-law degrees (a Chung-Lu graph: each contact joins two users drawn
// with probability proportional to their weights, which fall as rank to
// the power -1/(γ-1), γ = 2.5), and share of them members.
func generate(n, mean int, share float64, seed uint64) *synthetic {
	rng := rand.New(rand.NewPCG(seed, 1))
	s := &synthetic{ids: make([]wire.UserID, n)}
	for k := range s.ids {
		var u wire.UserID
		for i := range u {
			u[i] = byte(rng.Uint32())
		}
		s.ids[k] = u
	}
	slices.SortFunc(s.ids, func(a, b wire.UserID) int { return bytes.Compare(a[:], b[:]) })

	// Weights by rank, ranks in no relation to IDs; the offset of 50
	// ranks keeps the busiest users at a few thousand contacts.
	rank := rng.Perm(n)
	w := make([]float64, n)
	for k := range w {
		w[k] = math.Pow(float64(rank[k]+50), -1/1.5)
	}
	pick := newAlias(w)

	// Draw the contacts twice from the same seed: once to count each
	// user's, once to place them.
	contacts := n * mean / 2
	draw := func(fn func(a, b uint32)) {
		r := rand.New(rand.NewPCG(seed, 2))
		for range contacts {
			a, b := pick.draw(r), pick.draw(r)
			if a != b {
				fn(a, b)
			}
		}
	}
	s.off = make([]int64, n+1)
	draw(func(a, b uint32) { s.off[a+1]++; s.off[b+1]++ })
	for k := range n {
		s.off[k+1] += s.off[k]
	}
	next := slices.Clone(s.off[:n])
	s.nbr = make([]uint32, s.off[n])
	draw(func(a, b uint32) {
		s.nbr[next[a]] = b
		next[a]++
		s.nbr[next[b]] = a
		next[b]++
	})

	// Sort each user's contacts and drop those drawn twice.
	var end int64
	for k := range n {
		row := s.nbr[s.off[k]:s.off[k+1]]
		slices.Sort(row)
		row = slices.Compact(row)
		s.off[k] = end
		end += int64(copy(s.nbr[end:], row))
	}
	s.off[n] = end
	s.nbr = slices.Clip(s.nbr[:end])

	s.order = make([]uint32, n)
	for i, k := range rng.Perm(n) {
		s.order[i] = uint32(k)
	}
	for _, k := range s.order[:int(float64(n)*share)] {
		s.members = append(s.members, s.ids[k])
	}
	return s
}

// alias draws numbers with given weights in constant time (Vose's alias
// method).
type alias struct {
	prob  []float64
	other []uint32
}

func newAlias(w []float64) *alias {
	n := len(w)
	var sum float64
	for _, x := range w {
		sum += x
	}
	t := &alias{prob: make([]float64, n), other: make([]uint32, n)}
	var small, large []uint32
	for i, x := range w {
		t.prob[i] = x * float64(n) / sum
		if t.prob[i] < 1 {
			small = append(small, uint32(i))
		} else {
			large = append(large, uint32(i))
		}
	}
	for len(small) > 0 && len(large) > 0 {
		s, l := small[len(small)-1], large[len(large)-1]
		small = small[:len(small)-1]
		t.other[s] = l
		t.prob[l] -= 1 - t.prob[s]
		if t.prob[l] < 1 {
			large = large[:len(large)-1]
			small = append(small, l)
		}
	}
	for _, i := range append(small, large...) {
		t.prob[i] = 1
	}
	return t
}

func (t *alias) draw(r *rand.Rand) uint32 {
	i := r.Uint32N(uint32(len(t.prob)))
	if r.Float64() < t.prob[i] {
		return i
	}
	return t.other[i]
}

// heapPeak samples the heap's size until stopped and returns the most it
// saw.
func heapPeak() (stop func() uint64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	done, quit := make(chan struct{}), make(chan struct{})
	var once sync.Once
	go func() {
		defer close(done)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-quit:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		once.Do(func() { close(quit) })
		<-done
		return peak
	}
}

func heapNow() uint64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	return sample[0].Value.Uint64()
}

// BenchmarkYearly builds the graph of a million users with 50 contacts
// each on average (power-law), 1% of them members, and searches it: what
// the yearly notice does besides reading the store. It reports the time
// of each step and the heap the work took above the generated graph's:
// at its peak, and kept by the index, graph and distances at the end.
func BenchmarkYearly(b *testing.B) {
	const n = 1_000_000
	s := generate(n, 50, 0.01, 2026)
	var maxDegree int64
	for k := range n {
		maxDegree = max(maxDegree, s.off[k+1]-s.off[k])
	}
	base := heapNow()
	var build, search time.Duration
	var peak, kept uint64
	var hist [8]int
	for b.Loop() {
		stop := heapPeak()
		start := time.Now()
		idx := degrees.NewIndex(n)
		for _, k := range s.order {
			if err := idx.Add(s.ids[k]); err != nil {
				b.Fatal(err)
			}
		}
		bld := degrees.NewBuilder(idx)
		for a := range n {
			for _, c := range s.nbr[s.off[a]:s.off[a+1]] {
				if err := bld.Add(s.ids[a], s.ids[c]); err != nil {
					b.Fatal(err)
				}
			}
		}
		g := bld.Graph()
		built := time.Now()
		sources := make([]uint32, 0, len(s.members))
		for _, m := range s.members {
			if i, ok := idx.Lookup(m); ok {
				sources = append(sources, i)
			}
		}
		dist := g.Distances(sources)
		search, build = time.Since(built), built.Sub(start)
		peak = stop() - base
		b.StopTimer()
		kept = heapNow() - base
		if g.Pairs() != s.off[n] {
			b.Fatalf("graph of %d pairs, want %d", g.Pairs(), s.off[n])
		}
		hist = [8]int{}
		for _, d := range dist {
			hist[min(int(d)+1, len(hist)-1)]++
		}
		runtime.KeepAlive(idx)
		runtime.KeepAlive(g)
		b.StartTimer()
	}
	b.ReportMetric(build.Seconds(), "build-s")
	b.ReportMetric(search.Seconds(), "search-s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(kept)/(1<<20), "kept-MiB")
	b.ReportMetric(float64(s.off[n]), "pairs")
	b.ReportMetric(float64(maxDegree), "max-contacts")
	b.Logf("users by distance (none, 0, 1, 2, ...): %v", hist)
}
