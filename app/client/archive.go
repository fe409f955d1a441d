package client

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/relay/wire"
)

// ArchiveFormat names the format of an exported Archive, in its Format
// field; ArchiveVersion is its version.
const (
	ArchiveFormat  = "mutual-chats"
	ArchiveVersion = 1
)

// archiveNote is what an Archive says of itself.
const archiveNote = "Everything this device had stored when the chats were exported: " +
	"messages that never reached this device, or that it no longer had, are not here."

// Archive is everything the device holds of its chats, for the person to
// keep: the contacts and every conversation's messages, oldest first.
// It holds only what this device has stored; nothing comes from the
// relay or from other devices. It carries no keys. WriteJSON and WriteText
// render it.
type Archive struct {
	Format        string                 `json:"format"`  // ArchiveFormat
	Version       int                    `json:"version"` // ArchiveVersion
	Note          string                 `json:"note"`
	ExportedAt    time.Time              `json:"exported_at"`
	Account       ArchivedAccount        `json:"account"`
	Contacts      []ArchivedContact      `json:"contacts"`
	Conversations []ArchivedConversation `json:"conversations"`
}

// ArchivedAccount is the account the device belongs to.
type ArchivedAccount struct {
	User    string `json:"user"` // hex
	Device  uint32 `json:"device"`
	Address string `json:"address"` // as typed when signing in, without "email:"
}

// ArchivedContact is one contact, request or blocked user.
type ArchivedContact struct {
	User        string    `json:"user"` // hex
	Name        string    `json:"name"` // Contact.Name
	Address     string    `json:"address,omitempty"`
	Nickname    string    `json:"nickname,omitempty"`
	ProfileName string    `json:"profile_name,omitempty"`
	State       string    `json:"state"` // allowed, blocked, request
	Added       time.Time `json:"added"`
}

// ArchivedConversation is a 1:1 conversation (Peer) or a group (Group)
// and its messages, oldest first.
type ArchivedConversation struct {
	Peer     string            `json:"peer,omitempty"`  // hex
	Group    string            `json:"group,omitempty"` // hex: the group's ID
	Name     string            `json:"name"`
	Messages []ArchivedMessage `json:"messages"`
}

// ArchivedMessage is one message. From is who wrote it: "me" for this
// account (any of its devices), else the contact's name; FromUser is the
// writer's user ID.
type ArchivedMessage struct {
	ID         string    `json:"id"` // hex
	SentAt     time.Time `json:"sent_at"`
	ServerTime time.Time `json:"server_time,omitzero"`
	From       string    `json:"from"`
	FromUser   string    `json:"from_user"`
	Outgoing   bool      `json:"outgoing"`
	State      string    `json:"state"`
	Text       string    `json:"text"`
	// Event is a group's system line, as a sentence ("Ann added Ben");
	// such a message has no Text.
	Event string `json:"event,omitempty"`
}

// archiveSelf is ArchivedMessage.From for this account's messages.
const archiveSelf = "me"

