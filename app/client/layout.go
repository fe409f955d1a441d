package client

import (
	"encoding/binary"

	"github.com/mutualcoop/mutual/relay/wire"
)

// Storage layout: the buckets of the store and their keys. Integers in
// keys are big-endian so that Scan visits them in numeric order.
var (
	// account: "account" → accountRecord; "identity" → pqxdh.Identity.
	bAccount = []byte("account")
	// prekeys: ID (4) → pqxdh.PreKey, this device's one-time prekeys.
	bPreKeys = []byte("prekeys")
	// signed: ID (4) → pqxdh.SignedPreKey.
	bSigned = []byte("signed")
	// kem: ID (4) → pqxdh.KEMPreKey (one-time and last-resort).
	bKEM = []byte("kem")
	// kemused: KEM ID (4) || signed ID (4) || base key (33) → empty: uses
	// of last-resort KEM prekeys, to refuse a replayed session setup.
	bKEMUsed = []byte("kemused")
	// retired: 's' or 'k' || ID (4) → when the signed or last-resort KEM
	// prekey was replaced (Unix ms, 8); it is deleted after the grace
	// period.
	bRetired = []byte("retired")
	// stale: 'e' (one-time EC) or 'k' (one-time KEM) || ID (4) → when a
	// newer batch of one-time prekeys replaced the prekey (Unix ms, 8);
	// see trimOneTime.
	bStale = []byte("stale")
	// sessions: user (16) || device (4) → session.Record.
	bSessions = []byte("sessions")
	// identities: user (16) || device (4) → identityRecord.
	bIdentities = []byte("identities")
	// contacts: user (16) → Contact.
	bContacts = []byte("contacts")
	// claims: user (16) → empty: the contacts who gave an address a
	// Lookup has not checked yet (Contact.AddressPending), kept with the
	// contact by putContact (claims.go).
	bClaims = []byte("claims")
	// messages: conversation (16) || sequence (8) → Message. Sequences
	// count from 1 in each conversation (the chat summary holds the last
	// one given).
	bMessages = []byte("messages")
	// msgindex: author (16) || message ID (16) → conversation || sequence.
	bMsgIndex = []byte("msgindex")
	// chats: conversation (16) → chatRecord, the summary of the
	// conversation (a copy of the contact, the newest message and its
	// sequence, the unread count), written in the same transaction as
	// every change to the messages or the contact it sums up (chats.go).
	// It stays when the contact is removed, without them, so that
	// sequences go on.
	bChats = []byte("chats")
	// seen: sender (16) || message ID (16) → server time (Unix ms, 8):
	// every message and receipt stored, to drop redeliveries.
	bSeen = []byte("seen")
	// outbox: sequence (8) → outboxEntry, in sending order.
	bOutbox = []byte("outbox")
	// receipts: user (16) || content kind (1) [|| group (16), for receipts
	// within a group] → outbox sequence (8) of the newest receipt entry of
	// that kind to that user, which later
	// receipts join while it is not encrypted and has room
	// (enqueueReceipt). Only a hint: the entry is checked before use.
	bReceipts = []byte("receipts")

	// groups: group ID (16) → groupRecord, what this device holds of a
	// group (its state, this account's standing, the secrets it may hold).
	bGroups = []byte("groups")
	// senderkeys: group (16) || user (16) || device (4) →
	// senderkey.Record: this device's own sender key for the group (under
	// its own user and device), and every other member device's.
	bSenderKeys = []byte("senderkeys")
	// keyholders: group (16) || user (16) || device (4) → chain ID (4) of
	// this device's sender key for the group that the device was given;
	// a device whose entry names another chain (or none) is given the
	// current one with the next message.
	bKeyHolders = []byte("keyholders")
	// grouppending: group (16) || server time (8) || sender (16) ||
	// message ID (16) → pendingRecord, a group message kept until the
	// sender key or the group it needs arrives (at most maxPending a group).
	bGroupPending = []byte("grouppending")
	// groupreceipts: message ID (16) || member (16) → receiptRecord, how
	// far each member has got with a message this account wrote to a group.
	bGroupReceipts = []byte("groupreceipts")
	// membernames: user (16) → memberName, the profile name a group member
	// gave (for members who are not contacts).
	bMemberNames = []byte("membernames")
	// groupdue: group (16) → dueRecord: a change of the relay's member
	// list this device has still to make (joining, leaving).
	bGroupDue = []byte("groupdue")
	// joinrequests: group (16) || user (16) → joinRequest, someone who
	// asked to join the group with its invite link and waits for an
	// admin (on the admins' devices only, invite.go).
	bJoinRequests = []byte("joinrequests")
	// joinasks: group (16) → askRecord, this account's own request to
	// join a group with its invite link, until the group's state arrives.
	bJoinAsks = []byte("joinasks")
	// groupreplay: group (16) || message ID (16) → replayRecord, a message
	// this device wrote to the group while members it names had not
	// joined, sent to each of them when they join (groupreplay.go).
	bGroupReplay = []byte("groupreplay")

	// coop: "coop" → coopRecord, the key of the co-op's notices this
	// device keeps and how many notices it dropped (coopnotices.go).
	bCoop = []byte("coop")

	// link: linked devices and account protection (vouch.go, pending.go):
	// 'c' || user (16) || device (4) → empty, a device whose vouch the
	// worker has to check; "vouch" → vouchRecord, the vouch this device
	// publishes with its keys (a linked device); "pending" → Unix ms (8),
	// until when the relay holds this device (absent when it does not).
	bLink = []byte("link")
	// backup: "backup" → backupRecord, this device's backup setting: the
	// key derived from the secret (never the secret) and how the latest
	// backup went (backup.go).
	bBackup = []byte("backup")
	kBackup = []byte("backup")
	// push: "sub" → pushRecord, this device's Web Push subscription;
	// "key" → the relay's push key; 'm' || conversation (16) → when the
	// conversation's mute ends (Unix ms, 8) (push.go).
	bPush = []byte("push")

	kAccount  = []byte("account")
	kIdentity = []byte("identity")
	kCoop     = []byte("coop")
)

