// Package migrations holds the directory's schema history: numbered SQL
// files (NNNN_name.sql), one set per engine, embedded in the binary.
//
// Both engines have the same versions with the same names, so a database of
// either kind at version N holds the same tables. A migration is never
// edited once released: a change is a new file with the next number, in
// both engines' directories. Columns ending in _ns hold Unix times in
// nanoseconds.
//
// Invariants of the schema: no address in clear (only keyed hashes), no
// credential or code (only their hashes), no private key.
package migrations
