// Package embedded is the bus of a single machine: a durable log on local
// disk with Kafka's semantics (named topics of N partitions, offsets that
// grow by one per record, reads from any retained offset, consumer groups
// with durable positions), so that the whole messenger runs as one process
// with nothing else to install.
//
// # Layout
//
//	<dir>/LOCK                          flock'ed while a Bus has the directory open
//	<dir>/wal/<seq>.wal                 write-ahead log files not yet checkpointed
//	<dir>/topics/<topic>/partitions     partition count, written once
//	<dir>/topics/<topic>/<p>/<base>.log segment: records from offset <base> on
//	<dir>/topics/<topic>/<p>/<base>.idx index cache of a segment (see below)
//	<dir>/topics/<topic>/<p>/start      oldest readable offset, if DeleteRecords set it inside a segment
//	<dir>/groups/<group>/<topic>        a consumer group's committed positions
//	<dir>/tmp/                          staging for new topics; emptied on open
//
// A segment is a sequence of frames: body length, CRC-32C of the body,
// then the body: offset, append time (Unix ns), key length, key, value. A
// partition starts a new segment when the active one would exceed
// Config.SegmentBytes or its first record is older than Config.SegmentAge.
//
// Files are created 0600 and directories 0700: the records say who wrote
// to whom, when and how much.
//
// # Durability and the fsync policy
//
//   - Append returns only after its records are in the write-ahead log and
//     the log file has been fdatasync'ed (fsync on systems without
//     fdatasync). Nothing is acknowledged from the page cache.
//   - Group commit: one writer goroutine per bus, started when appends are
//     queued and ending when the queue is empty, takes everything queued
//     for every partition, encodes each record once into one buffer (one
//     log entry per partition), and issues one write and one fdatasync of
//     the log file. Appends that arrive meanwhile form the next cycle, so
//     syncs per second stay bounded by the disk while records per sync grow
//     with load, however many partitions they go to (the router's fan-out to
//     inboxes costs one sync, not one per inbox).
//   - After the sync, the writer writes the same frames to the partitions'
//     segment files, without syncing them, and only then makes the records
//     visible: readers (subscriptions and consumer groups) see only records
//     that are durable.
//   - When a log file reaches Config.WALBytes the writer starts the next one
//     and a checkpointer goroutine syncs every segment file written while
//     the old one was current, then deletes it. Close checkpoints the
//     current file, so a clean shutdown leaves no log to replay.
//   - A new segment file, a new topic directory (built under tmp/, synced,
//     renamed into place) are durable before the operation that made them
//     returns. A consumer group's positions (temporary file, fsync, rename,
//     fsync of the directory) are written at most every
//     Config.GroupCommitInterval while it consumes, and when it stops: a
//     crash makes the group read again what it handled since (duplicates,
//     never a gap).
//   - If writing or syncing the log, writing a segment file, or a
//     checkpoint fails, the bus refuses further appends until it is
//     reopened, and deletes no more log files: after a failed fsync the
//     state of the page cache is unknown, so recovery replays the log
//     rather than the bus retrying. Reads go on. A full disk is the
//     exception: the bus keeps Config.MinFreeBytes free, reserves the
//     segment space of a cycle before logging it, and cuts back a log
//     write that found no space; such appends fail with ENOSPC and the
//     next ones succeed once there is space (see space.go).
//   - Index files and retention deletions are not synced: an index file is a
//     checksummed cache that is rebuilt when it does not match its segment,
//     and a deleted segment that reappears after a crash is deleted again.
//
// # Recovery
//
// Open replays the log files a crash left behind. For each partition in
// them, with m its lowest logged offset, every record below m was synced by
// an earlier checkpoint; from m on the segment files may have lost or torn
// anything, so they are cut at m and the logged records appended again. A
// torn entry at the end of the last log file is a cycle that was never
// acknowledged and is ignored; damage anywhere else in the log makes Open
// fail rather than drop acknowledged records.
//
// Then, on first use of a partition, its active (last) segment is trusted
// only if an index file written at a clean Close still matches its size and
// last record; otherwise it is scanned frame by frame and cut at the first
// frame that is incomplete, fails its CRC or breaks the offset sequence.
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
// The Bus owns the writer (while appends are queued), the checkpointer and
// the janitor (retention, every Config.RetentionInterval); Close waits for
// all three. Subscriptions own no
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
//
// DeleteRecords deletes records sooner, below an offset: the segments
// wholly below it go at once (the active one is sealed first when the
// offset is the partition's end, so a partition whose records are all
// deleted keeps none on disk), and the offset, when it falls inside a
// segment, is written to the partition's start file before anything is
// deleted, so the records below it are never read again, even after a
// crash; their bytes go with their segment. Deleted records also remain in
// the write-ahead log until its file is checkpointed: Checkpoint does that
// at once.
package embedded
