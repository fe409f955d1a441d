// Command ceiling measures how many one-partition user topics one Kafka
// broker holds on this machine. It creates topics in batches (1,000 by
// default), appends one record to each new topic through the Kafka bus, and
// after every batch prints the broker's resident memory, memory-map count
// (/proc/PID/maps), open files (/proc/PID/fd) and the latency of a metadata
// request and of an append. It stops when creating or appending fails, when
// a batch takes longer than -stall, when the broker process is gone, at
// -max topics, or after -timeout.
//
// Run it against a scratch broker, never one holding data you keep:
//
//	export MUTUAL_KAFKA_DIR=$PWD/.cache/kafka-ceiling MUTUAL_KAFKA_PORT=59192 MUTUAL_KAFKA_CTRL_PORT=59193
//	scripts/kafka.sh start
//	go run ./scripts/kafka/ceiling -bootstrap 127.0.0.1:59192 -pid "$(scripts/kafka.sh status | cut -d' ' -f2)"
//	scripts/kafka.sh reset
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/mutualcoop/mutual/relay/bus"
	"github.com/mutualcoop/mutual/relay/bus/kafka"
)

func main() {
	bootstrap := flag.String("bootstrap", "127.0.0.1:59092", "broker address")
	pid := flag.Int("pid", 0, "broker process id, for /proc figures (0: none)")
	batch := flag.Int("batch", 1000, "topics per batch")
	maxTopics := flag.Int("max", 40000, "stop after this many topics")
	timeout := flag.Duration("timeout", 15*time.Minute, "stop after this long")
	stall := flag.Duration("stall", 3*time.Minute, "stop when one batch takes longer")
	prefix := flag.String("prefix", "ceiling.", "topic name prefix")
	override := flag.Bool("override", false, "give each topic its own message.timestamp.type (as the bus does when the brokers do not default to LogAppendTime)")
	flag.Parse()
	if err := run(*bootstrap, *pid, *batch, *maxTopics, *timeout, *stall, *prefix, *override); err != nil {
		log.Fatal(err)
	}
}

func run(bootstrap string, pid, batch, maxTopics int, timeout, stall time.Duration, prefix string, override bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	brokers := []string{bootstrap}
	b, err := kafka.New(ctx, kafka.Config{Brokers: brokers, TopicPrefix: prefix, ClientID: "ceiling"})
	if err != nil {
		return err
	}
	defer b.Close()

	conf := sarama.NewConfig()
	conf.Version = sarama.V4_1_0_0
	conf.Metadata.Full = false
	conf.Admin.Timeout = stall
	conf.Net.ReadTimeout = stall + 30*time.Second
	conn := sarama.NewBroker(bootstrap)
	if err := conn.Open(conf); err != nil {
		return err
	}
	defer conn.Close()

	fmt.Printf("%-7s %-9s %-9s %-9s %-8s %-8s %-8s %-9s %-9s\n",
		"topics", "create_s", "append_s", "batch_s", "rss_MiB", "maps", "fds", "meta_ms", "probe_ms")
	start := time.Now()
	total := 0
	for total < maxTopics {
		names := make([]string, batch)
		for i := range names {
			names[i] = fmt.Sprintf("u.%032x", total+i)
		}
		t0 := time.Now()
		if err := createBatch(conn, conf, prefix, names, stall, override); err != nil {
			report(total, pid, "create failed: "+err.Error())
			return nil
		}
		created := time.Since(t0)
		actx, acancel := context.WithTimeout(ctx, stall)
		err := appendBatch(actx, b, names)
		acancel()
		if err != nil {
			report(total+batch, pid, "append failed: "+err.Error())
			return nil
		}
		appended := time.Since(t0) - created
		total += batch

		metaStart := time.Now()
		_, merr := conn.GetMetadata(sarama.NewMetadataRequest(conf.Version, []string{prefix + names[0]}))
		meta := time.Since(metaStart)
		probeStart := time.Now()
		perr := b.Append(ctx, bus.Message{Topic: names[len(names)/2], Value: []byte("probe")})
		probe := time.Since(probeStart)

		rss, maps, fds := procFigures(pid)
		fmt.Printf("%-7d %-9.1f %-9.1f %-9.1f %-8s %-8s %-8s %-9d %-9d\n",
			total, created.Seconds(), appended.Seconds(), time.Since(t0).Seconds(), rss, maps, fds,
			meta.Milliseconds(), probe.Milliseconds())
		switch {
		case merr != nil:
			report(total, pid, "metadata failed: "+merr.Error())
			return nil
		case perr != nil:
			report(total, pid, "probe append failed: "+perr.Error())
			return nil
		case time.Since(t0) > stall:
			report(total, pid, "batch stalled")
			return nil
		case pid != 0 && !alive(pid):
			report(total, pid, "broker process gone")
			return nil
		case ctx.Err() != nil:
			report(total, pid, "time is up")
			return nil
		}
	}
	report(total, pid, fmt.Sprintf("reached -max after %v", time.Since(start).Round(time.Second)))
	return nil
}

