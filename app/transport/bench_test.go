package transport_test

import (
	"context"
	"testing"

	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/relay/wire"
)

// BenchmarkRequest measures request/reply round trips over loopback
// against a relay that answers at once.
func BenchmarkRequest(b *testing.B) {
	relay := newRelay(b, func(p *peer) {
		p.serve(func(f wire.Frame) []wire.Frame { return []wire.Frame{{ID: f.ID, Body: &wire.OK{}}} })
	})
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		c := relay.dial(b, transport.Options{})
		for b.Loop() {
			if _, err := c.Request(ctx, &wire.ListContacts{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		c := relay.dial(b, transport.Options{})
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := c.Request(ctx, &wire.ListContacts{}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkDeliveries measures how fast Deliver frames of 1 KiB reach the
// consumer.
func BenchmarkDeliveries(b *testing.B) {
	start := make(chan int)
	relay := newRelay(b, func(p *peer) {
		n := <-start
		env := wire.Envelope{Kind: wire.KindMessage, Ciphertext: make([]byte, 1024)}
		for i := range n {
			if err := p.write(wire.Frame{Body: &wire.Deliver{Offset: int64(i + 1), Envelope: env}}); err != nil {
				return
			}
		}
		p.drain()
	})
	c := relay.dial(b, transport.Options{})
	b.SetBytes(1024)
	start <- b.N
	b.ResetTimer()
	for range b.N {
		if _, ok := <-c.Deliveries(); !ok {
			b.Fatal(c.Err())
		}
	}
}
