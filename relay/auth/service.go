package auth

import (
	"context"
	"crypto/hmac"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/limit"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Store is what the Service needs of the directory. Every key is an address
// hash from HashAddress, or for code requests the hash of an address and a
// client network; *sqlite.Directory and *postgres.Directory satisfy it.
type Store interface {
	// Account returns the user registered under addrHash, or an error
	// wrapping directory.ErrNotFound.
	Account(ctx context.Context, addrHash []byte) (wire.UserID, error)
	// CreateAccount returns the user for addrHash, creating it with id if
	// there is none.
	CreateAccount(ctx context.Context, addrHash []byte, id wire.UserID) (user wire.UserID, created bool, err error)
	// MoveAccount returns the user for addrHash, first moving the account
	// registered under from there if addrHash has none; an error wrapping
	// directory.ErrNotFound when neither has one.
	MoveAccount(ctx context.Context, from, addrHash []byte) (wire.UserID, error)
	// PutCode stores a pending code for addrHash under c.Token.
	PutCode(ctx context.Context, addrHash []byte, c directory.Code) error
	// GetCode returns the code pending for addrHash under token, or
	// directory.ErrNotFound.
	GetCode(ctx context.Context, addrHash, token []byte) (directory.Code, error)
	// FailCode atomically adds one to the attempt count of the code
	// pending for addrHash under token and returns the new count, or
	// directory.ErrNotFound. The Service counts every attempt before
	// comparing, so the count bounds the guesses compared against a code
	// even with several relays on one directory.
	FailCode(ctx context.Context, addrHash, token []byte) (attempts int, err error)
	// DeleteCode removes the code pending for addrHash under token. An
	// implementation that returns directory.ErrNotFound when there was
	// none makes a code single-use across relays too; within one Service
	// it is single-use either way.
	DeleteCode(ctx context.Context, addrHash, token []byte) error
	// CountCodeRequest records a request at now under key and returns how
	// many were recorded in (now-window, now], this one included.
	CountCodeRequest(ctx context.Context, key []byte, now time.Time, window time.Duration) (int, error)
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

	// CodeDigits is the code length, 6 to 8; default wire.CodeDigits (8),
	// the length clients hint. With the limits below at most AddressRequestsPerWindow*MaxAttempts = 30 guesses are
	// compared per address per 15 minutes, 2,880 a day, however many
	// networks the attacker has, while the victim receives 576 mails a
	// day. Against 10^8 codes that succeeds with probability 2.9e-5 a day
	// (1% a year of nonstop attack); against 10^6 it would be 0.29% a day.
	// Two more digits to type is the cheaper price.
	CodeDigits int
	// CodeTTL is how long a code stays valid; default 10 minutes.
	CodeTTL time.Duration
	// MaxAttempts is how many guesses are compared against one code before
	// it is deleted; default 5. Only a Verify that presents the token of
	// the request that issued the code can try it.
	MaxAttempts int

	// RequestsPerWindow codes may be requested for one address from one
	// client network per RequestWindow; defaults 3 per 15 minutes.
	// Requests refused for this limit still count, so a client that keeps
	// asking stays refused until it waits a whole window (the wait it is
	// told); other networks asking for the same address are not affected.
	RequestsPerWindow int
	RequestWindow     time.Duration
	// AddressRequestsPerWindow codes may be requested for one address per
	// RequestWindow from all networks together; default 6, twice
	// RequestsPerWindow, so that one stranger's network cannot use up the
	// owner's share. Only requests that passed the per-network limit count.
	AddressRequestsPerWindow int
	// RequestGap is the least time between two code requests for one
	// address from one network, delivered or not; default 30 seconds.
	// Requests refused for the gap are not counted.
	RequestGap time.Duration

	// NetBurst code requests may come at once from one client network (an
	// IPv4 address or an IPv6 /64, see limit.Network), then one per
	// NetRefill; defaults 20 and 30 seconds (120 an hour: room for a
	// school or an office behind one NAT).
	NetBurst  int
	NetRefill time.Duration
	// VerifyNetBurst verifications may come at once from one client
	// network, then one per VerifyNetRefill; defaults 30 and 10 seconds
	// (360 an hour). Every Verify counts, right or wrong.
	VerifyNetBurst  int
	VerifyNetRefill time.Duration

	// Limits keeps the per-network limits and the gap. Every relay of a
	// cluster should share one (the directory's, in cluster mode); nil
	// keeps them in this process's memory, in a limit.Memory of NetTable
	// keys; default 65,536.
	Limits   limit.Store
	NetTable int

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
	def(&c.CodeDigits, wire.CodeDigits)
	defd(&c.CodeTTL, 10*time.Minute)
	def(&c.MaxAttempts, 5)
	def(&c.RequestsPerWindow, 3)
	defd(&c.RequestWindow, 15*time.Minute)
	def(&c.AddressRequestsPerWindow, 2*c.RequestsPerWindow)
	defd(&c.RequestGap, 30*time.Second)
	def(&c.NetBurst, 20)
	defd(&c.NetRefill, 30*time.Second)
	def(&c.VerifyNetBurst, 30)
	defd(&c.VerifyNetRefill, 10*time.Second)
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
	case c.MaxAttempts < 1 || c.RequestsPerWindow < 1 || c.AddressRequestsPerWindow < 1 ||
		c.NetBurst < 1 || c.VerifyNetBurst < 1 || c.NetTable < 1:
		return errors.New("auth config: attempts, requests per window, bursts and net table must be positive")
	case c.RequestWindow <= 0 || c.RequestGap < 0 || c.NetRefill <= 0 || c.VerifyNetRefill <= 0:
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
	limits  limit.Store
	log     *slog.Logger

	// locks serialise Verify per address within this process (by the
	// first byte of the address hash), so that concurrent calls for one
	// address see each other's writes.
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
	limits := cfg.Limits
	if limits == nil {
		limits = limit.NewMemory(cfg.NetTable)
	}
	return &Service{
		cfg:     cfg,
		keys:    k,
		store:   store,
		senders: ss,
		limits:  limits,
		log:     cfg.Logger,
	}, nil
}

// HashAddress returns the keyed hash the directory knows a by: that of its
// folded form, so that every spelling of one mailbox has one hash.
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

// take charges one unit to key in the limit store, or says why not.
func (s *Service) take(ctx context.Context, key string, r limit.Rate, now time.Time, why string) error {
	ok, wait, err := s.limits.Take(ctx, key, r, 1, now)
	if err != nil {
		return fmt.Errorf("rate limit: %w", err)
	}
	if !ok {
		return rateLimited(why, wait)
	}
	return nil
}

// Request sends a code to the address a person typed and returns the
// token the code is bound to: only a Verify that presents it can try the
// code, so that a stranger can neither guess at nor use up a code someone
// else asked for. clientIP is the client's address (with or without a
// port) for the per-network limits.
//
// Errors: ErrBadAddress, ErrUnsupportedScheme, ErrRateLimited (a
// *RateLimitError), ErrDelivery; anything else is internal. The answer is
// the same whether or not the address has an account.
func (s *Service) Request(ctx context.Context, rawAddr, clientIP string) (token []byte, err error) {
	a, err := ParseAddress(rawAddr)
	if err != nil {
		return nil, err
	}
	snd := s.senders[a.Scheme()]
	if snd == nil {
		return nil, fmt.Errorf("%w: no sender for %s", ErrUnsupportedScheme, a.Scheme())
	}
	now := s.cfg.Now()
	netw := limit.Network(clientIP)
	if err := s.take(ctx, "code/net/"+netw.String(), limit.Rate{Every: s.cfg.NetRefill, Burst: int64(s.cfg.NetBurst)}, now, "network"); err != nil {
		return nil, err
	}
	h := s.keys.hashAddress(a)
	token, code, err := s.issue(ctx, h, netw, now)
	if err != nil {
		return nil, err
	}
	if err := snd.Send(ctx, a, Message{Code: code, TTL: s.cfg.CodeTTL}); err != nil {
		// The code never arrived: drop it. The request still counts
		// against the window.
		if derr := s.store.DeleteCode(context.WithoutCancel(ctx), h, hashToken(token)); derr != nil && !errors.Is(derr, directory.ErrNotFound) {
			return nil, fmt.Errorf("delete undelivered code: %w", derr)
		}
		s.log.Warn("auth: code delivery failed", "scheme", a.Scheme(), "addr", tag(h), "err", err)
		return nil, ErrDelivery
	}
	s.log.Debug("auth: code sent", "scheme", a.Scheme(), "addr", tag(h))
	return token, nil
}

// issue applies the per-address limits to a request for h from netw and
// stores a fresh code under a fresh token.
func (s *Service) issue(ctx context.Context, h []byte, netw netip.Prefix, now time.Time) (token []byte, code string, err error) {
	hn := s.keys.hashAddressNet(h, netw)
	gap := limit.Rate{Every: s.cfg.RequestGap, Burst: 1}
	if err := s.take(ctx, "code/addrnet/"+hex.EncodeToString(hn), gap, now, "address gap"); err != nil {
		return nil, "", err
	}
	// Per address and network first, refusals included: a network that
	// keeps asking is refused without touching the address's own count.
	n, err := s.store.CountCodeRequest(ctx, hn, now, s.cfg.RequestWindow)
	if err != nil {
		return nil, "", fmt.Errorf("count code requests: %w", err)
	}
	if n > s.cfg.RequestsPerWindow {
		return nil, "", rateLimited("address and network", s.cfg.RequestWindow)
	}
	if n, err = s.store.CountCodeRequest(ctx, h, now, s.cfg.RequestWindow); err != nil {
		return nil, "", fmt.Errorf("count code requests: %w", err)
	}
	if n > s.cfg.AddressRequestsPerWindow {
		return nil, "", rateLimited("address", s.cfg.RequestWindow)
	}
	if code, err = newCode(s.cfg.CodeDigits); err != nil {
		return nil, "", err
	}
	token = newToken()
	c := directory.Code{Token: hashToken(token), Hash: s.keys.hashCode(h, code), Expires: now.Add(s.cfg.CodeTTL)}
	if err := s.store.PutCode(ctx, h, c); err != nil {
		return nil, "", fmt.Errorf("store code: %w", err)
	}
	return token, code, nil
}

// Verify checks a code typed for an address, with the token that Request
// returned for it, and returns the address's account, creating it on
// first success (created says so). Spaces and hyphens in the code are
// ignored. clientIP is the client's address for the per-network limit,
// which every call counts against.
//
// A wrong or missing token is answered as a wrong code and touches no
// code: only the person who asked for a code can spend its attempts.
//
// Errors: ErrRateLimited, ErrBadAddress, ErrUnsupportedScheme, ErrBadCode
// (also when no code is pending under the token), ErrCodeExpired,
// ErrTooManyAttempts; anything else is internal.
func (s *Service) Verify(ctx context.Context, rawAddr, code string, token []byte, clientIP string) (user wire.UserID, created bool, err error) {
	now := s.cfg.Now()
	verifyRate := limit.Rate{Every: s.cfg.VerifyNetRefill, Burst: int64(s.cfg.VerifyNetBurst)}
	if err := s.take(ctx, "verify/net/"+limit.Network(clientIP).String(), verifyRate, now, "network"); err != nil {
		return wire.UserID{}, false, err
	}
	a, err := ParseAddress(rawAddr)
	if err != nil {
		return wire.UserID{}, false, err
	}
	digits, ok := normaliseCode(code, s.cfg.CodeDigits)
	if !ok {
		return wire.UserID{}, false, fmt.Errorf("%w: not %d digits", ErrBadCode, s.cfg.CodeDigits)
	}
	if len(token) != TokenLen {
		return wire.UserID{}, false, errNoCode
	}
	h := s.keys.hashAddress(a)
	if err := s.consume(ctx, h, hashToken(token), digits); err != nil {
		return wire.UserID{}, false, err
	}
	user, created, err = s.account(ctx, a, h)
	if err != nil {
		return wire.UserID{}, false, err
	}
	if created {
		s.log.Info("auth: account created", "user", user.String(), "scheme", a.Scheme())
	}
	return user, created, nil
}

// consume checks code against the code pending for h under token th and
// deletes it when it matches. The attempt is counted before the
// comparison, so no more than MaxAttempts guesses are ever compared
// against one code, however many arrive at once through however many
// relays.
func (s *Service) consume(ctx context.Context, h, th []byte, code string) error {
	mu := s.lock(h)
	mu.Lock()
	defer mu.Unlock()
	n, err := s.store.FailCode(ctx, h, th)
	if errors.Is(err, directory.ErrNotFound) {
		return errNoCode
	} else if err != nil {
		return fmt.Errorf("count attempt: %w", err)
	}
	c, err := s.store.GetCode(ctx, h, th)
	if errors.Is(err, directory.ErrNotFound) {
		return errNoCode
	} else if err != nil {
		return fmt.Errorf("get code: %w", err)
	}
	n = max(n, c.Attempts)
	switch {
	case !s.cfg.Now().Before(c.Expires):
		return s.discard(ctx, h, th, ErrCodeExpired)
	case n > s.cfg.MaxAttempts:
		return s.discard(ctx, h, th, ErrTooManyAttempts)
	}
	if !hmac.Equal(s.keys.hashCode(h, code), c.Hash) {
		if n >= s.cfg.MaxAttempts {
			return s.discard(ctx, h, th, ErrTooManyAttempts)
		}
		return ErrBadCode
	}
	if err := s.store.DeleteCode(ctx, h, th); errors.Is(err, directory.ErrNotFound) {
		return errNoCode // another relay consumed it first
	} else if err != nil {
		return fmt.Errorf("consume code: %w", err)
	}
	return nil
}

// discard deletes the code for h under th and returns why, or the
// deletion's error.
func (s *Service) discard(ctx context.Context, h, th []byte, why error) error {
	if err := s.store.DeleteCode(ctx, h, th); err != nil && !errors.Is(err, directory.ErrNotFound) {
		return fmt.Errorf("delete code: %w", err)
	}
	return why
}

// account returns the account of a, whose hash is h, creating it if there
// is none. An account made before addresses were folded is stored under
// the hash of the address as it was typed then; found under the spelling
// typed now, it is moved to h (see found).
func (s *Service) account(ctx context.Context, a Address, h []byte) (wire.UserID, bool, error) {
	switch u, err := s.found(ctx, a, h); {
	case err == nil:
		return u, false, nil
	case !errors.Is(err, directory.ErrNotFound):
		return wire.UserID{}, false, err
	}
	user, created, err := s.store.CreateAccount(ctx, h, wire.NewUserID())
	if err != nil {
		return wire.UserID{}, false, fmt.Errorf("create account: %w", err)
	}
	return user, created, nil
}

// found returns the account registered under h, the folded form of a.
// Failing that, it looks for one under the hash of a as typed (the key
// before addresses were folded) and moves it to h, so that from then on
// every spelling finds it. When two such accounts differ only in the case
// of the local part, the first one reached is moved and the other stays
// under its old key: its devices keep signing in with their credentials,
// but no address leads to it any more.
func (s *Service) found(ctx context.Context, a Address, h []byte) (wire.UserID, error) {
	var (
		u   wire.UserID
		err error
	)
	if legacy := s.keys.hashLegacy(a); hmac.Equal(legacy, h) {
		u, err = s.store.Account(ctx, h)
	} else {
		u, err = s.store.MoveAccount(ctx, legacy, h)
	}
	if err != nil {
		return wire.UserID{}, fmt.Errorf("look up account: %w", err)
	}
	return u, nil
}

// Lookup returns the account registered under an address, for adding a
// contact; every spelling of the local part finds it. Errors:
// ErrBadAddress, ErrUnsupportedScheme, an error wrapping
// directory.ErrNotFound when there is no account; anything else is
// internal.
func (s *Service) Lookup(ctx context.Context, rawAddr string) (wire.UserID, error) {
	a, err := ParseAddress(rawAddr)
	if err != nil {
		return wire.UserID{}, err
	}
	return s.found(ctx, a, s.keys.hashAddress(a))
}
