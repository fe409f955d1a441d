// Package directory keeps what the relay must know about accounts: users and
// their devices, device credentials (hashed), prekeys, contact lists
// (allowlists), group member lists with the hashes of their secrets,
// the records of attachments' blobs, devices' Web Push subscriptions
// (Pushes), delivery offsets, pending
// authentication codes, the rate-limit buckets that every gateway
// shares, and the co-op's records (coop.Store: memberships, provider
// events applied, dues, roles, costs, monthly counts, yearly notices and
// the key that signs co-op notices), checked by relay/coop/cooptest.
//
// It never holds an address in clear (only keyed hashes computed by the
// caller), a private key or a plaintext. Two implementations share one schema
// history and one conformance suite (directory/dirtest): SQLite for one
// machine and PostgreSQL for a cluster.
//
// Invariants every implementation keeps, and dirtest checks:
//
//   - Addresses, device credentials and authentication codes are stored only
//     as the hashes the caller computes; user IDs are random and opaque.
//   - Only public keys are stored. Each one-time prekey is handed out by
//     ClaimBundle at most once, even to concurrent claimers in different
//     processes, and none is lost: a claim that fails consumes nothing.
//   - Device IDs count up from 1 per user and are never reused.
//   - Delivery offsets and last-seen times never move backwards; last-seen
//     times are kept to the day.
//   - NoteRequest checks and records a contact request atomically, so the
//     limits hold against concurrent requests, and counts each request
//     (sender, recipient, message ID) once however often it is noted.
//   - A change of a group's member list is one transaction with its
//     checks (ChangeGroup, by ApplyGroupChange's rules), so a list never
//     holds more than its bound, nor a user more lists, whatever changes
//     race; a proof is compared with its stored hash in constant time, and
//     only the hashes of group secrets are stored.
//   - Of an attachment's blob the directory keeps its owner, size and
//     times and the SHA-256 of its upload token, never the token nor the
//     blob's bytes. CreateBlob checks the owner's unfinished uploads and
//     bytes granted and records the blob in one step, so concurrent
//     grants never pass the limits together.
//   - A rate-limit Take updates its bucket in one statement, so concurrent
//     Takes never grant more than the bucket holds; full buckets are pruned.
//   - A device has at most one push subscription, deleted with the device;
//     deleting a subscription by endpoint never deletes a newer one.
//   - Request records are pruned once older than their windows, and expired
//     codes once CountCodeRequest sees they are.
//   - Of a member the directory keeps an opaque membership reference, the
//     provider's IDs, plan, status and dates, and each payment's amount
//     and month: never an address or payment details. ApplyEvent records
//     a provider's event in the transaction that applies it, so an event
//     delivered many times, even at once, is applied once, and a payment
//     reported by several events is counted once. NoteActive counts a
//     user once a month whatever calls race, and every process reads the
//     same co-op signing key (the first stored wins).
package directory
