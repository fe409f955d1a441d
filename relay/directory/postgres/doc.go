// Package postgres implements directory.Directory on PostgreSQL through
// github.com/jackc/pgx/v5 (pgxpool): the directory of a relay cluster, shared
// by every relay and router process.
//
// Every call is one statement, one implicit transaction (a pgx batch) or one
// explicit transaction, under READ COMMITTED; where that isolation is not
// enough the code takes the lock it needs:
//
//   - ClaimBundle deletes each one-time prekey with
//     DELETE ... WHERE seq = (SELECT ... FOR UPDATE SKIP LOCKED LIMIT 1)
//     RETURNING, so concurrent claimers never receive the same key and never
//     wait for one another.
//   - AddDevice numbers devices by updating the user's row, which serializes
//     concurrent registrations of one user.
//   - CreateAccount relies on the primary key of the address hash
//     (INSERT ... ON CONFLICT DO NOTHING) when two processes race.
//   - NoteRequest takes a transaction-level advisory lock keyed by the
//     sender, so its checks and its insert are atomic per sender.
//   - CreateBlob takes a transaction-level advisory lock keyed by the
//     owner, so its checks (unfinished uploads, bytes a day) and its
//     insert are atomic per owner.
//   - CommitOffsets uses GREATEST and touches rows in (user, device) order.
//   - A rate-limit Take is one upsert whose update applies only when the
//     charge fits (INSERT ... ON CONFLICT DO UPDATE ... WHERE), so
//     concurrent Takes on a key decide one after another on the row's
//     latest time. The rate_limits table is unlogged: a crash of the
//     server refills the buckets, nothing worse.
//   - Pruning takes expired rows with FOR UPDATE SKIP LOCKED, a bounded
//     number per call, so concurrent pruners neither block nor deadlock.
//   - ApplyEvent inserts the provider's event ID first (ON CONFLICT DO
//     NOTHING): a second delivery racing the first waits on that row and
//     then finds it. A change of memberships counts the paying members
//     under a transaction-level advisory lock, so the last to count saw
//     every change before it. NoteActive's upsert moves the account's
//     last active month only forward, so one call of many counts the
//     user. CoopKey's insert of the one key row lets the first win.
//   - Users, PayingMembers and MutualContacts read through a server-side
//     cursor in a read-only transaction of their own, a page at a time,
//     in primary key order; the caller's function writes through other
//     connections.
//
// The schema is versioned (package directory/migrations, the same versions as
// the SQLite directory): Open applies the missing migrations in one
// transaction under an advisory lock, so many processes may start at once.
// Config.Schema puts the tables in a schema of their own.
//
// Invariants: no address is stored in clear, only the keyed hashes the
// caller computes; no credential or code, only their hashes; no private key.
// The connection URL is a secret (it may hold a password): it is never
// logged, and errors do not include it.
package postgres
