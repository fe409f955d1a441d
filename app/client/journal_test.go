package client

import (
	"context"
	"errors"
	"testing"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/app/store/memstore"
	"github.com/mutualcoop/mutual/relay/wire"
)

// TestJournal: undo puts back what the writes through a journal
// replaced, and what they noted in the txState, and leaves earlier
// writes of the transaction alone; keep keeps the writes.
func TestJournal(t *testing.T) {
	b := []byte("b")
	get := func(tx store.Tx, k string) string {
		v, err := tx.Get(b, []byte(k))
		if errors.Is(err, store.ErrNotFound) {
			return "-"
		}
		if err != nil {
			t.Fatal(err)
		}
		return string(v)
	}
	u := wire.UserID{1}
	for _, tc := range []struct {
		name string
		undo bool
		want map[string]string
	}{
		{"undo", true, map[string]string{"a": "1", "b": "2", "c": "-", "d": "4"}},
		{"keep", false, map[string]string{"a": "x", "b": "-", "c": "y", "d": "4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := memstore.New()
			err := st.Update(context.Background(), func(tx store.Tx) error {
				ts := &txState{tx: tx, contacts: []wire.UserID{u}}
				for k, v := range map[string]string{"a": "1", "b": "2"} {
					if err := tx.Put(b, []byte(k), []byte(v)); err != nil {
						return err
					}
				}
				j := ts.journal()
				for _, w := range []struct{ k, v string }{{"a", "0"}, {"a", "x"}, {"c", "y"}} {
					if err := ts.tx.Put(b, []byte(w.k), []byte(w.v)); err != nil {
						return err
					}
				}
				if err := ts.tx.Delete(b, []byte("b")); err != nil {
					return err
				}
				ts.contactChanged(wire.UserID{2})
				ts.ownDevices = append(ts.ownDevices, 7)
				ts.changed = map[wire.UserID][]wire.DeviceID{u: {3}}
				if tc.undo {
					if err := j.undo(); err != nil {
						return err
					}
					if len(ts.contacts) != 1 || len(ts.ownDevices) != 0 || ts.changed != nil {
						t.Errorf("txState after undo: %+v", ts)
					}
				} else {
					j.keep()
				}
				if ts.tx != tx {
					t.Error("the journal still stands in for the transaction")
				}
				return tx.Put(b, []byte("d"), []byte("4"))
			})
			if err != nil {
				t.Fatal(err)
			}
			err = st.View(context.Background(), func(tx store.Tx) error {
				for k, v := range tc.want {
					if got := get(tx, k); got != v {
						t.Errorf("%s = %q, want %q", k, got, v)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
