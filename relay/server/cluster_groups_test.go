//go:build cluster

package server_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/internal/wait"
	"github.com/mutualcoop/mutual/relay/wire"
)

// TestClusterGroupCrash runs a group conversation on the cluster of
// TestClusterCrashUnderLoad (two gateways, two routers, Kafka and
// PostgreSQL): five members, neighbours on different gateways, each
// sending group messages (one shared ciphertext for the four others)
// under continuous load. Gateway 1 and then router 1 are killed with
// SIGKILL mid-way and started again. At the end every group message
// answered Accepted has reached every other member, and nothing else
// has.
func TestClusterGroupCrash(t *testing.T) {
	const members = 5
	brokers, db := clusterServices(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cl := newCluster(t, ctx, brokers, db)
	defer cl.stop(t)

	cs := make([]*clusterClient, members)
	for i := range cs {
		cs[i] = cl.gateways[i%2].register(t, ctx, 100+i)
	}
	group := wire.ConversationID(wire.NewMessageID())
	admin := sha256.Sum256([]byte("the admins' secret"))
	for i, c := range cs {
		set := &wire.SetGroup{Group: group, Op: wire.GroupJoin}
		if i == 0 {
			set = &wire.SetGroup{Group: group, Op: wire.GroupCreate, AdminHash: admin[:], AddHash: admin[:]}
			for _, o := range cs[1:] {
				set.Users = append(set.Users, o.user)
			}
		}
		conn, err := cl.gateways[c.gateway].auth(ctx, c.crashClient)
		if err != nil {
			t.Fatalf("member %d: %v", i, err)
		}
		if _, err := transport.Call[*wire.OK](ctx, conn, set); err != nil {
			t.Fatalf("member %d: set group: %v", i, err)
		}
		conn.Close()
	}
	// Each member writes to the four others: a shared ciphertext and no
	// part of their own. Contact lists play no part.
	for _, c := range cs {
		c.compose = func(n int) *wire.Send {
			s := &wire.Send{MessageID: wire.NewMessageID(), Conversation: group, Kind: wire.KindGroup, Shared: fmt.Appendf(nil, "g-%d-%d", c.idx, n)}
			for _, o := range cs {
				if o != c {
					s.Recipients = append(s.Recipients, wire.Recipient{User: o.user, Device: o.device})
				}
			}
			return s
		}
	}

	stop := make(chan struct{})
	var sessions sync.WaitGroup
	for _, c := range cs {
		sessions.Go(func() { c.run(ctx, cl.gateways, stop) })
	}
	stopped := false
	stopSessions := func() {
		if !stopped {
			stopped = true
			close(stop)
			sessions.Wait()
		}
	}
	defer stopSessions()

	// Every member receives n more messages.
	progress := func(what string, n int) {
		t.Helper()
		base := make([]int, len(cs))
		for i, c := range cs {
			base[i] = c.storedCount()
		}
		err := wait.Until(ctx, func() bool {
			for i, c := range cs {
				if c.storedCount() < base[i]+n {
					return false
				}
			}
			return true
		})
		if err != nil {
			t.Fatalf("%s: no progress: %v\n%s", what, err, cl.logs())
		}
	}
	progress("before killing gateway 1", 40)
	// Gateway 1's clients go on at gateway 2.
	var before []*clusterClient
	for _, c := range cs {
		if c.on.Load() == 1 {
			before = append(before, c)
		}
	}
	cl.gateways[0].kill(t)
	progress("with gateway 1 killed", 40)
	t.Logf("gateway 1 killed with %d members on it", len(before))
	cl.gateways[0].start(t, ctx)
	progress("after gateway 1 came back", 40)
	cl.routers[0].kill(t)
	progress("with router 1 killed", 40)
	cl.routers[0].start(t, ctx)
	progress("after router 1 came back", 40)
	for _, c := range cs {
		c.producing.Store(false)
	}

	// Drain: everything answered Accepted reaches every other member.
	lost := func() int {
		n := 0
		for _, c := range cs {
			c.mu.Lock()
			for id := range c.accepted {
				for _, o := range cs {
					if o == c {
						continue
					}
					o.rmu.Lock()
					if o.stored[id] == 0 {
						n++
					}
					o.rmu.Unlock()
				}
			}
			c.mu.Unlock()
		}
		return n
	}
	err := wait.Until(ctx, func() bool {
		for _, c := range cs {
			if c.outstanding() > 0 {
				return false
			}
		}
		return lost() == 0
	})
	stopSessions()
	var accepted, resent int
	for _, c := range cs {
		c.mu.Lock()
		accepted += len(c.accepted)
		c.mu.Unlock()
		resent += int(c.resent.Load())
		if n := c.failures.Load(); n > 0 {
			t.Errorf("member %d: %d sends refused for good", c.idx, n)
		}
		c.rmu.Lock()
		for id, body := range c.bodies {
			if !strings.HasPrefix(body, "g-") || strings.HasPrefix(body, fmt.Sprintf("g-%d-", c.idx)) {
				t.Errorf("member %d received %v: %q", c.idx, id, body)
			}
		}
		c.rmu.Unlock()
	}
	t.Logf("%d group messages accepted, each to %d members; %d lost; %d resent with the same ID", accepted, members-1, lost(), resent)
	if err != nil {
		t.Fatalf("drain: %v; %d deliveries of accepted group messages missing\n%s", err, lost(), cl.logs())
	}
}
