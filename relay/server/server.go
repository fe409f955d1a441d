// Package server assembles a Mutual relay from its parts (bus, directory,
// accounts, blob store, gateway, router) and serves it over HTTP: the
// WebSocket endpoint, attachments' blobs (/v1/blobs/, relay/blobhttp),
// /healthz and the web client on the public listener, and /metrics on a
// listener of its own (ServeMetrics), which is not public. A sweeper
// deletes expired blobs (sweep.go). With Config.Coop, the co-op runs too:
// its frames, its providers' webhooks, its public figures at /coop and
// its background work (coop.go). With Config.Push, devices that are not
// connected are woken by Web Push (relay/push) from the router.
//
// Every public response carries a Content-Security-Policy, nosniff and
// no-referrer, and a request for a host name the relay does not answer to
// is refused (Config.PublicNames).
//
// With the embedded defaults everything runs in one process on one data
// directory; in cluster mode the bus is Kafka, the directory PostgreSQL,
// and routers run as their own processes (RunRouter false). The message
// path is the same code either way.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/mutualcoop/mutual/relay/auth"
	"github.com/mutualcoop/mutual/relay/blob"
	"github.com/mutualcoop/mutual/relay/blobhttp"
	"github.com/mutualcoop/mutual/relay/bus"
	"github.com/mutualcoop/mutual/relay/coop"
	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/gateway"
	"github.com/mutualcoop/mutual/relay/limit"
	"github.com/mutualcoop/mutual/relay/push"
	"github.com/mutualcoop/mutual/relay/router"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Parts are the backends a server runs on. Open them with OpenEmbedded or
// the cluster openers; the server closes them on Shutdown.
type Parts struct {
	Bus       bus.Bus
	Directory directory.Directory
	Accounts  gateway.Accounts
	// Blobs keeps attachments' blobs: fsblob in the data directory, or
	// s3blob, which every gateway of a cluster must share.
	Blobs blob.Store
	// Limits keeps the rate limits, unless Config.Gateway.Limits is set.
	// Every gateway of a cluster must share it: use the directory's
	// (Directory.Limits(), wrapped in limit.NewHashed). Nil keeps them in this process's memory,
	// which is right for a relay that is the only gateway.
	Limits limit.Store

	// DiskSpace reports the free and total bytes of the data directory's
	// filesystem, which the gateway watches (gateway.Config.DiskFree);
	// nil when the data is elsewhere (cluster mode).
	DiskSpace func() (free, total uint64, err error)
}

// Config configures a Server.
type Config struct {
	// RunRouter runs the router in this process (the embedded default).
	RunRouter bool
	// InPartitions is the number of partitions of the `in` topic, created
	// at start if missing. Default 1 for embedded, set higher for Kafka.
	InPartitions int32
	// Web serves the web client at /; nil serves nothing there.
	Web http.Handler

	Gateway gateway.Config
	Router  router.Config
	// Janitor deletes routed and acknowledged records; it runs with the
	// router (RunRouter). Its Group is the router's.
	Janitor router.JanitorConfig
	// Blobs configures the upload and download of attachments' blobs;
	// its Limits, TrustForwardedFor and Now default to the gateway's.
	Blobs blobhttp.Config
	// Sweep configures the deletion of expired blobs.
	Sweep SweepConfig
	// Coop runs the co-op that pays for the relay (relay/coop): its name,
	// currency, plans and payment providers, the public URL checkouts
	// return to, the grace period and the contributors' window. Its
	// records live in the directory, which must keep them (coop.Store);
	// its Logger and Metrics are the server's, and its Accounts, unless
	// set, Parts.Accounts. Nil runs no co-op: Coop frames are answered
	// unavailable, and there is no /coop.
	Coop *coop.Config
	// Push sends Web Push notifications to devices that are not connected
	// (relay/push): the VAPID key, the subject, the allowed push services.
	// Its Logger and Metrics are the server's; its Connected, unless
	// Gateway.SharedPresence is set, asks this server's gateway. Nil
	// sends none: SetPush is answered unavailable and Welcome carries no
	// key. The pushes start from the router, so a cluster's router
	// processes need it too.
	Push   *push.Config
	Logger *slog.Logger
	// ReadHeaderTimeout and IdleTimeout bound plain HTTP requests.
	ReadHeaderTimeout time.Duration
	// PublicNames are the host names the relay answers to, such as
	// chat.example.org (any port); a request for another Host gets 421.
	// Loopback names and addresses are always answered; with no public
	// names, so is any IP address (see hostCheck).
	PublicNames []string
}

