// Package dirtest is the conformance suite every directory.Directory
// implementation passes: the same tests run against SQLite and PostgreSQL.
//
// Run calls open once per subtest and expects an empty directory each time;
// open registers its own cleanup (closing the directory, dropping its data).
// Subtests run one after another, but many of them use several goroutines
// on one directory, as the relay does: concurrent account creation, device
// registration, prekey claims (32 claimers, 200 keys), contact requests,
// changes of group member lists (joins, adds and creates racing past
// their bounds) and rate-limit Takes (16 stores, as 16 gateways would
// open).
// Bench runs the benchmarks of the calls whose speed matters.
package dirtest
