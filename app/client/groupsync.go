package client

import (
	"fmt"

	"github.com/mutualcoop/mutual/crypto/padding"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Groups on a new device of the account. When this device meets a device
// of its own account that it did not know (see metDevice), it sends the
// account a groups sync (content kind 8, to the account's own devices
// only): for each group it knows, the state, this account's standing, who
// invited it and the group's secrets this account holds, in as many
// contents as it takes for each to pad to at most 64 KiB. The new device
// takes a group it does not know, or a newer state of one it knows, and
// then opens what it kept of that group's messages (see pendingRecord).
// Its sender keys it learns from the members themselves: a member's next
// message to the group is refused as naming too few devices of this
// account (stale_devices), and the member then gives the new device its
// sender key. It sees the group's messages from when it was linked.

// maxSyncedGroups bounds the entries of one groups sync: an account is
// on at most 1,000 of the relay's group lists.
const maxSyncedGroups = 1000

// maxGroupSyncBytes bounds the encoded size of one groups sync content,
// so that it pads into the largest bucket.
const maxGroupSyncBytes = padding.MaxPlaintext - 1024

// maxSenderKey bounds a sender key distribution message in a content.
const maxSenderKey = 1024

// syncedGroup is one entry of a groups sync (content field 14):
//
//	SyncedGroup {1 state GroupState, 2 status uint32 (GroupStatus),
//	             3 invited by bytes (16), 4 secrets GroupSecrets}
type syncedGroup struct {
	State     *groupState
	Status    GroupStatus
	InvitedBy wire.UserID
	Secrets   groupSecrets
}

func (s *syncedGroup) marshal() []byte {
	e := &enc{}
	e.message(1, s.State.marshal())
	e.uint(2, uint64(s.Status))
	e.id(3, s.InvitedBy)
	if !s.Secrets.empty() {
		e.message(4, s.Secrets.marshal())
	}
	return e.b
}

func parseSyncedGroup(f field) (syncedGroup, error) {
	var s syncedGroup
	if err := f.wantBytes(); err != nil {
		return s, err
	}
	err := decodeFields(f.b, func(g field) (err error) {
		switch g.num {
		case 1:
			if err = g.wantBytes(); err == nil {
				s.State, err = parseGroupState(g.b)
			}
		case 2:
			var u uint32
			u, err = g.uint32()
			s.Status = GroupStatus(u)
		case 3:
			err = g.id((*[16]byte)(&s.InvitedBy))
		case 4:
			var sec *groupSecrets
			if err = g.wantBytes(); err == nil {
				if sec, err = parseGroupSecrets(g.b); err == nil {
					s.Secrets = *sec
				}
			}
		}
		return err
	})
	if err == nil && s.State == nil {
		err = fmt.Errorf("%w: a synced group without a state", errMalformed)
	}
	return s, err
}

// enqueueGroupsSync queues this device's groups for the account's other
// devices, in contents of at most maxGroupSyncBytes, and reports whether
// it queued any.
func (c *Client) enqueueGroupsSync(ts *txState) (bool, error) {
	me := c.me()
	var entries []syncedGroup
	err := ts.tx.Scan(bGroups, nil, func(_, v []byte) error {
		g, err := parseGroupRecord(v)
		if err != nil {
			return err
		}
		if len(entries) < maxSyncedGroups {
			entries = append(entries, syncedGroup{State: g.State, Status: g.Status, InvitedBy: g.InvitedBy, Secrets: g.Secrets})
		}
		return nil
	})
	if err != nil || len(entries) == 0 {
		return false, err
	}
	for len(entries) > 0 {
		m := &content{Kind: kindGroups, SentAt: ts.now, Peer: me.User}
		for len(entries) > 0 {
			m.Groups = append(m.Groups, entries[0])
			if len(m.marshal()) > maxGroupSyncBytes && len(m.Groups) > 1 {
				m.Groups = m.Groups[:len(m.Groups)-1]
				break
			}
			entries = entries[1:]
		}
		if err := c.enqueue(ts.tx, me.User, m); err != nil {
			return false, err
		}
	}
	return true, nil
}

// receiveGroups takes over the groups another device of this account
// sent (from anyone else it is dropped): a group this device does not
// know, or a newer state of one it knows, with this account's standing
// and secrets.
func (c *Client) receiveGroups(ts *txState, in *incoming, r *received) error {
	if !in.fromSelf {
		return nil
	}
	for i := range in.content.Groups {
		s := &in.content.Groups[i]
		switch s.Status {
		case GroupInvited, GroupJoined, GroupLeft, GroupRemoved:
		default:
			continue
		}
		g, err := loadGroup(ts.tx, s.State.ID)
		if err != nil {
			return err
		}
		if g != nil && g.State.Version >= s.State.Version && g.Status == s.Status {
			continue
		}
		ng := &groupRecord{State: s.State, Status: s.Status, InvitedBy: s.InvitedBy, Secrets: s.Secrets, Since: ts.now}
		if g != nil {
			ng.Since, ng.Rotate = g.Since, g.Rotate
			if g.State.Version > s.State.Version {
				ng.State = g.State
			}
		}
		ng.trimSecrets(c.me().User)
		if err := c.storeGroup(ts, ng, r); err != nil {
			return err
		}
		if err := c.replayPending(ts, ng.State.ID, nil, r); err != nil {
			return err
		}
	}
	return nil
}
