// Package kafka implements bus.Bus on Apache Kafka (4.x, KRaft) with
// github.com/IBM/sarama, for running Mutual as a cluster.
//
// Topics. bus.InTopic is created with Config.InPartitions partitions and is
// keyed by sender (sarama's hash partitioner), so one sender's messages keep
// their order; each user's inbox (bus.InboxTopic) has one partition. Topics
// are created only through the admin API (CreateTopic); no client asks for
// automatic creation and the brokers should refuse it
// (auto.create.topics.enable=false). Records carry LogAppendTime, so
// Record.Time is when the broker appended the record: the bus checks that the
// brokers default to it (log.message.timestamp.type) and otherwise sets it on
// each topic it creates. Clients never ask for the metadata of all topics
// (Metadata.Full is off): a process knows only the topics it uses.
// Config.TopicPrefix puts every topic and group of a deployment under a
// prefix, so deployments and test runs can share a cluster.
//
// Deleting. DeleteRecords moves a partition's log start offset through the
// admin API: the records below it are unreadable at once, and the broker
// deletes the segments that lie wholly below it on its next retention check.
// Committed asks a group's coordinator for its committed offset.
//
// Append. One idempotent producer per process (acks=all, one request in
// flight per broker, retries) on its own client. Append hands its messages to
// sarama's AsyncProducer and waits for the acknowledgement of each one, found
// through ProducerMessage.Metadata; many concurrent Append calls therefore
// share produce requests instead of taking turns as with a SyncProducer.
//
// Consume. A sarama consumer group on a client of its own per call.
// Automatic commits are off: after handle returns nil for a batch, its end is
// marked and committed synchronously; if handle fails, nothing more is
// committed and Consume returns the error, so the next member to own the
// partition reads the batch again. A member that dies without leaving loses
// its partitions to the others after Config.SessionTimeout.
//
// Subscribe. sarama's PartitionConsumer looks offsets up one partition at a
// time and adds partitions to a running fetch only between long polls, which
// makes a reconnect storm (thousands of users subscribing at once) take
// minutes. This package reads subscriptions with its own fetch loop on
// sarama's low-level Broker requests instead:
//
//   - A resolver goroutine answers "who leads this partition, and what are
//     its bounds" for all callers that ask while it is busy with one Metadata
//     request for the topics it does not know and one ListOffsets request per
//     broker for the oldest offsets and one for the next ones. Subscribe
//     checks the offset against those bounds; Bounds uses the same path.
//   - One fetcher per broker owns a connection of its own and one
//     incremental fetch session (KIP-227). Its first request names every
//     subscribed partition; later ones name only new partitions and those
//     whose position moved, and the broker answers only for partitions with
//     news. The broker holds a request for up to Config.FetchMaxWait when
//     nothing is new, so a partition added meanwhile joins within that time;
//     records arriving on any partition in the session end the wait at once.
//   - Each subscription buffers up to Config.SubscriptionBuffer records.
//     When one is full its partition is parked at the high watermark (the
//     broker then sends it only news) until Next has taken half of them.
//     Several subscriptions to one partition share its fetch, which starts at
//     the lowest offset any of them wants.
//   - sarama cannot name partitions to forget in an incremental request, so
//     a closed subscription's partition stays parked in the session until
//     the session is rebuilt, which happens when such partitions exceed a
//     quarter of the live ones.
//   - Partition errors that mean the leader moved send the partition back to
//     the resolver; a lost connection sends all of the broker's partitions
//     back; an offset that retention removed ends the subscriptions with
//     bus.ErrOutOfRange.
//
// With this design users resubscribing at once cost one Metadata request, two
// ListOffsets requests per broker and one fetch per batch of callers that
// arrive together, instead of some of each per user. On the development
// machine 5,000 subscriptions on one broker all had their first record
// within 0.3–0.7 s (BenchmarkSubscribeStorm; docs/operations.md has the
// figures).
package kafka
