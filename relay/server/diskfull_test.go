//go:build linux

package server_test

import (
	"bytes"
	"testing"

	"github.com/mutualcoop/mutual/internal/relaytest"
	"github.com/mutualcoop/mutual/internal/tinyfs"
	"github.com/mutualcoop/mutual/internal/wait"
	"github.com/mutualcoop/mutual/relay/bus"
	"github.com/mutualcoop/mutual/relay/gateway"
	"github.com/mutualcoop/mutual/relay/server"
	"github.com/mutualcoop/mutual/relay/wire"
)

// TestDiskFull runs a relay on a small filesystem of its own and fills
// it: with the free-disk threshold, Send answers unavailable before the
// disk is full and nothing more is written; without it (and without the
// bus's floor), the disk fills for real and the bus's appends fail. Either
// way nothing that was accepted is lost, and once space is freed the relay
// takes messages again and delivers everything it accepted.
func TestDiskFull(t *testing.T) {
	tests := []struct {
		name      string
		threshold int64 // gateway.Config.MinFreeBytes
		busFloor  int64 // embedded.Config.MinFreeBytes
		leave     int64 // free bytes the filler leaves
	}{
		{name: "threshold", threshold: 24 << 20, busFloor: 4 << 20, leave: 20 << 20},
		{name: "really full", threshold: -1, busFloor: -1, leave: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tinyfs.Mount(t, 64<<20)
			r := &relay{t: t, Relay: relaytest.Start(t, relaytest.Options{
				Dir: dir,
				Config: func(c *server.Config) {
					c.Gateway.MinFreeBytes, c.Gateway.MinFreePercent = tt.threshold, -1
					c.Gateway.Quota = gateway.Quota{ByteRate: -1, BytesPerDay: -1, MessagesPerDay: -1}
				},
				Embedded: func(c *server.EmbeddedConfig) { c.Bus.MinFreeBytes = tt.busFloor },
			})}
			alice := r.register("email:alice@example.org")
			bob := r.register("email:bob@example.org")
			bob.allow(alice, wire.ContactAllowed)
			bob.conn.Close() // bob is away while the disk fills

			var accepted []wire.MessageID
			text := string(bytes.Repeat([]byte{'x'}, 64<<10))
			send := func() wire.Code {
				id, reply := alice.send(bob, wire.KindMessage, text)
				switch rep := reply.(type) {
				case *wire.Accepted:
					accepted = append(accepted, id)
					return 0
				case *wire.Rejected:
					return rep.Code
				}
				t.Fatalf("send: %#v", reply)
				return 0
			}
			for range 10 {
				if code := send(); code != 0 {
					t.Fatalf("send with room to spare: %v", code)
				}
			}
			release := tinyfs.Fill(t, dir, tt.leave)
			wait.For(t, "a Send answered unavailable", func() bool {
				switch code := send(); code {
				case 0:
					return false
				case wire.CodeUnavailable:
					return true
				default:
					t.Fatalf("send on a full disk: %v", code)
					return false
				}
			})
			_, end, err := r.Server().Bus().Bounds(ctxT(t), bus.InTopic, 0)
			if err != nil {
				t.Fatal(err)
			}
			for range 5 {
				if code := send(); code != wire.CodeUnavailable {
					t.Fatalf("send on a full disk: %v, want unavailable", code)
				}
			}
			if _, now, _ := r.Server().Bus().Bounds(ctxT(t), bus.InTopic, 0); now != end {
				t.Fatalf("`in` grew by %d records while refusing", now-end)
			}

			release()
			wait.For(t, "the relay to take messages again", func() bool { return send() == 0 })
			bob.conn = r.dial()
			if _, err := bob.conn.Auth(ctxT(t), bob.user, bob.device, bob.cred); err != nil {
				t.Fatal(err)
			}
			got := map[wire.MessageID]bool{}
			for len(got) < len(accepted) {
				d := bob.next()
				if d.Envelope.Kind != wire.KindMessage || string(d.Envelope.Ciphertext) != text {
					t.Fatalf("bob got %+v", d.Envelope)
				}
				got[d.Envelope.MessageID] = true
			}
			for _, id := range accepted {
				if !got[id] {
					t.Fatalf("accepted message %x never delivered", id)
				}
			}
		})
	}
}
