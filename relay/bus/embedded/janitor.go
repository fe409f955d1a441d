package embedded

import (
	"errors"
	"time"
)

// runJanitor applies retention every Config.RetentionInterval until Close.
// Its errors are logged and not fatal: the next round tries again.
func (b *Bus) runJanitor() {
	defer b.wg.Done()
	t := time.NewTicker(b.cfg.RetentionInterval)
	defer t.Stop()
	for {
		select {
		case <-b.done:
			return
		case <-t.C:
			if err := b.enforceRetention(); err != nil {
				b.cfg.Logger.Warn("bus retention", "err", err)
			}
		}
	}
}

// enforceRetention deletes, in every partition, the segments whose newest
// record is older than the retention period.
func (b *Bus) enforceRetention() error {
	cutoff := b.cfg.Now().Add(-b.cfg.Retention).UnixNano()
	var errs []error
	for _, name := range b.topicNames() {
		if b.isClosed() {
			break
		}
		ps, err := b.topicPartitions(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, p := range ps {
			if err := p.expire(cutoff); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
