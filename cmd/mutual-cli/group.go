package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

// group runs 'group create|add|remove|leave|accept|rename|list|info',
// and 'group link|join|approve|decline' (invite.go). Groups are named by
// their ID in hex, as 'group list' shows it.
func (c *cli) group(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageError("group needs create, add, remove, leave, accept, rename, list, info, link, join, approve or decline")
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "link", "join", "approve", "decline":
		return c.groupInvite(ctx, sub, args)
	case "list":
		return c.listGroups(ctx, args)
	case "info":
		return c.groupInfo(ctx, args)
	case "create":
		if len(args) < 2 {
			return usageError("group create takes a name and at least one address")
		}
	case "add":
		if len(args) < 2 {
			return usageError("group add takes a group ID and at least one address")
		}
	case "remove":
		if len(args) != 2 {
			return usageError("group remove takes a group ID and one address or user ID")
		}
	case "rename":
		if len(args) < 2 {
			return usageError("group rename takes a group ID and a name")
		}
	case "leave", "accept":
		if len(args) != 1 {
			return usageError("group %s takes a group ID", sub)
		}
	default:
		return usageError("unknown group command %q", sub)
	}
	s, err := c.online(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	if sub == "create" {
		users, err := s.users(ctx, args[1:])
		if err != nil {
			return err
		}
		g, err := s.client.CreateGroup(ctx, args[0], users)
		if err != nil {
			return explainGroup(err)
		}
		fmt.Fprintf(c.stdout, "Created %s: %s\n", g.Name, g.ID)
		return s.settle(ctx)
	}
	id, err := parseGroupID(args[0])
	if err != nil {
		return err
	}
	g, err := s.client.Group(ctx, id)
	if err != nil {
		return explainGroup(err)
	}
	switch sub {
	case "add":
		users, err := s.users(ctx, args[1:])
		if err != nil {
			return err
		}
		if err := s.client.AddMembers(ctx, id, users...); err != nil {
			return explainGroup(err)
		}
		fmt.Fprintf(c.stdout, "Added %d to %s.\n", len(users), g.Name)
	case "remove":
		u, err := s.member(ctx, g, args[1])
		if err != nil {
			return err
		}
		if err := s.client.RemoveMember(ctx, id, u.User); err != nil {
			return explainGroup(err)
		}
		fmt.Fprintf(c.stdout, "Removed %s from %s.\n", u.Name, g.Name)
	case "rename":
		name := strings.Join(args[1:], " ")
		if err := s.client.RenameGroup(ctx, id, name); err != nil {
			return explainGroup(err)
		}
		fmt.Fprintf(c.stdout, "Renamed %s to %s.\n", g.Name, strings.TrimSpace(name))
	case "leave":
		if err := s.client.LeaveGroup(ctx, id); err != nil {
			return explainGroup(err)
		}
		fmt.Fprintf(c.stdout, "Left %s.\n", g.Name)
	case "accept":
		if err := s.client.AcceptGroup(ctx, id); err != nil {
			return explainGroup(err)
		}
		fmt.Fprintf(c.stdout, "Joined %s.\n", g.Name)
	}
	return s.settle(ctx)
}

// parseGroupID reads a group ID in hex.
func parseGroupID(s string) (wire.ConversationID, error) {
	var id wire.ConversationID
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != len(id) {
		return id, usageError("%q is not a group ID ('mutual-cli group list' shows them)", s)
	}
	copy(id[:], b)
	return id, nil
}

// users finds each address (or user ID in hex) among the contacts, and
// adds those who are not yet (a Lookup), as 'send' does.
func (s *session) users(ctx context.Context, args []string) ([]wire.UserID, error) {
	var out []wire.UserID
	for _, a := range args {
		ct, err := s.contact(ctx, a)
		if err != nil {
			if ct, err = s.client.AddContact(ctx, a); errors.Is(err, client.ErrNoSuchUser) {
				return nil, fmt.Errorf("nobody uses Mutual with %s", a)
			} else if err != nil {
				return nil, explain(err)
			}
		}
		out = append(out, ct.User)
	}
	return out, nil
}

// member finds a member of g by their address (a contact's) or user ID
// in hex.
func (s *session) member(ctx context.Context, g client.Group, arg string) (client.GroupMember, error) {
	u, err := wire.ParseUserID(strings.ToLower(strings.TrimSpace(arg)))
	if err != nil {
		ct, cerr := s.contact(ctx, arg)
		if cerr != nil {
			return client.GroupMember{}, cerr
		}
		u = ct.User
	}
	for _, m := range g.Members {
		if m.User == u {
			return m, nil
		}
	}
	return client.GroupMember{}, fmt.Errorf("%s is not a member of %s ('mutual-cli group info %s')", arg, g.Name, g.ID)
}

