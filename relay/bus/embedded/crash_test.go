package embedded

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/mutualcoop/mutual/relay/bus"
)

// crashChildEnv names the data directory when the test binary runs as the
// child of TestCrashKeepsAcknowledgedRecords.
const crashChildEnv = "MUTUAL_EMBEDDED_BUS_CRASH_DIR"

const (
	crashTopic      = "crash"
	crashPartitions = 2
	crashWriters    = 16
)

// crashChild appends records from several goroutines and prints "ack
// <value>" for each Append that returned, until it is killed.
func crashChild(dir string) int {
	b, err := Open(Config{Dir: dir, SegmentBytes: 32 << 10, IndexIntervalBytes: 512, WALBytes: 64 << 10})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx := context.Background()
	if err := b.CreateTopic(ctx, crashTopic, crashPartitions); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	round := os.Getenv(crashChildEnv + "_ROUND")
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range crashWriters {
		wg.Go(func() {
			for i := 0; ; i++ {
				v := fmt.Sprintf("%s-%d-%d", round, w, i)
				msgs := []bus.Message{{Topic: crashTopic, Key: []byte(v), Value: []byte(v)}}
				if i%4 == 3 { // some calls carry two records
					v2 := v + "b"
					msgs = append(msgs, bus.Message{Topic: crashTopic, Key: []byte(v2), Value: []byte(v2)})
				}
				if err := b.Append(ctx, msgs...); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
				mu.Lock()
				for _, m := range msgs {
					fmt.Fprintf(os.Stdout, "ack %s\n", m.Value)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait() // never: the parent kills this process
	return 0
}

func TestCrashKeepsAcknowledgedRecords(t *testing.T) {
	dir := t.TempDir()
	acked := make(map[string]bool)
	for round := range 3 {
		var stderr bytes.Buffer
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir, fmt.Sprintf("%s_ROUND=%d", crashChildEnv, round))
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killAfter := 200 + rand.IntN(3000)
		sc := bufio.NewScanner(out)
		n := 0
		for sc.Scan() {
			v, ok := strings.CutPrefix(sc.Text(), "ack ")
			if !ok {
				t.Fatalf("child printed %q", sc.Text())
			}
			acked[v] = true
			if n++; n == killAfter {
				// SIGKILL: no deferred code, no Close, no flush.
				if err := cmd.Process.Kill(); err != nil {
					t.Fatal(err)
				}
			}
		}
		cmd.Wait()
		if n < killAfter {
			t.Fatalf("child exited after %d acknowledgements: %s", n, stderr.Bytes())
		}
		t.Logf("round %d: killed after %d acknowledged records (%d read from the pipe)", round, killAfter, n)

		b := openBus(t, Config{Dir: dir, SegmentBytes: 32 << 10, IndexIntervalBytes: 512, WALBytes: 64 << 10})
		stored := make(map[string]bool)
		for p := range int32(crashPartitions) {
			_, next, err := b.Bounds(t.Context(), crashTopic, p)
			if err != nil {
				t.Fatalf("Bounds: %v", err)
			}
			sub, err := b.Subscribe(t.Context(), crashTopic, p, 0)
			if err != nil {
				t.Fatalf("Subscribe: %v", err)
			}
			for want := int64(0); want < next; {
				recs, err := sub.Next(t.Context())
				if err != nil {
					t.Fatalf("Next: %v", err)
				}
				for _, r := range recs {
					if r.Offset != want {
						t.Fatalf("partition %d: offset %d where %d belongs", p, r.Offset, want)
					}
					if stored[string(r.Value)] {
						t.Fatalf("record %s stored twice", r.Value)
					}
					stored[string(r.Value)] = true
					want++
				}
			}
			sub.Close()
		}
		for v := range acked {
			if !stored[v] {
				t.Fatalf("acknowledged record %s lost (round %d)", v, round)
			}
		}
		closeBus(t, b)
	}
}
