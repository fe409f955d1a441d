package directory

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"

	"github.com/mutualcoop/mutual/relay/wire"
)

var (
	// ErrForbidden is returned by ChangeGroup when the actor may not make
	// the change: a wrong or missing proof, or an actor who is not a
	// joined member where one must be. Nothing is written.
	ErrForbidden = errors.New("directory: forbidden")
	// ErrExists is returned by ChangeGroup when a group to create exists.
	ErrExists = errors.New("directory: exists")
	// ErrUnknownUser is returned by ChangeGroup when a user to put on a
	// list is not registered. It wraps ErrNotFound.
	ErrUnknownUser = fmt.Errorf("%w: unknown user", ErrNotFound)
)

// MemberState is where a user stands on a group's member list.
type MemberState int

const (
	// NotMember: not on the list (never was, left, or was removed).
	NotMember MemberState = iota
	// Invited: on the list, not yet joined. Receives nothing of the group.
	Invited
	// Joined: a member, who may send to the group and receives its messages.
	Joined
)

// GroupHashes are the SHA-256 hashes of a group's three secrets. The
// directory never sees a secret at rest: whoever presents, in a change,
// the secret whose hash is stored may make the change it allows.
type GroupHashes struct {
	Admin []byte // 32 bytes: add, remove, replace the hashes
	Add   []byte // 32 bytes: add
	Link  []byte // 32 bytes, or empty when the group has no invite link: join
}

// GroupChange is one change of a group's member list, made by Actor (the
// authenticated user, never anything a client claims).
type GroupChange struct {
	Group  wire.ConversationID
	Op     wire.GroupOp
	Actor  wire.UserID
	Users  []wire.UserID // GroupCreate (invited), GroupAdd, GroupRemove
	Proof  []byte        // the secret presented, if any
	Hashes GroupHashes   // GroupCreate, GroupKeys
}

// GroupLimits bound the member lists.
type GroupLimits struct {
	Members int // users on one list, invited or joined
	Lists   int // lists one user is on, invited or joined
}

// Problem says what makes c unusable, or "" when nothing does: a zero
// group or user, an unknown op, users or hashes where the op takes none,
// missing or malformed hashes where it needs them, an empty Users for add
// or remove, an over-long proof.
func (c *GroupChange) Problem() string {
	switch {
	case c.Group == (wire.ConversationID{}):
		return "no group"
	case c.Actor.IsZero():
		return "no actor"
	case c.Op < wire.GroupCreate || c.Op > wire.GroupKeys:
		return fmt.Sprintf("unknown group operation %d", c.Op)
	case len(c.Proof) > wire.MaxGroupProof:
		return fmt.Sprintf("a proof is at most %d bytes", wire.MaxGroupProof)
	}
	for _, u := range c.Users {
		if u.IsZero() {
			return "a user without an ID"
		}
	}
	takesUsers := c.Op == wire.GroupCreate || c.Op == wire.GroupAdd || c.Op == wire.GroupRemove
	switch {
	case !takesUsers && len(c.Users) > 0:
		return "this operation takes no users"
	case (c.Op == wire.GroupAdd || c.Op == wire.GroupRemove) && len(c.Users) == 0:
		return "no users"
	}
	h := c.Hashes
	if c.Op != wire.GroupCreate && c.Op != wire.GroupKeys {
		if len(h.Admin)+len(h.Add)+len(h.Link) > 0 {
			return "this operation takes no hashes"
		}
		return ""
	}
	if len(h.Admin) != sha256.Size || len(h.Add) != sha256.Size {
		return "the admins' and the adders' hashes are 32 bytes each"
	}
	if len(h.Link) != 0 && len(h.Link) != sha256.Size {
		return "the link's hash is 32 bytes, or empty for no link"
	}
	return ""
}

// Validate reports a change that cannot be applied (see Problem). The
// error wraps ErrInvalid.
func (c *GroupChange) Validate() error {
	if p := c.Problem(); p != "" {
		return fmt.Errorf("%w: %s", ErrInvalid, p)
	}
	return nil
}

// Validate reports limits that cannot be used. The error wraps ErrInvalid.
func (l GroupLimits) Validate() error {
	if l.Members < 1 || l.Lists < 1 {
		return fmt.Errorf("%w: group limits of %d members and %d lists", ErrInvalid, l.Members, l.Lists)
	}
	return nil
}

// ProofMatches reports whether the SHA-256 of proof is hash, comparing in
// constant time. An empty proof or hash matches nothing.
func ProofMatches(proof, hash []byte) bool {
	if len(proof) == 0 || len(hash) != sha256.Size {
		return false
	}
	sum := sha256.Sum256(proof)
	return subtle.ConstantTimeCompare(sum[:], hash) == 1
}

// GroupTx is one write transaction of a directory, in the terms
// ApplyGroupChange uses: every call sees the transaction's earlier writes,
// and what the transaction reads through LockGroup and LockLists stays as
// it was until it commits or rolls back, whatever other transactions (in
// any process) try meanwhile.
type GroupTx interface {
	// CreateGroup stores a new group with no members; false when the ID
	// is taken.
	CreateGroup(ctx context.Context, g wire.ConversationID, h GroupHashes) (bool, error)
	// LockGroup returns a group's hashes and holds its list and hashes
	// for the transaction, or returns ErrNotFound.
	LockGroup(ctx context.Context, g wire.ConversationID) (GroupHashes, error)
	// SetGroupHashes replaces a group's hashes.
	SetGroupHashes(ctx context.Context, g wire.ConversationID, h GroupHashes) error
	// DeleteGroup deletes a group and its list.
	DeleteGroup(ctx context.Context, g wire.ConversationID) error
	// MemberStates returns the states of those of users on g's list.
	MemberStates(ctx context.Context, g wire.ConversationID, users []wire.UserID) (map[wire.UserID]MemberState, error)
	// MemberCount returns how many users are on g's list.
	MemberCount(ctx context.Context, g wire.ConversationID) (int, error)
	// Registered returns how many of users (distinct) are registered.
	Registered(ctx context.Context, users []wire.UserID) (int, error)
	// LockLists holds the number of lists each of users (distinct) is on
	// for the transaction, and reports whether any is on max or more.
	LockLists(ctx context.Context, users []wire.UserID, max int) (full bool, err error)
	// PutMembers sets users (distinct) on g's list in state, whether or
	// not they were on it.
	PutMembers(ctx context.Context, g wire.ConversationID, users []wire.UserID, state MemberState) error
	// RemoveMembers takes users off g's list.
	RemoveMembers(ctx context.Context, g wire.ConversationID, users []wire.UserID) error
}