// settle waits until everything the command queued has gone to the relay
// (see client.Unsent), or a minute has passed: then what is left goes
// with a later command.
func (s *session) settle(ctx context.Context) error {
	timeout := time.NewTimer(60 * time.Second)
	defer timeout.Stop()
	// Not every step emits an event (a receipt sent does not): look again
	// now and then too.
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		n, err := s.client.Unsent(ctx)
		if err != nil || n == 0 {
			return err
		}
		select {
		case <-tick.C:
		case ev, ok := <-s.client.Events():
			if !ok {
				return nil
			}
			if ic, isIC := ev.(client.IdentityChanged); isIC {
				// What goes to them waits for the user.
				return &client.IdentityChangedError{Contact: ic.Contact, Devices: ic.Devices}
			}
		case <-timeout.C:
			fmt.Fprintln(s.c.stderr, "some of it has not reached the relay yet: it goes with a later command")
			return nil
		case err := <-s.done:
			s.done <- err
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// explainGroup turns the group calls' errors into sentences.
func explainGroup(err error) error {
	switch {
	case errors.Is(err, client.ErrOffline):
		return errors.New("this needs the relay, which could not be reached")
	case errors.Is(err, client.ErrNoSuchGroup):
		return errors.New("no such group here ('mutual-cli group list' shows yours)")
	case errors.Is(err, client.ErrNotAllowed):
		return errors.New("only the group's admins may do that")
	case errors.Is(err, client.ErrNotMember):
		return errors.New("you are not a member of that group (or they are not)")
	}
	return explain(err)
}

// groupJSON is one line of 'group list --json', and what 'group info
// --json' prints.
type groupJSON struct {
	ID            string       `json:"id"`
	Name          string       `json:"name"`
	Status        string       `json:"status"` // invited, joined, left, removed
	Admin         bool         `json:"admin"`
	MembersCanAdd bool         `json:"members_can_add"`
	InvitedBy     string       `json:"invited_by,omitempty"`
	Members       []memberJSON `json:"members"`
}

// memberJSON is one member in groupJSON.
type memberJSON struct {
	User   string `json:"user"`
	Name   string `json:"name"`
	Admin  bool   `json:"admin"`
	Joined bool   `json:"joined"`
	You    bool   `json:"you,omitempty"`
}

func toJSON(g client.Group, me wire.UserID) groupJSON {
	j := groupJSON{ID: g.ID.String(), Name: g.Name, Status: g.Status.String(), Admin: g.Admin, MembersCanAdd: g.MembersCanAdd, Members: []memberJSON{}}
	if !g.InvitedBy.IsZero() {
		j.InvitedBy = g.InvitedBy.String()
	}
	for _, m := range g.Members {
		j.Members = append(j.Members, memberJSON{User: m.User.String(), Name: m.Name, Admin: m.Admin, Joined: m.Joined, You: m.User == me})
	}
	return j
}

func (c *cli) listGroups(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("group list", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return usageError("group list takes only --json")
	}
	s, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	me, err := s.client.Account()
	if err != nil {
		return err
	}
	gs, err := s.client.Groups(ctx)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(c.stdout)
	for _, g := range gs {
		if *asJSON {
			if err := enc.Encode(toJSON(g, me.User)); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(c.stdout, "%s  %-7s  %d members  %s\n", g.ID, g.Status, len(g.Members), g.Name)
	}
	return nil
}

func (c *cli) groupInfo(ctx context.Context, args []string) error {
	asJSON := false
	var rest []string
	for _, a := range args {
		if a == "--json" || a == "-json" {
			asJSON = true
			continue
		}
		rest = append(rest, a)
	}
	if len(rest) != 1 {
		return usageError("group info takes a group ID, and optionally --json")
	}
	id, err := parseGroupID(rest[0])
	if err != nil {
		return err
	}
	s, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	me, err := s.client.Account()
	if err != nil {
		return err
	}
	g, err := s.client.Group(ctx, id)
	if err != nil {
		return explainGroup(err)
	}
	if asJSON {
		return json.NewEncoder(c.stdout).Encode(toJSON(g, me.User))
	}
	fmt.Fprintf(c.stdout, "%s  (%s, %s)\n", g.Name, g.ID, g.Status)
	if g.MembersCanAdd {
		fmt.Fprintln(c.stdout, "every member may add members")
	}
	for _, m := range g.Members {
		role, joined, you := "member", "joined", ""
		if m.Admin {
			role = "admin"
		}
		if !m.Joined {
			joined = "invited"
		}
		if m.User == me.User {
			you = "  (you)"
		}
		fmt.Fprintf(c.stdout, "%s  %-6s  %-7s  %s%s\n", m.User, role, joined, m.Name, you)
	}
	return nil
}

// sendGroup sends a text to a group and waits until the relay has it.
func (c *cli) sendGroup(ctx context.Context, s *session, arg, text string) error {
	id, err := parseGroupID(arg)
	if err != nil {
		return err
	}
	me, err := s.client.Account()
	if err != nil {
		return err
	}
	msgID, err := s.client.SendGroup(ctx, id, text)
	if err != nil {
		return explainGroup(err)
	}
	timeout := time.NewTimer(60 * time.Second)
	defer timeout.Stop()
	for {
		m, err := s.client.Message(ctx, me.User, msgID)
		if err != nil {
			return err
		}
		switch m.State {
		case client.StateSent, client.StateDelivered, client.StateRead:
			return nil
		case client.StateFailed:
			return &refusedErr{"the relay refused the message: " + m.Failure.String()}
		}
		select {
		case ev, ok := <-s.client.Events():
			if !ok {
				return errors.New("client closed before the message was sent")
			}
			if ic, isIC := ev.(client.IdentityChanged); isIC {
				return &client.IdentityChangedError{Contact: ic.Contact, Devices: ic.Devices}
			}
		case <-timeout.C:
			return errors.New("the relay did not take the message in time; it stays queued and goes with the next command")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
