package main

import (
	"context"
	"flag"
	"io"
	"sync"
	"time"

	"github.com/mutualcoop/mutual/relay/push"
	"github.com/mutualcoop/mutual/relay/router"
)

// routerCmd runs a router process of a cluster: a member of the consumer
// group on the 'in' topic. Start as many as there are cores to spare; the
// partitions of 'in' are shared among them.
func routerCmd(ctx context.Context, args []string, stderr io.Writer) error {
	var c clusterFlags
	var lf logFlags
	var pf pushFlags
	var data string
	var janitor time.Duration
	fs := flag.NewFlagSet("router", flag.ContinueOnError)
	fs.DurationVar(&janitor, "janitor-interval", time.Minute, "how often to delete records that every device has acknowledged or that have been routed")
	fs.StringVar(&data, "data", "./data", "directory of the VAPID key when --push-key-file is not given")
	c.register(fs)
	pf.register(fs)
	lf.register(fs)
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if err := c.validate(); err != nil {
		return err
	}
	log, err := lf.logger(stderr)
	if err != nil {
		return err
	}
	b, dir, err := c.open(ctx, log)
	if err != nil {
		return err
	}
	defer dir.Close()
	defer b.Close()
	pushCfg, err := pf.config(data, log)
	if err != nil {
		return err
	}
	rc := router.Config{Logger: log}
	if pushCfg != nil {
		// The gateways record which devices are connected in the
		// directory (SharedPresence); the pusher reads it there.
		pushCfg.Logger = log
		p, err := push.New(*pushCfg, dir)
		if err != nil {
			return err
		}
		defer p.Close()
		rc.Wake = p.Notify
	}
	r, err := router.New(rc, b, dir)
	if err != nil {
		return err
	}
	j, err := router.NewJanitor(router.JanitorConfig{Interval: janitor, Logger: log}, b, dir)
	if err != nil {
		return err
	}
	log.Info("mutual router running", "brokers", c.brokers, "version", version)
	var wg sync.WaitGroup
	wg.Go(func() { j.Run(ctx) })
	err = r.Run(ctx)
	wg.Wait()
	log.Info("router stopped")
	return err
}
