// Package client is the core of a Mutual client, shared by the web app
// (GOOS=js) and the native command-line client: the device's account and
// keys, end-to-end sessions, contacts, the outbox, the inbox and the
// connection to the relay. It keeps everything in a store.Store and talks
// to the relay through app/transport; it imports nothing of the server
// but relay/wire, no SQL driver and no Kafka client (TestDeps checks).
//
// # Use
//
//	c, _ := client.Open(ctx, st, client.Config{ServerURL: "wss://relay.example.org/v1/ws"})
//	defer c.Close()                               // then close st
//	token, _ := c.Register(ctx, "email:alice@example.org") // a code is mailed
//	_, _ = c.Verify(ctx, "email:alice@example.org", code, token, "laptop")
//	go c.Run(ctx)                                 // stay connected
//	bob, _ := c.AddContact(ctx, "email:bob@example.org")
//	id, _ := c.Send(ctx, bob.User, "hello")       // queued; works offline
//	for ev := range c.Events() { ... }            // MessageReceived, MessageStateChanged, ContactChanged, ...
//	chats, _ := c.Chats(ctx)                      // the chat list: newest activity first, unread counts
//	page, _ := c.History(ctx, bob.Conversation, 0, 50)           // the newest 50 messages
//	older, _ := c.History(ctx, bob.Conversation, page[0].Seq, 50) // the 50 before them
//	_ = c.MarkRead(ctx, bob.Conversation)         // read receipts go to Bob
//	_ = c.SetProfileName(ctx, "Alice")            // shown to contacts, end to end
//	g, _ := c.CreateGroup(ctx, "Family", []wire.UserID{bob.User, carol.User}) // needs Run
//	_, _ = c.SendGroup(ctx, g.ID, "hello all")   // queued; works offline
//	_, _ = c.SendFiles(ctx, bob.User, "the plan", client.File{Name: "plan.pdf", Size: n, Content: f}) // uploads with Run
//	_ = c.Download(ctx, author, msgID, 0)         // then OpenAttachment reads it
//	archive, _ := c.Export(ctx)                   // the contacts, the groups and every message on this device
//	l, _ := fresh.StartLink(ctx, "laptop")          // a new device (empty store): show l.Code() or l.QR()
//	_, _ = c.LinkDevice(ctx, typedCode, true, nil)  // on a device of the account, with the history
//	res, _ := l.Wait(ctx, nil)                      // the new device: registered, keys published, history in
//	_ = archive.WriteJSON(w)                      // or WriteText, for reading
//	hb, _, _ := c.UploadHistory(ctx, client.HistoryOptions{}, nil) // for a new device of the account
//	_, _ = other.RestoreHistory(ctx, hb, nil)     // on that device
//	key := client.NewRecoveryKey()                // shown once; the device keeps only what it derives
//	_ = c.SetBackup(ctx, client.BackupSecret{RecoveryKey: key}, true) // daily while Run runs
//	_, _ = c.BackupNow(ctx, nil)                  // needs Run
//	_, _ = fresh.RestoreBackup(ctx, key, nil)     // on a new device of the account, after Verify
//	_ = c.SetPushSubscription(ctx, &client.PushSubscription{Endpoint: ep, P256dh: k, Auth: a}) // Web Push
//	_ = c.MuteChat(ctx, bob.Conversation, client.MuteForever) // or until a time; zero unmutes
//
// Calls that need the relay (AddContact, Accept, Block, Remove, Devices,
// RemoveDevice, LinkDevice, ApproveDevice, and the group calls that change the relay's member list:
// CreateGroup, AddMembers, RemoveMember, AcceptGroup, DeclineGroup,
// LeaveGroup, and SetAdmin or SetMembersCanAdd when they take a right
// away; ApproveJoin, JoinByInvite with a link anyone joins with, and
// SetInviteLink or ResetInviteLink when the relay's hash of the link
// changes) wait for Run's connection within their context and fail with
// ErrOffline when Run is not running. Register, Verify and StartLink open
// a connection of their own. Everything else works on the store alone.
//
// # Goroutines
//
// Run owns everything it starts and returns only after it has stopped:
// per connection, transport's reader, an inbox goroutine (stores and
// acknowledges deliveries; it never waits for a reply from the relay,
// because replies can queue behind deliveries only it drains), a worker
// (key upkeep, contact sync, notices, the outbox), the uploader and the
// downloader of attachments (upload.go, download.go) and a closer,
// joined by an errgroup. Close stops Run and waits for it. Events are queued in a
// bounded channel; when its reader lags, the oldest are dropped (the
// store is the truth; events say when to look).
//
// # Message path
//
// An incoming message, from the socket to the store and the UI:
//
//  1. app/transport's reader decodes a wire.Deliver and queues it
//     (Conn.Deliveries).
//  2. inbox (inbox.go) takes the deliveries already waiting and hands
//     them to receiveBatch, which stores them all in one transaction:
//     Client.update (tx.go) makes its txState, the store's Tx with a
//     session.Manager bound to it (keystore.go).
//  3. receive dispatches on the envelope's kind: a refusal of this
//     account's message goes to receiveRejection; a group message to
//     receiveGroup (groupreceive.go: its own part, then its shared part
//     with the sender's sender key); a message or request
//     to receiveMessage, which drops what it has seen (its seen-ID) or
//     what a blocked user sent, decrypts (ts.sessions.Decrypt, under a
//     journal that undoes a failure, journal.go), records the seen-ID
//     and opens the content (content.go).
//  4. apply finds the handler of the content's kind (handlerFor in
//     content.go): receiveText in text.go, receiveReceipt in receipt.go,
//     receiveProfile in profile.go, receiveContacts in sync.go,
//     receiveInvitation in groupreceive.go, receiveGroups in
//     groupsync.go; a kind it does not know is dropped.
//     A handler first lets noteWriter record that a contact who writes
//     accepts this account, then writes the records (insertMessage and
//     advanceMessage in messages.go, which keep the chat summary of
//     chats.go; putContact in client.go), queues what answers it (a
//     delivery receipt, enqueueReceipt) and notes its events.
//  5. Once the transaction commits, receiveBatch emits the events
//     (events.go: MessageReceived, MessageStateChanged, ContactChanged,
//     ...) that app/ui reads from Events before it reads the store
//     again, and wakes the worker if anything was queued; then inbox
//     acknowledges the deliveries' offsets.
//
// An outgoing message, from Send to the relay and back:
//
//  1. Send (text.go) stores the message (StateSending) and its outbox
//     entry (newEntry in messages.go: the padded content) in one
//     transaction, and wakes the worker (run.go).
//  2. The worker's flushOutbox (outbox.go) goes through the entries in
//     order: mustWait holds one that waits for the user or the contact;
//     deliver has prepare encrypt it once for every device (fetching
//     bundles for a first session), in the transaction that stores the
//     advanced sessions, and sends it (wire.Send) until the relay
//     answers.
//  3. accepted deletes the entry and marks the message Sent, and a
//     refusal fails it (failed), each with a MessageStateChanged; on
//     stale_devices, fixDevices corrects the ciphertexts and it goes
//     again; on no_devices (the contact signed out of every device) the
//     entry waits and the message is Waiting (away), tried again with
//     backoff until the contact signs in again or 30 days have passed.
//     Retry sends a failed message again under the same ID, through a
//     new entry.
//  4. The contact's receipts come back as incoming messages
//     (receiveReceipt: Delivered, then Read), and a refusal by the
//     router (the contact does not accept this account) as a rejection
//     (receiveRejection: Failed).
//
// The outbox's comment (outbox.go) has the table of an entry's states.
//
// # Guarantees
//
//   - Sending. Send stores the message and its outbox entry in one
//     transaction. The worker encrypts an entry once, in the transaction
//     that also stores every advanced session (session.Manager writes
//     through the transaction, see keyStore), and then sends exactly
//     those bytes with the same message ID until the relay answers
//     Accepted; a crash never reuses a message key nor loses a stored
//     message. On Rejected{stale_devices} the ciphertexts of removed
//     devices are dropped (with their sessions) and new devices get
//     theirs from fetched bundles; the other ciphertexts stay as they
//     were. Entries go in order; an entry that must wait (for an
//     identity change to be accepted, for the contact to accept a
//     request, see below, or for them to have a device signed in, up to
//     30 days) holds back the later entries of its conversation only.
//   - Receiving. The deliveries already waiting (up to 64; the inbox
//     never waits for more) are decrypted and stored in order in one
//     transaction: each message (or receipt effect), the advanced
//     session, the used prekeys and the message's seen-ID. Only after it
//     commits are their offsets acknowledged. A crash before the commit
//     changes nothing (the relay delivers them again); after it, a
//     redelivery is dropped by its seen-ID (sender user and message ID),
//     also one that comes twice in the same batch. Several messages of
//     one session in a batch each see the session as the one before
//     left it (the key store reads through the transaction). A message
//     that does not decrypt (altered, replayed, garbage) has what its
//     decryption wrote undone (a journal records what each write
//     replaced), so it leaves the session as it was and the rest of the
//     batch stands; it is reported as an Undecryptable event and is
//     acknowledged so that it blocks nothing.
//   - Receipts. A message received queues a delivery receipt in the
//     transaction that stores it; MarkRead queues read receipts. Receipts
//     to a contact join the newest receipt entry of the same kind to
//     them while that entry is still in the outbox, not encrypted and
//     holds fewer than 100 message IDs; the entry is rewritten in the
//     same transaction. An entry once encrypted is never changed (the
//     worker reads the entry again in the transaction that encrypts it),
//     and a new one starts. So a backlog of messages is acknowledged by
//     a few receipts, not one each.
//   - Message states: outgoing Sending → Sent (Accepted) → Delivered
//     (delivery receipt) → Read (read receipt, unless the reader turned
//     them off; and shown only while this user has them on: they are
//     mutual), or Failed (refused by the relay or by the recipient's
//     allowlist, with the reason); Sending and Waiting (the contact has
//     no device signed in) alternate before the relay takes it. States
//     never move back, except that Retry makes a Failed message Sending
//     again (Message.Attempt counts those). Receipts are end-to-end
//     encrypted messages like any other.
//   - Chat list. Every conversation has a summary record (a copy of
//     the contact, the newest message, the unread count, the last
//     sequence number given), written in the same transaction as each
//     message stored, each state change, each MarkRead and each change
//     to the contact, so Chats reads one small record per conversation
//     and is always what the messages say. A message's Seq is its place
//     in its conversation (1, 2, ...); History pages backwards by it and
//     reads only the page.
//
// # Groups
//
// A group is a conversation whose ID (16 random bytes) also names the
// relay's member list; its state (name, members, roles, the setting that
// lets every member add) travels end to end, each change with the whole
// new state and the next version, and a device applies a change only
// from a member allowed to make it under the state it holds
// (groupstate.go has the rules). Group messages are encrypted once with
// the sending device's sender key (crypto/senderkey) into the Send's
// shared part; devices that lack that key get it, pairwise, in their own
// part of the same Send, sealed in the same transaction as any outbox
// entry (groupsend.go). A member leaving or removed makes every remaining
// device make a new sender key before its next message, so that only the
// remaining members can read on. A message sealed while members were
// invited and had not joined is kept for them (at most 100 a group, for
// 24 hours), and sent to each, pairwise under the same message ID, when
// this device applies their join (groupreplay.go): what is written to a
// new group at once reaches everyone invited, once. Invitations go 1:1
// (a message to a contact who accepted this account, a contact request
// to anyone else);
// one from an allowed contact is joined at once by the worker
// (groupdue.go), any other waits for AcceptGroup. A group's messages are
// stored like 1:1 messages under its conversation, with Author set; its
// changes are lines of the history (Message.Event); Chats lists groups
// too (Chat.Group). Delivery and read receipts of group messages go to
// the author alone and are counted per member (ReadBy): a message is
// delivered, or read, once every member it went to is. The account's new
// devices get the groups in a groups sync (groupsync.go). The secrets
// that let the relay's list be changed go only to who may use them. See
// docs/protocol.md, "Groups, end to end".
//
// An admin may give a group an invite link (SetInviteLink, InviteToken):
// a token in a URL's fragment holding the group's ID and name, the link's
// secret and the admin's user ID (ParseInvite reads it). Who has it asks
// to join (JoinByInvite): a join request (content kind 9) with the secret
// goes to that admin, whose devices check it against the current secret.
// When anyone may join, the asker joins the relay's list with the secret
// first, and the admin's device adds them at once; when an admin
// approves, the request waits in Group.JoinRequests on every admin's
// device until ApproveJoin or DeclineJoin. ResetInviteLink makes the old
// link useless. invite.go has the details; docs/protocol.md, "Invite
// links", the formats.
//
// # Contacts and requests
//
// Adding a contact allows them on the relay (SetContact) and keeps the
// address as typed, and a nickname, on this device only. Until a contact
// has written back (Contact.Accepted), one message goes to them as a
// contact request (wire.KindRequest); a KindRequest from someone who is
// not a contact is listed by Requests until Accept (which sends delivery
// receipts for what they wrote, and read receipts for what the user read
// of it already), Block or Remove.
//
// The relay lets one request a day through from one user to another and
// refuses the rest (rate_limited), so a device sends one and waits: in
// the transaction that records the relay's Accepted for a request, the
// contact's RequestSent is set to the relay's time (also when the copy
// of a request sent by another device of the account arrives), and from
// then on the contact is AwaitingAcceptance and the outbox holds the
// later entries to them: their messages stay Sending and nothing goes to
// the relay. Only that conversation waits. When they accept (their first
// message arrives, usually the delivery receipts Accept sends), Accepted
// is set and RequestSent cleared in the transaction that stores it, the
// worker is woken, and the held entries go in order as plain messages,
// exactly once (they are outbox entries like any other, so they survive
// restarts). A refusal (not_accepted) of the request, or of anything sent
// after it, clears RequestSent: the next message becomes a request
// again. A client cannot know the relay's window, so it assumes the
// default: 24 hours after the relay took the request (requestWindow),
// the next waiting message goes as a new request. A recipient who
// blocked this account, before or after the request, is not told apart
// from one who has not answered (the relay drops a request to a blocker
// without a word): messages wait until then.
//
// On connecting, the relay's allowlist is merged into the local
// contacts, so that what another device of the account decided shows
// here too. Every change to a contact emits a ContactChanged event.
//
// # Who writes
//
// The relay cannot say which address a user is registered under, so the
// writer's client says it, end to end: a text that goes as a contact
// request and every profile carry the account's address (a claim).
// Contact.VerifiedAddress shows it only once confirmed: the receiving
// device notes the claim in the transaction that stores the content,
// and the connection's worker looks the address up (at most one Lookup
// per contact: see takeClaim): if it finds the writer, the address is verified; if it finds
// someone else or nobody, it is never shown and the contact is marked
// (Contact.AddressMismatch); a Lookup the relay refuses for now
// (rate_limited) leaves it pending (Contact.AddressPending) and is tried
// again later; each change emits ContactChanged (claims.go). An address
// typed in AddContact is verified by the Lookup that found the contact.
// Addresses are parsed, compared and shown with internal/address, as the
// relay parses them: another case of the local part is the same account.
//
// A device that meets a new device of its own account sends it a
// contacts sync (content kind 5: for each contact the verified address,
// the profile name, the nickname, the state), which it merges; a device
// that meets a new device of a contact sends that contact its profile
// again (sync.go). So a new device, or a contact who signed in anew,
// shows who writes rather than bare user IDs.
//
// # Profile names
//
// SetProfileName sets what the user calls themself (at most
// MaxProfileName bytes of UTF-8, no control characters). It is sent end
// to end, as a content of kind profile through the outbox (so offline and
// across restarts), to each allowed contact who has accepted this account
// (written to it): when it changes, when the user accepts a contact's
// request, and when a contact the user added writes for the first time.
// It never travels as a contact request, so it never reaches a stranger,
// a pending request or a blocked user, and never uses up the request the
// relay lets through to a stranger. A profile also carries the account's
// address, a claim the contact confirms (see Who writes). A received
// profile sets the sender's Contact.ProfileName (the newest by when it
// was set wins) and emits ContactChanged; it is not a message. A profile
// from someone who is not a contact is dropped. The account's other
// devices get a copy and take the name over. Contact.Name gives what to
// call someone: the local nickname, else their profile name, else their
// verified address, else the address as typed, else a short form of the
// user ID.
//
// # Identity keys and trust
//
// Each device has its own identity key. Identity keys are trusted on
// first use: every device of a user seen before this device has had a
// message to that user accepted by the relay (which checks that a Send
// names every device) is trusted. After that, a device not seen before,
// or a changed key, is recorded as unverified: the contact is flagged
// (Contact.IdentityChanged), an IdentityChanged event names the devices,
// and messages to them, those queued and those Send queues meanwhile,
// wait in the outbox until AcceptIdentity, which sends them in order. Nothing is encrypted to
// an unverified key. Messages received from one are shown, as Signal
// does. This account's own new devices are trusted on first use, with
// an OwnDeviceSeen event so that the user can remove one they did not
// add; a changed key of one of them holds every message until
// AcceptIdentity with the account's own user ID. A device the relay no longer lists
// keeps its record (as removed) so that the account stays known.
//
// Safety numbers (SafetyNumbers) are Signal's numeric fingerprints
// (crypto/safety, scannable version 2) over each side's 16-byte user ID
// and identity key, one per device of the contact: 60 digits both sides
// compute alike, and a scannable payload. MatchScanned finds the number
// a scanned code shows (the other person's screen), and MarkVerified
// records that the user compared them, aloud or by a matching scan:
// Contact.Verified, kept on this device only, until ClearVerified or
// until any identity key of the contact is new or changes (the path that
// sets IdentityChanged clears it). MarkVerified takes the numbers the
// user compared and refuses them (ErrSafetyNumberStale) if the contact's
// keys are no longer exactly those; it accepts a change they include, as
// AcceptIdentity does.
//
// # Linked devices and account protection
//
// A new device can be linked from one the person already has, instead
// of signing in with an emailed code (link.go). The new device
// (StartLink) makes its identity key and an HPKE key pair and sends both
// public keys to the relay on a connection of its own; the code it shows
// (Linking.Code, XXXX-XXXX-XXXX, or Linking.QR) is a hash of them, so the
// device that enters it (LinkDevice) checks that the keys the relay
// returns are the new device's (ErrLinkMismatch otherwise). That device
// signs the new identity key with its own (a vouch), uploads the history
// if asked (attachments as pointers), and seals a provision to the HPKE
// key (provision.go): the address, the user ID, the vouch, the profile
// name, the history blob and the co-op key it pinned. Linking.Wait opens
// it, stores the account as Verify does (with the vouch, in bLink),
// publishes the keys with the vouch (every later PublishKeys with the
// identity key carries it too), pins the co-op key and imports the
// history (LinkResult). Closing the Linking, or the end of Wait's
// context, gives the link up. A device the relay holds cannot link one.
//
// A contact's device trusts a new device of a user without a warning
// when its bundle carries a valid vouch by a device of that user it
// trusts (vouch.go): Contact.Verified stays, no IdentityChanged. A new
// device met through a message it wrote (no bundle at hand) is recorded
// as unchecked, with no warning yet and messages to its user waiting,
// until the worker fetches the user's bundles (checkVouches) and settles
// it: trusted if vouched, the warning of any new device otherwise. A new
// device of this account with a valid vouch raises no OwnDeviceSeen.
//
// A device that signs in with an emailed code alone, to an account that
// has a device in use, is held by the relay until one of the account's
// devices approves it (pending.go): PendingUntil says until when (at
// most 7 days); its worker only keeps its keys published, so the outbox
// waits; nothing is delivered to it. The account's other devices get a
// DevicePending event and list it in Devices (DeviceInfo.PendingUntilMS;
// DeviceInfo.Linked marks linked devices); ApproveDevice lets it in and
// RemoveDevice refuses it. Approved, it is disconnected by the relay
// (wire.CloseApproved), Run reconnects at once and it emits
// DeviceApproved. It starts with no vouch: contacts are warned about it
// as about any device added by code.
//
// # Byte formats
//
// Keys published with PublishKeys (and read back from bundles):
//
//	identity            keys.PublicKey.Bytes(): 0x05 || 32-byte X25519 u (33 bytes)
//	signed prekey       public: 33 bytes as above; signature: XEdDSA (64 bytes) by the
//	                    identity key over those 33 bytes
//	one-time EC prekey  public: 33 bytes as above; no signature
//	KEM prekeys         public: keys.KEMPublicKey.Bytes(): 0x0A || 1,568-byte ML-KEM-1024
//	(one-time and       encapsulation key (1,569 bytes); signature: XEdDSA by the identity
//	last resort)        key over those 1,569 bytes
//
// Prekey IDs run from 1 to pqxdh.MaxKeyID and wrap; the KEM one-time and
// last-resort prekeys share one ID space. A bundle becomes a pqxdh.Bundle
// with registration ID 0 (the relay does not carry it) and is verified
// before use; a bundle without a KEM prekey is refused (no X3DH).
//
// A device starts with a signed prekey, a last-resort KEM prekey and 100
// one-time prekeys of each kind. When the relay reports fewer than 10 of
// a kind left (in Welcome or a NoticePrekeysLow) the pool is refilled to
// 100, at most once an hour: reports within the hour are acted on, with
// the latest counts, when it ends. At each connection a signed prekey
// older than 7 days is replaced, together with the last-resort KEM
// prekey; replaced ones are kept for 35 days (the relay keeps messages
// 30) for sessions started with them. The private halves of one-time
// prekeys are kept until a session uses them, but never more than 200 of
// each kind (the oldest go first), and those replaced by a newer batch
// more than 35 days ago are deleted unless among the newest 100
// (prekeys.go).
//
// The ciphertext for one device (wire.Recipient.Ciphertext) is one byte
// of ratchet message type, 2 (SignalMessage) or 3 (PreKeySignalMessage),
// followed by the message as crypto/ratchet encodes it.
//
// The plaintext inside is a Content protobuf (see content in
// content.go: kind, text, sent-at milliseconds, referenced message IDs,
// peer, profile name, the writer's address, synced contacts, a group's
// ID, state, change, secrets and sender key, synced groups, format
// version 1 in field 15, an invite link's secret and a join request,
// and a text's attachments in field 18),
// padded with
// crypto/padding (text messages of up to MaxText bytes pad to at most
// 8 KiB). Message IDs are wire.NewMessageID. The ID of the 1:1 conversation between users a and b
// is the first 16 bytes of SHA-256("Mutual direct conversation v1" ||
// lower ID || higher ID), so both sides agree (DirectConversation).
//
// # Attachments
//
// A text message may carry files (at most MaxAttachments, each up to
// MaxAttachmentSize): photos, videos, voice notes, anything. Each is
// encrypted on the device into a blob (crypto/attachment, a key of its
// own), uploaded to the relay over HTTP, and named in the message by a
// pointer in content field 18 (the blob's ID, key and digest, the file's
// size, type, name and what shows it: dimensions, duration, thumbnail,
// waveform); the text is its caption. SendFiles and SendGroupFiles copy
// the files into the store (so that uploads survive a restart) and
// store the message, Sending, with its attachments Uploading; the
// uploader (upload.go) uploads them in the background, resuming where
// the relay's copy stops (HEAD, then PATCH), and when every file is up
// puts the message into the outbox, which sends it as any other. A
// receiver stores the pointers with the message (TransferRemote); the
// downloader fetches a contact's images and voice notes up to
// AutoDownloadSize at once, Download anything else, streaming the blob
// through Decrypt into the store, resuming a cut download with a Range
// request, and keeping nothing of a blob that fails its checks. The
// writer's other devices get the message as a copy, and download it like
// a receiver. Received files (and sent ones once uploaded) are a cache
// kept within a limit (SetMediaLimit, default DefaultMediaLimit): past
// it, the media of the chats used longest ago goes first and shows as
// TransferRemote again; files not yet uploaded stay. Transfers report
// their progress as EventTransfer. See docs/protocol.md, "Attachments".
//
// # History transfer
//
// WriteHistory writes what this device holds of the account's chats as a
// history archive (history.go has the format): the profile name,
// contacts, group members' names, groups with the secrets this account
// holds, chat summaries and every message with its Seq, state, author,
// group line and attachments' pointers, and with HistoryOptions.Media
// the files this device holds (a backup must outlive the relay's 30 days
// of blobs). Never sessions, private keys, sender keys, seen-IDs, the
// outbox, nor a message not yet sent. It reads the store a page at a
// time. ReadHistory stages and checks the whole archive first (a
// malformed one, or another account's, writes nothing), then merges it
// in transactions of at most 500 records: twice is once, the device's
// own newer data wins, messages go by author and ID, and the chat
// summaries stay what the messages say (historyread.go). UploadHistory
// writes the archive into the store's media area, then encrypts and
// uploads it as an attachment's blob under a fresh key (HistoryBlob);
// RestoreHistory downloads, checks and imports it, resuming cut
// transfers (historyblob.go). Linking a device sends pointers only;
// backups carry the files.
//
// # The co-op
//
// Mutual is run by a co-op of its members. Coop asks the relay for the
// co-op's figures (CoopInfo: by month, active users, paying members,
// dues, costs, and what they make: wire.CoopMonth's CostPerUser,
// UsersPerMember, Coverage) and this account's membership and roles;
// Join returns the payment provider's page that starts a membership,
// CancelMembership ends it, SetCoopNotices turns the yearly notice off
// or on, and operators enter costs (SetCost) and grant roles (Grant)
// (coop.go). The relay writes notices to the account (dues received,
// the membership's status, the yearly "contacts away from a member"),
// signed with its co-op key, which this device pins from the first
// Welcome that carries it; a notice that is not signed with it for this
// account, or comes from a user or in another conversation, is dropped
// and counted (CoopNoticesDropped). Notices are stored once each (by
// their ID) as received messages of wire.CoopConversation (Message.Coop),
// listed by Chats as CoopChatName (Chat.Coop); no one writes there, and
// Send to it fails with ErrCoopConversation (coopnotices.go).
//
// # Backup
//
// An account keeps one end-to-end encrypted backup on the relay
// (backup.go, backupkey.go). SetBackup takes the person's secret, a
// recovery key (NewRecoveryKey: 64 characters of [0-9a-z], shown once,
// FormatRecoveryKey in groups of four) or a passphrase (at least
// MinPassphrase characters; Argon2id), derives the backup key from it
// and keeps the key on this device, never the secret. BackupNow uploads
// the history archive with this device's files (UploadHistory,
// HistoryOptions.Media: the relay's blobs expire after 30 days, so the
// backup must hold the files themselves), seals its HistoryBlob with the
// key (AES-256-GCM, bound to the account) and makes it the account's
// backup with a Backup frame; the relay deletes the one before. With
// Daily, while Run is connected, a goroutine of its own backs up when
// the last backup is a day old, one backup at a time (BackupNow waits
// for a running one); a failure is kept in BackupStatus.Err and tried
// again a day later or at the next connection, and each attempt emits
// BackupMade. DisableBackup deletes the relay's copy and the key.
// FindBackup and RestoreBackup work on a device just signed in (after
// Verify, before Run, or held by account protection), on a connection
// of their own when Run has none: RestoreBackup opens the seal with the
// secret (ErrWrongRecoveryKey or ErrWrongPassphrase, nothing imported),
// then downloads, checks and imports the archive (RestoreHistory), and
// keeps the key so that the new device goes on backing up daily.
// Sessions are never in a backup: they start anew. See docs/crypto.md,
// "Backups".
// # Notifications
//
// The web app subscribes the browser with its push service under the
// relay's VAPID key (PushKey, from the Welcome; kept, so that it is
// known offline) and gives the subscription to SetPushSubscription. The
// client keeps it with the chats muted on this device (MuteChat,
// MutedUntil, Chat.Muted; MuteForever for good) in the push bucket and
// sends both to the relay (wire.SetPush) on every connection and when
// either changes, with the conversations whose mute has not ended, and
// again when one ends (push.go). A relay without pushes is told nothing.
// Every Send says whether it may wake the recipients' devices: receipts,
// profiles, contact and group syncs and sender keys go Silent; texts,
// group changes and requests to join a group do not.
//
// # Storage
//
// Buckets and keys are listed in layout.go; every record is a protobuf
// with a format version in field 15 (now 1), refused if unknown.
// Sessions, identity keys, prekeys, contacts, messages, chat summaries,
// seen-IDs and the outbox all live in the one store, so that every
// transaction above is one store transaction. Attachments' files live
// there too, in chunks of 256 KiB (media.go lists their buckets), each
// transaction writing at most a few of them, so that no transaction nor
// any reader holds a whole file. The account record holds
// the storage layout the store was written in; Open brings a store of an
// older layout up to date in one transaction (layout 1: sequence numbers
// count per conversation, and the chat summaries exist).
package client
