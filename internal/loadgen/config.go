package loadgen

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/mutualcoop/mutual/crypto/padding"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Config configures a run. Zero fields take the defaults shown.
type Config struct {
	// URL is the relay's WebSocket endpoint, such as
	// ws://127.0.0.1:8080/v1/ws (see Endpoints).
	URL string
	// Codes gives the codes the relay sends to the bench's addresses.
	Codes CodeSource

	// Clients is the number of accounts, each with one device and one
	// connection; at least 2.
	Clients int
	// Messages is how many messages the run sends in all, spread evenly
	// over the clients.
	Messages int
	// Rate is the target in messages a second over all clients; 0 sends as
	// fast as the relay answers.
	Rate float64
	// Size is the payload of each message in bytes, PayloadHeader to
	// wire.MaxCiphertext (to padding.MaxPlaintext when it is encrypted end
	// to end); default 256.
	Size int
	// InFlight bounds the sends per client waiting for their answer;
	// default 8.
	InFlight int
	// DrainTimeout bounds the wait, after the last answer, for accepted
	// messages to be delivered; default 30s.
	DrainTimeout time.Duration
	// SendTimeout bounds the wait for one send's answer; default 30s.
	SendTimeout time.Duration
	// SetupParallel is how many registrations or connections are under
	// way at once during setup; default 16, half of what a relay lets one
	// network have unauthenticated at once, so that connections closing
	// while new ones open never reach its cap.
	SetupParallel int
	// RunID names this run in the addresses it registers,
	// email:bench-<RunID>-<i>@bench.test; default 8 random hex digits.
	RunID string

	// LocalNet, when set, gives each client its own source address in it,
	// so that the relay's per-network limits meet each client as they
	// would meet one person at home. The whole of 127.0.0.0/8 reaches a
	// relay on loopback: 127.1.0.0/16 is the bench's default there
	// (cmd/mutual bench), leaving 127.0.0.0/24 to attackers.
	LocalNet netip.Prefix

	// GroupSize, when at least 2, makes the clients groups of GroupSize
	// members (Clients must be a multiple of it) that send every message
	// to their group (see group.go); 0 keeps the ring of 1:1 chats.
	GroupSize int
	// Devices is how many devices each account of a group run signs in
	// (default 1, at most 16): the first sends, every one receives.
	Devices int

	// Opaque sends the payload unencrypted (the Opaque encoder), to
	// measure the relay alone. By default every client encrypts end to end
	// (E2E): it publishes real keys, sets up a PQXDH session with the
	// client it sends to during setup, and encrypts and decrypts every
	// payload.
	Opaque bool
	// NewEncoder, when set, returns the payload encoder of the client self
	// in place of the two above; the clients then publish a minimal key
	// set of the right shape.
	NewEncoder func(self Peer) PayloadEncoder

	// Memory, when set, measures the relay's memory before and after the
	// clients connect; MemoryNote says what it measures.
	Memory     MemoryProbe
	MemoryNote string

	// MetricsURL, when set, is the relay's /metrics page: the report then
	// includes the relay's own figures for the sending phase.
	MetricsURL string

	// OnSending, when set, is called as sending starts; the function it
	// returns is called once the run has drained (to bracket a CPU
	// profile, for instance).
	OnSending func() (stop func())

	// Flood, when set, adds one account that floods the relay with large
	// fan-outs while the clients are measured.
	Flood *Flood

	// Progress receives a line per setup phase; nil discards them.
	Progress io.Writer
}

func (c *Config) setDefaults() {
	if c.Size == 0 {
		c.Size = 256
	}
	if c.InFlight == 0 {
		c.InFlight = 8
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = 30 * time.Second
	}
	if c.SendTimeout == 0 {
		c.SendTimeout = 30 * time.Second
	}
	if c.SetupParallel == 0 {
		c.SetupParallel = 16
	}
	if c.RunID == "" {
		id := wire.NewMessageID()
		c.RunID = fmt.Sprintf("%x", id[:4])
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
}

// Validate reports a configuration that cannot run. Zero fields are valid
// where they have a default.
func (c Config) Validate() error {
	c.setDefaults()
	switch {
	case c.URL == "":
		return errors.New("loadgen: no relay URL")
	case c.Codes == nil:
		return errors.New("loadgen: no code source")
	case c.Clients < 2:
		return fmt.Errorf("loadgen: %d clients: a run needs at least 2", c.Clients)
	case c.Messages < 1:
		return errors.New("loadgen: no messages to send")
	case c.Rate < 0:
		return errors.New("loadgen: negative rate")
	case c.Size < PayloadHeader || c.Size > wire.MaxCiphertext:
		return fmt.Errorf("loadgen: size %d, want %d to %d bytes", c.Size, PayloadHeader, wire.MaxCiphertext)
	case c.e2e() && c.Size > padding.MaxPlaintext:
		return fmt.Errorf("loadgen: size %d, at most %d bytes with end-to-end encryption", c.Size, padding.MaxPlaintext)
	case c.InFlight < 1 || c.SetupParallel < 1:
		return errors.New("loadgen: in-flight and setup parallelism must be positive")
	case c.DrainTimeout < 0 || c.SendTimeout < 0:
		return errors.New("loadgen: negative timeout")
	case c.LocalNet.IsValid() && c.LocalNet.Addr().BitLen()-c.LocalNet.Bits() < 63 &&
		1<<(c.LocalNet.Addr().BitLen()-c.LocalNet.Bits()) < 2*c.Clients*c.devices():
		return fmt.Errorf("loadgen: local network %s is too small for %d clients", c.LocalNet, c.Clients*c.devices())
	case c.GroupSize == 1 || c.GroupSize < 0 || c.GroupSize > wire.MaxGroupMembers:
		return fmt.Errorf("loadgen: group size %d, want 2 to %d (or 0 for 1:1 chats)", c.GroupSize, wire.MaxGroupMembers)
	case c.GroupSize > 0 && c.Clients%c.GroupSize != 0:
		return fmt.Errorf("loadgen: %d clients do not make groups of %d", c.Clients, c.GroupSize)
	case c.Devices < 0 || c.Devices > 16:
		return fmt.Errorf("loadgen: %d devices per account, want 1 to 16", c.Devices)
	case c.Devices > 1 && c.GroupSize == 0:
		return errors.New("loadgen: several devices per account need groups (GroupSize)")
	case c.GroupSize > 0 && c.Flood != nil:
		return errors.New("loadgen: a flood runs with 1:1 chats only")
	case len(c.RunID) > 32:
		return errors.New("loadgen: run ID over 32 characters")
	}
	if c.Flood != nil {
		f := *c.Flood
		return f.validate()
	}
	return nil
}

// devices is Devices with its default.
func (c Config) devices() int { return max(c.Devices, 1) }

// e2e reports whether the clients encrypt with E2E.
func (c Config) e2e() bool { return !c.Opaque && c.NewEncoder == nil }
