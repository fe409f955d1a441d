//go:build cluster

package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5"

	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/internal/wait"
	"github.com/mutualcoop/mutual/relay/bus"
	"github.com/mutualcoop/mutual/relay/wire"
)

// The cluster test runs the real binary as a cluster on a real Kafka broker
// and a real PostgreSQL server, which it expects to find running:
//
//	make services-up
//	MUTUAL_TEST_KAFKA=$(scripts/kafka.sh bootstrap) MUTUAL_TEST_POSTGRES=$(scripts/postgres.sh url) \
//	    go test -race -count=1 -tags cluster -run Cluster ./relay/server/
//
// Each run works under topics, a consumer group and a schema of its own,
// deleted at the end, so runs share the services without a reset.

// clusterServices returns the broker and database addresses of the
// environment, failing the test when either is missing.
func clusterServices(t *testing.T) (brokers, db string) {
	t.Helper()
	brokers, db = os.Getenv("MUTUAL_TEST_KAFKA"), os.Getenv("MUTUAL_TEST_POSTGRES")
	if brokers == "" || db == "" {
		t.Fatal("MUTUAL_TEST_KAFKA and MUTUAL_TEST_POSTGRES must be set: start the services with `make services-up`, then set " +
			"MUTUAL_TEST_KAFKA=$(scripts/kafka.sh bootstrap) MUTUAL_TEST_POSTGRES=$(scripts/postgres.sh url)")
	}
	return brokers, db
}

