package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/mutualcoop/mutual/relay/bus/kafka"
	"github.com/mutualcoop/mutual/relay/directory/postgres"
)

// clusterFlags are the settings shared by the gateway and router processes
// of a cluster.
type clusterFlags struct {
	brokers      string
	topicPrefix  string
	inPartitions int
	replication  int
	db           string
	dbSchema     string
	wait         time.Duration
}

func (c *clusterFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.brokers, "kafka-brokers", "", "Kafka bootstrap addresses, comma-separated (cluster mode)")
	fs.StringVar(&c.topicPrefix, "kafka-topic-prefix", "", "prefix of every topic and group name, to share a Kafka cluster")
	fs.IntVar(&c.inPartitions, "kafka-in-partitions", kafka.DefaultInPartitions, "partitions of the 'in' topic, created if missing")
	fs.IntVar(&c.replication, "kafka-replication", 0, "replication factor of new topics (0: the broker's default)")
	fs.StringVar(&c.db, "db", "", "PostgreSQL URL for the directory, postgres://user:pass@host/db (cluster mode; MUTUAL_DB keeps the password off the command line)")
	fs.StringVar(&c.dbSchema, "db-schema", "", "PostgreSQL schema for the directory's tables")
	fs.DurationVar(&c.wait, "wait", 2*time.Minute, "how long to wait for Kafka and PostgreSQL at start")
}

func (c *clusterFlags) validate() error {
	if c.brokers == "" {
		return errors.New("cluster mode needs --kafka-brokers")
	}
	if !strings.HasPrefix(c.db, "postgres://") && !strings.HasPrefix(c.db, "postgresql://") {
		return errors.New("cluster mode needs --db postgres://… (the directory is shared by every process)")
	}
	return nil
}

// open connects to Kafka and PostgreSQL, waiting for each with backoff
// and saying what it waits for.
func (c *clusterFlags) open(ctx context.Context, log *slog.Logger) (*kafka.Bus, *postgres.Directory, error) {
	ctx, cancel := context.WithTimeout(ctx, c.wait)
	defer cancel()
	var dir *postgres.Directory
	err := waitFor(ctx, log, "PostgreSQL", func() (err error) {
		dir, err = postgres.Open(ctx, postgres.Config{URL: c.db, Schema: c.dbSchema})
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	var b *kafka.Bus
	err = waitFor(ctx, log, "Kafka at "+c.brokers, func() (err error) {
		b, err = kafka.New(ctx, kafka.Config{
			Brokers:           strings.Split(c.brokers, ","),
			TopicPrefix:       c.topicPrefix,
			InPartitions:      int32(c.inPartitions),
			ReplicationFactor: int16(c.replication),
		})
		if err == nil {
			if err = b.EnsureInTopic(ctx); err != nil {
				b.Close()
			}
		}
		return err
	})
	if err != nil {
		dir.Close()
		return nil, nil, err
	}
	return b, dir, nil
}

// waitFor calls try until it succeeds or ctx ends, with exponential
// backoff, logging what it waits for.
func waitFor(ctx context.Context, log *slog.Logger, what string, try func() error) error {
	backoff := 250 * time.Millisecond
	for {
		err := try()
		if err == nil {
			return nil
		}
		log.Warn("waiting for "+what, "err", err, "retry_in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("gave up waiting for %s: %w", what, err)
		case <-t.C:
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}
