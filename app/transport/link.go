package transport

import (
	"context"
	"fmt"

	"github.com/mutualcoop/mutual/relay/wire"
)

// Link sends l, the first frame of a device that asks to be linked, and
// returns the relay's first answer: the code to show. Linked waits for
// the second, once a device of the account has linked this one. A Conn
// sends at most one Link.
func (c *Conn) Link(ctx context.Context, l *wire.Link) (*wire.LinkStarted, error) {
	c.mu.Lock()
	if c.linked != nil {
		c.mu.Unlock()
		return nil, fmt.Errorf("transport: link sent already")
	}
	id := c.nextID.Add(1)
	c.linked, c.linkID = make(chan wire.Body, 1), id
	c.mu.Unlock()
	return callID[*wire.LinkStarted](ctx, c, id, l)
}

// Linked waits for the relay's answer to Link once a device of the
// account has linked this one: Verified, with the provision, after which
// the connection is authenticated as the new device; or the relay's
// *wire.Error (the link expired). If the connection ends first, the
// error is the reason (see Err).
func (c *Conn) Linked(ctx context.Context) (*wire.Verified, error) {
	c.mu.Lock()
	ch := c.linked
	c.mu.Unlock()
	if ch == nil {
		return nil, fmt.Errorf("transport: no link sent")
	}
	var b wire.Body
	select {
	case b = <-ch:
	case <-ctx.Done():
		return nil, fmt.Errorf("transport: wait for the link: %w", ctx.Err())
	case <-c.done:
		select {
		case b = <-ch:
		default:
			return nil, c.Err()
		}
	}
	b, err := answer(b)
	if err != nil {
		return nil, err
	}
	v, ok := b.(*wire.Verified)
	if !ok {
		return nil, &UnexpectedReplyError{Request: wire.TypeLink, Reply: b.Type()}
	}
	return v, nil
}

// linkRequest returns the frame ID of the Link sent, 0 if none.
func (c *Conn) linkRequest() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.linkID
}

// linkAnswer hands the later answer to Link, whether the relay sends it
// under the Link's frame ID or without one, to Linked; anything after
// the first, or without a Link, is dropped.
func (c *Conn) linkAnswer(b wire.Body) {
	c.mu.Lock()
	ch := c.linked
	if c.linkID == 0 {
		ch = nil
	}
	c.linkID = 0
	c.mu.Unlock()
	if ch != nil {
		select {
		case ch <- b:
		default:
		}
	}
}
