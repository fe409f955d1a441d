package client

import (
	"cmp"
	"encoding/binary"
	"errors"
	"slices"
	"time"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/crypto/pqxdh"
)

// The device's one-time prekeys.
//
// The relay hands each published one-time prekey to one sender and then
// forgets it; the device keeps the private half until a session set up
// with it arrives. A key handed to someone who never writes (a stranger
// emptying the pool, or a sender who gave up) would be kept for ever, and
// every refill adds a batch: so the stored pools are bounded, refills are
// spaced, and keys long replaced are deleted.
//
// Signal's clients do alike: when they upload a new batch they mark every
// stored one-time prekey "stale" with the time, and delete keys stale for
// more than 90 days while keeping the 200 newest. The relay's limits on
// handing out one-time prekeys keep the turnover low, so Mutual bounds
// the pools outright at twice what it publishes, and deletes sooner (the
// relay keeps an undelivered message 30 days; a sender writes as soon as
// it has a bundle), never touching the newest batch's worth, which holds
// every key the relay may still hand out.
const (
	// maxOneTime is the most one-time prekeys of each kind kept: when a
	// refill would keep more, the oldest go first. The relay hands keys
	// out oldest first, so these went to senders at least one refill ago.
	maxOneTime = 2 * prekeyTarget
	// prekeyRefillInterval is the least time between two refills of the
	// one-time pools, however many reports of low pools come; a report
	// within it is acted on when it ends.
	prekeyRefillInterval = time.Hour
	// staleGrace is how long a one-time prekey is kept after a newer batch
	// replaced it, unless it is among the newest prekeyTarget of its kind.
	staleGrace = retiredGrace
)

// Kinds of one-time prekey in bStale.
const (
	staleEC  = 'e'
	staleKEM = 'k'
)

func staleKey(kind byte, id uint32) []byte { return append([]byte{kind}, idKey(id)...) }

// refillWait returns how long a refill of the one-time pools must wait
// after the last one at last (Unix ms), at now; 0 if it may run. A last
// refill in the future (the clock was set back) does not hold refills
// back.
func refillWait(last int64, now time.Time) time.Duration {
	since := now.Sub(time.UnixMilli(last))
	if last == 0 || since < 0 || since >= prekeyRefillInterval {
		return 0
	}
	return prekeyRefillInterval - since
}

// oneTimeIDs lists the IDs of the stored one-time prekeys of kind (staleEC
// or staleKEM), newest first: by how far each lies behind the next ID
// to be given, as IDs wrap.
func oneTimeIDs(tx store.Tx, a *accountRecord, kind byte) ([]uint32, error) {
	bucket, next := bPreKeys, a.NextPreKeyID
	lastResort := map[uint32]bool{}
	if kind == staleKEM {
		bucket, next = bKEM, a.NextKEMID
		lastResort[a.LastResortID] = true
		err := tx.Scan(bRetired, []byte{'k'}, func(k, _ []byte) error {
			if len(k) == 5 {
				lastResort[binary.BigEndian.Uint32(k[1:])] = true
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	var ids []uint32
	err := tx.Scan(bucket, nil, func(k, _ []byte) error {
		if len(k) != 4 {
			return errors.New("one-time prekey with a malformed key")
		}
		if id := binary.BigEndian.Uint32(k); !lastResort[id] {
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	behind := func(id uint32) uint32 { return (next - id + pqxdh.MaxKeyID) % pqxdh.MaxKeyID }
	slices.SortFunc(ids, func(x, y uint32) int { return cmp.Compare(behind(x), behind(y)) })
	return ids, nil
}

// markStale records now as the time the stored one-time prekeys of kind
// were replaced, for those not marked before. It runs before a new batch
// is stored.
func markStale(tx store.Tx, a *accountRecord, kind byte, now time.Time) error {
	ids, err := oneTimeIDs(tx, a, kind)
	if err != nil {
		return err
	}
	at := binary.BigEndian.AppendUint64(nil, uint64(now.UnixMilli()))
	for _, id := range ids {
		switch _, err := tx.Get(bStale, staleKey(kind, id)); {
		case errors.Is(err, store.ErrNotFound):
			if err := tx.Put(bStale, staleKey(kind, id), at); err != nil {
				return err
			}
		case err != nil:
			return err
		}
	}
	return nil
}

// trimOneTime bounds the stored one-time prekeys of both kinds: it keeps
// the newest maxOneTime of each, deletes those replaced more than
// staleGrace before now except the newest prekeyTarget, and drops marks
// of keys no longer stored.
func trimOneTime(tx store.Tx, a *accountRecord, now time.Time) error {
	cutoff := now.Add(-staleGrace).UnixMilli()
	for _, kind := range []byte{staleEC, staleKEM} {
		bucket := bPreKeys
		if kind == staleKEM {
			bucket = bKEM
		}
		ids, err := oneTimeIDs(tx, a, kind)
		if err != nil {
			return err
		}
		stored := make(map[uint32]bool, len(ids))
		for i, id := range ids {
			stored[id] = true
			del := i >= maxOneTime
			if !del && i >= prekeyTarget {
				v, err := tx.Get(bStale, staleKey(kind, id))
				switch {
				case err == nil && len(v) == 8:
					del = int64(binary.BigEndian.Uint64(v)) < cutoff
				case err != nil && !errors.Is(err, store.ErrNotFound):
					return err
				}
			}
			if del {
				if err := tx.Delete(bucket, idKey(id)); err != nil {
					return err
				}
				if err := tx.Delete(bStale, staleKey(kind, id)); err != nil {
					return err
				}
			}
		}
		var orphans [][]byte
		err = tx.Scan(bStale, []byte{kind}, func(k, _ []byte) error {
			if len(k) != 5 || !stored[binary.BigEndian.Uint32(k[1:])] {
				orphans = append(orphans, append([]byte(nil), k...))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range orphans {
			if err := tx.Delete(bStale, k); err != nil {
				return err
			}
		}
	}
	return nil
}