// TestClusterCrashUnderLoad runs two gateways (`mutual serve --bus kafka`)
// and two routers (`mutual router`) as separate processes, with six
// clients in a ring whose neighbours start on different gateways. Under
// continuous load it kills each process in turn with SIGKILL (gateway 1,
// router 1, gateway 2, router 2) and starts it again. Clients of a killed
// gateway go on at the other one, resuming from their acknowledged offset
// and resending unanswered sends with the same message ID; a killed
// router's partitions of `in` go to the other router once the group
// session times out. At the end every message answered Accepted has been
// delivered, and receivers that drop duplicates by message ID see each
// exactly once.
func TestClusterCrashUnderLoad(t *testing.T) {
	const clients = 6
	brokers, db := clusterServices(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	cl := newCluster(t, ctx, brokers, db)
	defer cl.stop(t)

	// A ring: client i sends to i+1 and allows both neighbours. Neighbours
	// start on different gateways, so every conversation crosses them.
	cs := make([]*clusterClient, clients)
	for i := range cs {
		cs[i] = cl.gateways[i%2].register(t, ctx, i)
	}
	for i, c := range cs {
		c.peer = cs[(i+1)%clients].crashClient
		conn, err := cl.gateways[c.gateway].auth(ctx, c.crashClient)
		if err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		for _, o := range []*clusterClient{cs[(i+clients-1)%clients], cs[(i+1)%clients]} {
			if _, err := transport.Call[*wire.OK](ctx, conn, &wire.SetContact{User: o.user, State: wire.ContactAllowed}); err != nil {
				t.Fatalf("set contact: %v", err)
			}
		}
		conn.Close()
	}

	stop := make(chan struct{})
	var sessions sync.WaitGroup
	for _, c := range cs {
		sessions.Go(func() { c.run(ctx, cl.gateways, stop) })
	}
	stopped := false
	stopSessions := func() {
		if !stopped {
			stopped = true
			close(stop)
			sessions.Wait()
		}
	}
	defer stopSessions()

	// Every receiver gets n more messages: each sender's messages are
	// accepted by a gateway, routed, and delivered.
	progress := func(what string, n int) {
		t.Helper()
		base := make([]int, len(cs))
		for i, c := range cs {
			base[i] = c.storedCount()
		}
		err := wait.Until(ctx, func() bool {
			for i, c := range cs {
				if c.storedCount() < base[i]+n {
					return false
				}
			}
			return true
		})
		if err != nil {
			t.Fatalf("%s: no progress: %v\n%s", what, err, cl.logs())
		}
	}

	steps := []struct {
		proc    *clusterProc
		gateway int // index of the gateway killed, or -1 for a router
	}{
		{cl.gateways[0], 0}, {cl.routers[0], -1}, {cl.gateways[1], 1}, {cl.routers[1], -1},
	}
	for _, s := range steps {
		progress("before killing "+s.proc.name, 20)
		delay := time.NewTimer(time.Duration(50+mrand.IntN(250)) * time.Millisecond)
		select {
		case <-delay.C:
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
		if s.gateway < 0 {
			s.proc.kill(t)
			killed := time.Now()
			// The survivor gets the killed router's partitions after
			// the group session timeout: every sender's messages flow
			// again while the killed one is down.
			progress("with "+s.proc.name+" killed", 20)
			t.Logf("%s killed; every receiver got 20 more messages after %v (%s)",
				s.proc.name, time.Since(killed).Round(time.Millisecond), dupSummary(cs))
			s.proc.start(t, ctx)
			continue
		}
		// The clients of the killed gateway go on at the other one.
		other := 1 - s.gateway
		before := make(map[*clusterClient]int64)
		for _, c := range cs {
			if int(c.on.Load()) == s.gateway+1 {
				before[c] = c.sessionsOn[other].Load()
			}
		}
		if len(before) == 0 {
			t.Fatalf("no client is on %s when it is killed", s.proc.name)
		}
		s.proc.kill(t)
		killed := time.Now()
		err := wait.Until(ctx, func() bool {
			for c, n := range before {
				if c.sessionsOn[other].Load() <= n {
					return false
				}
			}
			return true
		})
		if err != nil {
			t.Fatalf("clients of %s did not move to %s: %v\n%s", s.proc.name, cl.gateways[other].name, err, cl.logs())
		}
		moved := time.Since(killed)
		progress("with "+s.proc.name+" killed", 20)
		t.Logf("%s killed; its %d clients were connected to %s after %v, every receiver got 20 more messages after %v (%s)",
			s.proc.name, len(before), cl.gateways[other].name, moved.Round(time.Millisecond), time.Since(killed).Round(time.Millisecond), dupSummary(cs))
		s.proc.start(t, ctx)
	}
	// Load goes on for a little while after the last restart, then stops.
	progress("after the last restart", 20)
	for _, c := range cs {
		c.producing.Store(false)
	}

	// Drain: everything is answered Accepted, then delivered.
	err := wait.Until(ctx, func() bool {
		for _, c := range cs {
			if c.outstanding() > 0 || c.undelivered() > 0 {
				return false
			}
		}
		return true
	})
	stopSessions()
	var accepted, lost int
	var resent, reconnects, moves int64
	for _, c := range cs {
		resent += c.resent.Load()
		reconnects += c.sessions.Load() - 1
		moves += c.moves.Load()
		c.mu.Lock()
		accepted += len(c.accepted)
		c.mu.Unlock()
		lost += c.undelivered()
		if _, foreign := c.peer.received(c.idx); foreign > 0 {
			t.Errorf("client %d received %d messages nobody sent it", c.peer.idx, foreign)
		}
		if n := c.failures.Load(); n > 0 {
			t.Errorf("client %d: %d sends refused for good", c.idx, n)
		}
	}
	dups, redelivered := duplicates(cs)
	t.Logf("%d processes killed; %d messages accepted, %d lost, %d duplicate deliveries dropped by message ID (%d at an inbox offset delivered before, %d stored in the inbox twice: resent or routed again), %d resent with the same ID, %d reconnections, %d to the other gateway",
		len(steps), accepted, lost, dups, redelivered, dups-redelivered, resent, reconnects, moves)
	if err != nil || lost > 0 {
		for _, c := range cs {
			t.Logf("client %d: %d outstanding, %d accepted and not delivered", c.idx, c.outstanding(), c.undelivered())
		}
		t.Fatalf("drain: %v; %d accepted messages lost\n%s", err, lost, cl.logs())
	}
}

// duplicates counts the deliveries of a message ID already received, and
// of those the deliveries of an inbox offset delivered before.
func duplicates(cs []*clusterClient) (dups, redelivered int) {
	for i, c := range cs {
		d, _ := c.peer.received(c.idx)
		dups += d
		redelivered += cs[(i+1)%len(cs)].redeliveries()
	}
	return dups, redelivered
}

func dupSummary(cs []*clusterClient) string {
	d, r := duplicates(cs)
	return fmt.Sprintf("%d duplicate deliveries so far, %d of them at an offset delivered before", d, r)
}

// cluster is the set of processes of one test run.
type cluster struct {
	gateways [2]*clusterProc
	routers  [2]*clusterProc
	prefix   string // of the run's topics
}

// newCluster builds the binary, writes the shared secret and starts two
// gateways and two routers under a fresh topic prefix and schema.
func newCluster(t *testing.T, ctx context.Context, brokers, db string) *cluster {
	t.Helper()
	return newClusterWith(t, ctx, brokers, db, nil, nil)
}

// newClusterWith is newCluster with more arguments and environment for
// the gateways.
func newClusterWith(t *testing.T, ctx context.Context, brokers, db string, gatewayArgs, gatewayEnv []string) *cluster {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "mutual")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/mutualcoop/mutual/cmd/mutual")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the relay: %v\n%s", err, out)
	}
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte(hex.EncodeToString(randBytes(32))+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := hex.EncodeToString(randBytes(6))
	prefix, schema := "c"+run+".", "cluster_"+run
	t.Cleanup(func() { dropCluster(t, brokers, db, prefix, schema) }) // after the processes stop

	common := []string{"--kafka-brokers", brokers, "--kafka-topic-prefix", prefix, "--db-schema", schema}
	env := append(os.Environ(), "MUTUAL_DB="+db) // the database URL stays off the command line
	cl := &cluster{prefix: prefix}
	for i := range cl.gateways {
		addr := freeAddr(t)
		args := append([]string{"serve", "--bus", "kafka", "--dev", "--listen", addr, "--secret-file", secret, "--log-level", "warn", "--device-hold", "0"}, common...)
		args = append(args, gatewayArgs...)
		genv := append(slices.Clip(env), gatewayEnv...)
		cl.gateways[i] = &clusterProc{name: fmt.Sprintf("gateway %d", i+1), bin: bin, args: args, env: genv, addr: addr, out: newCodeLines()}
	}
	for i := range cl.routers {
		args := append([]string{"router", "--log-level", "info", "--janitor-interval", "100ms"}, common...)
		cl.routers[i] = &clusterProc{name: fmt.Sprintf("router %d", i+1), bin: bin, args: args, env: env}
	}
	// One at a time: the first creates the schema and the `in` topic.
	for _, p := range cl.procs() {
		p.start(t, ctx)
	}
	return cl
}

