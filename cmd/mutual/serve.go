package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/mutualcoop/mutual/relay/auth"
	"github.com/mutualcoop/mutual/relay/auth/smtp"
	"github.com/mutualcoop/mutual/relay/limit"
	"github.com/mutualcoop/mutual/relay/server"
)

// serveFlags are the settings of `mutual serve`.
type serveFlags struct {
	listen     string
	metrics    string
	names      nameList
	data       string
	dev        bool
	secretFile string
	retention  time.Duration
	janitor    time.Duration
	shutdown   time.Duration
	origins    stringList
	forwarded  bool
	web        string

	smtpHost     string
	smtpPort     int
	smtpTLS      string
	smtpUser     string
	smtpFrom     string
	smtpPassFile string

	bus     string
	router  bool
	cluster clusterFlags
	quota   quotaFlags
	blobs   blobFlags
	coop    coopFlags
	push    pushFlags

	log logFlags
}

func (f *serveFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.listen, "listen", "127.0.0.1:8080", "HTTP address to listen on")
	fs.StringVar(&f.metrics, "metrics-addr", "127.0.0.1:9464", "address of /metrics, for operators only (empty: no metrics)")
	fs.Var(&f.names, "public-name", "host name the relay answers to, such as chat.example.org (repeatable, or comma-separated); without one, only loopback names and IP addresses")
	fs.StringVar(&f.data, "data", "./data", "data directory (bus, database, secret, blobs)")
	fs.BoolVar(&f.dev, "dev", false, "development: print codes to the console as 'DEV CODE <address> <code>' (loopback listeners only)")
	fs.StringVar(&f.secretFile, "secret-file", "", "file with the server secret (default DATA/secret, created if missing)")
	fs.DurationVar(&f.retention, "retention", 30*24*time.Hour, "embedded bus: the longest any record is kept, for devices that have not fetched it (records every device has acknowledged, and routed intake, go sooner: --janitor-interval)")
	fs.DurationVar(&f.janitor, "janitor-interval", time.Minute, "how often the router deletes records that every device has acknowledged or that have been routed")
	fs.DurationVar(&f.shutdown, "shutdown-timeout", 15*time.Second, "how long a shutdown waits for connections to finish")
	fs.Var(&f.origins, "origin", "extra browser origin allowed to connect, such as app.example.org (repeatable)")
	fs.BoolVar(&f.forwarded, "trust-forwarded-for", false, "take client IPs from X-Forwarded-For (only behind a proxy that sets it)")
	fs.StringVar(&f.web, "web", "", "serve the web app at / from this directory of the built app (make web: build/web)")
	fs.StringVar(&f.smtpHost, "smtp-host", "", "SMTP submission server for email codes")
	fs.IntVar(&f.smtpPort, "smtp-port", 0, "SMTP port (default 587 for starttls, 465 for tls)")
	fs.StringVar(&f.smtpTLS, "smtp-tls", "starttls", "SMTP TLS: starttls, tls (implicit) or none (loopback only)")
	fs.StringVar(&f.smtpUser, "smtp-user", "", "SMTP AUTH user name (PLAIN or LOGIN)")
	fs.StringVar(&f.smtpFrom, "smtp-from", "", "sender address of code mails, such as codes@example.org")
	fs.StringVar(&f.smtpPassFile, "smtp-password-file", "", "file holding the SMTP password (or set MUTUAL_SMTP_PASSWORD)")
	fs.StringVar(&f.bus, "bus", "embedded", "message bus: embedded (one machine) or kafka (cluster; needs --kafka-brokers and --db)")
	fs.BoolVar(&f.router, "router", false, "with --bus kafka, also run a router in this process")
	f.cluster.register(fs)
	f.quota.register(fs)
	f.blobs.register(fs)
	f.coop.register(fs)
	f.push.register(fs)
	f.log.register(fs)
}

type stringList []string

func (s *stringList) String() string     { return fmt.Sprint(*s) }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// nameList is a flag of host names, repeated or comma-separated.
type nameList []string

