package client

import (
	"context"
	"errors"

	"github.com/mutualcoop/mutual/relay/wire"
)

var errScaffold = errors.New("groups: placeholder")

// CreateGroup creates a group named name with the given contacts, and
// makes this account its admin. It needs the relay (ErrOffline).
func (c *Client) CreateGroup(ctx context.Context, name string, members []wire.UserID) (Group, error) {
	return Group{}, errScaffold
}

// Groups lists the groups this device knows, newest activity first.
func (c *Client) Groups(ctx context.Context) ([]Group, error) { return nil, errScaffold }

// Group returns one group.
func (c *Client) Group(ctx context.Context, id wire.ConversationID) (Group, error) {
	return Group{}, errScaffold
}

// SendGroup queues a text to a group; it works offline.
func (c *Client) SendGroup(ctx context.Context, id wire.ConversationID, text string) (wire.MessageID, error) {
	return wire.MessageID{}, errScaffold
}

// RenameGroup renames a group (admins, or every member? admins only).
func (c *Client) RenameGroup(ctx context.Context, id wire.ConversationID, name string) error {
	return errScaffold
}

// AddMembers adds users to a group.
func (c *Client) AddMembers(ctx context.Context, id wire.ConversationID, users ...wire.UserID) error {
	return errScaffold
}

// RemoveMember removes a member (admins only).
func (c *Client) RemoveMember(ctx context.Context, id wire.ConversationID, user wire.UserID) error {
	return errScaffold
}

// SetAdmin makes a member an admin, or a member only.
func (c *Client) SetAdmin(ctx context.Context, id wire.ConversationID, user wire.UserID, admin bool) error {
	return errScaffold
}

// SetMembersCanAdd lets every member add members, or admins only.
func (c *Client) SetMembersCanAdd(ctx context.Context, id wire.ConversationID, on bool) error {
	return errScaffold
}

// LeaveGroup leaves a group.
func (c *Client) LeaveGroup(ctx context.Context, id wire.ConversationID) error { return errScaffold }

// AcceptGroup joins a group this account was invited to.
func (c *Client) AcceptGroup(ctx context.Context, id wire.ConversationID) error { return errScaffold }

// DeclineGroup declines an invitation.
func (c *Client) DeclineGroup(ctx context.Context, id wire.ConversationID) error { return errScaffold }

// ReadBy says, for a message this account wrote to a group, how far each
// member has got with it.
func (c *Client) ReadBy(ctx context.Context, id wire.ConversationID, msg wire.MessageID) ([]Receipt, error) {
	return nil, errScaffold
}
