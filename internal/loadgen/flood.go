package loadgen

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Flood is one more account that sends the largest fan-outs as fast as
// the relay answers while the run measures its clients: what one abusive
// account does to everyone else's latency. Its Sends go to Recipients
// accounts of their own, which never read, and which have either allowed
// the flooder (Allowed) or never heard of it.
type Flood struct {
	// Recipients is how many accounts each Send goes to; default 5.
	Recipients int
	// Size is the ciphertext per recipient in bytes; default
	// wire.MaxCiphertext.
	Size int
	// Allowed makes the recipients allow the flooder; otherwise they are
	// strangers to it.
	Allowed bool
	// InFlight is how many Sends wait for their answer at once; default 8.
	InFlight int
}

func (f *Flood) setDefaults() {
	if f.Recipients == 0 {
		f.Recipients = 5
	}
	if f.Size == 0 {
		f.Size = wire.MaxCiphertext
	}
	if f.InFlight == 0 {
		f.InFlight = 8
	}
}

func (f *Flood) validate() error {
	f.setDefaults()
	if f.Recipients < 1 || f.Recipients*f.Size > wire.MaxFrameSize-(4<<10) || f.Size < 1 || f.InFlight < 1 {
		return fmt.Errorf("loadgen: a flood of %d recipients of %d bytes does not fit in one Send", f.Recipients, f.Size)
	}
	return nil
}

// FloodResult is what the flooding account got.
type FloodResult struct {
	Sent, Accepted int64
	// AcceptedBytes is the ciphertext the relay stored for it.
	AcceptedBytes int64
	RejectedBy    map[wire.Code]int64
	// Refused counts the refusal notices its inbox received.
	Refused int64
}

// flooder is the flooding account and its recipients while a run sets up
// and measures.
type flooder struct {
	cfg     Flood
	self    *client
	targets []*client

	sent, accepted, bytes, refused atomic.Int64
	mu                             sync.Mutex
	rejectedBy                     map[wire.Code]int64
}

// setupFlood registers the flooder and its recipients, and has them
// allow it when the flood is to contacts.
func (r *run) setupFlood(ctx context.Context) error {
	f := &flooder{cfg: *r.cfg.Flood, rejectedBy: make(map[wire.Code]int64)}
	f.cfg.setDefaults()
	n := 0
	newClient := func(name string) *client {
		// Each from its own address, after the measured clients'.
		n++
		return &client{addr: fmt.Sprintf("email:bench-%s-%s@bench.test", r.cfg.RunID, name), plain: true, src: r.src(r.cfg.Clients + n - 1)}
	}
	f.self = newClient("flood")
	for i := range f.cfg.Recipients {
		f.targets = append(f.targets, newClient(fmt.Sprintf("flood%d", i)))
	}
	all := append([]*client{f.self}, f.targets...)
	for _, c := range all {
		if err := r.register(ctx, c); err != nil {
			return err
		}
	}
	if err := r.connect(ctx, f.self); err != nil {
		return err
	}
	if f.cfg.Allowed {
		for _, c := range f.targets {
			conn, err := r.dial(ctx, c)
			if err != nil {
				return err
			}
			_, err = conn.Auth(ctx, c.self.User, c.self.Device, c.cred)
			if err == nil {
				_, err = transport.Call[*wire.OK](ctx, conn, &wire.SetContact{User: f.self.self.User, State: wire.ContactAllowed})
			}
			conn.Close()
			if err != nil {
				return fmt.Errorf("flood recipient allows the flooder: %w", err)
			}
		}
	}
	r.flood = f
	fmt.Fprintf(r.cfg.Progress, "bench: one account floods %d %s with %d-byte ciphertexts\n",
		f.cfg.Recipients, map[bool]string{true: "contacts", false: "strangers"}[f.cfg.Allowed], f.cfg.Size)
	return nil
}

// run floods until ctx ends; it reads the flooder's own inbox meanwhile.
func (f *flooder) run(ctx context.Context, timeout time.Duration) {
	var wg sync.WaitGroup
	wg.Go(func() {
		for d := range f.self.conn.Deliveries() {
			if d.Envelope.Kind == wire.KindRejected {
				f.refused.Add(1)
			}
			_ = f.self.conn.Send(ctx, &wire.Ack{Offset: d.Offset})
		}
	})
	ct := make([]byte, f.cfg.Size)
	rand.Read(ct)
	rs := make([]wire.Recipient, len(f.targets))
	for i, c := range f.targets {
		rs[i] = wire.Recipient{User: c.self.User, Device: c.self.Device, Ciphertext: ct}
	}
	var senders sync.WaitGroup
	for range f.cfg.InFlight {
		senders.Go(func() {
			for ctx.Err() == nil {
				sctx, cancel := context.WithTimeout(ctx, timeout)
				reply, err := f.self.conn.Request(sctx, &wire.Send{MessageID: wire.NewMessageID(), Kind: wire.KindMessage, Recipients: rs})
				cancel()
				if ctx.Err() != nil {
					return
				}
				f.sent.Add(1)
				code := wire.CodeInternal
				switch b := reply.(type) {
				case *wire.Accepted:
					f.accepted.Add(1)
					f.bytes.Add(int64(len(rs) * len(ct)))
					continue
				case *wire.Rejected:
					code = b.Code
				}
				if e, ok := err.(*wire.Error); ok {
					code = e.Code
				}
				f.mu.Lock()
				f.rejectedBy[code]++
				f.mu.Unlock()
			}
		})
	}
	senders.Wait()
	f.self.conn.Close() // which ends the reader
	wg.Wait()
}

func (f *flooder) result() *FloodResult {
	return &FloodResult{
		Sent: f.sent.Load(), Accepted: f.accepted.Load(), AcceptedBytes: f.bytes.Load(),
		RejectedBy: f.rejectedBy, Refused: f.refused.Load(),
	}
}
