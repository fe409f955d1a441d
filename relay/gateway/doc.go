// Package gateway serves Mutual's WebSocket endpoint (/v1/ws): it
// authenticates devices, takes what they send onto the bus's `in` topic,
// streams each device's inbox to it, and answers directory requests
// (prekeys, contacts, devices, group member lists, grants to upload an
// attachment's blob: uploads.go), and hands the co-op's frames to the
// relay's co-op (coop.go). It stores devices' Web Push subscriptions
// (SetPush), gives Welcome the relay's VAPID key and, in a cluster,
// records which devices are connected for the pushers (push.go).
//
// Protocol flow on one connection (docs/protocol.md has the details):
//
//	client                              relay
//	Register{address}            ->     (code sent to the address)
//	                             <-     CodeSent{token}
//	Verify{address, code, name, token} ->
//	                             <-     Verified{user, device, credential}
//	   -- or, on a later connection --
//	Auth{user, device, credential} ->
//	                             <-     Welcome
//	                             <-     Deliver{offset, envelope} ...
//	Ack{offset}                  ->     (offset committed)
//	Send{id, recipients...}      ->     (appended to `in`, fsynced)
//	                             <-     Accepted{id} | Rejected{id, code}
//
// Goroutines per connection, all owned by serve and joined before it
// returns: the reader (decodes frames, runs the state machine and the
// directory requests), the writer (the only one to write to the socket,
// with a deadline on every write) and, once authenticated, the sender
// (gathers queued Sends into one durable bus append) and the deliverer (reads the
// inbox from the device's committed offset and queues Deliver frames,
// keeping at most Config.Window unacknowledged). Gateway-wide, besides the
// offset flusher, one goroutine reads bus.ControlTopic and closes the
// connections of devices removed through any gateway (removals.go).
//
// Backpressure: every queue is bounded. A device that stops reading stalls
// only its own writer; when a write misses its deadline the connection is
// closed with wire.CloseTooSlow and the device later resumes from its last
// acknowledged offset. Offsets move only on Ack, and are written to the
// directory in batches (Config.OffsetFlush); a crash of the relay can
// therefore redeliver the last moments' messages, never lose them.
//
// Rate limits (Rates) are counted per account and per client network in
// Config.Limits, never per connection, so that reconnecting, or moving to
// another gateway that shares the store, gains nothing. The reader checks
// them before the work they guard.
//
// The sender's identity on every record is the authenticated device's,
// never anything the client wrote.
//
// What may reach the bus: before a Send is written, its account's read
// rate is charged (throttle.go; past it the reader waits), the disk must
// have room (disk.go), every recipient of a message must have allowed the
// sender (contacts.go; the router keeps its own check), the sender of a
// group message must have joined its group (groups.go; the router checks
// each recipient) and the account's quota must allow it (quota.go), which
// counts a group message's shared ciphertext once per recipient user. A
// refused Send writes nothing.
package gateway