func (cl *cluster) procs() []*clusterProc {
	return []*clusterProc{cl.gateways[0], cl.gateways[1], cl.routers[0], cl.routers[1]}
}

// stop ends every process gracefully.
func (cl *cluster) stop(t *testing.T) {
	for _, p := range cl.procs() {
		p.stop(t)
	}
}

// logs returns the end of every process's standard error.
func (cl *cluster) logs() string {
	var b strings.Builder
	for _, p := range cl.procs() {
		b.WriteString(p.logTail())
	}
	return b.String()
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// freeAddr returns a loopback address with a port that is free now; the
// gateway keeps it across restarts.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func newCodeLines() *codeLines {
	return &codeLines{codes: make(map[string]string), changed: make(chan struct{})}
}

// dropCluster deletes the run's topics, consumer groups and schema, so the
// long-lived services do not accumulate them.
func dropCluster(t *testing.T, brokers, db, prefix, schema string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Errorf("drop schema: %v", err)
	} else {
		if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("drop schema: %v", err)
		}
		conn.Close(ctx)
	}

	conf := sarama.NewConfig()
	conf.Version = sarama.V4_1_0_0
	admin, err := sarama.NewClusterAdmin(strings.Split(brokers, ","), conf)
	if err != nil {
		t.Errorf("drop topics %s*: %v", prefix, err)
		return
	}
	defer admin.Close()
	topics, err := admin.ListTopics()
	if err != nil {
		t.Errorf("drop topics %s*: %v", prefix, err)
		return
	}
	for name := range topics {
		if strings.HasPrefix(name, prefix) {
			if err := admin.DeleteTopic(name); err != nil && !errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
				t.Errorf("drop topic %s: %v", name, err)
			}
		}
	}
	groups, err := admin.ListConsumerGroups()
	if err != nil {
		t.Errorf("drop groups %s*: %v", prefix, err)
		return
	}
	for name := range groups {
		if strings.HasPrefix(name, prefix) {
			if err := admin.DeleteConsumerGroup(name); err != nil && !errors.Is(err, sarama.ErrGroupIDNotFound) {
				t.Errorf("drop group %s: %v", name, err)
			}
		}
	}
}

