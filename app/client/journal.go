package client

import (
	"bytes"
	"errors"
	"maps"
	"slices"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/relay/wire"
)

// journal undoes one step of a transaction without abandoning the rest.
// A store's transaction commits or rolls back as a whole, but the inbox
// stores a batch of deliveries in one, and a delivery that does not
// decrypt must leave the others standing: while a journal is open it
// stands in for the transaction (ts.tx) and records, before each write,
// what the key held, so that undo can put it back. It also restores what
// the step noted in the txState (changed identities, new own devices,
// changed contacts), so that no event is emitted for what was undone.
type journal struct {
	store.Tx
	ts    *txState
	undos []undoWrite

	changed    map[wire.UserID][]wire.DeviceID
	ownDevices int
	contacts   int
}

// undoWrite is what a key held before a write: its value, or nothing.
type undoWrite struct {
	bucket, key, value []byte
	existed            bool
}

// journal opens a journal over ts's transaction; keep or undo closes it.
func (ts *txState) journal() *journal {
	j := &journal{Tx: ts.tx, ts: ts, ownDevices: len(ts.ownDevices), contacts: len(ts.contacts)}
	if ts.changed != nil {
		j.changed = maps.Clone(ts.changed)
		for u, devs := range j.changed {
			j.changed[u] = slices.Clone(devs)
		}
	}
	ts.tx = j
	return j
}

func (j *journal) save(bucket, key []byte) error {
	v, err := j.Tx.Get(bucket, key)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	j.undos = append(j.undos, undoWrite{bytes.Clone(bucket), bytes.Clone(key), v, err == nil})
	return nil
}

func (j *journal) Put(bucket, key, value []byte) error {
	if err := j.save(bucket, key); err != nil {
		return err
	}
	return j.Tx.Put(bucket, key, value)
}

func (j *journal) Delete(bucket, key []byte) error {
	if err := j.save(bucket, key); err != nil {
		return err
	}
	return j.Tx.Delete(bucket, key)
}

// keep closes the journal and keeps what was written through it.
func (j *journal) keep() { j.ts.tx = j.Tx }

// undo closes the journal and puts back, newest first, what every write
// through it replaced. An error is the store's: the whole transaction
// must then be abandoned.
func (j *journal) undo() error {
	j.ts.tx = j.Tx
	for i := len(j.undos) - 1; i >= 0; i-- {
		u := j.undos[i]
		var err error
		if u.existed {
			err = j.Tx.Put(u.bucket, u.key, u.value)
		} else {
			err = j.Tx.Delete(u.bucket, u.key)
		}
		if err != nil {
			return err
		}
	}
	j.undos = nil
	j.ts.changed = j.changed
	j.ts.ownDevices = j.ts.ownDevices[:j.ownDevices]
	j.ts.contacts = j.ts.contacts[:j.contacts]
	return nil
}
