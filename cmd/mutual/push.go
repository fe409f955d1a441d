package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/mutualcoop/mutual/relay/push"
)

// pushFlags configure Web Push: who the relay is to push services (the
// subject), which push services it sends to, and its VAPID key.
type pushFlags struct {
	subject string
	hosts   string
	keyFile string
}

func (p *pushFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&p.subject, "push-subject", "", "contact push services may reach the operator at, mailto:ops@example.org or https://example.org (empty: the relay sends no push notifications)")
	fs.StringVar(&p.hosts, "push-hosts", strings.Join(push.DefaultHosts(), ","), "comma-separated push services the relay sends to: host, *.domain (port 443) or host:port")
	fs.StringVar(&p.keyFile, "push-key-file", "", "the VAPID key pair, PKCS#8 PEM (default DATA/push-vapid.key, created at first start; a cluster's gateways and routers must share one)")
}

// config returns the pusher's configuration, loading (or creating) the
// key; nil without a subject.
func (p *pushFlags) config(data string, log *slog.Logger) (*push.Config, error) {
	if p.subject == "" {
		log.Info("no --push-subject: the relay sends no push notifications")
		return nil, nil
	}
	if err := push.CheckSubject(p.subject); err != nil {
		return nil, fmt.Errorf("--push-subject: %w", err)
	}
	var hosts []string
	for _, h := range strings.Split(p.hosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			hosts = append(hosts, h)
		}
	}
	if _, err := push.ParseHosts(hosts); err != nil {
		return nil, fmt.Errorf("--push-hosts: %w", err)
	}
	path := p.keyFile
	if path == "" {
		if err := os.MkdirAll(data, 0o700); err != nil {
			return nil, fmt.Errorf("data directory: %w", err)
		}
		path = filepath.Join(data, "push-vapid.key")
	}
	key, err := push.LoadKey(path)
	if err != nil {
		return nil, fmt.Errorf("--push-key-file: %w", err)
	}
	log.Info("sending push notifications", "push_services", len(hosts))
	return &push.Config{Key: key, Subject: p.subject, Hosts: hosts}, nil
}
