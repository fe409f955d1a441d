package embedded_test

import (
	"testing"

	"github.com/mutualcoop/mutual/relay/bus"
	"github.com/mutualcoop/mutual/relay/bus/bustest"
	"github.com/mutualcoop/mutual/relay/bus/embedded"
)

func opener(cfg embedded.Config) func(t *testing.T, dir string) bus.Bus {
	return func(t *testing.T, dir string) bus.Bus {
		t.Helper()
		c := cfg
		c.Dir = dir
		b, err := embedded.Open(c)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return b
	}
}

func TestConformance(t *testing.T) {
	configs := []struct {
		name string
		cfg  embedded.Config
	}{
		{"Defaults", embedded.Config{}},
		// Tiny segments, a sparse index and small batches exercise rolling,
		// index lookups in sealed segments and batch limits.
		{"SmallSegments", embedded.Config{SegmentBytes: 1 << 10, IndexIntervalBytes: 100, MaxBatchRecords: 7, MaxBatchBytes: 300, MaxOpenFiles: 3}},
	}
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			open := opener(c.cfg)
			bustest.Run(t, func(t *testing.T) bus.Bus { return open(t, t.TempDir()) })
			bustest.RunReopen(t, func(t *testing.T) (bus.Bus, func(t *testing.T) bus.Bus) {
				dir := t.TempDir()
				return open(t, dir), func(t *testing.T) bus.Bus { return open(t, dir) }
			})
		})
	}
}
