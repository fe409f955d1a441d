package interop

import (
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"testing"

	"github.com/mutualcoop/mutual/crypto/ratchet"
)

// conv is a conversation between a Mutual device and a libsignal device.
type conv struct {
	t          *testing.T
	mu         *mutualUser
	ls         *lsUser
	toLS, toMu []sent
	n          int
	rng        *mrand.Rand
}

type sent struct {
	ct ratchet.Ciphertext
	pt string
}

// newConv sets up both devices; mutualStarts chooses who processes the
// other's bundle; withPreKey whether the bundle has a one-time prekey.
func newConv(t *testing.T, mutualStarts, withPreKey bool, seed uint64) *conv {
	c := &conv{t: t, mu: newMutualUser(t, "mutual", 1), ls: newLSUser(t, "libsignal", 2), rng: mrand.New(mrand.NewPCG(seed, 1))}
	c.mu.addPreKeys(t, 3)
	c.ls.addPreKeys(t, 3)
	var preKeyID uint32
	if withPreKey {
		preKeyID = 2
	}
	if mutualStarts {
		if err := c.mu.m.ProcessBundle(t.Context(), c.lsAddr(), c.ls.mutualBundle(t, preKeyID)); err != nil {
			t.Fatal(err)
		}
	} else {
		if err := c.ls.builder(c.ls.peerAddr(c.mu)).ProcessBundle(t.Context(), lsBundle(c.mu.bundle(preKeyID))); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func (c *conv) lsAddr() (a mutualAddr) {
	return mutualAddr{Name: c.ls.addr.Name(), DeviceID: c.ls.addr.DeviceID()}
}

func (c *conv) muSend(k int) {
	for range k {
		c.n++
		pt := fmt.Sprintf("from mutual %d", c.n)
		c.toLS = append(c.toLS, sent{c.mu.encrypt(c.t, c.lsAddr(), pt), pt})
	}
}

func (c *conv) lsSend(k int) {
	for range k {
		c.n++
		pt := fmt.Sprintf("from libsignal %d", c.n)
		c.toMu = append(c.toMu, sent{c.ls.encrypt(c.t, c.ls.peerAddr(c.mu), pt), pt})
	}
}

// order picks the delivery order of n queued messages.
type order int

const (
	fifo order = iota
	reverse
	shuffle
	lastFirst
)

func (c *conv) perm(n int, o order) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	switch o {
	case reverse:
		slices.Reverse(p)
	case shuffle:
		c.rng.Shuffle(n, func(i, j int) { p[i], p[j] = p[j], p[i] })
	case lastFirst:
		if n > 1 {
			p = append([]int{n - 1}, p[:n-1]...)
		}
	}
	return p
}

func (c *conv) deliverToLS(o order) {
	c.t.Helper()
	q := c.toLS
	c.toLS = nil
	for _, i := range c.perm(len(q), o) {
		pt, err := c.ls.decrypt(c.ls.peerAddr(c.mu), q[i].ct)
		if err != nil || string(pt) != q[i].pt {
			c.t.Fatalf("libsignal decrypting %q (%v message): %q, %v", q[i].pt, q[i].ct.Type, pt, err)
		}
	}
}

func (c *conv) deliverToMu(o order) {
	c.t.Helper()
	q := c.toMu
	c.toMu = nil
	for _, i := range c.perm(len(q), o) {
		pt, err := c.mu.decrypt(c.lsAddr(), q[i].ct)
		if err != nil || string(pt) != q[i].pt {
			c.t.Fatalf("mutual decrypting %q (%v message): %q, %v", q[i].pt, q[i].ct.Type, pt, err)
		}
	}
}

func TestInteropConversations(t *testing.T) {
	scenarios := []struct {
		name string
		run  func(c *conv, mutualStarts bool)
	}{
		{"in order", func(c *conv, ms bool) {
			for range 10 {
				if ms {
					c.muSend(1)
					c.deliverToLS(fifo)
					c.lsSend(1)
					c.deliverToMu(fifo)
				} else {
					c.lsSend(1)
					c.deliverToMu(fifo)
					c.muSend(1)
					c.deliverToLS(fifo)
				}
			}
		}},
		{"out of order", func(c *conv, ms bool) {
			first(c, ms)
			for _, o := range []order{shuffle, reverse, lastFirst} {
				c.muSend(10)
				c.lsSend(10)
				c.deliverToLS(o)
				c.deliverToMu(o)
			}
		}},
		{"gaps", func(c *conv, ms bool) {
			first(c, ms)
			// libsignal (Go) refuses jumps over 2,000; Mutual keeps
			// 2,000 skipped keys.
			c.muSend(1500)
			c.deliverToLS(lastFirst)
			c.lsSend(2001)
			c.deliverToMu(lastFirst)
			c.muSend(300)
			c.deliverToLS(reverse)
			c.lsSend(300)
			c.deliverToMu(shuffle)
		}},
		{"many ratchet steps", func(c *conv, ms bool) {
			first(c, ms)
			for i := range 150 {
				c.muSend(1 + i%3)
				c.deliverToLS(shuffle)
				c.lsSend(1 + i%2)
				c.deliverToMu(shuffle)
			}
		}},
		{"both send before receiving", func(c *conv, ms bool) {
			first(c, ms)
			for range 20 {
				c.muSend(3)
				c.lsSend(3)
				c.deliverToMu(shuffle)
				c.deliverToLS(shuffle)
			}
		}},
	}
	for _, sc := range scenarios {
		for _, ms := range []bool{true, false} {
			for _, pk := range []bool{true, false} {
				if sc.name == "gaps" && !pk {
					continue // the slow one: once per initiator is enough
				}
				name := fmt.Sprintf("%s/mutual starts=%v/one-time prekey=%v", sc.name, ms, pk)
				t.Run(name, func(t *testing.T) {
					c := newConv(t, ms, pk, 7)
					sc.run(c, ms)
				})
			}
		}
	}
}

// first sends the initiator's first message (several, in fact, delivered
// out of order) so that both sides have the session.
func first(c *conv, mutualStarts bool) {
	if mutualStarts {
		c.muSend(3)
		c.deliverToLS(reverse)
	} else {
		c.lsSend(3)
		c.deliverToMu(reverse)
	}
}

// TestInteropRandomSchedules runs random conversations with loss and
// reordering between Mutual and libsignal. Reordering is bounded (a message
// waits at most maxAge steps) so that no message outlives the five
// receiver chains both implementations keep.
func TestInteropRandomSchedules(t *testing.T) {
	const maxAge = 8
	for seed := range uint64(interopSeeds) {
		for _, ms := range []bool{true, false} {
			t.Run(fmt.Sprintf("seed=%d/mutual starts=%v", seed, ms), func(t *testing.T) {
				c := newConv(t, ms, seed%2 == 0, seed)
				type pending struct {
					s    sent
					toLS bool
					born int
				}
				var queue []pending
				muHas, lsHas := ms, !ms
				for step := range 300 {
					// Force the oldest message out if it is too old.
					pick := -1
					if len(queue) > 0 && step-queue[0].born >= maxAge {
						pick = 0
					}
					switch r := c.rng.IntN(10); {
					case pick < 0 && r < 4:
						if c.rng.IntN(2) == 0 && muHas {
							c.muSend(1)
							queue = append(queue, pending{c.toLS[0], true, step})
							c.toLS = nil
						} else if lsHas {
							c.lsSend(1)
							queue = append(queue, pending{c.toMu[0], false, step})
							c.toMu = nil
						}
						continue
					case pick < 0 && r == 4 && len(queue) > 0:
						i := c.rng.IntN(len(queue)) // lost
						queue = append(queue[:i], queue[i+1:]...)
						continue
					case pick < 0 && len(queue) > 0:
						pick = c.rng.IntN(len(queue))
					}
					if pick < 0 {
						continue
					}
					p := queue[pick]
					queue = append(queue[:pick], queue[pick+1:]...)
					if p.toLS {
						c.toLS = []sent{p.s}
						c.deliverToLS(fifo)
						lsHas = true
					} else {
						c.toMu = []sent{p.s}
						c.deliverToMu(fifo)
						muHas = true
					}
				}
			})
		}
	}
}
