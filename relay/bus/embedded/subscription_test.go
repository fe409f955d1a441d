package embedded

import (
	"sync"
	"testing"

	"github.com/mutualcoop/mutual/relay/bus"
)

// Thousands of waiting subscriptions all wake on one append, and hold no
// goroutine of the bus's own.
func TestManySubscribers(t *testing.T) {
	const subs = 2000
	b := openBus(t, Config{Dir: t.TempDir()})
	createTopic(t, b, "t", 1)
	var ready, done sync.WaitGroup
	for i := range subs {
		sub, err := b.Subscribe(t.Context(), "t", 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		ready.Add(1)
		done.Go(func() {
			defer sub.Close()
			ready.Done()
			recs, err := sub.Next(t.Context())
			if err != nil || len(recs) != 1 || string(recs[0].Value) != "hello" {
				t.Errorf("subscriber %d: %v, %v", i, recs, err)
			}
		})
	}
	ready.Wait()
	if err := b.Append(t.Context(), bus.Message{Topic: "t", Value: []byte("hello")}); err != nil {
		t.Fatal(err)
	}
	done.Wait()
}
