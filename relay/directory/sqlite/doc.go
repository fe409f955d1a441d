// Package sqlite implements directory.Directory on one SQLite database file,
// through the pure-Go driver modernc.org/sqlite: the directory of a relay
// that runs on one machine.
//
// The database runs in WAL mode with synchronous=FULL, so a committed write
// (a device credential, a published key, a delivery offset) survives a crash
// of the process or of the machine. Foreign keys are enforced. All writes go
// through one connection, each in a BEGIN IMMEDIATE transaction, so writers
// queue in the process instead of failing with SQLITE_BUSY; reads use a pool
// of query-only connections and never wait for the writer. Several processes
// may open the same file: busy_timeout makes them take turns. A rate-limit
// Take is one upsert on the writer, so Takes never race.
//
// The schema is versioned (package directory/migrations): Open applies the
// migrations the file lacks, in order, in one transaction, and refuses a file
// written by a newer schema.
//
// Invariants: no address is stored in clear, only the keyed hashes the
// caller computes; no credential or code, only their hashes; no private key.
// One-time prekeys are claimed inside a write transaction, so each is handed
// out once. Delivery offsets and last-seen times only move forward.
// Users, PayingMembers and MutualContacts read a page of rows at a time
// in key order, so no read stays open while the caller's function runs;
// ApplyEvent's function runs inside the write transaction, on the
// writer's one connection, and must not call the directory.
package sqlite
