package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

// groupInvite runs 'group link', 'group join', 'group approve' and
// 'group decline': a group's invite link and the requests it brings.
func (c *cli) groupInvite(ctx context.Context, sub string, args []string) error {
	switch sub {
	case "link":
		return c.groupLink(ctx, args)
	case "join":
		if len(args) != 1 {
			return usageError("group join takes an invite link")
		}
		return c.joinByLink(ctx, args[0])
	}
	if len(args) != 2 {
		return usageError("group %s takes a group ID and one address or user ID", sub)
	}
	id, err := parseGroupID(args[0])
	if err != nil {
		return err
	}
	s, err := c.online(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	g, err := s.client.Group(ctx, id)
	if err != nil {
		return explainGroup(err)
	}
	q, err := s.joinRequest(ctx, g, args[1])
	if err != nil {
		return err
	}
	if sub == "approve" {
		if err := s.client.ApproveJoin(ctx, id, q.User); err != nil {
			return explainInvite(err)
		}
		fmt.Fprintf(c.stdout, "Let %s into %s.\n", requestName(q), g.Name)
	} else {
		if err := s.client.DeclineJoin(ctx, id, q.User); err != nil {
			return explainInvite(err)
		}
		fmt.Fprintf(c.stdout, "Declined %s's request to join %s.\n", requestName(q), g.Name)
	}
	return s.settle(ctx)
}

// groupLink runs 'group link ID [--mode off|approve|open] [--reset]
// [--origin URL]': it changes the invite link as asked, then prints it
// and who waits to join.
func (c *cli) groupLink(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("group link", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	mode := fs.String("mode", "", "")
	reset := fs.Bool("reset", false, "")
	origin := fs.String("origin", "", "")
	var idArg string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		idArg, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil || idArg == "" || fs.NArg() > 0 {
		return usageError("group link takes a group ID, and optionally --mode off|approve|open, --reset and --origin URL")
	}
	id, err := parseGroupID(idArg)
	if err != nil {
		return err
	}
	var set *client.LinkMode
	if *mode != "" {
		m, ok := parseLinkMode(*mode)
		if !ok {
			return usageError("--mode is off, approve or open")
		}
		set = &m
	}
	base := *origin
	if base == "" {
		base = c.server
	}
	if base, err = appOrigin(base); err != nil {
		return usageError("%v", err)
	}
	var s *session
	if set != nil || *reset {
		s, err = c.online(ctx)
	} else {
		s, err = c.open(ctx)
	}
	if err != nil {
		return err
	}
	defer s.close()
	if set != nil {
		if err := s.client.SetInviteLink(ctx, id, *set); err != nil {
			return explainInvite(err)
		}
	}
	if *reset {
		if err := s.client.ResetInviteLink(ctx, id); err != nil {
			return explainInvite(err)
		}
	}
	g, err := s.client.Group(ctx, id)
	if err != nil {
		return explainGroup(err)
	}
	if g.Link == client.LinkOff {
		fmt.Fprintf(c.stdout, "%s has no invite link ('--mode approve' or '--mode open' makes one).\n", g.Name)
	} else {
		token, err := s.client.InviteToken(ctx, id)
		if err != nil {
			return explainInvite(err)
		}
		fmt.Fprintln(c.stdout, base+"/join#"+token)
		if g.Link == client.LinkOpen {
			fmt.Fprintln(c.stdout, "Anyone with the link joins. Give it only to people you would add.")
		} else {
			fmt.Fprintln(c.stdout, "An admin approves who joins with the link ('mutual-cli group approve "+g.ID.String()+" USER').")
		}
	}
	for _, q := range g.JoinRequests {
		fmt.Fprintf(c.stdout, "asks to join: %s  %s\n", q.User, requestName(q))
	}
	if s.cancel != nil {
		return s.settle(ctx)
	}
	return nil
}

// parseLinkMode reads the word --mode takes: a client.LinkMode's name.
func parseLinkMode(s string) (client.LinkMode, bool) {
	for _, m := range []client.LinkMode{client.LinkOff, client.LinkApprove, client.LinkOpen} {
		if s == m.String() {
			return m, true
		}
	}
	return 0, false
}

// appOrigin is the web app's origin at the relay's web address (or the
// one given): the scheme and host, in http(s).
func appOrigin(server string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(server))
	if err == nil && u.Host == "" {
		err = errors.New("no host")
	}
	if err != nil {
		return "", fmt.Errorf("%q is not a web address: %w", server, err)
	}
	switch u.Scheme {
	case "http", "ws":
		u.Scheme = "http"
	case "https", "wss":
		u.Scheme = "https"
	default:
		return "", fmt.Errorf("%q: want http(s)://host[:port]", server)
	}
	return u.Scheme + "://" + u.Host, nil
}

// joinByLink runs 'group join LINK'.
func (c *cli) joinByLink(ctx context.Context, link string) error {
	inv, err := client.ParseInvite(link)
	if err != nil {
		return errors.New("that is not a Mutual invite link")
	}
	s, err := c.online(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	if err := s.client.JoinByInvite(ctx, inv); err != nil {
		return explainInvite(err)
	}
	if inv.Mode == client.LinkOpen {
		fmt.Fprintf(c.stdout, "Joining %s: the group shows once an admin's device lets you in ('mutual-cli group list').\n", inv.GroupName)
	} else {
		fmt.Fprintf(c.stdout, "Asked to join %s: an admin lets you in.\n", inv.GroupName)
	}
	return s.settle(ctx)
}

// joinRequest finds who asks to join g by user ID in hex, or by the
// address of a contact.
func (s *session) joinRequest(ctx context.Context, g client.Group, arg string) (client.JoinRequest, error) {
	u, err := wire.ParseUserID(strings.ToLower(strings.TrimSpace(arg)))
	if err != nil {
		ct, cerr := s.contact(ctx, arg)
		if cerr != nil {
			return client.JoinRequest{}, cerr
		}
		u = ct.User
	}
	for _, q := range g.JoinRequests {
		if q.User == u {
			return q, nil
		}
	}
	return client.JoinRequest{}, fmt.Errorf("%s does not ask to join %s ('mutual-cli group link %s' lists who does)", arg, g.Name, g.ID)
}

// requestName is what someone who asks to join calls themself, else
// their user ID.
func requestName(q client.JoinRequest) string {
	if q.Name != "" {
		return q.Name
	}
	return q.User.String()
}

// explainInvite turns the invite link calls' errors into sentences.
func explainInvite(err error) error {
	switch {
	case errors.Is(err, client.ErrLinkExpired):
		return errors.New("the invite link no longer works: ask for a new one")
	case errors.Is(err, client.ErrNoLink):
		return errors.New("the group has no invite link")
	case errors.Is(err, client.ErrNoJoinRequest):
		return errors.New("nobody with that ID asks to join")
	case errors.Is(err, client.ErrSelf):
		return errors.New("that is your own invite link")
	}
	return explainGroup(err)
}
