package attack

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mutualcoop/mutual/relay/wire"
)

// victimNet is the client network of the accounts attacks aim at: never
// an attacker's, never the honest clients'.
func victimNet(src netip.Addr) netip.Addr {
	b := src.As4()
	b[3] += 100
	return netip.AddrFrom4(b)
}

// lookups: one account reconnects again and again, each connection
// looking up fresh addresses until the relay refuses, then reconnecting
// at once (which used to start a fresh budget).
func (r *Run) lookups(ctx context.Context, src netip.Addr) (func(context.Context), error) {
	a, err := r.register(ctx, src, r.address("lookups", 0), 0)
	if err != nil {
		return nil, err
	}
	return r.signedInLoop(src, a, "lookups", func(i int) wire.Body {
		return &wire.Lookup{Address: fmt.Sprintf("email:guess-%s-%d@example.org", rand.Text()[:8], i)}
	}, nil), nil
}

// drain: one account claims another's bundles as fast as it can; the
// victim published 100 one-time prekeys of each kind.
func (r *Run) drain(ctx context.Context, src netip.Addr) (func(context.Context), error) {
	victim, err := r.register(ctx, victimNet(src), r.address("drain-victim", 0), 100)
	if err != nil {
		return nil, err
	}
	a, err := r.register(ctx, src, r.address("drain", 0), 0)
	if err != nil {
		return nil, err
	}
	var oneTime, kem atomic.Int64
	return r.signedInLoop(src, a, "drain", func(int) wire.Body { return &wire.FetchBundles{User: victim.user} }, func(b wire.Body) {
		bs, ok := b.(*wire.Bundles)
		if !ok {
			return
		}
		for _, bd := range bs.Bundles {
			if bd.OneTime != nil {
				oneTime.Add(1)
				r.count("drain", "one-time prekey")
			}
			if !bd.KEMLastResort {
				kem.Add(1)
			}
		}
		r.note("drain", "%d one-time EC and %d one-time KEM prekeys taken of 100 each", oneTime.Load(), kem.Load())
	}), nil
}

// unauth: one address opens connections and never authenticates, keeping
// up to Config.Unauth open; when the relay closes one, another is opened.
func (r *Run) unauth(ctx context.Context, src netip.Addr) (func(context.Context), error) {
	return func(ctx context.Context) {
		slots := make(chan struct{}, r.cfg.Unauth)
		var wg sync.WaitGroup
		defer wg.Wait()
		var open, peak atomic.Int64
		for {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			c, err := dialFrom(ctx, r.cfg.URL, src)
			if err != nil {
				<-slots
				if ctx.Err() != nil {
					return
				}
				r.count("unauth", "refused")
				t := time.NewTimer(10 * time.Millisecond)
				select {
				case <-ctx.Done():
					t.Stop()
					return
				case <-t.C:
				}
				continue
			}
			r.count("unauth", "opened")
			if n := open.Add(1); n > peak.Load() {
				peak.Store(n)
				r.note("unauth", "at most %d open at once", n)
			}
			wg.Go(func() {
				defer func() { <-slots }()
				defer open.Add(-1)
				defer c.close()
				if _, _, err := c.ws.Read(ctx); ctx.Err() == nil {
					r.count("unauth", "closed by the relay")
					_ = err
				}
			})
		}
	}, nil
}

// flood: one account sends fan-outs of five 96 KiB ciphertexts to five
// strangers, each as soon as the last is answered.
func (r *Run) flood(ctx context.Context, src netip.Addr) (func(context.Context), error) {
	var strangers []*account
	for i := range 5 {
		s, err := r.register(ctx, victimNet(src), r.address("flood-stranger", i), 0)
		if err != nil {
			return nil, err
		}
		strangers = append(strangers, s)
	}
	a, err := r.register(ctx, src, r.address("flood", 0), 0)
	if err != nil {
		return nil, err
	}
	body := filled(wire.MaxCiphertext, 0xf1)
	var accepted atomic.Int64
	return func(ctx context.Context) {
		repeat(ctx, func(ctx context.Context) time.Duration {
			c, res := r.signIn(ctx, src, a)
			if c == nil {
				if ctx.Err() == nil {
					r.count("flood", res)
				}
				return time.Second
			}
			defer c.close()
			for ctx.Err() == nil {
				s := &wire.Send{MessageID: wire.NewMessageID(), Kind: wire.KindMessage}
				for _, st := range strangers {
					s.Recipients = append(s.Recipients, wire.Recipient{User: st.user, Device: st.device, Ciphertext: body})
				}
				b, err := c.call(ctx, s)
				if stopped(ctx, err) {
					return 0
				}
				r.count("flood", outcome(b, err))
				if _, ok := b.(*wire.Accepted); ok {
					n := accepted.Add(1)
					r.note("flood", "%d fan-outs (%d MiB) accepted", n, n*5*wire.MaxCiphertext>>20)
				}
				if err != nil {
					return time.Second
				}
				// Refused: send the next at once on the same connection,
				// as a flooder does; the relay decides how fast it reads.
			}
			return 0
		})
	}, nil
}

