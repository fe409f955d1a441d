package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/crypto/pqxdh"
	"github.com/mutualcoop/mutual/crypto/ratchet"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Client is one device of a Mutual account: its keys, sessions, contacts
// and messages in a store.Store, and (while Run runs) its connection to
// the relay. Its methods may be called from any goroutine.
type Client struct {
	cfg   Config
	st    store.Store
	log   *slog.Logger
	clock func() time.Time
	// ratchetKeys keeps ratchet private keys ready for the session
	// Managers of successive transactions (see txState.sessions).
	ratchetKeys *ratchet.KeyCache

	self atomic.Pointer[self] // nil until registered
	// heldUntil is until when the relay holds this device (Unix ms, 0:
	// not held; pending.go).
	heldUntil atomic.Int64

	// regMu serialises Verify.
	regMu sync.Mutex
	// historyMu serialises ReadHistory, whose staging area is one.
	historyMu sync.Mutex

	mu      sync.Mutex
	closed  bool
	running bool
	stopRun context.CancelFunc
	runDone chan struct{}
	conn    *transport.Conn // the authenticated connection, while there is one
	ready   chan struct{}   // closed when conn is set; replaced when it ends

	// wake asks the connection's worker to look at the outbox again.
	wake chan struct{}
	// tr tracks attachments' transfers (transfers.go).
	tr transfers
	// bk runs one backup at a time and wakes the daily one (backup.go).
	bk backups
	// push serialises sending the push subscription (push.go).
	push pushSync

	evMu     sync.Mutex
	events   chan Event
	evClosed bool

	// afterStore, set by tests only, runs after a batch of deliveries is
	// stored and before it is acknowledged.
	afterStore func(*transport.Conn)
	// afterAck, set by tests only, runs after an Ack is sent, with its
	// offset.
	afterAck func(offset int64)
	// afterLookup, set by tests only, runs after each Lookup of an
	// address a contact gave, with the relay's answer.
	afterLookup func(err error)
	// beforeSend, set by tests only, runs before each Send of an outbox
	// entry goes to the relay, with it.
	beforeSend func(*wire.Send)
}

// self is the registered device: what never changes once Verify stored it.
type self struct {
	User       wire.UserID
	Device     wire.DeviceID
	Credential []byte
	Address    string
	Identity   pqxdh.Identity
}

func (c *Client) me() *self { return c.self.Load() }

func (c *Client) localIdentity() (pqxdh.Identity, bool) {
	s := c.me()
	if s == nil {
		return pqxdh.Identity{}, false
	}
	return s.Identity, true
}

// Open returns the client of the device whose data is in st (which may be
// empty: then Register and Verify). The caller keeps ownership of st and
// closes it after Close.
func Open(ctx context.Context, st store.Store, cfg Config) (*Client, error) {
	if st == nil {
		return nil, errors.New("client: nil store")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	c := &Client{
		cfg:    cfg,
		st:     st,
		log:    cfg.Logger,
		clock:  cfg.Now,
		ready:  make(chan struct{}),
		wake:   make(chan struct{}, 1),
		events: make(chan Event, cfg.EventBuffer),
		bk:     newBackups(),

		ratchetKeys: ratchet.NewKeyCache(keyCacheSize),
	}
	layout := uint32(currentLayout)
	err := st.View(ctx, func(tx store.Tx) error {
		acct, err := getAccount(tx)
		if acct == nil || err != nil {
			return err
		}
		layout = acct.Layout
		b, err := tx.Get(bAccount, kIdentity)
		if err != nil {
			return fmt.Errorf("identity: %w", err)
		}
		id, err := pqxdh.ParseIdentity(b)
		if err != nil {
			return err
		}
		c.self.Store(&self{User: acct.User, Device: acct.Device, Credential: acct.Credential, Address: acct.Address, Identity: id})
		return nil
	})
	if err == nil && layout < currentLayout {
		err = c.upgrade(ctx)
	}
	if err == nil {
		err = c.loadHeld(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("client: open: %w", err)
	}
	return c, nil
}

// Close stops Run (waiting for it to return) and closes the Events
// channel. It does not close the store.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	stop, done := c.stopRun, c.runDone
	c.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
	c.evMu.Lock()
	c.evClosed = true
	close(c.events)
	c.evMu.Unlock()
	return nil
}

// Account returns the registered device, or ErrNotRegistered.
func (c *Client) Account() (Account, error) {
	s := c.me()
	if s == nil {
		return Account{}, ErrNotRegistered
	}
	return Account{User: s.User, Device: s.Device, Address: s.Address}, nil
}

// Conversation returns the ID of the 1:1 conversation with peer.
func (c *Client) Conversation(peer wire.UserID) (wire.ConversationID, error) {
	s := c.me()
	if s == nil {
		return wire.ConversationID{}, ErrNotRegistered
	}
	return DirectConversation(s.User, peer), nil
}

func (c *Client) now() time.Time { return c.clock() }

// poke wakes the connection's worker.
func (c *Client) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// registered returns the device or ErrNotRegistered.
func (c *Client) registered() (*self, error) {
	s := c.me()
	if s == nil {
		return nil, ErrNotRegistered
	}
	return s, nil
}

func getAccount(tx store.Tx) (*accountRecord, error) {
	b, err := tx.Get(bAccount, kAccount)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return parseAccount(b)
}

func mustAccount(tx store.Tx) (*accountRecord, error) {
	a, err := getAccount(tx)
	if err == nil && a == nil {
		err = ErrNotRegistered
	}
	return a, err
}

func putAccount(tx store.Tx, a *accountRecord) error {
	return tx.Put(bAccount, kAccount, a.marshal())
}

func getContact(tx store.Tx, me, u wire.UserID) (*Contact, error) {
	b, err := tx.Get(bContacts, u[:])
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return parseContact(b, me)
}

// putContact stores ct (setting its Conversation) with the copy in its
// conversation's summary, and notes the change for a ContactChanged
// event.
func (c *Client) putContact(ts *txState, ct *Contact) error {
	ct.Conversation = DirectConversation(c.me().User, ct.User)
	if err := ts.tx.Put(bContacts, ct.User[:], ct.marshal()); err != nil {
		return err
	}
	if err := indexClaim(ts, ct); err != nil {
		return err
	}
	chat, err := c.chatFor(ts.tx, ct.Conversation, ct.User)
	if err != nil {
		return err
	}
	cp := *ct
	chat.Contact = &cp
	ts.contactChanged(ct.User)
	return putChat(ts.tx, ct.Conversation, chat)
}

// deleteContact forgets user as a contact. The conversation's summary
// stays (without the contact) with its messages.
func (c *Client) deleteContact(ts *txState, user wire.UserID) error {
	if err := ts.tx.Delete(bContacts, user[:]); err != nil {
		return err
	}
	if err := ts.tx.Delete(bClaims, user[:]); err != nil {
		return err
	}
	conv := DirectConversation(c.me().User, user)
	chat, err := c.loadChat(ts.tx, conv)
	if chat == nil || err != nil {
		return err
	}
	chat.Contact = nil
	ts.contactChanged(user)
	return putChat(ts.tx, conv, chat)
}

// nextOutboxSeq returns the next outbox sequence number.
func nextOutboxSeq(tx store.Tx) (uint64, error) {
	a, err := mustAccount(tx)
	if err != nil {
		return 0, err
	}
	a.OutboxSeq++
	return a.OutboxSeq, putAccount(tx, a)
}
