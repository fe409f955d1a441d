package embedded

import (
	"slices"
	"testing"
)

// A large append request gives way once to the small ones queued with
// it, and then goes in the next cycle: small messages do not wait for
// another sender's large one, and the large one waits one cycle at most.
func TestWriterTakesSmallFirst(t *testing.T) {
	var b Bus
	req := func(size int) *appendReq { return &appendReq{size: size} }
	big1, s1, s2, big2 := req(largeReq), req(100), req(200), req(480<<10)
	b.queue = []*appendReq{big1, s1, s2, big2}
	if got := b.take(nil); !slices.Equal(got, []*appendReq{s1, s2}) {
		t.Fatalf("first cycle %v, want the small requests", got)
	}
	s3 := req(300)
	b.queue = append(b.queue, s3)
	if got := b.take(nil); !slices.Equal(got, []*appendReq{big1, big2, s3}) {
		t.Fatalf("second cycle %v, want the large requests, in order, and the new small one", got)
	}
	if len(b.queue) != 0 {
		t.Fatalf("%d requests left", len(b.queue))
	}
	// Only large requests: in order, as always.
	b.queue = []*appendReq{req(largeReq), req(largeReq)}
	if got := b.take(nil); len(got) != 2 {
		t.Fatalf("took %d of two large requests", len(got))
	}
}
