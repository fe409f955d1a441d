package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

// pendingFile holds, between register and verify, the address a code was
// sent to and the token that binds the code to that request: without the
// token the code cannot be tried. Only the home's owner may read it.
func (c *cli) pendingFile() string { return filepath.Join(c.home, "pending-signin.json") }

// pendingSignIn is what pendingFile holds.
type pendingSignIn struct {
	Address string `json:"address"`
	Token   []byte `json:"token"`
}

func (c *cli) register(ctx context.Context, args []string) error {
	if len(args) != 1 {
		return usageError("register takes one address")
	}
	s, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	token, err := s.client.Register(ctx, args[0])
	if err != nil {
		return explain(err)
	}
	b, err := json.Marshal(pendingSignIn{Address: args[0], Token: token})
	if err != nil {
		return err
	}
	if err := os.WriteFile(c.pendingFile(), b, 0o600); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "A code is on its way to %s. Run: mutual-cli verify CODE\n", displayAddress(args[0]))
	return nil
}

// defaultDeviceName is how a device registered by mutual-cli is listed
// unless named: the same on every machine.
const defaultDeviceName = "Mutual CLI"

func (c *cli) verify(ctx context.Context, args []string) error {
	if len(args) != 1 && len(args) != 2 {
		return usageError("verify takes the code, and optionally a name for this device")
	}
	// The relay stores the name as it is and shows it only to the
	// account's devices: the default says nothing about the machine.
	name := defaultDeviceName
	if len(args) == 2 {
		name = args[1]
	}
	if len(name) > wire.MaxDeviceName {
		return usageError("a device name has at most %d bytes", wire.MaxDeviceName)
	}
	var p pendingSignIn
	b, err := os.ReadFile(c.pendingFile())
	if err == nil {
		err = json.Unmarshal(b, &p)
	}
	if err != nil || p.Address == "" {
		return errors.New("no registration in progress: run 'mutual-cli register ADDRESS' first")
	}
	s, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	acct, err := s.client.Verify(ctx, p.Address, strings.TrimSpace(args[0]), p.Token, name)
	if err != nil {
		return explain(err)
	}
	os.Remove(c.pendingFile())
	fmt.Fprintf(c.stdout, "Registered %s (device %d).\n", displayAddress(acct.Address), acct.Device)
	return nil
}

func (c *cli) contacts(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageError("contacts needs add, list, accept, block, trust or verify")
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "list":
		return c.listContacts(ctx, args)
	case "verify":
		return c.verifyContact(ctx, args)
	}
	if len(args) != 1 {
		return usageError("contacts %s takes one address", sub)
	}
	s, err := c.online(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	switch sub {
	case "add":
		ct, err := s.client.AddContact(ctx, args[0])
		if errors.Is(err, client.ErrNoSuchUser) {
			return fmt.Errorf("nobody uses Mutual with %s", args[0])
		}
		if err != nil {
			return explain(err)
		}
		fmt.Fprintf(c.stdout, "Added %s.\n", c.name(ct))
		return nil
	case "accept":
		ct, err := s.contact(ctx, args[0])
		if err != nil {
			// Not known here yet: accepting by address works like adding.
			if ct, err = s.client.AddContact(ctx, args[0]); err != nil {
				return explain(err)
			}
		} else if err := s.client.Accept(ctx, ct.User); err != nil {
			return explain(err)
		}
		fmt.Fprintf(c.stdout, "Accepted %s.\n", c.name(ct))
		return nil
	case "block":
		ct, err := s.contact(ctx, args[0])
		if err != nil {
			return err
		}
		if err := s.client.Block(ctx, ct.User); err != nil {
			return explain(err)
		}
		fmt.Fprintf(c.stdout, "Blocked %s.\n", c.name(ct))
		return nil
	case "trust":
		ct, err := s.contact(ctx, args[0])
		if err != nil {
			return err
		}
		if err := s.client.AcceptIdentity(ctx, ct.User); err != nil {
			return explain(err)
		}
		fmt.Fprintf(c.stdout, "Trusted the new safety number of %s.\n", c.name(ct))
		return nil
	}
	return usageError("unknown contacts command %q", sub)
}

