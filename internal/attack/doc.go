// Package attack drives a relay with the abuse docs/security.md defends
// against, from loopback addresses of its own, so that the load generator
// can measure what honest clients meet while it goes on (`mutual bench
// --attack`).
//
// Each attack runs from its own client network (127.0.0.N, N from 2 up;
// the whole 127.0.0.0/8 reaches the loopback interface), so that the
// relay's per-network limits separate attackers from the honest clients on
// 127.0.0.1, as they separate networks on the internet. Attackers speak
// the wire protocol directly (package relay/wire), without the client's
// transport, so that they can do what no honest client does.
//
// The attacks, by name:
//
//   - lookups: one account reconnects again and again, each connection
//     looking up fresh addresses as fast as the relay answers.
//   - drain: one account claims another's prekey bundles as fast as it can.
//   - unauth: one address opens connections and never authenticates.
//   - flood: one account sends fan-outs of five 96 KiB ciphertexts to five
//     strangers as fast as the relay answers.
//   - verify: one address guesses the code of a sign-in under way
//     elsewhere; the victim then signs in with the real code.
//   - contacts: one account records contacts with made-up user IDs and
//     lists its contacts in a loop.
//   - keys: one account publishes prekeys in a loop.
//   - requests: ten fresh accounts on one network send contact requests.
//
// Every attack counts what it tried and how the relay answered; Report
// prints the counts.
package attack
