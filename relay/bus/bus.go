// Package bus defines the durable log that carries every message between
// the gateway and the router, and the users' inboxes.
//
// A bus has named topics, each with one or more partitions. Appending to a
// partition returns its offset; offsets grow by one per record and are never
// reused. Reading starts at any retained offset. This is Kafka's model, and
// both implementations keep it: bus/embedded (a log on local disk, for one
// machine) and bus/kafka (Apache Kafka, for a cluster). The conformance suite
// in bus/bustest runs against each.
//
// Topics: InTopic receives everything clients send, keyed by the sender so one
// sender's messages keep their order; each user has an inbox topic named by
// InboxTopic from their opaque ID (never from an address), with one partition.
// The value of every record on either is a Parcel: one message with the
// ciphertexts of its recipient devices. ControlTopic carries announcements
// between gateways.
//
// Records are deleted by retention, or sooner by DeleteRecords once no one
// needs them (the router's janitor: routed records of InTopic, inbox records
// every device has acknowledged).
package bus

import (
	"context"
	"errors"
	"time"

	"github.com/mutualcoop/mutual/relay/wire"
)

// InTopic is the global topic onto which gateways append what clients send.
const InTopic = "in"

// ControlTopic carries the relay's announcements between gateways (a
// device was removed: close its connections everywhere). It has one
// partition; each gateway reads it from its end at start, and records are
// kept only briefly.
const ControlTopic = "control"

// InboxTopic names the inbox topic of a user.
func InboxTopic(u wire.UserID) string { return "u." + u.String() }

var (
	// ErrUnknownTopic is returned for a topic (or partition) that was never created.
	ErrUnknownTopic = errors.New("bus: unknown topic")
	// ErrOutOfRange is returned when reading from an offset that retention
	// has already removed, or that lies beyond the end of the partition.
	ErrOutOfRange = errors.New("bus: offset out of range")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("bus: closed")
)

// Message is a record to append.
type Message struct {
	Topic string
	// Key picks the partition on multi-partition topics (same key, same
	// partition, so order is kept per key). Single-partition topics ignore it.
	Key   []byte
	Value []byte
}

// Record is a message as stored, with its position.
type Record struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       []byte
	Value     []byte
	Time      time.Time // when the bus appended it
}

// Bus is the durable log. Implementations are safe for concurrent use.
type Bus interface {
	// CreateTopic creates a topic with the given number of partitions.
	// Creating a topic that exists is not an error.
	CreateTopic(ctx context.Context, topic string, partitions int32) error

	// Append appends msgs and returns only once every one of them is durable
	// (fsynced, or acknowledged by all in-sync replicas). Messages for the
	// same partition are stored in the order given. On error, any subset may
	// have been stored: callers retry, and readers drop duplicates by ID.
	Append(ctx context.Context, msgs ...Message) error

	// Subscribe reads one partition from offset onward. Offset may equal the
	// partition's end, in which case the subscription waits for new records.
	// An offset before the oldest retained one gives ErrOutOfRange.
	Subscribe(ctx context.Context, topic string, partition int32, offset int64) (Subscription, error)

	// Bounds returns the oldest retained offset and the next offset to be
	// written of one partition.
	Bounds(ctx context.Context, topic string, partition int32) (oldest, next int64, err error)

	// DeleteRecords deletes the records of one partition below offset,
	// before retention would: from then on oldest (Bounds) is at least
	// offset, and reading below it gives ErrOutOfRange, also after a
	// restart. An offset at or below the oldest retained one changes
	// nothing; one beyond the next offset gives ErrOutOfRange. Offset may
	// equal the next offset, deleting every record. How soon the bytes
	// leave the disk depends on the implementation (package docs).
	DeleteRecords(ctx context.Context, topic string, partition int32, offset int64) error

	// Committed returns a consumer group's position in one partition: the
	// next offset it will read, every record below it having been handled.
	// It is -1 when the group has committed nothing there.
	Committed(ctx context.Context, group, topic string, partition int32) (int64, error)

	// Consume reads every partition of topic as a member of a consumer group
	// until ctx is done, calling handle with batches of records from one
	// partition in offset order. The group's position in a partition moves
	// past a batch only after handle returns nil for it; if handle returns an
	// error, Consume returns it and the batch is read again by the next
	// consumer. Several processes may consume with the same group: each
	// partition is read by one of them at a time.
	Consume(ctx context.Context, group, topic string, handle func(ctx context.Context, batch []Record) error) error

	// Close releases resources. Subscriptions end with ErrClosed.
	Close() error
}

// Subscription is a reader on one partition.
type Subscription interface {
	// Next blocks until at least one record after those already returned is
	// available, or ctx is done, and returns the available records in order
	// (at most an implementation-chosen batch size).
	Next(ctx context.Context) ([]Record, error)
	// Close ends the subscription. It is safe to call more than once.
	Close() error
}
