// Package auth proves that a person controls an address and turns that
// proof into an account.
//
// An address is what a code can be delivered to: `email:local@domain` today;
// `tel:+E.164` and `irc:nick@network` are recognised and reserved
// (ErrUnsupportedScheme). ParseAddress gives every address one canonical
// form, and the Service keys everything it stores by an HMAC-SHA256 of that
// form under a server secret: the directory never holds an address in clear.
//
// The flow is Request (normalise, rate-limit, generate a code, store its
// keyed hash, deliver it through the Sender for the address's scheme) then
// Verify (count the attempt, compare in constant time, consume the code,
// create or find the account). Lookup maps an address to its account for
// adding contacts. NewCredential and CheckCredential issue and check the
// random credentials devices authenticate with afterwards.
//
// Invariants:
//   - An address, a code or a credential never appears in a log line or an
//     error message. Address formats itself redacted for fmt and slog; only
//     its String method gives the canonical form, for delivery and hashing.
//   - Codes are uniform random decimal strings, stored only as HMACs bound
//     to the address hash, valid for one use within their lifetime, and at
//     most MaxAttempts guesses are ever compared against one code, even when
//     several relays share the directory. (One use holds within a relay;
//     across relays it needs a Store whose DeleteCode reports a code that
//     was already gone.)
//   - Code requests are limited per address (in the directory, so the limit
//     holds across restarts and processes) and per client network (in
//     memory, with a bounded table).
//
// Senders live in subpackages (auth/smtp) or here (ConsoleSender, for
// development on a loopback listener only). internal/smtpcatch is a real
// SMTP server for tests and the load generator.
package auth
