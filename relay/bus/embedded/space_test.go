package embedded

import (
	"errors"
	"syscall"
	"testing"

	"github.com/mutualcoop/mutual/relay/bus"
)

// Below the free-space floor appends are refused with ENOSPC, and taken
// again once there is space: the refusal is not sticky, and offsets go
// on where they stopped.
func TestFreeSpaceFloor(t *testing.T) {
	b := openBus(t, Config{Dir: t.TempDir(), MinFreeBytes: 10 << 20})
	createTopic(t, b, "t", 1)
	var free uint64 = 1 << 30
	b.space = func() (uint64, uint64, error) { return free, 100 << 30, nil }
	appendValues(t, b, "t", "a")

	free = 10<<20 + 10<<10 // above the floor, but not with a cycle's room
	for range 2 {
		err := b.Append(t.Context(), bus.Message{Topic: "t", Value: []byte("lost")})
		if !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("Append below the floor: %v, want ENOSPC", err)
		}
	}
	free = 1 << 30
	appendValues(t, b, "t", "b")
	checkValues(t, readRange(t, b, "t", 0), 0, []string{"a", "b"})
}