// clusterProc is one process of the cluster, a gateway or a router,
// started again with the same arguments (a gateway on the same port)
// after it is killed.
type clusterProc struct {
	name string
	bin  string
	args []string
	env  []string
	addr string     // a gateway's listen address; empty for a router
	out  *codeLines // a gateway's DEV CODE lines

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	starts int
	log    bytes.Buffer // standard error of every run
}

// routerReady is what a router logs once it has opened the bus and the
// directory.
const routerReady = "mutual router running"

// start runs the process and waits until it is ready: a gateway answers
// /healthz, a router says it is running.
func (p *clusterProc) start(t *testing.T, ctx context.Context) {
	t.Helper()
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env = p.env
	cmd.Stdout = io.Discard
	if p.out != nil {
		cmd.Stdout = p.out
	}
	cmd.Stderr = &lockedWriter{mu: &p.mu, w: &p.log}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", p.name, err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	p.mu.Lock()
	p.cmd, p.exited = cmd, exited
	p.starts++
	starts := p.starts
	p.mu.Unlock()

	client := &http.Client{Timeout: time.Second}
	ready := func() bool {
		if p.addr == "" {
			p.mu.Lock()
			defer p.mu.Unlock()
			return strings.Count(p.log.String(), routerReady) >= starts
		}
		resp, err := client.Get("http://" + p.addr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	err := wait.Until(ctx, func() bool {
		select {
		case <-exited:
			return true
		default:
		}
		return ready()
	})
	select {
	case <-exited:
		t.Fatalf("%s exited at start: %v\n%s", p.name, cmd.ProcessState, p.logTail())
	default:
	}
	if err != nil {
		t.Fatalf("%s did not become ready: %v\n%s", p.name, err, p.logTail())
	}
}

// kill ends the process with SIGKILL and waits for it to be gone.
func (p *clusterProc) kill(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill %s: %v", p.name, err)
	}
	<-exited
}

// stop ends the process gracefully, if it runs.
func (p *clusterProc) stop(t *testing.T) {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-exited:
		return
	default:
	}
	cmd.Process.Signal(syscall.SIGTERM)
	grace := time.NewTimer(30 * time.Second)
	defer grace.Stop()
	select {
	case <-exited:
		if !cmd.ProcessState.Success() {
			t.Errorf("%s stopped with %v\n%s", p.name, cmd.ProcessState, p.logTail())
		}
	case <-grace.C:
		cmd.Process.Kill()
		<-exited
		t.Errorf("%s did not stop on SIGTERM\n%s", p.name, p.logTail())
	}
}

func (p *clusterProc) logTail() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.log.String()
	if len(s) > 3000 {
		s = "..." + s[len(s)-3000:]
	}
	return p.name + " log:\n" + s + "\n"
}

func (p *clusterProc) url() string { return "ws://" + p.addr + "/v1/ws" }

// register signs a new account in at gateway p with the code it prints.
func (p *clusterProc) register(t *testing.T, ctx context.Context, i int) *clusterClient {
	c := registerClient(t, ctx, p.url(), p.out, fmt.Sprintf("email:cluster-%d@mutual.test", i), i)
	return &clusterClient{crashClient: c, gateway: i % 2, offsets: make(map[int64]bool)}
}

