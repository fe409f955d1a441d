package attack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mutualcoop/mutual/relay/wire"
)

// Names lists every attack, in the order they start.
var Names = []string{"lookups", "drain", "unauth", "flood", "verify", "contacts", "keys", "requests"}

// CodeSource gives the authentication code the relay sent to an address
// (loadgen.CodeSource).
type CodeSource interface {
	WaitCode(ctx context.Context, address string) (string, error)
}

// Config configures a Run.
type Config struct {
	// URL is the relay's WebSocket endpoint, ws://127.0.0.1:port/v1/ws.
	URL string
	// Codes gives the codes of the attackers' own addresses.
	Codes CodeSource
	// Attacks names the attacks to run; nil runs them all.
	Attacks []string
	// Unauth is how many unauthenticated connections the unauth attack
	// keeps open at most; default 2,000.
	Unauth int
	// RunID names this run in the attackers' addresses; default the time.
	RunID string
}

// Run is a set of attacks under way.
type Run struct {
	cfg    Config
	cancel context.CancelFunc
	wg     sync.WaitGroup
	start  time.Time

	mu    sync.Mutex
	stats map[string]map[string]int64 // attack -> outcome -> count
	notes map[string]string
}

// Start prepares the attacks (registering their accounts) and starts them.
// They run until Stop.
func Start(ctx context.Context, cfg Config) (*Run, error) {
	if cfg.Attacks == nil {
		cfg.Attacks = Names
	}
	if cfg.Unauth == 0 {
		cfg.Unauth = 2000
	}
	if cfg.RunID == "" {
		cfg.RunID = fmt.Sprintf("%x", time.Now().UnixNano()&0xffffffff)
	}
	r := &Run{cfg: cfg, stats: make(map[string]map[string]int64), notes: make(map[string]string)}
	type attack func(ctx context.Context, src netip.Addr) (func(context.Context), error)
	all := map[string]attack{
		"lookups": r.lookups, "drain": r.drain, "unauth": r.unauth, "flood": r.flood,
		"verify": r.verify, "contacts": r.contacts, "keys": r.keys, "requests": r.requests,
	}
	var loops []func(context.Context)

	for i, name := range cfg.Attacks {
		a, ok := all[name]
		if !ok {
			return nil, fmt.Errorf("attack: unknown attack %q (want one of %s)", name, strings.Join(Names, ", "))
		}
		src := netip.AddrFrom4([4]byte{127, 0, 0, byte(2 + i)})
		loop, err := a(ctx, src)
		if err != nil {
			return nil, fmt.Errorf("attack %s: set up: %w", name, err)
		}
		loops = append(loops, loop)
	}
	actx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.start = time.Now()
	for _, loop := range loops {
		r.wg.Go(func() { loop(actx) })
	}
	return r, nil
}

// Stop ends the attacks and waits for them.
func (r *Run) Stop() {
	r.cancel()
	r.wg.Wait()
}

// count records one outcome of an attack.
func (r *Run) count(attack, outcome string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.stats[attack]
	if m == nil {
		m = make(map[string]int64)
		r.stats[attack] = m
	}
	m[outcome]++
}

// note records what an attack found out, for the report.
func (r *Run) note(attack, format string, args ...any) {
	r.mu.Lock()
	r.notes[attack] = fmt.Sprintf(format, args...)
	r.mu.Unlock()
}

// Counts returns how many times the attack met each outcome.
func (r *Run) Counts(attack string) map[string]int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.stats[attack])
}

// Note returns what the attack found out, if anything.
func (r *Run) Note(attack string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.notes[attack]
}

// Report writes a line per attack: its outcomes and what it found out.
func (r *Run) Report(w io.Writer) error {
	for _, name := range r.cfg.Attacks {
		counts := r.Counts(name)
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(counts)) {
			parts = append(parts, fmt.Sprintf("%s %d", k, counts[k]))
		}
		line := fmt.Sprintf("attack %-9s %s", name, strings.Join(parts, ", "))
		if n := r.Note(name); n != "" {
			line += "; " + n
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	return nil
}

// address is the attacker's own address number i for an attack.
func (r *Run) address(attack string, i int) string {
	return fmt.Sprintf("email:attack-%s-%s-%d@bench.test", r.cfg.RunID, attack, i)
}

// repeat calls f until ctx ends, pausing after a refusal as the relay
// said (at most a second) so that a refused attacker keeps trying at the
// relay's pace rather than spinning.
func repeat(ctx context.Context, f func(ctx context.Context) time.Duration) {
	for ctx.Err() == nil {
		if wait := f(ctx); wait > 0 {
			t := time.NewTimer(min(wait, time.Second))
			select {
			case <-ctx.Done():
				t.Stop()
			case <-t.C:
			}
		}
	}
}

// retryAfter is how long an answer says to wait.
func retryAfter(b wire.Body) time.Duration {
	if e, ok := b.(*wire.Error); ok && e.RetryAfterMS > 0 {
		return time.Duration(e.RetryAfterMS) * time.Millisecond
	}
	if _, ok := b.(*wire.Rejected); ok {
		return 10 * time.Millisecond
	}
	return 0
}

// stopped reports whether err is only the attack being stopped.
func stopped(ctx context.Context, err error) bool {
	return ctx.Err() != nil || errors.Is(err, context.Canceled)
}
