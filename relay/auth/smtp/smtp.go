// Package smtp delivers authentication codes by mail through an SMTP
// submission server (RFC 6409), with github.com/emersion/go-smtp.
//
// Each Send opens one connection: TLS (STARTTLS, refused if the server
// does not offer it, or implicit TLS), EHLO, AUTH (PLAIN or LOGIN), one
// MAIL/RCPT/DATA transaction, QUIT. Every network operation has a deadline
// and the whole Send honours its context.
//
// Errors wrap auth.ErrDelivery and say at which step and with which reply
// code delivery failed, never with the server's reply text: servers echo
// the recipient address there, and errors end up in logs.
package smtp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"strconv"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/mutualcoop/mutual/relay/auth"
)

// Sender delivers codes to email addresses. It is safe for concurrent use.
type Sender struct {
	cfg  Config
	from *mail.Address
	addr string // host:port
}

var _ auth.Sender = (*Sender)(nil)

// New returns a Sender. It does not connect: a wrong configuration shows
// at the first Send.
func New(cfg Config) (*Sender, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	return &Sender{
		cfg:  cfg,
		from: &mail.Address{Name: cfg.FromName, Address: cfg.From},
		addr: net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)),
	}, nil
}

// Send mails the code to an email address.
func (s *Sender) Send(ctx context.Context, to auth.Address, m auth.Message) error {
	if to.Scheme() != auth.SchemeEmail {
		return fmt.Errorf("%w: smtp cannot deliver to %s addresses", auth.ErrDelivery, to.Scheme())
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.SendTimeout)
	defer cancel()
	msg := buildMessage(s.from, to.Target(), m, time.Now())
	if err := s.send(ctx, to.Target(), msg); err != nil {
		cerr := ctx.Err()
		if d, ok := ctx.Deadline(); ok && cerr == nil && !time.Now().Before(d) {
			// The socket deadline, clamped to the context's, fired
			// before the context noticed.
			cerr = context.DeadlineExceeded
		}
		if cerr != nil {
			// The context ended the exchange: say so.
			return fmt.Errorf("%w: %w: %w", auth.ErrDelivery, cerr, err)
		}
		return fmt.Errorf("%w: %w", auth.ErrDelivery, err)
	}
	return nil
}

func (s *Sender) send(ctx context.Context, rcpt string, msg []byte) (err error) {
	c, err := s.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()

	if s.cfg.Username != "" {
		if err := c.Auth(s.mechanism(c)); err != nil {
			return step("auth", err)
		}
	}
	if err := c.Mail(s.cfg.From, nil); err != nil {
		return step("mail from", err)
	}
	if err := c.Rcpt(rcpt, nil); err != nil {
		return step("rcpt to", err)
	}
	w, err := c.Data()
	if err != nil {
		return step("data", err)
	}
	if _, err := w.Write(msg); err != nil {
		w.Close()
		return step("data", err)
	}
	if err := w.Close(); err != nil {
		return step("end of data", err)
	}
	// The message is accepted: a failing QUIT changes nothing.
	c.Quit()
	return nil
}

// dial connects, protects the connection as configured and says EHLO.
func (s *Sender) dial(ctx context.Context) (*gosmtp.Client, error) {
	d := net.Dialer{Timeout: s.cfg.DialTimeout}
	raw, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return nil, step("connect", err)
	}
	conn := newDeadlineConn(ctx, raw, s.cfg.CommandTimeout)
	tlsConf := &tls.Config{ServerName: s.cfg.Host, RootCAs: s.cfg.RootCAs, MinVersion: tls.VersionTLS12}

	var c *gosmtp.Client
	switch s.cfg.TLS {
	case ImplicitTLS:
		tc := tls.Client(conn, tlsConf)
		hctx, cancel := context.WithTimeout(ctx, s.cfg.DialTimeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			conn.Close()
			return nil, step("tls handshake", err)
		}
		c = gosmtp.NewClient(tc)
	case StartTLS:
		// NewClientStartTLS says EHLO (as "localhost"), requires the
		// STARTTLS extension and upgrades; Hello below then introduces us
		// properly over TLS.
		c, err = gosmtp.NewClientStartTLS(conn, tlsConf)
		if err != nil {
			conn.Close()
			return nil, step("starttls", err)
		}
	default:
		c = gosmtp.NewClient(conn)
	}
	c.CommandTimeout = s.cfg.CommandTimeout
	c.SubmissionTimeout = s.cfg.CommandTimeout
	if err := c.Hello(s.cfg.HeloName); err != nil {
		c.Close()
		if s.cfg.TLS == StartTLS {
			// The STARTTLS handshake runs with this first command.
			return nil, step("starttls handshake", err)
		}
		return nil, step("ehlo", err)
	}
	if _, ok := c.TLSConnectionState(); !ok && s.cfg.TLS != NoTLS {
		c.Close()
		return nil, errors.New("smtp ehlo: connection is not encrypted")
	}
	return c, nil
}

// mechanism returns the SASL client to authenticate with.
func (s *Sender) mechanism(c *gosmtp.Client) sasl.Client {
	mech := s.cfg.Mechanism
	if mech == "" {
		mech = "PLAIN"
		if !c.SupportsAuth("PLAIN") && c.SupportsAuth("LOGIN") {
			mech = "LOGIN"
		}
	}
	if mech == "LOGIN" {
		return sasl.NewLoginClient(s.cfg.Username, s.cfg.Password)
	}
	return sasl.NewPlainClient("", s.cfg.Username, s.cfg.Password)
}

// step names the failed step. A server's reply keeps only its codes: its
// text may quote the recipient.
func step(name string, err error) error {
	var se *gosmtp.SMTPError
	if errors.As(err, &se) {
		e := se.EnhancedCode
		if e == gosmtp.NoEnhancedCode || e == (gosmtp.EnhancedCode{}) {
			return fmt.Errorf("smtp %s: server replied %d", name, se.Code)
		}
		return fmt.Errorf("smtp %s: server replied %d %d.%d.%d", name, se.Code, e[0], e[1], e[2])
	}
	return fmt.Errorf("smtp %s: %w", name, err)
}

// deadlineConn bounds every read and write of a connection: go-smtp sets
// a deadline per command and clears it afterwards; here no deadline is
// ever later than now+limit nor than the context's deadline, and the
// connection is closed when the context ends.
type deadlineConn struct {
	net.Conn
	limit time.Duration
	hard  time.Time // the context's deadline, or zero
	stop  func() bool
	once  sync.Once
}

func newDeadlineConn(ctx context.Context, c net.Conn, limit time.Duration) *deadlineConn {
	dc := &deadlineConn{Conn: c, limit: limit}
	dc.hard, _ = ctx.Deadline()
	dc.stop = context.AfterFunc(ctx, func() { c.Close() })
	dc.SetDeadline(time.Time{})
	return dc
}

func (c *deadlineConn) clamp(t time.Time) time.Time {
	lim := time.Now().Add(c.limit)
	if t.IsZero() || t.After(lim) {
		t = lim
	}
	if !c.hard.IsZero() && t.After(c.hard) {
		t = c.hard
	}
	return t
}

func (c *deadlineConn) SetDeadline(t time.Time) error     { return c.Conn.SetDeadline(c.clamp(t)) }
func (c *deadlineConn) SetReadDeadline(t time.Time) error { return c.Conn.SetReadDeadline(c.clamp(t)) }
func (c *deadlineConn) SetWriteDeadline(t time.Time) error {
	return c.Conn.SetWriteDeadline(c.clamp(t))
}

func (c *deadlineConn) Close() error {
	c.once.Do(func() { c.stop() })
	return c.Conn.Close()
}
