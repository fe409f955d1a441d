package auth

import (
	"context"
	"crypto/hmac"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Store is what the Service needs of the directory. Every key is an address
// hash from HashAddress; *sqlite.Directory and *postgres.Directory satisfy
// it.
type Store interface {
	// Account returns the user registered under addrHash, or an error
	// wrapping directory.ErrNotFound.
	Account(ctx context.Context, addrHash []byte) (wire.UserID, error)
	// CreateAccount returns the user for addrHash, creating it with id if
	// there is none.
	CreateAccount(ctx context.Context, addrHash []byte, id wire.UserID) (user wire.UserID, created bool, err error)
	// PutCode stores (replacing) the pending code for addrHash.
	PutCode(ctx context.Context, addrHash []byte, c directory.Code) error
	// GetCode returns the pending code, or directory.ErrNotFound.
	GetCode(ctx context.Context, addrHash []byte) (directory.Code, error)
	// FailCode atomically adds one to the pending code's attempt count and
	// returns the new count, or directory.ErrNotFound. The Service counts
	// every attempt before comparing, so the count bounds the guesses
	// compared against a code even with several relays on one directory.
	FailCode(ctx context.Context, addrHash []byte) (attempts int, err error)
	// DeleteCode removes the pending code. An implementation that returns
	// directory.ErrNotFound when there was none makes a code single-use
	// across relays too; within one Service it is single-use either way.
	DeleteCode(ctx context.Context, addrHash []byte) error
	// CountCodeRequest records a request at now and returns how many were
	// recorded in (now-window, now], this one included.
	CountCodeRequest(ctx context.Context, addrHash []byte, now time.Time, window time.Duration) (int, error)
}

// Message is what a Sender delivers.
type Message struct {
	Code string        // the code, as decimal digits
	TTL  time.Duration // how long it stays valid, for the text
}

// Sender delivers codes to addresses of one scheme.
//
// Send must honour ctx and put a deadline on every network operation. Its
// errors must not contain the address or the code (remote servers often
// echo the recipient in their replies: drop their text).
type Sender interface {
	Send(ctx context.Context, to Address, m Message) error
}

// Senders chooses a Sender by address scheme, such as SchemeEmail.
type Senders map[string]Sender

// Config configures a Service. Zero fields take the defaults shown.
type Config struct {
	// Secret keys the address and code hashes: at least MinSecretLen
	// bytes, from ReadSecretFile or the environment, never a flag. It must
	// never change: the directory's accounts are found by it.
	Secret []byte

	// CodeDigits is the code length, 6 to 8; default 8. With the limits
	// below an attacker gets at most RequestsPerWindow*MaxAttempts = 15
	// guesses per address per 15 minutes, 1,440 a day, while the victim
	// receives 288 mails a day. Against 10^8 codes that succeeds with
	// probability 1.4e-5 a day (0.5% a year of nonstop attack); against
	// 10^6 it would be 0.14% a day, 40% a year. Two more digits to type
	// is the cheaper price.
	CodeDigits int
	// CodeTTL is how long a code stays valid; default 10 minutes.
	CodeTTL time.Duration
	// MaxAttempts is how many guesses are compared against one code before
	// it is deleted; default 5.
	MaxAttempts int

	// RequestsPerWindow codes may be requested for one address per
	// RequestWindow; defaults 3 per 15 minutes. Requests refused for this
	// limit still count, so a client that keeps asking stays refused until
	// it waits a whole window; the wait it is told is the window.
	RequestsPerWindow int
	RequestWindow     time.Duration
	// RequestGap is the least time between two codes for one address;
	// default 30 seconds. Requests refused for the gap are not counted.
	RequestGap time.Duration

	// NetBurst code requests may come at once from one client network (an
	// IPv4 address or an IPv6 /64), then one per NetRefill; defaults 20
	// and 30 seconds (120 an hour: room for a school or an office behind
	// one NAT). NetTable bounds the buckets kept in memory; default 65,536
	// (about 18 MB when full, some 270 bytes a bucket).
	NetBurst  int
	NetRefill time.Duration
	NetTable  int

	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger receives events (never an address, code or credential);
	// default discards.
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	defd := func(p *time.Duration, v time.Duration) {
		if *p == 0 {
			*p = v
		}
	}
	def(&c.CodeDigits, 8)
	defd(&c.CodeTTL, 10*time.Minute)
	def(&c.MaxAttempts, 5)
	def(&c.RequestsPerWindow, 3)
	defd(&c.RequestWindow, 15*time.Minute)
	defd(&c.RequestGap, 30*time.Second)
	def(&c.NetBurst, 20)
	defd(&c.NetRefill, 30*time.Second)
	def(&c.NetTable, 1<<16)
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports the first unusable setting. Zero fields are valid: they
// take their defaults.
func (c Config) Validate() error {
	c.setDefaults()
	switch {
	case len(c.Secret) < MinSecretLen:
		return fmt.Errorf("auth config: secret is %d bytes, want at least %d", len(c.Secret), MinSecretLen)
	case c.CodeDigits < MinCodeDigits || c.CodeDigits > MaxCodeDigits:
		return fmt.Errorf("auth config: code digits %d, want %d to %d", c.CodeDigits, MinCodeDigits, MaxCodeDigits)
	case c.CodeTTL < time.Minute:
		return fmt.Errorf("auth config: code lifetime %s, want at least a minute", c.CodeTTL)
	case c.MaxAttempts < 1 || c.RequestsPerWindow < 1 || c.NetBurst < 1 || c.NetTable < 1:
		return errors.New("auth config: attempts, requests per window, net burst and net table must be positive")
	case c.RequestWindow < 0 || c.RequestGap < 0 || c.NetRefill <= 0:
		return errors.New("auth config: negative window, gap or refill")
	case c.RequestGap > c.CodeTTL:
		return fmt.Errorf("auth config: request gap %s longer than the code lifetime %s", c.RequestGap, c.CodeTTL)
	}
	return nil
}

// Service issues and verifies codes and finds accounts by address. It is
// safe for concurrent use; several Services (relays) may share one Store.
type Service struct {
	cfg     Config
	keys    keys
	store   Store
	senders Senders
	nets    *netLimiter
	log     *slog.Logger

	// locks serialise Request and Verify per address within this process
	// (by the first byte of the address hash), so that concurrent calls
	// for one address see each other's writes.
	locks [64]sync.Mutex
}

// New returns a Service over store, delivering codes through senders.
func New(cfg Config, store Store, senders Senders) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	if store == nil {
		return nil, errors.New("auth: no store")
	}
	if len(senders) == 0 {
		return nil, errors.New("auth: no senders")
	}
	ss := make(Senders, len(senders))
	for scheme, snd := range senders {
		switch scheme {
		case SchemeEmail, SchemeTel, SchemeIRC:
		default:
			return nil, fmt.Errorf("auth: sender for unknown scheme %q", scheme)
		}
		if snd == nil {
			return nil, fmt.Errorf("auth: nil sender for %s", scheme)
		}
		ss[scheme] = snd
	}
	k, err := deriveKeys(cfg.Secret)
	if err != nil {
		return nil, err
	}
	cfg.Secret = nil // only the derived keys are kept
	return &Service{
		cfg:     cfg,
		keys:    k,
		store:   store,
		senders: ss,
		nets:    newNetLimiter(cfg.NetBurst, cfg.NetRefill, cfg.NetTable),
		log:     cfg.Logger,
	}, nil
}

// HashAddress returns the keyed hash the directory knows a by.
func (s *Service) HashAddress(a Address) []byte { return s.keys.hashAddress(a) }

// NewCredential returns a fresh device credential and its hash; see the
// package-level NewCredential.
func (s *Service) NewCredential() (cred, hash []byte) { return NewCredential() }

// CheckCredential compares a credential with a stored hash in constant
// time; see the package-level CheckCredential.
func (s *Service) CheckCredential(cred, hash []byte) bool { return CheckCredential(cred, hash) }

func (s *Service) lock(addrHash []byte) *sync.Mutex { return &s.locks[addrHash[0]%byte(len(s.locks))] }

// tag is a short, stable, keyed pseudonym of an address for log lines, so
// that an operator can follow one address without seeing it.
func tag(addrHash []byte) string { return hex.EncodeToString(addrHash[:4]) }

// Request sends a code to the address a person typed. clientIP is the
// client's address (with or without a port) for the per-network limit.
//
// Errors: ErrBadAddress, ErrUnsupportedScheme, ErrRateLimited (a
// *RateLimitError), ErrDelivery; anything else is internal. The answer is
// the same whether or not the address has an account.
func (s *Service) Request(ctx context.Context, rawAddr, clientIP string) error {
	a, err := ParseAddress(rawAddr)
	if err != nil {
		return err
	}
	snd := s.senders[a.Scheme()]
	if snd == nil {
		return fmt.Errorf("%w: no sender for %s", ErrUnsupportedScheme, a.Scheme())
	}
	now := s.cfg.Now()
	if ok, wait := s.nets.allow(clientIP, now); !ok {
		return rateLimited("network", wait)
	}
	h := s.keys.hashAddress(a)
	code, err := s.issue(ctx, h, now)
	if err != nil {
		return err
	}
	if err := snd.Send(ctx, a, Message{Code: code, TTL: s.cfg.CodeTTL}); err != nil {
		// The code never arrived: drop it, so that the gap does not hold
		// back a retry. The request still counts against the window.
		if derr := s.store.DeleteCode(context.WithoutCancel(ctx), h); derr != nil && !errors.Is(derr, directory.ErrNotFound) {
			return fmt.Errorf("delete undelivered code: %w", derr)
		}
		s.log.Warn("auth: code delivery failed", "scheme", a.Scheme(), "addr", tag(h), "err", err)
		return ErrDelivery
	}
	s.log.Debug("auth: code sent", "scheme", a.Scheme(), "addr", tag(h))
	return nil
}

// issue applies the per-address limits and stores a fresh code for h.
func (s *Service) issue(ctx context.Context, h []byte, now time.Time) (string, error) {
	mu := s.lock(h)
	mu.Lock()
	defer mu.Unlock()
	switch c, err := s.store.GetCode(ctx, h); {
	case err == nil:
		if next := c.Expires.Add(-s.cfg.CodeTTL).Add(s.cfg.RequestGap); now.Before(next) {
			return "", rateLimited("address gap", next.Sub(now))
		}
	case !errors.Is(err, directory.ErrNotFound):
		return "", fmt.Errorf("get code: %w", err)
	}
	n, err := s.store.CountCodeRequest(ctx, h, now, s.cfg.RequestWindow)
	if err != nil {
		return "", fmt.Errorf("count code requests: %w", err)
	}
	if n > s.cfg.RequestsPerWindow {
		return "", rateLimited("address", s.cfg.RequestWindow)
	}
	code, err := newCode(s.cfg.CodeDigits)
	if err != nil {
		return "", err
	}
	c := directory.Code{Hash: s.keys.hashCode(h, code), Expires: now.Add(s.cfg.CodeTTL)}
	if err := s.store.PutCode(ctx, h, c); err != nil {
		return "", fmt.Errorf("store code: %w", err)
	}
	return code, nil
}

// Verify checks a code typed for an address and returns the address's
// account, creating it on first success (created says so). Spaces and
// hyphens in the code are ignored.
//
// Errors: ErrBadAddress, ErrUnsupportedScheme, ErrBadCode (also when no
// code is pending), ErrCodeExpired, ErrTooManyAttempts; anything else is
// internal.
func (s *Service) Verify(ctx context.Context, rawAddr, code string) (user wire.UserID, created bool, err error) {
	a, err := ParseAddress(rawAddr)
	if err != nil {
		return wire.UserID{}, false, err
	}
	digits, ok := normaliseCode(code, s.cfg.CodeDigits)
	if !ok {
		return wire.UserID{}, false, fmt.Errorf("%w: not %d digits", ErrBadCode, s.cfg.CodeDigits)
	}
	h := s.keys.hashAddress(a)
	if err := s.consume(ctx, h, digits); err != nil {
		return wire.UserID{}, false, err
	}
	user, created, err = s.store.CreateAccount(ctx, h, wire.NewUserID())
	if err != nil {
		return wire.UserID{}, false, fmt.Errorf("create account: %w", err)
	}
	if created {
		s.log.Info("auth: account created", "user", user.String(), "scheme", a.Scheme())
	}
	return user, created, nil
}

// consume checks code against the code pending for h and deletes it when
// it matches. The attempt is counted before the comparison, so no more
// than MaxAttempts guesses are ever compared against one code, however
// many arrive at once through however many relays.
func (s *Service) consume(ctx context.Context, h []byte, code string) error {
	mu := s.lock(h)
	mu.Lock()
	defer mu.Unlock()
	n, err := s.store.FailCode(ctx, h)
	if errors.Is(err, directory.ErrNotFound) {
		return errNoCode
	} else if err != nil {
		return fmt.Errorf("count attempt: %w", err)
	}
	c, err := s.store.GetCode(ctx, h)
	if errors.Is(err, directory.ErrNotFound) {
		return errNoCode
	} else if err != nil {
		return fmt.Errorf("get code: %w", err)
	}
	n = max(n, c.Attempts)
	switch {
	case !s.cfg.Now().Before(c.Expires):
		return s.discard(ctx, h, ErrCodeExpired)
	case n > s.cfg.MaxAttempts:
		return s.discard(ctx, h, ErrTooManyAttempts)
	}
	if !hmac.Equal(s.keys.hashCode(h, code), c.Hash) {
		if n >= s.cfg.MaxAttempts {
			return s.discard(ctx, h, ErrTooManyAttempts)
		}
		return ErrBadCode
	}
	if err := s.store.DeleteCode(ctx, h); errors.Is(err, directory.ErrNotFound) {
		return errNoCode // another relay consumed it first
	} else if err != nil {
		return fmt.Errorf("consume code: %w", err)
	}
	return nil
}

// discard deletes the code for h and returns why, or the deletion's error.
func (s *Service) discard(ctx context.Context, h []byte, why error) error {
	if err := s.store.DeleteCode(ctx, h); err != nil && !errors.Is(err, directory.ErrNotFound) {
		return fmt.Errorf("delete code: %w", err)
	}
	return why
}

// Lookup returns the account registered under an address, for adding a
// contact. Errors: ErrBadAddress, ErrUnsupportedScheme, an error wrapping
// directory.ErrNotFound when there is no account; anything else is
// internal.
func (s *Service) Lookup(ctx context.Context, rawAddr string) (wire.UserID, error) {
	a, err := ParseAddress(rawAddr)
	if err != nil {
		return wire.UserID{}, err
	}
	u, err := s.store.Account(ctx, s.keys.hashAddress(a))
	if err != nil {
		return wire.UserID{}, fmt.Errorf("look up account: %w", err)
	}
	return u, nil
}
