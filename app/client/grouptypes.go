package client

import (
	"time"

	"github.com/mutualcoop/mutual/relay/wire"
)

// MaxGroupName is the most bytes of UTF-8 in a group's name.
const MaxGroupName = 64

// MaxGroupMembers is the most members a group holds (the relay's limit).
const MaxGroupMembers = wire.MaxGroupMembers

// GroupStatus is where this account stands in a group.
type GroupStatus int

// An invitation from someone who is not a contact waits for the user
// (GroupInvited) until AcceptGroup or DeclineGroup; one from a contact is
// joined at once. A member who leaves, or is removed, keeps the group's
// history on their devices and receives nothing more.
const (
	GroupInvited GroupStatus = 1 // an invitation the user has not answered
	GroupJoined  GroupStatus = 2 // a member
	GroupLeft    GroupStatus = 3 // left, or declined the invitation
	GroupRemoved GroupStatus = 4 // an admin removed this account
)

func (s GroupStatus) String() string {
	switch s {
	case GroupInvited:
		return "invited"
	case GroupJoined:
		return "joined"
	case GroupLeft:
		return "left"
	case GroupRemoved:
		return "removed"
	}
	return "unknown"
}

// Group is a group chat as this device knows it. Its ID is also the
// conversation ID of its messages (History, MarkRead).
type Group struct {
	ID      wire.ConversationID
	Name    string
	Members []GroupMember // in the order they were added; this account among them while joined
	// Version counts the changes to the group's state (name, members,
	// roles, settings) since it was created.
	Version uint64
	// MembersCanAdd: every member may add members, not only admins.
	MembersCanAdd bool
	Status        GroupStatus
	InvitedBy     wire.UserID // who added this account
	Admin         bool        // this account is an admin
	Created       time.Time
	// Link is the group's invite link: off, or on with an admin
	// approving who joins, or anyone with it joining (invite.go).
	Link LinkMode
	// JoinRequests are those who asked to join with the invite link and
	// wait for an admin (ApproveJoin, DeclineJoin); filled in for admins
	// only, oldest first.
	JoinRequests []JoinRequest
}

// GroupMember is one member of a group.
type GroupMember struct {
	User    wire.UserID
	Admin   bool
	Joined  bool        // false: invited, has not joined yet
	AddedBy wire.UserID // zero for the creator
	// Name is what to call them on this device: their contact's Name
	// when they are a contact, else the profile name they gave the
	// group, else the first eight hex digits of their user ID.
	Name string
}

// GroupEventKind says what a system line of a group records.
type GroupEventKind int

// System lines of a group's history ("Ann added Ben").
const (
	EventCreated  GroupEventKind = 1 // Actor created the group (Name)
	EventAdded    GroupEventKind = 2 // Actor added Subjects
	EventRemoved  GroupEventKind = 3 // Actor removed Subjects
	EventLeft     GroupEventKind = 4 // Actor left
	EventJoined   GroupEventKind = 5 // Actor joined (accepted an invitation)
	EventRenamed  GroupEventKind = 6 // Actor renamed the group to Name
	EventAdmin    GroupEventKind = 7 // Actor made Subjects admins
	EventNotAdmin GroupEventKind = 8 // Actor made Subjects members only
	EventSettings GroupEventKind = 9 // Actor changed who may add members (MembersCanAdd)
)

// GroupEvent is a system line in a group's history: Message.Event.
type GroupEvent struct {
	Kind          GroupEventKind
	Actor         wire.UserID
	Subjects      []wire.UserID
	Name          string   // EventCreated, EventRenamed: the group's name
	MembersCanAdd bool     // EventSettings
	Link          LinkMode // EventLink: the invite link's new mode
}

// GroupChanged: a group's state changed (created, renamed, members or
// roles changed, an invitation arrived, this account left or was
// removed). Read it again with Group.
type GroupChanged struct{ Group wire.ConversationID }

func (GroupChanged) event() {}

// Receipt is how far one member has got with a message this account
// wrote to a group (ReadBy).
type Receipt struct {
	User  wire.UserID
	Name  string
	State MessageState // StateSent (nothing yet), StateDelivered or StateRead
	At    time.Time    // when their receipt arrived; zero with StateSent
}