func (p *clusterProc) auth(ctx context.Context, c *crashClient) (*transport.Conn, error) {
	conn, err := transport.Dial(ctx, p.url(), transport.Options{})
	if err != nil {
		return nil, err
	}
	if _, err := conn.Auth(ctx, c.user, c.device, c.cred); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// clusterClient is a crashClient that, like a client behind a load
// balancer, goes on at the other gateway whenever its connection ends,
// and sends at a steady pace.
type clusterClient struct {
	*crashClient

	gateway    int             // where it connects next; only run uses it
	on         atomic.Int32    // gateway of the live connection + 1; 0 when none
	sessionsOn [2]atomic.Int64 // connections made to each gateway
	moves      atomic.Int64    // times it went over to the other gateway

	omu         sync.Mutex
	offsets     map[int64]bool // inbox offsets delivered
	redelivered int            // deliveries of an offset delivered before
}

// clusterSendEvery is how often each of a client's crashWindow senders
// sends: 50 messages a second per client.
const clusterSendEvery = 80 * time.Millisecond

func (c *clusterClient) run(ctx context.Context, gws [2]*clusterProc, stop <-chan struct{}) {
	backoff := 20 * time.Millisecond
	for {
		select {
		case <-stop:
			return
		default:
		}
		conn, err := gws[c.gateway].auth(ctx, c.crashClient)
		if err != nil {
			var ce *transport.CloseError
			if errors.As(err, &ce) && ce.Code == wire.CloseAuthFailed {
				c.failures.Add(1)
				return
			}
			c.gateway = 1 - c.gateway
			wait := time.NewTimer(backoff/2 + mrand.N(backoff))
			select {
			case <-wait.C:
			case <-stop:
				wait.Stop()
				return
			}
			backoff = min(2*backoff, 500*time.Millisecond)
			continue
		}
		backoff = 20 * time.Millisecond
		c.sessions.Add(1)
		c.sessionsOn[c.gateway].Add(1)
		c.on.Store(int32(c.gateway + 1))
		c.session(ctx, conn, stop)
		c.on.Store(0)
		select {
		case <-stop:
			return
		default:
		}
		c.gateway = 1 - c.gateway
		c.moves.Add(1)
	}
}

// session serves one connection until it ends or stop is closed.
func (c *clusterClient) session(ctx context.Context, conn *transport.Conn, stop <-chan struct{}) {
	var wg sync.WaitGroup
	wg.Go(func() { c.receive(ctx, conn) })
	for range crashWindow {
		wg.Go(func() { c.send(ctx, conn) })
	}
	select {
	case <-conn.Done():
	case <-stop:
		conn.Close()
	}
	wg.Wait()
}

// send sends one message every clusterSendEvery until the connection ends
// or there is nothing left to send. Unanswered sends go back to the
// outbox and are resent with the same ID on the next connection.
func (c *clusterClient) send(ctx context.Context, conn *transport.Conn) {
	tick := time.NewTicker(clusterSendEvery)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
		case <-conn.Done():
			return
		}
		s := c.take()
		if s == nil {
			return
		}
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		reply, err := conn.Request(rctx, s)
		cancel()
		switch r := reply.(type) {
		case *wire.Accepted:
			c.done(s, true)
			continue
		case *wire.Rejected:
			c.done(s, false)
			switch r.Code {
			case wire.CodeRateLimited:
				continue
			case wire.CodeUnavailable:
				// Not stored: the gateway's bus is unwell. Retry on a
				// new connection.
				conn.Close()
			default:
				c.failures.Add(1)
			}
			return
		}
		c.done(s, false)
		if err == nil {
			c.failures.Add(1)
		}
		return
	}
}

// receive stores every delivery, notes its inbox offset, then
// acknowledges it.
func (c *clusterClient) receive(ctx context.Context, conn *transport.Conn) {
	for d := range conn.Deliveries() {
		c.store(d)
		c.omu.Lock()
		if c.offsets[d.Offset] {
			c.redelivered++
		}
		c.offsets[d.Offset] = true
		c.omu.Unlock()
		if err := conn.Send(ctx, &wire.Ack{Offset: d.Offset}); err != nil {
			return
		}
	}
}

// redeliveries counts the deliveries of an inbox offset delivered before:
// the duplicates that come from resuming at an older acknowledged offset,
// as opposed to a message routed into the inbox twice.
func (c *clusterClient) redeliveries() int {
	c.omu.Lock()
	defer c.omu.Unlock()
	return c.redelivered
}

// storedCount is how many distinct messages the client has received.
func (c *clusterClient) storedCount() int {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	return len(c.stored)
}