// createBatch creates names (with prefix) in one CreateTopics request.
func createBatch(conn *sarama.Broker, conf *sarama.Config, prefix string, names []string, stall time.Duration, override bool) error {
	details := make(map[string]*sarama.TopicDetail, len(names))
	for _, n := range names {
		d := &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: -1}
		if override {
			d.ConfigEntries = map[string]*string{"message.timestamp.type": ptr("LogAppendTime")}
		}
		details[prefix+n] = d
	}
	resp, err := conn.CreateTopics(sarama.NewCreateTopicsRequest(conf.Version, details, stall, false))
	if err != nil {
		return err
	}
	for name, terr := range resp.TopicErrors {
		if terr != nil && !errors.Is(terr.Err, sarama.ErrNoError) && !errors.Is(terr.Err, sarama.ErrTopicAlreadyExists) {
			return fmt.Errorf("%s: %w", name, terr)
		}
	}
	return nil
}

// appendBatch appends one record to each topic, 64 at a time.
func appendBatch(ctx context.Context, b *kafka.Bus, names []string) error {
	work := make(chan string)
	errc := make(chan error, 1)
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for n := range work {
				if err := appendRetry(ctx, b, n); err != nil {
					select {
					case errc <- err:
					default:
					}
				}
			}
		})
	}
	for _, n := range names {
		work <- n
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// appendRetry appends to a new topic, which its leader may not serve yet
// (and the producer's circuit breaker may be open for a moment after such
// errors): it tries until ctx ends.
func appendRetry(ctx context.Context, b *kafka.Bus, topic string) error {
	var err error
	for {
		err = b.Append(ctx, bus.Message{Topic: topic, Value: []byte("hello")})
		if err == nil || errors.Is(err, bus.ErrClosed) {
			return err
		}
		select {
		case <-time.After(250 * time.Millisecond):
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %w)", ctx.Err(), err)
		}
	}
}

func report(total, pid int, why string) {
	rss, maps, fds := procFigures(pid)
	fmt.Printf("stopped at %d topics: %s (rss %s MiB, maps %s, fds %s)\n", total, why, rss, maps, fds)
}

// procFigures reads the broker's resident memory, map count and open files.
func procFigures(pid int) (rss, maps, fds string) {
	if pid == 0 {
		return "-", "-", "-"
	}
	rss, maps, fds = "?", "?", "?"
	if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for _, line := range strings.Split(string(st), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
				if kb, err := strconv.Atoi(f[1]); err == nil {
					rss = strconv.Itoa(kb / 1024)
				}
			}
		}
	}
	if m, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid)); err == nil {
		maps = strconv.Itoa(strings.Count(string(m), "\n"))
	}
	if d, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); err == nil {
		fds = strconv.Itoa(len(d))
	}
	return rss, maps, fds
}

func alive(pid int) bool {
	_, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
	return err == nil
}

func ptr[T any](v T) *T { return &v }
