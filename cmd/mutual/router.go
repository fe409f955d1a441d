package main

import (
	"context"
	"flag"
	"io"
	"sync"
	"time"

	"github.com/mutualcoop/mutual/relay/router"
)

// routerCmd runs a router process of a cluster: a member of the consumer
// group on the 'in' topic. Start as many as there are cores to spare; the
// partitions of 'in' are shared among them.
func routerCmd(ctx context.Context, args []string, stderr io.Writer) error {
	var c clusterFlags
	var lf logFlags
	var janitor time.Duration
	fs := flag.NewFlagSet("router", flag.ContinueOnError)
	fs.DurationVar(&janitor, "janitor-interval", time.Minute, "how often to delete records that every device has acknowledged or that have been routed")
	c.register(fs)
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
	r, err := router.New(router.Config{Logger: log}, b, dir)
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