func (n *nameList) String() string { return strings.Join(*n, ",") }
func (n *nameList) Set(v string) error {
	for _, name := range strings.Split(v, ",") {
		name = strings.TrimSpace(name)
		if name == "" || strings.ContainsAny(name, "/: ") {
			return fmt.Errorf("%q is not a host name", name)
		}
		*n = append(*n, name)
	}
	return nil
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f serveFlags
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	f.register(fs)
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	log, err := f.log.logger(stderr)
	if err != nil {
		return err
	}
	if f.dev && !auth.IsLoopback(f.listen) {
		return fmt.Errorf("--dev prints codes in clear and is refused on %s: listen on 127.0.0.1 or ::1", f.listen)
	}
	senders, err := f.senders(stdout)
	if err != nil {
		return err
	}
	coopCfg, err := f.coopConfig(log)
	if err != nil {
		return err
	}
	files, err := server.RaiseFileLimit()
	if err != nil {
		return err
	}
	if files > 0 {
		log.Info("open-file limit", "files", files, "connections", server.MaxConns(files))
	}
	if len(f.names) == 0 && !auth.IsLoopback(f.listen) {
		log.Warn("no --public-name: requests are answered only for loopback names and IP addresses, never for a host name")
	}
	pushCfg, err := f.push.config(f.data, log)
	if err != nil {
		return err
	}
	cfg := server.Config{RunRouter: true, Logger: log, PublicNames: f.names, Coop: &coopCfg, Push: pushCfg}
	cfg.Janitor.Interval = f.janitor
	if cfg.Web, err = openWeb(f.web, log); err != nil {
		return err
	}
	cfg.Gateway.OriginPatterns = f.origins
	cfg.Gateway.TrustForwardedFor = f.forwarded
	f.quota.apply(&cfg.Gateway)
	if f.blobs.retention < 0 {
		return fmt.Errorf("--blob-retention %v: want a positive duration", f.blobs.retention)
	}
	f.blobs.apply(&cfg.Gateway, f.retention)
	var parts server.Parts
	switch f.bus {
	case "embedded":
		parts, err = server.OpenEmbedded(ctx, server.EmbeddedConfig{
			Dir: f.data, BlobDir: f.blobs.blobDir(f.data), SecretFile: f.secretFile, Retention: f.retention,
			Senders: senders, Logger: log,
		})
	case "kafka":
		cfg.RunRouter = f.router
		// The cluster's routers learn from the directory which devices
		// are connected to a gateway.
		cfg.Gateway.SharedPresence = pushCfg != nil
		cfg.InPartitions = int32(f.cluster.inPartitions)
		parts, err = f.openCluster(ctx, senders, log)
	default:
		err = fmt.Errorf("--bus %q: want embedded or kafka", f.bus)
	}
	if err != nil {
		return err
	}
	if f.bus == "embedded" {
		// The embedded relay keeps its blobs in the bucket of
		// --s3-endpoint rather than in files, when one is given.
		s3, err := f.blobs.openS3(ctx, log)
		if err != nil {
			parts.Bus.Close()
			parts.Directory.Close()
			parts.Blobs.Close()
			return err
		}
		if s3 != nil {
			parts.Blobs.Close()
			parts.Blobs = s3
		}
	}
	return runServer(ctx, cfg, parts, f.listen, f.metrics, f.shutdown, log)
}

// openWeb prepares and opens the web app in dir; with no dir, the relay
// serves its API only.
func openWeb(dir string, log *slog.Logger) (http.Handler, error) {
	if dir == "" {
		log.Info("no --web directory: serving the API only, not the web app")
		return nil, nil
	}
	h, err := openApp(dir, log)
	if err != nil {
		return nil, err
	}
	log.Info("serving the web app", "dir", dir, "app_version", h.Version())
	return h, nil
}

