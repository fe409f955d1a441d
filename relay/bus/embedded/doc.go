// Package embedded is the bus of a single machine: a durable log on local
// disk with Kafka's semantics (named topics of N partitions, offsets that
// grow by one per record, reads from any retained offset, consumer groups
// with durable positions), so that the whole messenger runs as one process
// with nothing else to install.
//
// # Layout
//
//	<dir>/LOCK                          flock'ed while a Bus has the directory open
//	<dir>/topics/<topic>/partitions     partition count, written once
//	<dir>/topics/<topic>/<p>/<base>.log segment: records from offset <base> on
//	<dir>/topics/<topic>/<p>/<base>.idx index cache of a segment (see below)
//	<dir>/groups/<group>/<topic>        a consumer group's committed positions
//	<dir>/tmp/                          staging for new topics; emptied on open
//
// A segment is a sequence of frames: body length, CRC-32C of the body,
// then the body: offset, append time (Unix ns), key length, key, value. A
// partition starts a new segment when the active one would exceed
// Config.SegmentBytes or its first record is older than Config.SegmentAge.
//
// # Durability and the fsync policy
//
//   - Append returns only after its records are written and the segment file
//     has been fdatasync'ed (fsync on systems without fdatasync). Nothing is
//     acknowledged from the page cache.
//   - Group commit: each partition has at most one writer goroutine, started
//     when appends are queued and ending when the queue is empty. It takes
//     everything queued, encodes it into one buffer, issues one write and
//     one fdatasync, then releases all those callers. Appends that arrive
//     during a sync form the next batch, so the number of syncs per second
//     stays bounded by the disk while records per sync grow with load.
//   - Readers (subscriptions and consumer groups) see only synced records:
//     the partition's end offset moves after the sync.
//   - A new segment file, a new topic directory (built under tmp/, synced,
//     renamed into place) and a consumer group's positions (temporary file,
//     fsync, rename, fsync of the directory) are made durable before the
//     operation that created them returns or any record in them is
//     acknowledged.
//   - If a write or sync fails, the partition refuses further appends until
//     the bus is reopened: after a failed fsync the state of the page cache
//     is unknown, so the log is re-checked by recovery rather than retried.
//   - Index files and retention deletions are not synced: an index file is a
//     checksummed cache that is rebuilt when it does not match its segment,
//     and a deleted segment that reappears after a crash is deleted again.
//
// # Recovery
//
// On first use of a partition after Open, its active (last) segment is
// trusted only if an index file written at a clean Close still matches its
// size and last record; otherwise it is scanned frame by frame and cut at
// the first frame that is incomplete, fails its CRC or breaks the offset
// sequence (a torn tail from a crash: those records were never
// acknowledged). Sealed segments were synced before the next one began and
// are read as they are.
//
// # Memory and files
//
// Topics are listed at Open and loaded on first use; tens of thousands of
// mostly idle inbox topics cost a small struct per partition and no
// goroutine. Segment files are opened on demand through a bounded LRU
// (Config.MaxOpenFiles). The active segment keeps a sparse offset index in
// memory (one entry per Config.IndexIntervalBytes); a sealed segment's index
// is in its .idx file, read when a reader starts in that segment. A
// subscription remembers the file position where it stopped, so reading
// on does not consult the index at all.
//
// # Goroutines
//
// The Bus owns the janitor (retention, every Config.RetentionInterval) and
// the per-partition writers; Close waits for both. Subscriptions own no
// goroutine: Next reads on demand and waits on a channel the writer closes
// after each sync, so thousands of idle subscriptions cost only their
// callers' blocked goroutines. Consume owns one goroutine per partition it
// reads, and waits for them before it returns.
//
// # Retention
//
// A sealed segment is deleted once its newest record is older than
// Config.Retention (default 30 days); an active segment that old is first
// sealed, a new empty segment keeping the partition's next offset. Reading
// below the oldest retained offset gives bus.ErrOutOfRange.
package embedded
