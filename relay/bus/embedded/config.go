package embedded

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Config configures a Bus. The zero value of every field but Dir means its
// default.
type Config struct {
	// Dir is the data directory. Required. One Bus at a time may use it.
	Dir string

	// Retention is how long records are kept: a segment is deleted once
	// its newest record is older than this. Default 30 days.
	Retention time.Duration
	// SegmentBytes is the size at which a partition starts a new segment
	// file. Default 16 MiB.
	SegmentBytes int64
	// SegmentAge is the age of a segment's first record at which the next
	// append starts a new segment, so that retention can remove old records
	// of partitions that fill slowly. Default 7 days.
	SegmentAge time.Duration
	// WALBytes is the size at which the write-ahead log moves to a new file
	// and the old one is checkpointed (the segment files it covers are
	// synced and it is deleted). Recovery replays at most a few files of
	// this size. Default 64 MiB.
	WALBytes int64
	// RetentionInterval is how often the janitor looks for expired
	// segments. Default 5 minutes.
	RetentionInterval time.Duration

	// MaxRecordBytes limits the key plus value of one record. Default 1 MiB.
	MaxRecordBytes int
	// MaxBatchRecords and MaxBatchBytes bound what one Subscription.Next
	// returns (and so each batch given to a Consume handler); a single
	// record larger than MaxBatchBytes is returned alone. Defaults 256 and
	// 1 MiB.
	MaxBatchRecords int
	MaxBatchBytes   int

	// IndexIntervalBytes is the spacing of the sparse offset index: a read
	// from any offset scans at most about this many bytes. Default 4 KiB.
	IndexIntervalBytes int
	// MaxOpenFiles bounds the segment files kept open; files in use by a
	// reader or writer may exceed it briefly. Default 1024.
	MaxOpenFiles int
	// GroupCommitInterval is how often a consumer group's positions are
	// written durably while it consumes (they always are when a member
	// stops and at Close). A crash re-reads at most this much. Default
	// 100ms; negative writes after every batch.
	GroupCommitInterval time.Duration

	// MinFreeBytes is the free space the bus leaves on its filesystem:
	// appends that would take it below are refused (with an error
	// wrapping syscall.ENOSPC) until there is space again. Default 64 MiB;
	// negative: no floor.
	MinFreeBytes int64

	// Now is the clock used for record times and retention. Default time.Now.
	Now func() time.Time
	// Logger receives what the background janitor cannot return: failures
	// to apply retention. Default: discard.
	Logger *slog.Logger
}

// Defaults.
const (
	DefaultRetention           = 30 * 24 * time.Hour
	DefaultSegmentBytes        = 16 << 20
	DefaultSegmentAge          = 7 * 24 * time.Hour
	DefaultRetentionInterval   = 5 * time.Minute
	DefaultWALBytes            = 64 << 20
	DefaultMaxRecordBytes      = 1 << 20
	DefaultMaxBatchRecords     = 256
	DefaultMaxBatchBytes       = 1 << 20
	DefaultIndexIntervalBytes  = 4 << 10
	DefaultMaxOpenFiles        = 1024
	DefaultGroupCommitInterval = 100 * time.Millisecond
	DefaultMinFreeBytes        = 64 << 20
)

// withDefaults returns cfg with zero fields set to their defaults.
func (cfg Config) withDefaults() Config {
	if cfg.Retention == 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.SegmentBytes == 0 {
		cfg.SegmentBytes = DefaultSegmentBytes
	}
	if cfg.SegmentAge == 0 {
		cfg.SegmentAge = DefaultSegmentAge
	}
	if cfg.WALBytes == 0 {
		cfg.WALBytes = DefaultWALBytes
	}
	if cfg.RetentionInterval == 0 {
		cfg.RetentionInterval = DefaultRetentionInterval
	}
	if cfg.MaxRecordBytes == 0 {
		cfg.MaxRecordBytes = DefaultMaxRecordBytes
	}
	if cfg.MaxBatchRecords == 0 {
		cfg.MaxBatchRecords = DefaultMaxBatchRecords
	}
	if cfg.MaxBatchBytes == 0 {
		cfg.MaxBatchBytes = DefaultMaxBatchBytes
	}
	if cfg.IndexIntervalBytes == 0 {
		cfg.IndexIntervalBytes = DefaultIndexIntervalBytes
	}
	if cfg.MaxOpenFiles == 0 {
		cfg.MaxOpenFiles = DefaultMaxOpenFiles
	}
	if cfg.GroupCommitInterval == 0 {
		cfg.GroupCommitInterval = DefaultGroupCommitInterval
	}
	if cfg.MinFreeBytes == 0 {
		cfg.MinFreeBytes = DefaultMinFreeBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg
}

// Validate reports whether cfg, with defaults applied, is usable.
func (cfg Config) Validate() error {
	c := cfg.withDefaults()
	var errs []error
	if c.Dir == "" {
		errs = append(errs, errors.New("dir is required"))
	}
	if c.Retention < 0 {
		errs = append(errs, fmt.Errorf("retention %v is negative", c.Retention))
	}
	if c.SegmentBytes < 1<<10 || c.SegmentBytes > 1<<30 {
		errs = append(errs, fmt.Errorf("segment bytes %d not in [1 KiB, 1 GiB]", c.SegmentBytes))
	}
	if c.SegmentAge < 0 {
		errs = append(errs, fmt.Errorf("segment age %v is negative", c.SegmentAge))
	}
	if c.WALBytes < 64<<10 || c.WALBytes > 1<<30 {
		errs = append(errs, fmt.Errorf("wal bytes %d not in [64 KiB, 1 GiB]", c.WALBytes))
	}
	if c.RetentionInterval < 0 {
		errs = append(errs, fmt.Errorf("retention interval %v is negative", c.RetentionInterval))
	}
	if c.MaxRecordBytes < 0 || c.MaxRecordBytes > hardMaxRecordBytes {
		errs = append(errs, fmt.Errorf("max record bytes %d not in [1, %d]", c.MaxRecordBytes, hardMaxRecordBytes))
	}
	if c.MaxBatchRecords < 0 {
		errs = append(errs, fmt.Errorf("max batch records %d is negative", c.MaxBatchRecords))
	}
	if c.MaxBatchBytes < 0 {
		errs = append(errs, fmt.Errorf("max batch bytes %d is negative", c.MaxBatchBytes))
	}
	if c.IndexIntervalBytes < 0 {
		errs = append(errs, fmt.Errorf("index interval %d is negative", c.IndexIntervalBytes))
	}
	if c.MaxOpenFiles < 0 {
		errs = append(errs, fmt.Errorf("max open files %d is negative", c.MaxOpenFiles))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("embedded bus config: %w", err)
	}
	return nil
}