// Server is a running relay.
type Server struct {
	cfg     Config
	parts   Parts
	gw      *gateway.Gateway
	router  *router.Router
	metrics *metricsSet
	http    *http.Server
	// metricsHTTP serves /metrics for ServeMetrics.
	metricsHTTP *http.Server

	janitor      *router.Janitor
	routerCancel context.CancelFunc
	routerDone   chan struct{}
	sweepCancel  context.CancelFunc
	sweepDone    chan struct{}
	pusher       *push.Pusher  // nil without pushes
	coop         *coop.Service // nil without a co-op
	coopCancel   context.CancelFunc
	coopDone     chan struct{}
	closeOnce    sync.Once
}

// New builds a server on parts and starts its router (if RunRouter).
func New(ctx context.Context, cfg Config, parts Parts) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.InPartitions == 0 {
		cfg.InPartitions = 1
	}
	if cfg.ReadHeaderTimeout == 0 {
		cfg.ReadHeaderTimeout = 10 * time.Second
	}
	if parts.Blobs == nil {
		return nil, errors.New("server: no blob store")
	}
	if err := parts.Bus.CreateTopic(ctx, bus.InTopic, cfg.InPartitions); err != nil {
		return nil, fmt.Errorf("create %s topic: %w", bus.InTopic, err)
	}
	s := &Server{cfg: cfg, parts: parts, metrics: newMetrics()}
	if cfg.Push != nil {
		pc := *cfg.Push
		pc.Logger, pc.Metrics = cfg.Logger, s.metrics.pushHooks()
		if !cfg.Gateway.SharedPresence {
			// The router calls the pusher only once New has returned,
			// s.gw set.
			pc.Connected = func(u wire.UserID, d wire.DeviceID) bool { return s.gw.Connected(u, d) }
		}
		p, err := push.New(pc, parts.Directory)
		if err != nil {
			return nil, err
		}
		s.pusher = p
		s.metrics.watchSubscriptions(parts.Directory)
	}
	// Whatever fails below stops the pusher's workers.
	ok := false
	defer func() {
		if !ok && s.pusher != nil {
			s.pusher.Close()
		}
	}()

	if cfg.RunRouter {
		rc := cfg.Router
		rc.Logger = cfg.Logger
		rc.Metrics = s.metrics.routerHooks()
		if s.pusher != nil {
			rc.Wake = s.pusher.Notify
		}
		r, err := router.New(rc, parts.Bus, parts.Directory)
		if err != nil {
			return nil, err
		}
		s.router = r
		jc := cfg.Janitor
		jc.Group, jc.Logger = rc.Group, cfg.Logger
		if s.janitor, err = router.NewJanitor(jc, parts.Bus, parts.Directory); err != nil {
			return nil, err
		}
	}
	gc := cfg.Gateway
	if gc.Limits == nil {
		gc.Limits = parts.Limits
	}
	if gc.Limits == nil {
		// One store for the gateway, the blobs' handler and the sweeper.
		gc.Limits = limit.NewMemory(1 << 20)
	}
	if limit, ok := fileLimit(); ok && gc.MaxConns == 0 {
		gc.MaxConns = MaxConns(limit)
	}
	gc.Logger = cfg.Logger
	gc.Metrics = s.metrics.gatewayHooks()
	if gc.DiskFree == nil {
		gc.DiskFree = parts.DiskSpace
	}
	if s.pusher != nil {
		gc.Push = s.pusher
	}
	if s.router != nil {
		gc.OnContactChange = s.router.Forget
		gc.OnGroupChange = s.router.ForgetGroup
	}
	if cfg.Coop != nil {
		svc, err := s.newCoop(ctx, *cfg.Coop)
		if err != nil {
			return nil, err
		}
		s.coop, gc.Coop = svc, svc
	}
	gw, err := gateway.New(gc, parts.Bus, parts.Directory, parts.Accounts)
	if err != nil {
		return nil, err
	}
	s.gw = gw

	bc := cfg.Blobs
	if bc.Limits == nil {
		bc.Limits = gc.Limits
	}
	if bc.Now == nil {
		bc.Now = gc.Now
	}
	bc.TrustForwardedFor = bc.TrustForwardedFor || gc.TrustForwardedFor
	bc.Logger, bc.Metrics = cfg.Logger, s.metrics.blobHooks()
	blobs, err := blobhttp.New(bc, parts.Blobs, parts.Directory)
	if err != nil {
		gw.Close()
		return nil, err
	}
	sw, err := newSweeper(cfg.Sweep, parts.Directory, parts.Blobs, gc.Limits, gc.Now, cfg.Logger, s.metrics)
	if err != nil {
		gw.Close()
		return nil, err
	}

	mux := http.NewServeMux()
	mux.Handle("GET /v1/ws", gw)
	mux.Handle("/v1/blobs/{id}", blobs)
	mux.HandleFunc("GET /healthz", s.healthz)
	if s.coop != nil {
		mountCoop(mux, s.coop)
	}
	if cfg.Web != nil {
		mux.Handle("/", cfg.Web)
	}
	s.http = &http.Server{
		Handler:           secure(mux, contentSecurityPolicy(cfg.Web), newHostCheck(cfg.PublicNames)),
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	metricsMux := http.NewServeMux()
	metricsMux.Handle("GET /metrics", s.metrics.handler(cfg.Logger))
	s.metricsHTTP = &http.Server{
		Handler:           metricsMux,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	sctx, cancel := context.WithCancel(context.Background())
	s.sweepCancel, s.sweepDone = cancel, make(chan struct{})
	go func() {
		defer close(s.sweepDone)
		sw.run(sctx)
	}()
	if s.coop != nil {
		cctx, cancel := context.WithCancel(context.Background())
		s.coopCancel, s.coopDone = cancel, make(chan struct{})
		go func() {
			defer close(s.coopDone)
			runCoop(cctx, s.coop, gc.Limits, gc.Now, cfg.Logger)
		}()
	}
	if s.router != nil {
		rctx, cancel := context.WithCancel(context.Background())
		s.routerCancel = cancel
		s.routerDone = make(chan struct{})
		go func() {
			defer close(s.routerDone)
			var wg sync.WaitGroup
			wg.Go(func() { s.janitor.Run(rctx) })
			s.router.Run(rctx)
			wg.Wait()
		}()
	}
	ok = true
	return s, nil
}

// Bus is the bus the server runs on.
func (s *Server) Bus() bus.Bus { return s.parts.Bus }

// Gateway is the server's gateway.
func (s *Server) Gateway() *gateway.Gateway { return s.gw }

// Coop is the server's co-op; nil when Config.Coop is not set.
func (s *Server) Coop() *coop.Service { return s.coop }

// Handler is the server's public HTTP handler (for tests with httptest).
func (s *Server) Handler() http.Handler { return s.http.Handler }

// Serve accepts connections on ln, the public listener, until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	err := s.http.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// ServeMetrics serves /metrics, the Prometheus exposition, on ln until
// Shutdown. Give it a listener only operators reach (loopback, or a
// private network): the metrics show when people connect.
func (s *Server) ServeMetrics(ln net.Listener) error {
	err := s.metricsHTTP.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if _, _, err := s.parts.Bus.Bounds(ctx, bus.InTopic, 0); err != nil {
		http.Error(w, "bus unavailable", http.StatusServiceUnavailable)
		return
	}
	if err := s.parts.Directory.Ping(ctx); err != nil {
		http.Error(w, "directory unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "ok\n")
}

// Shutdown stops accepting connections, lets each connection (and each
// upload or download) finish what it was doing, stops the router after
// its current batch (and the janitor and the sweeper after their current
// rounds), writes the delivery offsets and closes the bus, the directory
// and the blob store.
func (s *Server) Shutdown(ctx context.Context) error {
	var errs []error
	s.closeOnce.Do(func() {
		if err := s.http.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("http: %w", err))
		}
		if err := s.metricsHTTP.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("metrics http: %w", err))
		}
		if err := s.gw.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("gateway: %w", err))
		}
		if s.routerCancel != nil {
			s.routerCancel()
			<-s.routerDone
		}
		if s.pusher != nil {
			s.pusher.Close()
		}
		s.sweepCancel()
		<-s.sweepDone
		if s.coopCancel != nil {
			s.coopCancel()
			<-s.coopDone
		}
		if err := s.parts.Blobs.Close(); err != nil {
			errs = append(errs, fmt.Errorf("blob store: %w", err))
		}
		if err := s.parts.Bus.Close(); err != nil {
			errs = append(errs, fmt.Errorf("bus: %w", err))
		}
		if err := s.parts.Directory.Close(); err != nil {
			errs = append(errs, fmt.Errorf("directory: %w", err))
		}
	})
	return errors.Join(errs...)
}

// LoadSecret reads the server secret (the key of the address and code
// hashes) from path, first creating the file with 32 random bytes in hex
// and mode 0600 if it does not exist. The secret must never change once
// accounts exist: back it up, but apart from the database, since with
// both a thief can test guessed addresses against the stored hashes.
func LoadSecret(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case errors.Is(err, os.ErrExist):
		return auth.ReadSecretFile(path)
	case err != nil:
		return nil, fmt.Errorf("create secret: %w", err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	_, err = io.WriteString(f, hex.EncodeToString(key)+"\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("write secret: %w", err)
	}
	return auth.ReadSecretFile(path)
}
