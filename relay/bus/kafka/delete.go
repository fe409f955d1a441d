package kafka

import (
	"context"
	"errors"
	"fmt"

	"github.com/IBM/sarama"

	"github.com/mutualcoop/mutual/relay/bus"
)

// DeleteRecords moves the partition's log start offset up to offset with
// the admin API's DeleteRecords (Kafka's low watermark): the records
// below it can no longer be fetched by anyone, at once. The broker removes
// their bytes from disk when it deletes the segments that lie wholly below
// the log start offset, which it checks every
// log.retention.check.interval.ms (5 minutes by default); records in the
// active segment wait for it to roll (segment.ms, segment.bytes).
func (b *Bus) DeleteRecords(ctx context.Context, topic string, partition int32, offset int64) error {
	if b.isClosing() {
		return bus.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// Some brokers refuse an offset below the log start: ask first.
	oldest, next, err := b.Bounds(ctx, topic, partition)
	switch {
	case err != nil:
		return fmt.Errorf("delete records: %w", err)
	case offset > next:
		return fmt.Errorf("delete records of %s/%d below %d, beyond the end (%d): %w", topic, partition, offset, next, bus.ErrOutOfRange)
	case offset <= oldest:
		return nil
	}
	if err := b.admin.DeleteRecords(b.cfg.TopicPrefix+topic, map[int32]int64{partition: offset}); err != nil {
		return fmt.Errorf("delete records of %s/%d below %d: %w", topic, partition, offset, mapErr(err))
	}
	return nil
}

// Committed asks the group's coordinator for its committed offset in a
// partition.
func (b *Bus) Committed(ctx context.Context, group, topic string, partition int32) (int64, error) {
	if b.isClosing() {
		return 0, bus.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if group == "" {
		return 0, errors.New("committed: empty group")
	}
	name := b.cfg.TopicPrefix + topic
	resp, err := b.admin.ListConsumerGroupOffsets(b.cfg.TopicPrefix+group, map[string][]int32{name: {partition}})
	if errors.Is(err, sarama.ErrGroupIDNotFound) {
		return -1, nil
	}
	if err != nil {
		return 0, fmt.Errorf("committed %s/%d: %w", topic, partition, mapErr(err))
	}
	blk := resp.GetBlock(name, partition)
	if blk == nil {
		return -1, nil
	}
	if !errors.Is(blk.Err, sarama.ErrNoError) {
		return 0, fmt.Errorf("committed %s/%d: %w", topic, partition, mapErr(blk.Err))
	}
	return blk.Offset, nil
}
