// Package idbstore is the browser client's durable store.Store: one
// IndexedDB database, used through syscall/js (GOOS=js GOARCH=wasm only).
//
// The database holds one object store, "kv", with every bucket of the
// store package in it. A record's IndexedDB key is a single binary key:
// the length of the bucket's name (one byte, as names are at most
// store.MaxBucketName bytes), the name, then the key. IndexedDB compares
// binary keys byte by byte as unsigned numbers, and the length comes
// first, so the keys of one bucket are contiguous, in the store package's
// order, and a bucket whose name extends another's is another range. A
// record's value is a Uint8Array that repeats the key (its length as a
// uvarint, the key, then the value), so that one getAll returns keys and
// values together. One object store means the schema never changes when a
// bucket appears (IndexedDB creates object stores only in a version change,
// which every other open tab would have to allow).
//
// Transactions map onto IndexedDB transactions:
//
//   - Update keeps fn's writes in memory, reading through them (fn sees its
//     own puts and deletes), and issues them at the end in one "readwrite"
//     transaction with durability "strict", then waits for its complete
//     event: when Update returns nil, the browser has flushed the changes.
//     If fn reads, that transaction starts at the first read, so that what
//     fn read and what it writes are one atomic step; if fn returns an error
//     or panics, it is aborted and nothing is written. Updates of one Store
//     run one at a time.
//   - View runs fn in a "readonly" transaction, started at fn's first read:
//     a consistent snapshot, however many requests fn makes.
//   - Scan and ScanBefore read in batches with getAll, not a request per
//     record. The first batch is as large as the previous scan of the
//     bucket in that direction went (a client reading pages of 200
//     messages reads each with one request), and later ones grow fourfold.
//     ScanBefore uses getAll's direction option where the browser has it
//     (it came with getAllRecords); elsewhere a "prev" key cursor finds
//     where each batch starts.
//
// A rule that IndexedDB adds to the store package's: fn must not wait on
// anything but this Store (a channel, a lock held elsewhere, a timer, the
// network). IndexedDB commits a transaction as soon as the browser's event
// loop runs while none of its requests is pending; fn's reads keep it alive
// because each waits for a request, but waiting on something else lets it
// end, and the next read (or the commit) then fails with an error that says
// so, and nothing is written. And as everything here waits for the
// browser, call it from a goroutine, never from inside a js.FuncOf callback
// (the event loop cannot run while a callback blocks).
//
// When another connection deletes or upgrades the database (sign-out in
// another tab, for example), a Store closes itself so as not to block it:
// transactions that are running finish, later ones return store.ErrClosed.
// Delete removes a database; it returns ErrBlocked when a connection that
// does not give way keeps it open.
package idbstore