// ApplyGroupChange applies c within tx, or returns why not: ErrInvalid,
// ErrNotFound (no such group), ErrUnknownUser, ErrExists, ErrForbidden,
// or ErrFull when a list would hold more than lim.Members users or a user
// be on more than lim.Lists lists. The rules are docs/protocol.md's
// (Groups); every implementation of ChangeGroup applies them through this
// function, in one transaction, so that the checks and the change are one
// step. A list left empty is deleted with its group.
func ApplyGroupChange(ctx context.Context, tx GroupTx, c GroupChange, lim GroupLimits) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if err := lim.Validate(); err != nil {
		return err
	}
	users := distinct(c.Users)
	if c.Op == wire.GroupCreate {
		users = slices.DeleteFunc(users, func(u wire.UserID) bool { return u == c.Actor })
		created, err := tx.CreateGroup(ctx, c.Group, c.Hashes)
		switch {
		case err != nil:
			return err
		case !created:
			return ErrExists
		}
		if err := addMembers(ctx, tx, c.Group, []wire.UserID{c.Actor}, Joined, lim); err != nil {
			return err
		}
		return addMembers(ctx, tx, c.Group, users, Invited, lim)
	}

	h, err := tx.LockGroup(ctx, c.Group)
	if err != nil {
		return err
	}
	states, err := tx.MemberStates(ctx, c.Group, append(slices.Clone(users), c.Actor))
	if err != nil {
		return err
	}
	actor := states[c.Actor]
	switch c.Op {
	case wire.GroupAdd:
		if actor != Joined || !(ProofMatches(c.Proof, h.Admin) || ProofMatches(c.Proof, h.Add)) {
			return ErrForbidden
		}
		added := slices.DeleteFunc(users, func(u wire.UserID) bool { return states[u] != NotMember })
		return addMembers(ctx, tx, c.Group, added, Invited, lim)
	case wire.GroupRemove:
		if actor != Joined || !ProofMatches(c.Proof, h.Admin) {
			return ErrForbidden
		}
		gone := slices.DeleteFunc(users, func(u wire.UserID) bool { return states[u] == NotMember })
		return removeMembers(ctx, tx, c.Group, gone)
	case wire.GroupJoin:
		switch {
		case actor == Joined:
			return nil
		case actor == Invited:
			return tx.PutMembers(ctx, c.Group, []wire.UserID{c.Actor}, Joined)
		case !ProofMatches(c.Proof, h.Link):
			return ErrForbidden
		}
		return addMembers(ctx, tx, c.Group, []wire.UserID{c.Actor}, Joined, lim)
	case wire.GroupLeave:
		if actor == NotMember {
			return nil
		}
		return removeMembers(ctx, tx, c.Group, []wire.UserID{c.Actor})
	case wire.GroupKeys:
		if actor != Joined || !ProofMatches(c.Proof, h.Admin) {
			return ErrForbidden
		}
		return tx.SetGroupHashes(ctx, c.Group, c.Hashes)
	}
	return fmt.Errorf("%w: group operation %d", ErrInvalid, c.Op)
}

// addMembers puts users, none of them on g's list, on it in state, within
// the limits.
func addMembers(ctx context.Context, tx GroupTx, g wire.ConversationID, users []wire.UserID, state MemberState, lim GroupLimits) error {
	if len(users) == 0 {
		return nil
	}
	n, err := tx.Registered(ctx, users)
	if err != nil {
		return err
	}
	if n != len(users) {
		return ErrUnknownUser
	}
	have, err := tx.MemberCount(ctx, g)
	if err != nil {
		return err
	}
	if have+len(users) > lim.Members {
		return fmt.Errorf("%w: a group has at most %d members", ErrFull, lim.Members)
	}
	full, err := tx.LockLists(ctx, users, lim.Lists)
	if err != nil {
		return err
	}
	if full {
		return fmt.Errorf("%w: a user is on %d groups already", ErrFull, lim.Lists)
	}
	return tx.PutMembers(ctx, g, users, state)
}

// removeMembers takes users off g's list, and deletes the group when its
// list is left empty.
func removeMembers(ctx context.Context, tx GroupTx, g wire.ConversationID, users []wire.UserID) error {
	if len(users) == 0 {
		return nil
	}
	if err := tx.RemoveMembers(ctx, g, users); err != nil {
		return err
	}
	n, err := tx.MemberCount(ctx, g)
	if err != nil || n > 0 {
		return err
	}
	return tx.DeleteGroup(ctx, g)
}

// distinct returns users without repeats, sorted: implementations lock
// and write rows in one order.
func distinct(users []wire.UserID) []wire.UserID {
	out := slices.Clone(users)
	slices.SortFunc(out, func(a, b wire.UserID) int { return bytes.Compare(a[:], b[:]) })
	return slices.Compact(out)
}