// verifyContact marks a contact's safety numbers verified, after the
// user compared them ('safety-number'), or takes the mark back with
// --clear. It needs only the device's store.
func (c *cli) verifyContact(ctx context.Context, args []string) error {
	clear := false
	var rest []string
	for _, a := range args {
		if a == "--clear" || a == "-clear" {
			clear = true
			continue
		}
		rest = append(rest, a)
	}
	if len(rest) != 1 {
		return usageError("contacts verify takes one address, and optionally --clear")
	}
	s, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	ct, err := s.contact(ctx, rest[0])
	if err != nil {
		return err
	}
	if clear {
		if err := s.client.ClearVerified(ctx, ct.User); err != nil {
			return explain(err)
		}
		fmt.Fprintf(c.stdout, "%s is no longer marked as verified.\n", c.name(ct))
		return nil
	}
	nums, err := s.client.SafetyNumbers(ctx, ct.User)
	if err != nil {
		return explain(err)
	}
	if err := s.client.MarkVerified(ctx, ct.User, nums); err != nil {
		return explain(err)
	}
	for _, n := range nums {
		fmt.Fprintf(c.stdout, "device %d: %s\n", n.Device, strings.Join(n.Fingerprint.Groups(), " "))
	}
	fmt.Fprintf(c.stdout, "Marked %s as verified with these safety numbers.\n", c.name(ct))
	return nil
}

// contactJSON is one line of 'contacts list --json'. Address is the
// address confirmed to be theirs (without "email:"), empty when none is;
// AddressMismatch says that an address they gave could not be confirmed
// (it is never shown), AddressPending that one is being confirmed.
type contactJSON struct {
	User            string `json:"user"`
	Address         string `json:"address,omitempty"`
	Name            string `json:"name,omitempty"`
	Nickname        string `json:"nickname,omitempty"`
	State           string `json:"state"`
	Accepted        bool   `json:"accepted"`
	AddressMismatch bool   `json:"address_mismatch,omitempty"`
	AddressPending  bool   `json:"address_pending,omitempty"`
	IdentityChanged bool   `json:"identity_changed,omitempty"`
	Verified        bool   `json:"verified,omitempty"`
}

func stateName(s client.ContactState) string {
	switch s {
	case client.ContactAllowed:
		return "contact"
	case client.ContactBlocked:
		return "blocked"
	case client.ContactRequest:
		return "request"
	}
	return "unknown"
}

