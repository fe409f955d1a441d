// Package smtpcatch runs a real SMTP submission server on the loopback
// interface that keeps the mail it receives in memory, so that tests and
// the load generator (`mutual bench`) can catch authentication codes.
//
// The server requires authentication (PLAIN and LOGIN, checked against
// Server.Username and Server.Password) and TLS: STARTTLS by default, or TLS
// from the first byte (ImplicitTLS), under a self-signed ECDSA P-256
// certificate for 127.0.0.1, ::1 and localhost made at start; RootCAs gives
// the pool that trusts it, CertificatePEM the certificate for a program
// that trusts a file. Plaintext mode, for testing a client's loopback
// mode, allows authentication without TLS.
//
// New starts a server, which serves until Close. Start wraps it for tests
// and closes the server at cleanup; it takes any TB, such as a
// *testing.T, so that the package does not link the testing package into
// the programs that use it.
package smtpcatch

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
	"golang.org/x/net/idna"
)

// Mode says how the server offers TLS.
type Mode int

const (
	// STARTTLS: plain TCP, upgraded with STARTTLS before AUTH (port 587
	// style).
	STARTTLS Mode = iota
	// ImplicitTLS: TLS from the first byte (port 465 style, RFC 8314).
	ImplicitTLS
	// Plaintext: no TLS at all; AUTH is allowed in the clear.
	Plaintext
)

func (m Mode) String() string {
	switch m {
	case STARTTLS:
		return "starttls"
	case ImplicitTLS:
		return "implicit-tls"
	case Plaintext:
		return "plaintext"
	}
	return fmt.Sprintf("mode(%d)", int(m))
}

// Options configure a Server. The zero value is a STARTTLS server that
// accepts PLAIN and LOGIN for a random password.
type Options struct {
	Mode Mode
	// Username and Password the server accepts; defaults "mutual" and 32
	// random hex digits.
	Username, Password string
	// Mechanisms offered, from "PLAIN" and "LOGIN"; default both.
	Mechanisms []string
	// Reject, when set, refuses recipients it returns true for with a 550
	// reply that quotes the address, as many real servers do.
	Reject func(rcpt string) bool
	// StallData makes the server never answer the end of DATA until Close:
	// a hung server, for testing client deadlines.
	StallData bool
	// ErrorLog receives the server's internal errors; default discards.
	ErrorLog io.Writer
}

// Message is one mail received.
type Message struct {
	From     string   // envelope sender
	To       []string // envelope recipients
	Data     []byte   // the message as received (RFC 5322, CRLF line ends)
	User     string   // the authenticated user
	TLS      bool     // whether it came over TLS
	Received time.Time
}

// Parse parses the message's header and body.
func (m Message) Parse() (*mail.Message, error) {
	return mail.ReadMessage(bytes.NewReader(m.Data))
}

// Text returns the decoded body of a single-part text message.
func (m Message) Text() (string, error) {
	pm, err := m.Parse()
	if err != nil {
		return "", err
	}
	var r io.Reader = pm.Body
	if strings.EqualFold(pm.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		r = quotedprintable.NewReader(r)
	}
	b, err := io.ReadAll(r)
	return string(b), err
}