// openCluster opens Kafka and PostgreSQL. Every gateway of a cluster must
// use the same secret file (it keys the address hashes in the shared
// directory), so it is never created here.
func (f *serveFlags) openCluster(ctx context.Context, senders auth.Senders, log *slog.Logger) (server.Parts, error) {
	if err := f.cluster.validate(); err != nil {
		return server.Parts{}, err
	}
	if f.secretFile == "" {
		return server.Parts{}, errors.New("cluster mode needs --secret-file, the same on every gateway (create it once: head -c 32 /dev/urandom | xxd -p -c 64 > secret)")
	}
	secret, err := auth.ReadSecretFile(f.secretFile)
	if err != nil {
		return server.Parts{}, err
	}
	b, dir, err := f.cluster.open(ctx, log)
	if err != nil {
		return server.Parts{}, err
	}
	// Every gateway counts the rate limits (the sign-in limits too) in the shared directory, so
	// that a client gets no more by connecting to another, under keys
	// that name no network or user in clear.
	hashed, err := limit.NewHashed(dir.Limits(), secret)
	if err != nil {
		b.Close()
		dir.Close()
		return server.Parts{}, err
	}
	// A busy account or network takes its units in leases, so that a
	// send costs a database write only now and then.
	limits := limit.NewLeased(hashed, 1<<20)
	accounts, err := auth.New(auth.Config{Secret: secret, Logger: log, Limits: limits}, dir, senders)
	if err != nil {
		b.Close()
		dir.Close()
		return server.Parts{}, err
	}
	blobs, err := f.blobs.openCluster(ctx, f.data, log)
	if err != nil {
		b.Close()
		dir.Close()
		return server.Parts{}, err
	}
	return server.Parts{Bus: b, Directory: dir, Accounts: accounts, Blobs: blobs, Limits: limits}, nil
}

// runServer serves the relay on listen, and its metrics on metrics unless
// empty, until ctx ends (SIGINT or SIGTERM), then shuts down gracefully
// within timeout.
func runServer(ctx context.Context, cfg server.Config, parts server.Parts, listen, metrics string, timeout time.Duration, log *slog.Logger) error {
	srv, err := server.New(ctx, cfg, parts)
	if err != nil {
		parts.Bus.Close()
		parts.Directory.Close()
		parts.Blobs.Close()
		return err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		srv.Shutdown(context.Background())
		return err
	}
	served := make(chan error, 2)
	running := 1
	if metrics != "" {
		// The relay's work does not depend on its metrics: without their
		// address it still serves, and says so.
		if mln, err := net.Listen("tcp", metrics); err != nil {
			log.Error("serving without metrics", "err", err)
		} else {
			log.Info("metrics listening", "metrics_url", "http://"+mln.Addr().String()+"/metrics")
			running++
			go func() { served <- srv.ServeMetrics(mln) }()
		}
	}
	log.Info("mutual relay listening", "addr", "http://"+ln.Addr().String(), "version", version)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err = <-served:
		running--
	case <-ctx.Done():
		log.Info("shutting down")
	}
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if serr := srv.Shutdown(sctx); serr != nil {
		err = errors.Join(err, serr)
	}
	for ; running > 0; running-- {
		if serr := <-served; serr != nil && err == nil {
			err = serr
		}
	}
	if err == nil {
		log.Info("stopped")
	}
	return err
}

// senders chooses how codes reach their addresses.
func (f *serveFlags) senders(stdout io.Writer) (auth.Senders, error) {
	if f.smtpHost != "" {
		mode, err := smtp.ParseTLSMode(f.smtpTLS)
		if err != nil {
			return nil, err
		}
		pass := os.Getenv("MUTUAL_SMTP_PASSWORD")
		if f.smtpPassFile != "" {
			b, err := os.ReadFile(f.smtpPassFile)
			if err != nil {
				return nil, fmt.Errorf("smtp password: %w", err)
			}
			pass = string(trimNewline(b))
		}
		s, err := smtp.New(smtp.Config{Host: f.smtpHost, Port: f.smtpPort, TLS: mode, Username: f.smtpUser, Password: pass, From: f.smtpFrom})
		if err != nil {
			return nil, err
		}
		return auth.Senders{auth.SchemeEmail: s}, nil
	}
	if f.dev {
		return auth.Senders{auth.SchemeEmail: auth.NewConsoleSender(stdout)}, nil
	}
	return nil, errors.New("no way to deliver codes: give --smtp-host (see docs/operations.md), or --dev on a loopback address")
}

func trimNewline(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
