// Package ui is the Mutual web app's user interface: go-app components for
// onboarding, the chats list, conversations (1:1 and groups), contacts,
// safety numbers, settings, notifications and the co-op, laid out as one pane on phones and two panes (chats beside the
// conversation) from 900 px on.
//
// People are named by what the app can vouch for: the address their
// account is registered under, once confirmed end to end
// (client.Contact.VerifiedAddress), shown under the name in the chats
// list, the contacts list and a conversation's header, its domain never
// cut off on narrow screens. A request is named by that address (a name
// only beside it), marked "Not in your contacts", or "Unknown" with a
// short code until the address is confirmed; an address that could not be
// confirmed is never shown, and the app says so (identity.go).
//
// The same package builds natively, for the server: Routes registers the
// app's paths with go-app and Prerender is the skeleton the server renders
// for every page (header, navigation and an empty main area with the
// heights the app uses), so that nothing moves when the WebAssembly takes
// over.
//
// Paths that are none of the app's pages show its not-found page, in the
// frame, with a link home; KnownPath tells the server which paths those
// are, and it answers them with status 404.
//
// # Signing in and out
//
// Onboarding asks the relay for a code (client.Register) and proves it
// (client.Verify), one request at a time: a press while one is in flight
// does nothing. Each request has a deadline; when it passes the form
// comes back with a message whatever the request does, and a late answer
// is dropped. A code request the relay refuses for its rate limit says
// so and counts down, with the buttons that ask for a code off, until
// another may be asked for. The code field hints wire.CodeDigits digits.
//
// Signing out erases the device's data for good. The settings say how
// many other devices the account has (from client.Devices) and offer,
// first, to export the chats (client.Export): a JSON or text file the
// browser saves from a Blob through a link with a download name. It
// holds only what this device has.
//
// # Linking a device, and account protection
//
// A fresh app's sign-in also offers "Link to a device you already have"
// (/link, link.go): the new device asks the relay for a link
// (client.StartLink) and shows its QR code (black on white, as the
// safety screen's) and its short code in large monospace, with what to
// do on the other device and a countdown to its end (10 minutes; then a
// new code). Once the other device has linked it, the page says "Linked
// to" the account's address and shows the history arriving
// (Linking.Wait's progress); then the Session is signed in and the chats
// open.
//
// Settings → "Link a device" (linkSend) takes that code, scanned with the
// camera where the browser reads QR codes (scan.go) or typed (hyphens,
// spaces and lower case allowed; O is read as 0, I and L as 1), and
// "Also send my history", on by default (client.LinkDevice); it shows
// the upload's progress, then "Linked:" and the device's name, or why
// not (an expired or mistyped code, an account with 16 devices).
//
// A device that signed in with an email code alone while the account had
// another is held (pending.go): it shows a page saying that it waits for
// approval on another device or until its date, and nothing else until
// it is approved. The account's other devices ask about it with a banner
// on every page but the settings ("A new device signed in to your
// account with an email code. Was it you?", Approve or Refuse after a
// question); the settings' list marks it "Waiting for approval (until
// …)" with the same two buttons, and marks linked devices "Linked".
// # Backup and restore
//
// Settings has a Backup card (backup.go), off until the person turns it
// on: it says that the backup is end-to-end encrypted and stored by the
// relay, which cannot read it, that each one replaces the one before and
// counts against the account's storage, and that without the recovery
// key or passphrase nobody, not even the co-op, can restore it. A
// recovery key (client.NewRecoveryKey, the default) is shown once, in
// groups of 4 characters, with Copy; backup is turned on
// (client.SetBackup, daily) only once the person types the key's last
// group back, so that nobody goes on without writing it down. A
// passphrase has at least 12 characters and is typed twice. Once on, the
// card shows the last backup's time and size and a failure in words
// (client.BackupStatus), "Back up now" with a progress bar
// (client.BackupNow), the daily switch, and "Turn off", which asks first
// and deletes the relay's copy (client.DisableBackup).
//
// Signing in by email code leads to /restore (restore.go) before the
// chats: it asks the relay whether the account has a backup
// (client.FindBackup, once the connection is up) and, if it has, offers
// to restore it with the recovery key or passphrase
// (client.RestoreBackup), with a progress bar; a wrong one says so and
// the field keeps what was typed for another try. Skip, or an account
// without a backup, goes on to the chats (or the invite link opened
// before signing in). A device held by account protection restores
// while it waits for approval.
//
// # Frame
//
// The number of unread messages of every chat is in the document's title,
// "(3) Mutual", and on the installed app's icon (the Badging API where
// there is one); both clear once read. On a phone, where a conversation
// covers the chats list, Escape goes back to the list unless a dialog is
// open; on a wide screen it leaves the conversation open.
//
// # State
//
// A Session, made by the program's main, holds everything that lives as
// long as the app: the client (reopened after signing out), its connection
// loop and the connection status. There is no package-level state: every
// component reaches the Session through the factory given to Routes.
//
// One tab of a browser at a time uses the device's data (ClaimTab, a Web
// Lock): two clients over one store would advance the same sessions twice.
// Another tab shows why it waits and can take over; the tab that had the
// data then closes its client first.
//
// # Goroutines
//
// Components are touched only on go-app's UI goroutine. Blocking work (the
// store, the relay) runs in Context.Async and comes back with
// Context.Dispatch. go-app drops what is dispatched to an element that is
// gone by then (the item of a menu that closed, a button a render
// replaced), so work that outlives the element its event came from comes
// back through its component's own context, kept from OnMount. The Session owns two goroutines per open client, the
// connection loop (client.Run) and the event pump that reads
// client.Events; Close and SignOut stop and wait for both. The pump hands
// each event to the root component, which posts it as a go-app action on
// the UI goroutine to the components that handle it.
//
// # Text size and small screens
//
// The style sheet (pwa/static/styles/mutual.css) sizes text, and what
// holds text, in rem and em: the page follows the browser's text size.
// Every screen fits a 360 px wide phone at 200% text without scrolling
// sideways (internal/browsertest's TestLayout checks each one).
//
// # Safety numbers
//
// The safety screen shows the number with each device of the contact, a
// QR code of this side's scannable payload for each (see
// docs/crypto-primitives.md), and the verified mark (client.MarkVerified):
// set by the person after comparing the numbers, or by scanning the
// contact's code, which must match every device's number. Scanning uses
// the browser's BarcodeDetector and the camera (getUserMedia); where
// either is missing the screen says so and offers comparing the numbers.
// The chat header shows a small mark for a verified contact.
//
// # Photos, videos and files
//
// Files are attached with the composer's button (on a touch screen a menu
// offers "Photo or video", "Camera" and "File"), dropped on the
// conversation (never opened in place of the app) or pasted into the
// composer (pasted text pastes as always). They wait in a tray above the
// composer with their thumbnails, names and sizes, each with a button
// that removes it; the composer's text is their caption. Send sends them
// through client.SendFiles (SendGroupFiles), client.MaxAttachments to a
// message, more as more messages; a browser File is read a slice at a
// time, so a large one is never whole in the WebAssembly memory (attach.go).
// Thumbnails are made on the device: a photo decoded by the browser, a
// video's first frame, drawn on a canvas that fits 320 px and encoded as
// JPEG until it fits client.MaxThumbnail (thumbs.go).
//
// In a conversation (attachments.go dispatches by kind) photos and videos
// show at their shape, their space reserved from their width and height;
// a photo's inline thumbnail is blurred until the photo is on the device,
// then the photo shows from a blob: URL of client.OpenAttachment, read
// only once it is near the view and let go of when it leaves the window
// of messages. A video has a play badge and its duration; audio a player
// (audio.go); any other file is a card with its name, size and type,
// Download, and Save once it is on the device. Every upload and download
// shows its progress (client.EventTransfer) with Cancel; a paused or
// failed one offers to resume or try again and says why it failed; one
// the relay no longer has says "This file is no longer available".
//
// Pressing a photo or video opens the viewer (viewer.go): a modal dialog
// over the whole screen (it keeps the focus; Escape closes it) with the
// caption, Save, and the conversation's other photos and videos
// (client.Media) with the arrow keys, the buttons at its sides or a swipe.
// The app's Content-Security-Policy allows images and media from blob:
// URLs for this.
//
// # Voice notes
//
// While the composer is empty (no text, no file in the tray) it offers
// the microphone instead of Send. A click or a tap records (getUserMedia
// and MediaRecorder, Opus in WebM or Ogg where the browser records it)
// with a running timer, a button that throws the recording away and one
// that sends it; on a touch screen, pressing and holding the button
// records too: letting go over it sends, sliding away and letting go
// throws the recording away. A recording stops and is sent at 15 minutes.
// A microphone that is refused or missing is said so by the composer.
// Before it is sent the recording is decoded on the device (Web Audio)
// for its length and its waveform: the peak of each of up to 100 equal
// stretches, scaled so that the loudest is 255 (voice.go, waveform.go);
// it goes as a client.File with Voice set.
//
// A voice note or an audio file in a message is a player (audio.go):
// play and pause, the waveform as bars with the part played marked, the
// time played and the length. Clicking, tapping or dragging on the
// waveform seeks; so do the arrow keys, Page Up and Down, Home and End,
// the waveform being a slider. The audio plays from a blob: URL of the
// file on the device, downloaded first (with its progress) if it is not
// there; one player plays at a time.
//
// # A chat's media, and storage
//
// The header of a chat links to its gallery (/chat/<ID>/media,
// /group/<ID>/media; gallery.go): its photos, videos, files and voice
// notes, newest first (client.Media), the photos and videos as a grid of
// thumbnails that open the viewer, the files as their cards, the voice
// notes and audio files as their players, each with who sent it and when.
//
// Settings has a Storage section (storage.go): how much media this device
// keeps (client.MediaUsage) and its limit, 250 MB to 5 GB
// (client.SetMediaLimit), and clearing the cached media after a question
// (client.ClearMedia). It says that the media of the chats opened least
// recently are cleared first, and that cleared media can be downloaded
// again while the relay keeps them (30 days).
//
// # Notifications
//
// Settings → Notifications (notifications.go) turns Web Push on for this
// device: after a short explanation (the relay and the browser's push
// service learn that something arrived for the device, never what or
// from whom), the switch asks the browser's permission, only from its
// click, subscribes the service worker's registration under the relay's
// key (client.PushKey) and hands the subscription to
// client.SetPushSubscription; turning it off unsubscribes. The switch is
// off, with the reason, where the relay sends no notifications, where the
// browser has no Push API or blocked them, and on iPhone and iPad outside
// an app added to the Home Screen (which alone may receive them there).
// "Show names in notifications" makes the page keep the chats' names in a
// small IndexedDB database ("mutual-notify") that the service worker reads
// for "New message from Ann"; turned off, it is emptied. Message text is
// never in a notification: only the app holds the keys. A notification's
// click opens /?open=<conversation ID>, which the chats list replaces with
// the chat's page.
//
// Each chat's header has a bell button with the menu "Mute for 1 hour",
// "for 8 hours", "for 1 week", "always" and, while muted, "Unmute"
// (client.MuteChat); the button then says until when, and the chats list
// marks the chat with a struck-out bell.
//
// # Messages
//
// A conversation orders its messages, and files them under days, by when
// the relay took them (the same clock for everyone); the writer's clock,
// which may be wrong, is only in a message's details. An outgoing
// message's state is a mark told apart by shape and colour, with its
// state in words for assistive technology. A message that fails, or
// starts to wait (for the contact's device, or for the user to check a
// changed safety number), says why on a line under it, scrolled into
// view; Send again sends that same message (client.Client.Retry).
//
// # Groups
//
// "New group" on the chats list (/new-group) takes a name (at most
// client.MaxGroupName bytes) and contacts chosen from a searchable list,
// and opens the group's chat (/group/<ID>, the group's conversation ID in
// hex) once the relay has the group; making or changing a group needs the
// connection, and without one the app says so rather than trying. The
// chats list shows a group by its name and icon, its newest message as
// "Ann: text" or its newest system line; an invitation from someone who
// is not a contact is marked like a request ("Ann added you to Family")
// and answered in the chat (Join, Decline), which says that they are not
// among the user's contacts.
//
// In a group's chat each received message has its author's name above
// it, in a colour of a fixed palette (--author-0 to --author-7, readable
// in both themes) chosen by the user ID, once per run of their messages;
// system lines ("Ann added Ben", "You were removed by Ann") are centred
// between them (groups.go). The chat reads the group before its messages,
// so that they come with their authors' names, and keeps the names it has
// seen: someone who leaves is still named in what they wrote. The header names the group and counts its
// members, and opens its info. An own message's marks say Delivered or
// Read once every member has it (the client keeps that); a click on the
// message, or its marks' button, opens who has read it and who has it
// (client.Client.ReadBy). Once this account has left or was removed, the
// composer gives way to a note saying so.
//
// The group's info (/group/<ID>/info) lists the members, "You", "Admin"
// and "Invited" marked; a member who is a contact links to their safety
// number, one who is not says so. Admins rename the group, add and
// remove members, make them admins or not, and decide whether everyone
// may add members; anyone may leave, after a question. While a change is
// under way every control is off, and a refusal says its reason.
//
// Admins also find the group's invite link in its info (invite.go): off,
// "An admin approves who joins" or "Anyone with the link joins"; while it
// is on, the link (this app's origin, /join# and a token), a Copy button,
// its QR code (black on white, as the safety screen's) and "Reset link",
// which makes the old one useless; and who asks to join, with Approve and
// Decline. The link opens /join, which reads the token from the page's
// fragment (never sent to the server or the relay), names the group and
// who invites, and offers Join or Ask to join; once this account is in
// the group, its chat opens. Someone signed out signs in first: the
// token waits in the tab's session storage and the page comes back.
//
// # The co-op
//
// Mutual is run by a co-op of its members. The Co-op screen (/co-op,
// coop.go; linked from the chats list and the settings) says so and
// shows, from client.Coop: the current month's figures (active users,
// paying members, the cost per user, the users each member supports,
// how much of the costs dues cover: wire.CoopMonth's methods, money in
// the co-op's currency, money.go), its costs line by line, and the last
// months' costs beside their dues as a bar chart of inline SVG
// (coopchart.go; its text sized in rem, twelve months on a wide screen,
// six on a phone; a title, and the numbers in a table for screen
// readers). "Become a member" offers the plans and the providers the
// relay offers and the app knows (a card with Stripe, Direct Debit with
// GoCardless); client.Join returns the provider's page and the browser
// goes there. The provider sends it back to /co-op?checkout=done, where
// the screen thanks and looks at the membership again, at growing
// intervals and on each co-op notice, until it is active. A member sees
// their dues, the next payment and "Cancel membership" (after a
// question); someone in grace until when; roles are shown. Operators
// enter a month's cost lines and grant or revoke the operator and
// contributor roles by address. The yearly notice's switch is on the
// screen and in the settings (coopsettings.go).
//
// The co-op's notices (client.Message.Coop) are the conversation "Mutual
// co-op" (/co-op/notices, coopchat.go), in the chats list with the app's
// icon: the notices with their dates, a line saying they come from the
// co-op and are signed by the server, and no composer.
//
// # Long conversations
//
// A conversation shows a window of at most 300 messages: the newest page
// of 100 first (client.History), older pages as the reader nears the top,
// newer ones again on the way down. When the window
// changes, the message that was on screen is found again and the scroll
// position is set so that it stays where it was. Opening a conversation
// leaves the performance marks "chat-open-start" and "chat-open-done" and
// the measure "chat-open" in the page, for measurements.
package ui