// TestClusterDevicesAndMetadata runs the cluster of TestClusterCrashUnderLoad
// without load. A device removed through gateway 1 while connected to
// gateway 2 is closed there with the device-removed code, and cannot sign
// in again. Then messages, one accepted and one refused, leave Kafka for
// good once routed and acknowledged: the routers' janitors delete them
// below the offsets every device has acknowledged, and `in` below the
// routers' position.
func TestClusterDevicesAndMetadata(t *testing.T) {
	brokers, db := clusterServices(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cl := newCluster(t, ctx, brokers, db)
	defer cl.stop(t)
	gw1, gw2 := cl.gateways[0], cl.gateways[1]

	const addr = "email:owner@mutual.test"
	owner := registerClient(t, ctx, gw1.url(), gw1.out, addr, 0)
	stolen := registerClient(t, ctx, gw2.url(), gw2.out, addr, 1)
	friend := registerClient(t, ctx, gw1.url(), gw1.out, "email:friend@mutual.test", 2)
	stranger := registerClient(t, ctx, gw2.url(), gw2.out, "email:stranger@mutual.test", 3)

	t.Run("removed device closed everywhere", func(t *testing.T) {
		thief, err := gw2.auth(ctx, stolen)
		if err != nil {
			t.Fatal(err)
		}
		defer thief.Close()
		if _, err := transport.Call[*wire.OK](ctx, thief, &wire.SetContact{User: friend.user, State: wire.ContactAllowed}); err != nil {
			t.Fatalf("the device works before its removal: %v", err)
		}
		conn, err := gw1.auth(ctx, owner)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := transport.Call[*wire.OK](ctx, conn, &wire.RemoveDevice{Device: stolen.device}); err != nil {
			t.Fatalf("remove device: %v", err)
		}
		removed := time.Now()
		select {
		case <-thief.Done():
		case <-ctx.Done():
			t.Fatalf("the removed device is still connected to gateway 2\n%s", cl.logs())
		}
		var ce *transport.CloseError
		if !errors.As(thief.Err(), &ce) || ce.Code != int(wire.CloseDeviceRemoved) {
			t.Fatalf("the removed device's connection ended with %v, want close code %d", thief.Err(), wire.CloseDeviceRemoved)
		}
		t.Logf("gateway 2 closed the removed device's connection %v after gateway 1 answered the removal", time.Since(removed))
		for _, gw := range []*clusterProc{gw1, gw2} {
			c, err := gw.auth(ctx, stolen)
			var ce *transport.CloseError
			if err == nil || !errors.As(err, &ce) || ce.Code != int(wire.CloseAuthFailed) {
				if c != nil {
					c.Close()
				}
				t.Fatalf("the removed device signed in again at %s: %v", gw.name, err)
			}
		}
	})

	t.Run("routed and acknowledged records deleted", func(t *testing.T) {
		oc, err := gw1.auth(ctx, owner)
		if err != nil {
			t.Fatal(err)
		}
		defer oc.Close()
		if _, err := transport.Call[*wire.OK](ctx, oc, &wire.SetContact{User: friend.user, State: wire.ContactAllowed}); err != nil {
			t.Fatal(err)
		}
		fc, err := gw2.auth(ctx, friend)
		if err != nil {
			t.Fatal(err)
		}
		defer fc.Close()
		send := func(to *crashClient, kind wire.Kind) {
			t.Helper()
			_, err := transport.Call[*wire.Accepted](ctx, fc, &wire.Send{MessageID: wire.NewMessageID(), Kind: kind,
				Recipients: []wire.Recipient{{User: to.user, Device: to.device, Ciphertext: []byte("sealed")}}})
			if err != nil {
				t.Fatalf("send: %v", err)
			}
		}
		send(owner, wire.KindMessage) // allowed: delivered to the owner
		// A message to the stranger would be refused before it is stored;
		// a second contact request on one day is stored, then refused by
		// the router: a notice comes back to the friend.
		send(stranger, wire.KindRequest)
		send(stranger, wire.KindRequest)
		for _, c := range []*transport.Conn{oc, fc} {
			select {
			case d := <-c.Deliveries():
				if err := c.Send(ctx, &wire.Ack{Offset: d.Offset}); err != nil {
					t.Fatal(err)
				}
			case <-ctx.Done():
				t.Fatalf("no delivery\n%s", cl.logs())
			}
		}

		kc := kafkaClient(t, brokers)
		emptied := func(topic string) bool {
			parts, err := kc.Partitions(cl.prefix + topic)
			if err != nil {
				return false
			}
			for _, p := range parts {
				oldest, err1 := kc.GetOffset(cl.prefix+topic, p, sarama.OffsetOldest)
				next, err2 := kc.GetOffset(cl.prefix+topic, p, sarama.OffsetNewest)
				if err1 != nil || err2 != nil || oldest != next {
					return false
				}
			}
			return true
		}
		for _, topic := range []string{bus.InTopic, bus.InboxTopic(owner.user), bus.InboxTopic(friend.user)} {
			if err := wait.Until(ctx, func() bool { return emptied(topic) }); err != nil {
				t.Fatalf("%s still holds readable records: %v\n%s", topic, err, cl.logs())
			}
		}
	})
}

// kafkaClient connects to the test broker for offset queries.
func kafkaClient(t *testing.T, brokers string) sarama.Client {
	t.Helper()
	conf := sarama.NewConfig()
	conf.Version = sarama.V4_1_0_0
	c, err := sarama.NewClient(strings.Split(brokers, ","), conf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