func idKey(id uint32) []byte { return binary.BigEndian.AppendUint32(nil, id) }

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

func deviceKey(u wire.UserID, d wire.DeviceID) []byte {
	return binary.BigEndian.AppendUint32(append(u[:0:0], u[:]...), uint32(d))
}

// deviceFromKey splits a deviceKey.
func deviceFromKey(k []byte) (wire.UserID, wire.DeviceID, bool) {
	var u wire.UserID
	if len(k) != len(u)+4 {
		return u, 0, false
	}
	copy(u[:], k)
	return u, wire.DeviceID(binary.BigEndian.Uint32(k[len(u):])), true
}

func receiptKey(peer wire.UserID, kind contentKind) []byte {
	return append(append(make([]byte, 0, 17), peer[:]...), byte(kind))
}

func authoredKey(author wire.UserID, id wire.MessageID) []byte {
	return append(append(make([]byte, 0, 32), author[:]...), id[:]...)
}

func messageKey(conv wire.ConversationID, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(append(make([]byte, 0, 24), conv[:]...), seq)
}

func senderKeyKey(g wire.ConversationID, u wire.UserID, d wire.DeviceID) []byte {
	return append(append(make([]byte, 0, 36), g[:]...), deviceKey(u, d)...)
}

func pendingKey(g wire.ConversationID, serverMS int64, sender wire.UserID, id wire.MessageID) []byte {
	k := binary.BigEndian.AppendUint64(append(make([]byte, 0, 56), g[:]...), uint64(serverMS))
	return append(append(k, sender[:]...), id[:]...)
}

func groupReceiptKey(id wire.MessageID, member wire.UserID) []byte {
	return append(append(make([]byte, 0, 32), id[:]...), member[:]...)
}