// Server is a running SMTP server. Its methods are safe for concurrent use.
type Server struct {
	// Username and Password are the credentials the server accepts.
	Username, Password string

	opts  Options
	mechs []string
	pool  *x509.CertPool
	cert  *x509.Certificate
	addr  *net.TCPAddr
	srv   *gosmtp.Server
	ln    *trackingListener

	mu      sync.Mutex
	msgs    []Message
	byRcpt  map[string][]int // recipient key -> indexes into msgs
	seen    map[string]int   // recipient key -> 1 + index WaitCode last returned
	changed chan struct{}    // closed and replaced when a message arrives

	stop      chan struct{} // closed by Close: releases stalled sessions
	stalled   chan struct{} // closed when a session first stalls in DATA
	stallOnce sync.Once
	serveDone chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// New starts a server on 127.0.0.1 at a free port.
func New(opts Options) (*Server, error) {
	if opts.Username == "" {
		opts.Username = "mutual"
	}
	if opts.Password == "" {
		b := make([]byte, 16)
		rand.Read(b)
		opts.Password = hex.EncodeToString(b)
	}
	mechs := opts.Mechanisms
	if len(mechs) == 0 {
		mechs = []string{sasl.Plain, sasl.Login}
	}
	for _, m := range mechs {
		if m != sasl.Plain && m != sasl.Login {
			return nil, fmt.Errorf("smtpcatch: unknown mechanism %q", m)
		}
	}
	cert, pool, err := selfSigned()
	if err != nil {
		return nil, err
	}
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("smtpcatch: listen: %w", err)
	}
	s := &Server{
		Username:  opts.Username,
		Password:  opts.Password,
		opts:      opts,
		mechs:     mechs,
		pool:      pool,
		cert:      cert.Leaf,
		addr:      tcp.Addr().(*net.TCPAddr),
		ln:        &trackingListener{Listener: tcp, conns: make(map[net.Conn]struct{})},
		byRcpt:    make(map[string][]int),
		seen:      make(map[string]int),
		changed:   make(chan struct{}),
		stop:      make(chan struct{}),
		stalled:   make(chan struct{}),
		serveDone: make(chan struct{}),
	}
	srv := gosmtp.NewServer(gosmtp.BackendFunc(s.newSession))
	srv.Domain = "localhost"
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	srv.MaxMessageBytes = 1 << 20
	srv.MaxRecipients = 50
	errLog := opts.ErrorLog
	if errLog == nil {
		errLog = io.Discard
	}
	srv.ErrorLog = log.New(errLog, "smtpcatch: ", 0)
	tlsConf := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	var ln net.Listener = s.ln
	switch opts.Mode {
	case STARTTLS:
		srv.TLSConfig = tlsConf
	case ImplicitTLS:
		ln = tls.NewListener(s.ln, tlsConf)
	case Plaintext:
		srv.AllowInsecureAuth = true
	default:
		tcp.Close()
		return nil, fmt.Errorf("smtpcatch: unknown mode %d", opts.Mode)
	}
	s.srv = srv
	go func() {
		defer close(s.serveDone)
		srv.Serve(ln)
	}()
	return s, nil
}

// Addr returns the server's address, "127.0.0.1:port".
func (s *Server) Addr() string { return s.addr.String() }

// Host returns "127.0.0.1".
func (s *Server) Host() string { return s.addr.IP.String() }

// Port returns the server's port.
func (s *Server) Port() int { return s.addr.Port }

// Mode returns how the server offers TLS.
func (s *Server) Mode() Mode { return s.opts.Mode }

// RootCAs returns a pool trusting the server's certificate.
func (s *Server) RootCAs() *x509.CertPool { return s.pool }

// CertificatePEM returns the server's certificate in PEM, for a program
// that must trust it through a file (SSL_CERT_FILE).
func (s *Server) CertificatePEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.cert.Raw})
}

// Messages returns the mail received so far, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs)
}

// codeRE finds a code in a message body: the first run of 6 to 8 digits.
var codeRE = regexp.MustCompile(`\b[0-9]{6,8}\b`)

// WaitCode waits for a message to address ("email:alice@example.org" or
// "alice@example.org") newer than the one the previous WaitCode for that
// address returned, and returns the code in the newest such message.
func (s *Server) WaitCode(ctx context.Context, address string) (string, error) {
	key := rcptKey(address)
	for {
		s.mu.Lock()
		idx := s.byRcpt[key]
		changed := s.changed
		if n := len(idx); n > 0 && idx[n-1]+1 > s.seen[key] {
			i := idx[n-1]
			s.seen[key] = i + 1
			m := s.msgs[i]
			s.mu.Unlock()
			text, err := m.Text()
			if err != nil {
				return "", fmt.Errorf("smtpcatch: parse message: %w", err)
			}
			code := codeRE.FindString(text)
			if code == "" {
				return "", errors.New("smtpcatch: no code in the message")
			}
			return code, nil
		}
		s.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return "", fmt.Errorf("smtpcatch: wait for a code: %w", ctx.Err())
		case <-s.stop:
			return "", errors.New("smtpcatch: server closed")
		}
	}
}

// WaitStalled waits until a session has sent a whole message to a server
// started with StallData, which now withholds its reply.
func (s *Server) WaitStalled(ctx context.Context) error {
	select {
	case <-s.stalled:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("smtpcatch: wait for a stalled session: %w", ctx.Err())
	case <-s.stop:
		return errors.New("smtpcatch: server closed")
	}
}

// rcptKey normalises a mailbox for matching: no scheme, the domain in
// lower-case A-labels, the local part as given.
func rcptKey(addr string) string {
	addr = strings.TrimSpace(addr)
	if len(addr) > 6 && strings.EqualFold(addr[:6], "email:") {
		addr = addr[6:]
	}
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return addr
	}
	domain := addr[at+1:]
	if a, err := idna.Lookup.ToASCII(domain); err == nil {
		domain = a
	}
	return addr[:at] + "@" + strings.ToLower(domain)
}

