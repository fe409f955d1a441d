package directory

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/wire"
)

// countingSource is a MemberSource with fixed lists that counts reads.
type countingSource struct {
	lists map[wire.ConversationID][]wire.UserID
	reads int
	fail  error
}

func (s *countingSource) GroupMembers(_ context.Context, g wire.ConversationID) ([]wire.UserID, error) {
	s.reads++
	if s.fail != nil {
		return nil, s.fail
	}
	us, ok := s.lists[g]
	if !ok {
		return nil, fmt.Errorf("group members: %w", ErrNotFound)
	}
	return us, nil
}

func TestMemberCache(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	a, b := wire.NewUserID(), wire.NewUserID()
	g, h, none := wire.ConversationID{1}, wire.ConversationID{2}, wire.ConversationID{3}
	src := &countingSource{lists: map[wire.ConversationID][]wire.UserID{g: {a, b}, h: {a}}}
	c := NewMemberCache(2*time.Second, 3, clock)

	joined := func(group wire.ConversationID, want int, reads int) {
		t.Helper()
		got, err := c.Joined(ctx, src, group)
		if err != nil || len(got) != want || src.reads != reads {
			t.Fatalf("Joined = %v, %v after %d reads; want %d members after %d reads", got, err, src.reads, want, reads)
		}
	}
	joined(g, 2, 1)
	joined(g, 2, 1) // cached
	joined(none, 0, 2)
	joined(none, 0, 2) // no such group: cached too

	// A change through this process is seen at once; others' once the
	// entry expires.
	src.lists[g] = []wire.UserID{a}
	joined(g, 2, 2)
	c.Forget(g)
	joined(g, 1, 3)
	src.lists[g] = []wire.UserID{a, b}
	now = now.Add(2 * time.Second)
	joined(g, 2, 4)

	// Bounded: g (2) and none (1, expired) fill it; h makes room.
	joined(h, 1, 5)
	if c.held > c.max {
		t.Fatalf("holds %d members, bound %d", c.held, c.max)
	}
	big := wire.ConversationID{4}
	src.lists[big] = []wire.UserID{a, b, wire.NewUserID(), wire.NewUserID()}
	joined(big, 4, 6)
	joined(big, 4, 7) // larger than the whole cache: never kept
	if c.held > c.max {
		t.Fatalf("holds %d members, bound %d", c.held, c.max)
	}

	src.fail = errors.New("directory down")
	c.Forget(g)
	if _, err := c.Joined(ctx, src, g); err == nil {
		t.Fatal("a failed read was taken for an empty group")
	}
}