func (c *cli) listContacts(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("contacts list", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return usageError("contacts list takes only --json")
	}
	s, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	all, err := s.everyone(ctx)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(c.stdout)
	for _, ct := range all {
		if *asJSON {
			j := contactJSON{
				User: ct.User.String(), Address: ct.DisplayAddress(), Name: ct.ProfileName, Nickname: ct.Nickname,
				State: stateName(ct.State), Accepted: ct.Accepted, AddressMismatch: ct.AddressMismatch,
				AddressPending: ct.AddressPending(), IdentityChanged: ct.IdentityChanged, Verified: !ct.Verified.IsZero(),
			}
			if err := enc.Encode(j); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(c.stdout, "%-8s %s  %s%s\n", stateName(ct.State), ct.User, whoText(ct), notes(ct))
	}
	return nil
}

// whoText is who a contact is, as 'contacts list' prints it: the address
// confirmed to be theirs and their name beside it; a name alone only for
// a contact (someone who is not a contact is named by their address).
func whoText(ct client.Contact) string {
	addr := ct.DisplayAddress()
	name := ct.Nickname
	if name == "" {
		name = ct.ProfileName
	}
	switch {
	case addr != "" && name != "":
		return fmt.Sprintf("%s  %q", addr, name)
	case addr != "":
		return addr
	case ct.AddressMismatch:
		return "(address not confirmed)"
	case ct.AddressPending():
		return "(address being confirmed)"
	case name != "" && ct.State != client.ContactRequest:
		return fmt.Sprintf("%q", name)
	}
	return "(no address confirmed)"
}

// notes are the marks after a contact in 'contacts list'.
func notes(ct client.Contact) string {
	var out string
	if ct.AddressMismatch {
		out += "  (the address they gave could not be confirmed)"
	}
	switch {
	case ct.IdentityChanged:
		out += "  (safety number changed)"
	case !ct.Verified.IsZero():
		out += "  (verified)"
	}
	return out
}

func (c *cli) send(ctx context.Context, args []string) error {
	a, err := parseSend(args)
	if err != nil {
		return err
	}
	group := a.group
	args = append([]string{a.target}, a.words...)
	text := strings.Join(args[1:], " ")
	if len(args) == 1 && len(a.files) == 0 {
		b, err := io.ReadAll(io.LimitReader(c.stdin, client.MaxText+1))
		if err != nil {
			return err
		}
		text = strings.TrimRight(string(b), "\n")
	}
	s, err := c.online(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	if group && len(a.files) > 0 {
		id, err := parseGroupID(a.target)
		if err != nil {
			return err
		}
		return c.sendFiles(ctx, s, a, func(files []client.File) (wire.MessageID, error) {
			id, err := s.client.SendGroupFiles(ctx, id, a.captionText(), files...)
			return id, explainGroup(err)
		}, "the group")
	}
	if group {
		return c.sendGroup(ctx, s, args[0], text)
	}
	ct, err := s.contact(ctx, args[0])
	if err != nil {
		if ct, err = s.client.AddContact(ctx, args[0]); errors.Is(err, client.ErrNoSuchUser) {
			return fmt.Errorf("nobody uses Mutual with %s", args[0])
		} else if err != nil {
			return explain(err)
		}
	}
	if len(a.files) > 0 {
		return c.sendFiles(ctx, s, a, func(files []client.File) (wire.MessageID, error) {
			id, err := s.client.SendFiles(ctx, ct.User, a.captionText(), files...)
			if err != nil {
				return id, explain(err)
			}
			return id, nil
		}, c.name(ct))
	}
	me, err := s.client.Account()
	if err != nil {
		return err
	}
	id, err := s.client.Send(ctx, ct.User, text)
	if err != nil {
		return explain(err)
	}
	// Wait until the relay has the message (or refuses it).
	timeout := time.NewTimer(60 * time.Second)
	defer timeout.Stop()
	for {
		m, err := s.client.Message(ctx, me.User, id)
		if err != nil {
			return err
		}
		switch m.State {
		case client.StateSent, client.StateDelivered, client.StateRead:
			return nil
		case client.StateFailed:
			return &refusedErr{refusal(m.Failure, c.name(ct))}
		}
		now, err := s.client.Contact(ctx, ct.User)
		switch {
		case err != nil:
		case now.IdentityChanged:
			// The message waits on this device for the user to check the
			// new safety number.
			return &client.IdentityChangedError{Contact: ct.User}
		case now.AwaitingAcceptance():
			// A contact request already went: later messages wait on
			// this device until the contact accepts.
			fmt.Fprintf(c.stderr, "%s has not accepted your request yet: the message waits and goes with a later command once they do\n", c.name(now))
			return nil
		}
		select {
		case _, ok := <-s.client.Events():
			if !ok {
				return errors.New("client closed before the message was sent")
			}
		case <-timeout.C:
			return errors.New("the relay did not take the message in time; it stays queued and goes with the next command")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func refusal(code wire.Code, who string) string {
	switch code {
	case wire.CodeNotAccepted:
		return who + " has not accepted you as a contact"
	case wire.CodeRateLimited:
		return "one contact request a day: wait until " + who + " answers"
	}
	return "the relay refused the message: " + code.String()
}

// messageJSON is one line of 'receive --json'. A group's message names
// the group (its ID, as Conversation) and its author's user ID; From is
// what the author is called.
type messageJSON struct {
	ID           string           `json:"id"`
	From         string           `json:"from"`
	Conversation string           `json:"conversation"`
	SentAt       string           `json:"sent_at"`
	Text         string           `json:"text"`
	Group        string           `json:"group,omitempty"`
	Author       string           `json:"author,omitempty"`
	Attachments  []attachmentJSON `json:"attachments,omitempty"`
	// Kind is "coop" for a notice of the co-op, which Coop details;
	// empty for a message.
	Kind string          `json:"kind,omitempty"`
	Coop *coopNoticeJSON `json:"coop,omitempty"`
}

func (c *cli) receive(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("receive", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	follow := fs.Bool("follow", false, "")
	asJSON := fs.Bool("json", false, "")
	saveDir := fs.String("save-dir", "", "")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return usageError("receive takes only --follow, --json and --save-dir DIR")
	}
	if *saveDir != "" {
		if st, err := os.Stat(*saveDir); err != nil || !st.IsDir() {
			return fmt.Errorf("--save-dir %s: not a directory", *saveDir)
		}
	}
	p := c.newProgress(*asJSON)
	defer p.end()
	s, err := c.online(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	printed := make(map[wire.MessageID]bool)
	out := json.NewEncoder(c.stdout)
	show := func(m client.Message) error {
		if m.Outgoing || m.State != client.StateReceived || printed[m.ID] {
			return nil
		}
		printed[m.ID] = true
		j := messageJSON{ID: m.ID.String(), From: s.name(ctx, m.Peer), Conversation: m.Conversation.String(), SentAt: m.SentAt.UTC().Format(time.RFC3339Nano), Text: m.Text}
		where := ""
		switch {
		case m.Coop != nil:
			j.From, j.Kind, j.Coop = client.CoopChatName, "coop", noticeJSON(m.Coop)
		case !m.Author.IsZero():
			g, err := s.client.Group(ctx, m.Conversation)
			if err != nil {
				return err
			}
			j.From, j.Group, j.Author = s.memberName(ctx, g, m.Author), m.Conversation.String(), m.Author.String()
			where = " in " + g.Name
		}
		if len(m.Attachments) > 0 {
			if j.Attachments, err = c.saveAttachments(ctx, s, m, *saveDir, p); err != nil {
				return err
			}
		}
		if *asJSON {
			if err := out.Encode(j); err != nil {
				return err
			}
		} else {
			fmt.Fprintf(c.stdout, "%s  %s%s: %s\n", m.SentAt.Local().Format("2006-01-02 15:04"), j.From, where, m.Text)
			for _, a := range j.Attachments {
				if a.Path != "" {
					fmt.Fprintf(c.stdout, "  saved %s (%d bytes)\n", a.Path, a.Size)
				} else {
					fmt.Fprintf(c.stdout, "  file %s (%d bytes; receive --save-dir DIR saves it)\n", terminalSafe(a.Name), a.Size)
				}
			}
		}
		// Shown to the user: read (a read receipt goes if they are on).
		return s.client.MarkRead(ctx, m.Conversation, m.ID)
	}
	showStored := func() error {
		all, err := s.everyone(ctx)
		if err != nil {
			return err
		}
		convs := make([]wire.ConversationID, 0, len(all))
		for _, ct := range all {
			convs = append(convs, ct.Conversation)
		}
		groups, err := s.client.Groups(ctx)
		if err != nil {
			return err
		}
		for _, g := range groups {
			convs = append(convs, g.ID)
		}
		convs = append(convs, wire.CoopConversation)
		for _, conv := range convs {
			msgs, err := s.client.Messages(ctx, conv)
			if err != nil {
				return err
			}
			for _, m := range msgs {
				if err := show(m); err != nil {
					return err
				}
			}
		}
		return nil
	}
	invited := make(map[wire.ConversationID]bool)
	// Without --follow: print what arrives until the relay has been quiet
	// for a moment (the inbox is drained), then what is stored unread.
	const quiet = 1500 * time.Millisecond
	idle := time.NewTimer(quiet)
	defer idle.Stop()
	for {
		select {
		case ev, ok := <-s.client.Events():
			if !ok {
				return nil
			}
			switch ev := ev.(type) {
			case client.MessageReceived:
				s.names = nil // a new requester may have arrived
				if err := show(ev.Message); err != nil {
					return err
				}
				if p.missed {
					p.missed = false
					if err := showStored(); err != nil {
						return err
					}
				}
			case client.GroupChanged:
				g, err := s.client.Group(ctx, ev.Group)
				if err == nil && g.Status == client.GroupInvited && !invited[g.ID] && !*asJSON {
					invited[g.ID] = true
					fmt.Fprintf(c.stderr, "%s invited you to the group %s: 'mutual-cli group accept %s' to join\n", s.name(ctx, g.InvitedBy), g.Name, g.ID)
				}
			case client.RequestReceived:
				if !*asJSON {
					fmt.Fprintf(c.stderr, "contact request from %s (not in your contacts; 'mutual-cli contacts list' shows their address once confirmed): 'mutual-cli contacts accept %s' or 'contacts block %s'\n", ev.Contact.User, ev.Contact.User, ev.Contact.User)
				}
			case client.IdentityChanged:
				fmt.Fprintf(c.stderr, "the safety number with %s changed: compare it before you trust it\n", s.name(ctx, ev.Contact))
			case client.Undecryptable:
				fmt.Fprintf(c.stderr, "a message could not be decrypted and was dropped: %v\n", ev.Err)
			case client.MessagesMissed:
				fmt.Fprintln(c.stderr, "some messages expired on the relay before this device fetched them")
			}
			if !idle.Stop() {
				select {
				case <-idle.C:
				default:
				}
			}
			idle.Reset(quiet)
		case <-idle.C:
			if err := showStored(); err != nil {
				return err
			}
			if !*follow {
				// Receipts, and the joining of groups contacts invited
				// this account to, go before the command ends (what
				// waits for a safety number to be accepted waits).
				var ie *client.IdentityChangedError
				if err := s.settle(ctx); err != nil && !errors.As(err, &ie) {
					return err
				}
				return nil
			}
			idle.Reset(time.Hour)
		case err := <-s.done:
			s.done <- err
			return err
		case <-ctx.Done():
			return nil // Ctrl-C ends --follow
		}
	}
}

func (c *cli) safetyNumber(ctx context.Context, args []string) error {
	if len(args) != 1 {
		return usageError("safety-number takes one address")
	}
	s, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	ct, err := s.contact(ctx, args[0])
	if err != nil {
		return err
	}
	nums, err := s.client.SafetyNumbers(ctx, ct.User)
	if err != nil {
		return explain(err)
	}
	if len(nums) == 0 {
		return fmt.Errorf("no session with %s yet: send or receive a message first", c.name(ct))
	}
	for _, n := range nums {
		note := ""
		if n.Unverified {
			note = "  (changed: not trusted yet)"
		}
		fmt.Fprintf(c.stdout, "device %d: %s%s\n", n.Device, strings.Join(n.Fingerprint.Groups(), " "), note)
	}
	return nil
}

type deviceJSON struct {
	ID       uint32 `json:"id"`
	Name     string `json:"name"`
	Created  string `json:"created"`
	LastSeen string `json:"last_seen,omitempty"`
	This     bool   `json:"this"`
	// Linked: added from another device ('devices link').
	Linked bool `json:"linked,omitempty"`
	// PendingUntil: held until approved ('devices approve'), at most until then.
	PendingUntil string `json:"pending_until,omitempty"`
}

func (c *cli) devices(ctx context.Context, args []string) error {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return c.deviceCommand(ctx, args[0], args[1:])
	}
	fs := flag.NewFlagSet("devices", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return usageError("devices takes only --json")
	}
	s, err := c.online(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	me, err := s.client.Account()
	if err != nil {
		return err
	}
	devs, err := s.client.Devices(ctx)
	if err != nil {
		return explain(err)
	}
	enc := json.NewEncoder(c.stdout)
	for _, d := range devs {
		created := time.UnixMilli(d.CreatedMS).UTC()
		if *asJSON {
			j := deviceJSON{ID: uint32(d.ID), Name: d.Name, Created: created.Format(time.RFC3339), This: d.ID == me.Device}
			if d.LastSeenMS > 0 {
				j.LastSeen = time.UnixMilli(d.LastSeenMS).UTC().Format(time.RFC3339)
			}
			j.Linked = d.Linked
			if d.PendingUntilMS > 0 {
				j.PendingUntil = time.UnixMilli(d.PendingUntilMS).UTC().Format(time.RFC3339)
			}
			if err := enc.Encode(j); err != nil {
				return err
			}
			continue
		}
		this := ""
		if d.ID == me.Device {
			this = "  (this device)"
		}
		fmt.Fprintf(c.stdout, "%d  %s  added %s%s%s\n", d.ID, d.Name, created.Format("2006-01-02"), deviceState(d), this)
	}
	return nil
}

// explain turns the relay's answers into sentences.
func explain(err error) error {
	var we *wire.Error
	if !errors.As(err, &we) {
		return err
	}
	switch we.Code {
	case wire.CodeBadCode:
		return errors.New("wrong code: check it and try again")
	case wire.CodeCodeExpired:
		return errors.New("the code expired: run 'register' again for a new one")
	case wire.CodeTooManyAttempts:
		return errors.New("too many wrong codes: run 'register' again for a new one")
	case wire.CodeRateLimited:
		return fmt.Errorf("too many requests: try again in %v", (time.Duration(we.RetryAfterMS) * time.Millisecond).Round(time.Second))
	case wire.CodeBadAddress:
		return errors.New("that is not an address Mutual understands (email:name@example.org)")
	case wire.CodeUnsupportedScheme:
		return errors.New("only email addresses can be used for now")
	case wire.CodeDeliveryFailed:
		return errors.New("the code could not be delivered to that address")
	}
	return err
}
