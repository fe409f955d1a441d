// Package auth proves that a person controls an address and turns that
// proof into an account.
//
// An address is what a code can be delivered to: `email:local@domain` today;
// `tel:+E.164` and `irc:nick@network` are recognised and reserved
// (ErrUnsupportedScheme). ParseAddress gives every address one canonical
// form; codes are mailed to the local part as typed, but one mailbox is one
// account: the Service keys everything it stores by an HMAC-SHA256 of the
// folded form (the local part in lower case too) under a server secret, so
// the directory never holds an address in clear. Accounts made before
// addresses were folded are stored under the hash of the address as typed
// then; Verify and Lookup move such an account to the folded hash the
// first time its old spelling is used.
//
// The flow is Request (normalise, rate-limit, generate a code and a random
// token, store the code's keyed hash and the token's hash, deliver the
// code through the Sender for the address's scheme, return the token) then
// Verify (with the token: count the attempt, compare in constant time,
// consume the code, create or find the account). Lookup maps an address to
// its account for adding contacts. NewCredential and CheckCredential issue
// and check the random credentials devices authenticate with afterwards.
//
// Invariants:
//   - An address, a code, a token or a credential never appears in a log
//     line or an error message. Address formats itself redacted for fmt
//     and slog; only its String method gives the canonical form, for
//     delivery and hashing.
//   - Codes are uniform random decimal strings, stored only as HMACs bound
//     to the address hash, valid for one use within their lifetime, and
//     tried only by a Verify that presents the token of the request that
//     issued them: a stranger can neither guess at nor use up someone
//     else's code. An address may have several pending codes, one per
//     request. At most MaxAttempts guesses are ever compared against one
//     code, even when several relays share the directory. (One use holds
//     within a relay; across relays it needs a Store whose DeleteCode
//     reports a code that was already gone.)
//   - Code requests are limited per address and client network and per
//     address (in the directory, so the limits hold across restarts and
//     processes), and per client network (in a limit.Store); refusals
//     count only against the network that was refused. Verifications are
//     limited per client network.
//
// Senders live in subpackages (auth/smtp) or here (ConsoleSender, for
// development on a loopback listener only). internal/smtpcatch is a real
// SMTP server for tests and the load generator.
package auth
