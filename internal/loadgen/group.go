package loadgen

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"

	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Group runs (Config.GroupSize ≥ 2): the clients form groups of
// GroupSize consecutive clients, in place of the ring of contacts. The
// first of each group creates it at the relay (SetGroup create, the
// others invited) and the others join it; every message then goes to the
// group as a Send of kind KindGroup: one shared payload for every other
// member's device, as a client sends a Sender Key message. A message is
// delivered once per other member, so a run's deliveries are its
// messages times GroupSize-1, and latency is measured at every member.

// groupOf returns the members of client i's group.
func (r *run) groupOf(i int) []*client {
	g := r.cfg.GroupSize
	start := i / g * g
	return r.clients[start:min(start+g, len(r.clients))]
}

// createGroup creates c's group at the relay when c is its first member.
// Every group is created (a first pass over the clients) before anyone
// joins (joinGroup, a second pass).
func (r *run) createGroup(ctx context.Context, c *client) error {
	members := r.groupOf(c.idx)
	if members[0] != c {
		return nil
	}
	users := make([]wire.UserID, 0, len(members)-1)
	for _, m := range members[1:] {
		users = append(users, m.self.User)
	}
	var admin, add [32]byte
	rand.Read(admin[:])
	rand.Read(add[:])
	ah, dh := sha256.Sum256(admin[:]), sha256.Sum256(add[:])
	set := &wire.SetGroup{Group: c.conv, Op: wire.GroupCreate, Users: users, AdminHash: ah[:], AddHash: dh[:]}
	if _, err := transport.Call[*wire.OK](ctx, c.conn, set); err != nil {
		return fmt.Errorf("client %d creates its group: %w", c.idx, err)
	}
	return nil
}

// joinGroup joins c's group when c did not create it.
func (r *run) joinGroup(ctx context.Context, c *client) error {
	if r.groupOf(c.idx)[0] == c {
		return nil
	}
	if _, err := transport.Call[*wire.OK](ctx, c.conn, &wire.SetGroup{Group: c.conv, Op: wire.GroupJoin}); err != nil {
		return fmt.Errorf("client %d joins its group: %w", c.idx, err)
	}
	return nil
}

// groupSend is the Send of one group message from c: the shared payload,
// and every other member's device without a part of its own.
func groupSend(c *client, id wire.MessageID, shared []byte) *wire.Send {
	s := &wire.Send{MessageID: id, Conversation: c.conv, Kind: wire.KindGroup, Shared: shared}
	s.Recipients = make([]wire.Recipient, 0, len(c.members)-1)
	for _, m := range c.members {
		if m != c {
			s.Recipients = append(s.Recipients, wire.Recipient{User: m.self.User, Device: m.self.Device})
		}
	}
	return s
}
