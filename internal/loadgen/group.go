package loadgen

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"

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

// recipients are the devices a group message from c goes to: every
// device of the other members, and c's own other devices.
func recipients(c *client) []*client {
	to := make([]*client, 0, len(c.members)*(1+len(c.devices)))
	for _, m := range c.members {
		if m != c {
			to = append(to, m)
			to = append(to, m.devices...)
		}
	}
	return append(to, c.devices...)
}

// groupSend is the Send of one group message from c: the shared payload,
// and every recipient device without a part of its own.
func groupSend(c *client, id wire.MessageID, shared []byte) *wire.Send {
	s := &wire.Send{MessageID: id, Conversation: c.conv, Kind: wire.KindGroup, Shared: shared}
	to := recipients(c)
	s.Recipients = make([]wire.Recipient, len(to))
	for i, d := range to {
		s.Recipients[i] = wire.Recipient{User: d.self.User, Device: d.self.Device}
	}
	return s
}

// all returns every device of the run: the clients, then their other
// devices.
func (r *run) all() []*client {
	all := r.clients
	if r.cfg.devices() > 1 {
		all = slices.Clone(all)
		for _, c := range r.clients {
			all = append(all, c.devices...)
		}
	}
	return all
}

// registerDevices signs c's account in on its other devices
// (Config.Devices), one after the other, each from an address of its
// own.
func (r *run) registerDevices(ctx context.Context, c *client) error {
	for k := 1; k < r.cfg.devices(); k++ {
		d := &client{idx: c.idx, addr: c.addr, src: r.src(k*len(r.clients) + c.idx), seen: make(map[wire.MessageID]struct{})}
		if err := r.register(ctx, d); err != nil {
			return fmt.Errorf("device %d: %w", k+1, err)
		}
		c.devices = append(c.devices, d)
	}
	return r.approveDevices(ctx, c)
}

// approveDevices has c's first device approve its other ones: a relay
// that protects accounts holds a device signed in by code alone to an
// account in use until one of its devices approves it. A relay that held
// none answers not_found, which is as good.
func (r *run) approveDevices(ctx context.Context, c *client) error {
	if len(c.devices) == 0 {
		return nil
	}
	conn, err := r.dial(ctx, c)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.Auth(ctx, c.self.User, c.self.Device, c.cred); err != nil {
		return fmt.Errorf("client %d: %w", c.idx, err)
	}
	for _, d := range c.devices {
		_, err := transport.Call[*wire.OK](ctx, conn, &wire.ApproveDevice{Device: d.self.Device})
		var e *wire.Error
		if err != nil && !(errors.As(err, &e) && e.Code == wire.CodeNotFound) {
			return fmt.Errorf("approve device %d of client %d: %w", d.self.Device, c.idx, err)
		}
	}
	return nil
}

// connectDevices connects c's other devices.
func (r *run) connectDevices(ctx context.Context, c *client) error {
	for _, d := range c.devices {
		if err := r.connect(ctx, d); err != nil {
			return err
		}
	}
	return nil
}
