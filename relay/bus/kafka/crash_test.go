package kafka

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/bus"
)

// crashEnv, set in a child test process, makes it a consumer group member
// that reports its first batch on stdout and then hangs until killed.
const crashEnv = "MUTUAL_KAFKA_CRASH_MEMBER"

// crashMember is the child's whole life: brokers, prefix, group and topic
// come in crashEnv as four fields separated by spaces.
func crashMember() {
	f := strings.Fields(os.Getenv(crashEnv))
	if len(f) != 4 {
		fmt.Println("bad", crashEnv)
		os.Exit(2)
	}
	b, err := New(context.Background(), Config{Brokers: strings.Split(f[0], ","), TopicPrefix: f[1], SessionTimeout: 6 * time.Second})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	err = b.Consume(context.Background(), f[2], f[3], func(_ context.Context, batch []bus.Record) error {
		fmt.Printf("batch %d %d\n", batch[0].Offset, batch[len(batch)-1].Offset)
		select {} // crash before the batch is committed
	})
	fmt.Println("consume:", err)
	os.Exit(2)
}

// TestKfakeConsumerCrash kills a group member (SIGKILL) while it holds an
// uncommitted batch: another member gets the partition after the session
// timeout and reads the batch again, so nothing is lost.
func TestKfakeConsumerCrash(t *testing.T) {
	testConsumerCrash(t, startKfake(t), false)
}

func testConsumerCrash(t *testing.T, brokers []string, drop bool) {
	prefix := "t" + randHex(6) + "."
	b := openPrefixed(t, brokers, prefix, drop, nil)
	ctx := testCtx(t)
	topic := inbox()
	if err := b.CreateTopic(ctx, topic, 1); err != nil {
		t.Fatal(err)
	}
	appendValues(t, ctx, b, topic, 0, 5)

	child := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), fmt.Sprintf("%s=%s %s %s %s", crashEnv, strings.Join(brokers, ","), prefix, "router", topic))
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "batch 0 ") {
		child.Process.Kill()
		child.Wait()
		t.Fatalf("child member said %q, %v", line, err)
	}
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	child.Wait()

	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var got []bus.Record
	err = b.Consume(cctx, "router", topic, func(_ context.Context, batch []bus.Record) error {
		got = append(got, batch...)
		if got[len(got)-1].Offset == 4 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("consume after the crash: %v", err)
	}
	checkSequence(t, got, topic, 0)
}