// Export reads everything this device holds of its chats, in one
// transaction: the contacts (allowed, blocked and requests) and every
// message of their conversations, and the groups with theirs.
// Conversations come in the order of their newest message, newest first,
// as Chats lists them.
func (c *Client) Export(ctx context.Context) (*Archive, error) {
	me, err := c.registered()
	if err != nil {
		return nil, err
	}
	a := &Archive{
		Format: ArchiveFormat, Version: ArchiveVersion, Note: archiveNote,
		ExportedAt:    c.now().UTC(),
		Account:       ArchivedAccount{User: me.User.String(), Device: uint32(me.Device), Address: strings.TrimPrefix(me.Address, "email:")},
		Contacts:      []ArchivedContact{},
		Conversations: []ArchivedConversation{},
	}
	type dated struct {
		conv   ArchivedConversation
		newest time.Time // of its newest message, or when the contact was added
	}
	var convs []dated
	err = c.st.View(ctx, func(tx store.Tx) error {
		var contacts []*Contact
		if err := tx.Scan(bContacts, nil, func(_, v []byte) error {
			ct, err := parseContact(v, me.User)
			if err != nil {
				return err
			}
			contacts = append(contacts, ct)
			return nil
		}); err != nil {
			return err
		}
		slices.SortFunc(contacts, func(x, y *Contact) int { return x.Added.Compare(y.Added) })
		for _, ct := range contacts {
			a.Contacts = append(a.Contacts, ArchivedContact{
				User: ct.User.String(), Name: ct.Name(), Address: strings.TrimPrefix(ct.Address, "email:"),
				Nickname: ct.Nickname, ProfileName: ct.ProfileName, State: ct.State.String(), Added: ct.Added.UTC(),
			})
			conv := ct.Conversation
			if conv == (wire.ConversationID{}) {
				conv = DirectConversation(me.User, ct.User)
			}
			ac := ArchivedConversation{Peer: ct.User.String(), Name: ct.Name(), Messages: []ArchivedMessage{}}
			newest := ct.Added
			if err := tx.Scan(bMessages, conv[:], func(_, v []byte) error {
				m, err := parseMessage(v)
				if err != nil {
					return err
				}
				from, fromUser := ct.Name(), ct.User
				if m.Outgoing {
					from, fromUser = archiveSelf, me.User
				}
				ac.Messages = append(ac.Messages, ArchivedMessage{
					ID: m.ID.String(), SentAt: m.SentAt.UTC(), ServerTime: m.ServerTime.UTC(),
					From: from, FromUser: fromUser.String(), Outgoing: m.Outgoing,
					State: m.State.String(), Text: m.Text,
				})
				newest = messageTime(m)
				return nil
			}); err != nil {
				return err
			}
			convs = append(convs, dated{ac, newest})
		}
		groups, err := c.archiveGroups(tx)
		if err != nil {
			return err
		}
		for _, g := range groups {
			convs = append(convs, dated{g.conv, g.newest})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	slices.SortStableFunc(convs, func(x, y dated) int { return y.newest.Compare(x.newest) })
	for _, d := range convs {
		a.Conversations = append(a.Conversations, d.conv)
	}
	return a, nil
}

// archivedGroup is a group's conversation as Export writes it, and when
// it was last active.
type archivedGroup struct {
	conv   ArchivedConversation
	newest time.Time
}

// archiveGroups reads every group this device knows, with its messages.
func (c *Client) archiveGroups(tx store.Tx) ([]archivedGroup, error) {
	me := c.me()
	var gs []*groupRecord
	err := tx.Scan(bGroups, nil, func(_, v []byte) error {
		g, err := parseGroupRecord(v)
		if err == nil {
			gs = append(gs, g)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	var out []archivedGroup
	for _, g := range gs {
		id := g.State.ID
		ag := archivedGroup{conv: ArchivedConversation{Group: id.String(), Name: g.State.Name, Messages: []ArchivedMessage{}}, newest: fromMS(g.Since)}
		var msgs []*Message
		err := tx.Scan(bMessages, id[:], func(_, v []byte) error {
			m, err := parseMessage(v)
			if err == nil {
				msgs = append(msgs, m)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		names := map[wire.UserID]string{}
		nameOf := func(u wire.UserID) (string, error) {
			if u == me.User {
				return archiveSelf, nil
			}
			if n, ok := names[u]; ok {
				return n, nil
			}
			n, err := c.memberDisplayName(tx, u)
			names[u] = n
			return n, err
		}
		for _, m := range msgs {
			from, err := nameOf(m.Author)
			if err != nil {
				return nil, err
			}
			am := ArchivedMessage{
				ID: m.ID.String(), SentAt: m.SentAt.UTC(), ServerTime: m.ServerTime.UTC(),
				From: from, FromUser: m.Author.String(), Outgoing: m.Outgoing, State: m.State.String(), Text: m.Text,
			}
			if m.Event != nil {
				if am.Event, err = describeEvent(m.Event, nameOf); err != nil {
					return nil, err
				}
			}
			ag.conv.Messages = append(ag.conv.Messages, am)
			ag.newest = messageTime(m)
		}
		out = append(out, ag)
	}
	return out, nil
}

// describeEvent says a group's system line as a sentence, naming people
// with nameOf ("me" for this account).
func describeEvent(ev *GroupEvent, nameOf func(wire.UserID) (string, error)) (string, error) {
	actor, err := nameOf(ev.Actor)
	if err != nil {
		return "", err
	}
	var subjects []string
	for _, u := range ev.Subjects {
		n, err := nameOf(u)
		if err != nil {
			return "", err
		}
		subjects = append(subjects, n)
	}
	who := strings.Join(subjects, ", ")
	switch ev.Kind {
	case EventCreated:
		return fmt.Sprintf("%s created the group %q", actor, ev.Name), nil
	case EventAdded:
		return fmt.Sprintf("%s added %s", actor, who), nil
	case EventRemoved:
		return fmt.Sprintf("%s removed %s", actor, who), nil
	case EventLeft:
		return actor + " left", nil
	case EventJoined:
		return actor + " joined", nil
	case EventRenamed:
		return fmt.Sprintf("%s renamed the group to %q", actor, ev.Name), nil
	case EventAdmin:
		return fmt.Sprintf("%s made %s an admin", actor, who), nil
	case EventNotAdmin:
		return fmt.Sprintf("%s made %s a member only", actor, who), nil
	case EventSettings:
		if ev.MembersCanAdd {
			return actor + " let every member add members", nil
		}
		return actor + " let only admins add members", nil
	case EventLink, EventLinkReset, EventLinkJoined:
		return describeLink(ev, actor, who), nil
	}
	return fmt.Sprintf("%s changed the group", actor), nil
}

// Messages counts the messages of the archive.
func (a *Archive) Messages() int {
	n := 0
	for _, c := range a.Conversations {
		n += len(c.Messages)
	}
	return n
}

// WriteJSON writes the archive as indented JSON.
func (a *Archive) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(a)
}

// archiveTimeLayout is how WriteText shows times (UTC).
const archiveTimeLayout = "2006-01-02 15:04"

// WriteText writes the archive for reading: a heading per conversation,
// then one line per message, "[time] sender: text" (times in UTC, when
// the writer sent it), with the lines of a long text indented.
func (a *Archive) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "Mutual chats of %s, exported %s UTC\n", a.Account.Address, a.ExportedAt.Format(archiveTimeLayout))
	fmt.Fprintf(bw, "%s\n", a.Note)
	for _, c := range a.Conversations {
		fmt.Fprintf(bw, "\n== %s ==\n", c.Name)
		if len(c.Messages) == 0 {
			fmt.Fprintln(bw, "(no messages)")
		}
		for _, m := range c.Messages {
			from := m.From
			if m.Outgoing {
				from = "Me"
			}
			if m.Event != "" {
				fmt.Fprintf(bw, "[%s] (%s)\n", m.SentAt.Format(archiveTimeLayout), m.Event)
				continue
			}
			text := strings.ReplaceAll(m.Text, "\n", "\n    ")
			fmt.Fprintf(bw, "[%s] %s: %s\n", m.SentAt.Format(archiveTimeLayout), from, text)
		}
	}
	return bw.Flush()
}