// verify: a victim asks for a code from their own network; the attacker,
// from another, guesses it as fast as the relay answers for as long as a
// person takes to type a code; then the victim enters the real code.
func (r *Run) verify(ctx context.Context, src netip.Addr) (func(context.Context), error) {
	var cycle, signedIn, lockedOut atomic.Int64
	return func(ctx context.Context) {
		repeat(ctx, func(ctx context.Context) time.Duration {
			addr := r.address("verify-victim", int(cycle.Add(1)))
			vc, err := dialFrom(ctx, r.cfg.URL, victimNet(src))
			if err != nil {
				return time.Second
			}
			defer vc.close()
			b, err := vc.call(ctx, &wire.Register{Address: addr})
			sent, ok := b.(*wire.CodeSent)
			if !ok {
				return max(retryAfter(b), time.Second)
			}
			code, err := r.cfg.Codes.WaitCode(ctx, addr)
			if err != nil {
				return 0
			}
			ac, err := dialFrom(ctx, r.cfg.URL, src)
			if err != nil {
				return time.Second
			}
			guessing, cancel := context.WithTimeout(ctx, 5*time.Second)
			for guessing.Err() == nil {
				b, err := ac.call(guessing, &wire.Verify{Address: addr, Code: fmt.Sprintf("%08d", cycle.Load()%1e8), DeviceName: "attack"})
				if guessing.Err() != nil {
					break
				}
				o := outcome(b, err)
				r.count("verify", o)
				if err != nil {
					ac.close()
					if ac, err = dialFrom(ctx, r.cfg.URL, src); err != nil {
						break
					}
				}
			}
			cancel()
			ac.close()
			if ctx.Err() != nil {
				return 0
			}
			b, err = vc.call(ctx, &wire.Verify{Address: addr, Code: code, Token: sent.Token, DeviceName: "victim"})
			if _, ok := b.(*wire.Verified); ok {
				signedIn.Add(1)
				r.count("verify", "victim signed in")
			} else {
				lockedOut.Add(1)
				r.count("verify", "victim locked out")
			}
			r.note("verify", "the victim signed in %d times of %d", signedIn.Load(), signedIn.Load()+lockedOut.Load())
			return 0
		})
	}, nil
}

// contacts: one account records contacts with made-up user IDs and lists
// its contacts, in a loop.
func (r *Run) contacts(ctx context.Context, src netip.Addr) (func(context.Context), error) {
	a, err := r.register(ctx, src, r.address("contacts", 0), 0)
	if err != nil {
		return nil, err
	}
	return r.signedInLoop(src, a, "contacts", func(i int) wire.Body {
		if i%50 == 49 {
			return &wire.ListContacts{}
		}
		var u wire.UserID
		rand.Read(u[:])
		return &wire.SetContact{User: u, State: wire.ContactAllowed}
	}, nil), nil
}

// keys: one account publishes a full set of one-time prekeys in a loop.
func (r *Run) keys(ctx context.Context, src netip.Addr) (func(context.Context), error) {
	a, err := r.register(ctx, src, r.address("keys", 0), 0)
	if err != nil {
		return nil, err
	}
	k := keys(wire.MaxPrekeys)
	return r.signedInLoop(src, a, "keys", func(int) wire.Body { return k }, nil), nil
}

// signedInLoop sends next(i) for i = 0, 1, ... on a signed-in connection
// of a, hands each answer to seen (when not nil), and reconnects at once
// when the relay refuses one, as an attacker whose limits used to be a
// connection's would.
func (r *Run) signedInLoop(src netip.Addr, a *account, name string, next func(i int) wire.Body, seen func(wire.Body)) func(context.Context) {
	return func(ctx context.Context) {
		i := 0
		repeat(ctx, func(ctx context.Context) time.Duration {
			c, res := r.signIn(ctx, src, a)
			if c == nil {
				if ctx.Err() == nil {
					r.count(name, res)
				}
				return time.Second
			}
			defer c.close()
			for ctx.Err() == nil {
				b, err := c.call(ctx, next(i))
				i++
				if stopped(ctx, err) {
					return 0
				}
				r.count(name, outcome(b, err))
				if err != nil {
					return time.Second
				}
				if seen != nil {
					seen(b)
				}
				if w := retryAfter(b); w > 0 {
					return 0 // refused: reconnect at once
				}
			}
			return 0
		})
	}
}

// requests: ten fresh accounts on one network each send a contact request
// to each of five strangers, then keep trying.
func (r *Run) requests(ctx context.Context, src netip.Addr) (func(context.Context), error) {
	var victims, senders []*account
	for i := range 5 {
		v, err := r.register(ctx, victimNet(src), r.address("requests-victim", i), 0)
		if err != nil {
			return nil, err
		}
		victims = append(victims, v)
	}
	for i := range 10 {
		s, err := r.register(ctx, src, r.address("requests", i), 0)
		if err != nil {
			return nil, err
		}
		senders = append(senders, s)
	}
	body := filled(2048, 0xa5)
	return func(ctx context.Context) {
		var wg sync.WaitGroup
		for _, s := range senders {
			wg.Go(func() {
				n := 0
				r.signedInLoop(src, s, "requests", func(int) wire.Body {
					v := victims[n%len(victims)]
					n++
					return &wire.Send{MessageID: wire.NewMessageID(), Kind: wire.KindRequest,
						Recipients: []wire.Recipient{{User: v.user, Device: v.device, Ciphertext: body}}}
				}, nil)(ctx)
			})
		}
		wg.Wait()
	}, nil
}
