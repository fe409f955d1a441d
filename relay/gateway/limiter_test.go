package gateway

import (
	"testing"
	"time"
)

func TestBucket(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	tests := []struct {
		name  string
		rate  float64
		burst int
	}{
		{"lookups", 2, 60},
		{"sends", 500, 2000},
		{"slow", 0.5, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBucket(tt.rate, tt.burst)
			every := time.Duration(float64(time.Second) / tt.rate)
			// Full at the start: the whole burst at one instant, no more.
			for i := range tt.burst {
				if ok, _ := b.take(t0); !ok {
					t.Fatalf("take %d of a burst of %d refused", i+1, tt.burst)
				}
			}
			ok, wait := b.take(t0)
			if ok || wait != every {
				t.Fatalf("past the burst: %v, wait %s; want refused, wait %s", ok, wait, every)
			}
			// A refused take costs nothing; part of the way, the wait is
			// what is left.
			if ok, wait := b.take(at(every / 4)); ok || wait != every-every/4 {
				t.Fatalf("a quarter of the way: %v, wait %s; want refused, wait %s", ok, wait, every-every/4)
			}
			// One token comes back per 1/rate.
			if ok, _ := b.take(at(every)); !ok {
				t.Fatalf("no token back after %s", every)
			}
			if ok, _ := b.take(at(every)); ok {
				t.Fatalf("two tokens back after %s", every)
			}
			// A clock that steps back adds nothing.
			if ok, _ := b.take(t0); ok {
				t.Fatal("token from a clock going backwards")
			}
			// A long idle time refills to the burst, no more.
			later := at(time.Hour)
			for i := range tt.burst {
				if ok, _ := b.take(later); !ok {
					t.Fatalf("take %d refused after an hour", i+1)
				}
			}
			if ok, _ := b.take(later); ok {
				t.Fatal("bucket over its burst")
			}
		})
	}
}
