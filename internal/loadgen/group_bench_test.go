package loadgen

import (
	"context"
	"fmt"
	"io/fs"
	"net/netip"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/gateway"
	"github.com/mutualcoop/mutual/relay/limit"
	"github.com/mutualcoop/mutual/relay/wire"
)

// BenchmarkGroupMessage measures one message to a group whose members
// each have two devices, on the embedded default (embedded bus, SQLite)
// in this process: from encrypting it with the sender's Sender Key to its
// delivery at the last of the other devices. Each op is one message,
// sent once the previous one has reached every device, so ns/op is the
// time to the last device of an idle relay. Devices count a delivery as
// it arrives; one of them decrypts it, as each device does on its own
// processor (crypto/senderkey's BenchmarkDecrypt measures that).
//
// Besides ns/op: appended-B/op, the bytes the relay's log grew by (the
// Send on `in` and a record in every member's inbox, the shared
// ciphertext once each), and cpu-ms/op, the CPU time of this whole
// process (the relay, and the reading ends of the bench's connections).
func BenchmarkGroupMessage(b *testing.B) {
	for _, members := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("members=%d", members), func(b *testing.B) { benchGroupMessage(b, members, 2) })
	}
}

func benchGroupMessage(b *testing.B, members, devices int) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir := b.TempDir()
	relay, err := StartEmbedded(ctx, EmbeddedOptions{
		Dir: dir, Clients: members * devices,
		Rates: gateway.Rates{Send: limit.PerSecond(1e9, 1e9)},
		Quota: gateway.Quota{MessagesPerDay: -1, BytesPerDay: -1, ByteRate: -1, ReadRate: -1},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer relay.Close(context.Background())
	cfg := Config{
		URL: relay.URL, Codes: relay.Codes, Clients: members, GroupSize: members, Devices: devices,
		Messages: 1, LocalNet: netip.MustParsePrefix("127.4.0.0/16"),
	}
	cfg.setDefaults()
	r := &run{cfg: cfg, rejectedBy: make(map[wire.Code]int64)}
	defer r.closeAll()
	if err := r.setup(ctx, new(Result)); err != nil {
		b.Fatal(err)
	}
	sender := r.clients[0]
	to := recipients(sender)
	checker := to[len(to)-1]
	arrived := make(chan struct{}, 2*len(to))
	var receivers sync.WaitGroup
	for _, d := range to {
		receivers.Add(1)
		go func() {
			defer receivers.Done()
			for dl := range d.conn.Deliveries() {
				if d == checker {
					plain, err := d.enc.Decode(Peer{User: dl.Envelope.Sender, Device: dl.Envelope.SenderDevice}, dl.Envelope.Shared)
					if _, perr := decodePayload(plain); err != nil || perr != nil {
						b.Errorf("the checking device cannot read the message: %v %v", err, perr)
					}
				}
				_ = d.conn.Send(ctx, &wire.Ack{Offset: dl.Offset})
				arrived <- struct{}{}
			}
		}()
	}
	payload := appendPayload(nil, payload{}, 256)
	bytes0, cpu0 := logBytes(b, dir), cpuTime()
	for b.Loop() {
		data, err := sender.enc.Encode(Peer{}, payload)
		if err != nil {
			b.Fatal(err)
		}
		reply, err := sender.conn.Request(ctx, groupSend(sender, wire.NewMessageID(), data))
		if _, ok := reply.(*wire.Accepted); !ok {
			b.Fatalf("send: %v %v", reply, err)
		}
		for range to {
			<-arrived
		}
	}
	b.ReportMetric(float64(logBytes(b, dir)-bytes0)/float64(b.N), "appended-B/op")
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
	r.closeAll()
	receivers.Wait()
}

// logBytes is the size of the relay's topics on disk under dir.
func logBytes(b *testing.B, dir string) int64 {
	var n int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".log" {
			return err
		}
		info, err := d.Info()
		if err == nil {
			n += info.Size()
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// cpuTime is the CPU time this process has used.
func cpuTime() time.Duration {
	var u syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &u) != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}