func (s *Server) record(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := len(s.msgs)
	s.msgs = append(s.msgs, m)
	for _, to := range m.To {
		k := rcptKey(to)
		s.byRcpt[k] = append(s.byRcpt[k], i)
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

// Close stops the server, closing every connection, and waits for its
// goroutines to end.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		s.ln.closeAll()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.srv.Shutdown(ctx); err != nil && !errors.Is(err, gosmtp.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			s.closeErr = fmt.Errorf("smtpcatch: shutdown: %w", err)
		}
		<-s.serveDone
	})
	return s.closeErr
}

// trackingListener remembers the connections it accepted so that Close can
// end sessions that go-smtp's Shutdown would wait for.
type trackingListener struct {
	net.Listener
	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]struct{}
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		c.Close()
		return c, nil
	}
	tc := &trackedConn{Conn: c, l: l}
	l.conns[tc] = struct{}{}
	return tc, nil
}

func (l *trackingListener) closeAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	l.Listener.Close()
	for c := range l.conns {
		c.(*trackedConn).Conn.Close()
	}
	clear(l.conns)
}

type trackedConn struct {
	net.Conn
	l *trackingListener
}

func (c *trackedConn) Close() error {
	c.l.mu.Lock()
	delete(c.l.conns, c)
	c.l.mu.Unlock()
	return c.Conn.Close()
}

// session is one SMTP transaction's state.
type session struct {
	s    *Server
	conn *gosmtp.Conn
	user string
	from string
	to   []string
}

func (s *Server) newSession(c *gosmtp.Conn) (gosmtp.Session, error) {
	return &session{s: s, conn: c}, nil
}

func (ss *session) AuthMechanisms() []string { return ss.s.mechs }

func (ss *session) Auth(mech string) (sasl.Server, error) {
	if !slices.Contains(ss.s.mechs, mech) {
		return nil, gosmtp.ErrAuthUnknownMechanism
	}
	check := func(user, pass string) error {
		u := subtle.ConstantTimeCompare([]byte(user), []byte(ss.s.Username))
		p := subtle.ConstantTimeCompare([]byte(pass), []byte(ss.s.Password))
		if u&p != 1 {
			return gosmtp.ErrAuthFailed
		}
		ss.user = user
		return nil
	}
	if mech == sasl.Plain {
		return sasl.NewPlainServer(func(identity, user, pass string) error {
			if identity != "" && identity != user {
				return gosmtp.ErrAuthFailed
			}
			return check(user, pass)
		}), nil
	}
	return &loginServer{check: check}, nil
}

func (ss *session) Mail(from string, _ *gosmtp.MailOptions) error {
	if ss.user == "" {
		return gosmtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	if ss.user == "" {
		return gosmtp.ErrAuthRequired
	}
	if ss.s.opts.Reject != nil && ss.s.opts.Reject(to) {
		return &gosmtp.SMTPError{
			Code:         550,
			EnhancedCode: gosmtp.EnhancedCode{5, 1, 1},
			Message:      fmt.Sprintf("<%s>: Recipient address rejected: User unknown", to),
		}
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	if ss.user == "" {
		return gosmtp.ErrAuthRequired
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if ss.s.opts.StallData {
		ss.s.stallOnce.Do(func() { close(ss.s.stalled) })
		<-ss.s.stop
		return errors.New("server closed")
	}
	_, isTLS := ss.conn.TLSConnectionState()
	ss.s.record(Message{
		From:     ss.from,
		To:       slices.Clone(ss.to),
		Data:     b,
		User:     ss.user,
		TLS:      isTLS,
		Received: time.Now(),
	})
	return nil
}

func (ss *session) Reset() { ss.from, ss.to = "", nil }

func (ss *session) Logout() error { return nil }

// loginServer is the server side of the LOGIN mechanism
// (draft-murchison-sasl-login): the username, then the password, each
// answering a challenge; the username may come as an initial response.
type loginServer struct {
	state int
	user  string
	check func(user, pass string) error
}

func (l *loginServer) Next(resp []byte) (challenge []byte, done bool, err error) {
	switch l.state {
	case 0:
		if resp == nil {
			l.state = 1
			return []byte("Username:"), false, nil
		}
		l.user, l.state = string(resp), 2
		return []byte("Password:"), false, nil
	case 1:
		l.user, l.state = string(resp), 2
		return []byte("Password:"), false, nil
	case 2:
		l.state = 3
		return nil, true, l.check(l.user, string(resp))
	}
	return nil, false, sasl.ErrUnexpectedClientResponse
}
