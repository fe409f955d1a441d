package client

import (
	"context"
	"errors"
	"fmt"

	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/relay/wire"
)

// The co-op that runs the relay: its figures, this account's membership
// and roles (Coop), joining and cancelling (Join, CancelMembership), and
// what operators do (SetCost, Grant). Every call here asks the relay
// (wire.Coop) and needs Run's connection, as AddContact does. The
// co-op's notices arrive on their own (coopnotices.go).

// CoopChatName is what the co-op's conversation (wire.CoopConversation)
// is called in the chat list.
const CoopChatName = "Mutual co-op"

// ErrCoopConversation: no one writes to the co-op's conversation; only
// the relay does, with notices.
var ErrCoopConversation = errors.New("client: the co-op's conversation takes no messages: only the co-op's notices appear there")

// CoopInfo is the co-op as the relay tells it: its name and currency, the
// ways to pay, its figures by month (newest first, the current month
// first; each month's derived figures come from wire.CoopMonth's methods:
// TotalCosts, CostPerUser, UsersPerMember, Coverage), this account's
// membership and roles, and whether its yearly notices are off.
type CoopInfo struct {
	wire.CoopInfo
}

// Current is the current month's figures (a zero month when the relay
// has none).
func (i *CoopInfo) Current() *wire.CoopMonth {
	if len(i.Months) == 0 {
		return &wire.CoopMonth{}
	}
	return &i.Months[0]
}

// HasRole says whether the account holds role now.
func (i *CoopInfo) HasRole(role wire.CoopRole) bool {
	for _, r := range i.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// Member says whether the account pays dues (active, or in grace).
func (i *CoopInfo) Member() bool { return i.Membership.Status.Paying() }

// Coop returns the co-op's figures and this account's membership.
func (c *Client) Coop(ctx context.Context) (CoopInfo, error) {
	return c.coopInfo(ctx, "co-op", &wire.Coop{Op: wire.CoopStatus})
}

// Join starts a membership: provider ("stripe", "gocardless": one of
// CoopInfo.Providers) and plan (a CoopPlan's Name). It returns the
// provider's page where the person pays; the membership is pending until
// the provider tells the relay it is paid. It fails with the relay's
// *wire.Error: exists (a member already), not_found (no such provider or
// plan), rate_limited, unavailable (the provider cannot be reached, or
// the relay runs no co-op).
func (c *Client) Join(ctx context.Context, provider, plan string) (url string, err error) {
	conn, err := c.connection(ctx)
	if err != nil {
		return "", fmt.Errorf("join the co-op: %w", err)
	}
	co, err := transport.Call[*wire.CoopCheckout](ctx, conn, &wire.Coop{Op: wire.CoopJoin, Provider: provider, Plan: plan})
	if err != nil {
		return "", fmt.Errorf("join the co-op: %w", err)
	}
	return co.URL, nil
}

// CancelMembership cancels this account's membership at its provider
// (not_found when there is none).
func (c *Client) CancelMembership(ctx context.Context) (CoopInfo, error) {
	return c.coopInfo(ctx, "cancel the membership", &wire.Coop{Op: wire.CoopCancel})
}

// SetCost records one line of the co-op's costs (an operator only,
// forbidden otherwise): month "2026-12", category ("infrastructure",
// "sms", ...), amount in minor units of the co-op's currency (0 removes
// the line) and a note.
func (c *Client) SetCost(ctx context.Context, month, category string, amount int64, note string) (CoopInfo, error) {
	return c.coopInfo(ctx, "set a cost", &wire.Coop{Op: wire.CoopSetCost, Month: month, Category: category, Amount: amount, Note: note})
}

// Grant gives role (wire.RoleOperator or wire.RoleContributor) to the
// account registered at address, or takes it back with revoke (an
// operator only).
func (c *Client) Grant(ctx context.Context, role wire.CoopRole, address string, revoke bool) error {
	conn, err := c.connection(ctx)
	if err != nil {
		return fmt.Errorf("grant a role: %w", err)
	}
	if _, err := transport.Call[*wire.OK](ctx, conn, &wire.Coop{Op: wire.CoopGrant, Role: role, Address: address, Revoke: revoke}); err != nil {
		return fmt.Errorf("grant a role: %w", err)
	}
	return nil
}

// SetCoopNotices turns this account's yearly co-op notices on or off.
func (c *Client) SetCoopNotices(ctx context.Context, on bool) (CoopInfo, error) {
	return c.coopInfo(ctx, "set the co-op's notices", &wire.Coop{Op: wire.CoopNotices, Off: !on})
}

// coopInfo asks the relay req, which it answers with a CoopInfo.
func (c *Client) coopInfo(ctx context.Context, what string, req *wire.Coop) (CoopInfo, error) {
	conn, err := c.connection(ctx)
	if err != nil {
		return CoopInfo{}, fmt.Errorf("%s: %w", what, err)
	}
	info, err := transport.Call[*wire.CoopInfo](ctx, conn, req)
	if err != nil {
		return CoopInfo{}, fmt.Errorf("%s: %w", what, err)
	}
	return CoopInfo{*info}, nil
}
