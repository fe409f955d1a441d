//go:build js && wasm

package idbstore_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"syscall/js"
	"testing"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/app/store/idbstore"
	"github.com/mutualcoop/mutual/app/store/memstore"
	"github.com/mutualcoop/mutual/app/store/storetest"
)

// readers are the two ways the store reads ranges: with getAll's
// direction option, where the browser has it, and with a cursor.
var readers = []struct {
	name  string
	setup func(*idbstore.Store)
}{
	{"direction", func(*idbstore.Store) {}},
	{"cursor", idbstore.WithoutGetAllDirection},
}

// open opens a fresh database for tb (deleting what an earlier run left),
// and closes and deletes it when tb ends.
func open(tb testing.TB, name string) *idbstore.Store {
	tb.Helper()
	ctx := context.Background()
	name = "idbstore-test/" + name
	if err := idbstore.Delete(ctx, name); err != nil {
		tb.Fatal(err)
	}
	s, err := idbstore.Open(ctx, name)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Error(err)
		}
		if err := idbstore.Delete(ctx, name); err != nil {
			tb.Error(err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	for _, r := range readers {
		t.Run(r.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) store.Store {
				s := open(t, t.Name())
				r.setup(s)
				return s
			})
		})
	}
}

func TestBrowserHasGetAllDirection(t *testing.T) {
	// The test browser is recent: the fast path is the one under test.
	if !idbstore.HasGetAllDirection(open(t, t.Name())) {
		t.Fatal("IDBObjectStore.getAllRecords is missing")
	}
}

// TestMatchesMemstore applies the same random changes to an idbstore and
// a memstore, some committed, some rolled back, and compares what scans
// over random ranges return, inside the changing transactions too. The
// ranges are long enough to take several batches.
func TestMatchesMemstore(t *testing.T) {
	for _, r := range readers {
		t.Run(r.name, func(t *testing.T) {
			s := open(t, t.Name())
			r.setup(s)
			m := memstore.New()
			rng := rand.New(rand.NewPCG(1, 2))
			buckets := [][]byte{[]byte("m"), []byte("m\x00"), []byte("mm")}
			key := func() []byte {
				k := make([]byte, 1+rng.IntN(3))
				for i := range k {
					k[i] = byte(rng.IntN(12)) * 23 // a few values, 0 and 0xfd among them
				}
				return k
			}
			ctx := context.Background()
			rollback := errors.New("rollback")
			for round := range 12 {
				ops := make([]func(store.Tx) error, 400)
				for i := range ops {
					b, k := buckets[rng.IntN(len(buckets))], key()
					v := []byte(fmt.Sprintf("%d/%d", round, i))
					if rng.IntN(4) == 0 {
						ops[i] = func(tx store.Tx) error { return tx.Delete(b, k) }
					} else {
						ops[i] = func(tx store.Tx) error { return tx.Put(b, k, v) }
					}
				}
				probes := make([][3][]byte, 8)
				for i := range probes {
					probes[i] = [3][]byte{buckets[rng.IntN(len(buckets))], key()[:rng.IntN(2)], key()}
				}
				fail := round%3 == 2
				var inside [2][]string
				for i, st := range []store.Store{s, m} {
					err := st.Update(ctx, func(tx store.Tx) error {
						for _, op := range ops {
							if err := op(tx); err != nil {
								return err
							}
						}
						inside[i] = scans(t, tx, probes)
						if fail {
							return rollback
						}
						return nil
					})
					if err != nil && !errors.Is(err, rollback) {
						t.Fatal(err)
					}
				}
				if !slices.Equal(inside[0], inside[1]) {
					t.Fatalf("round %d, inside the update:\nidbstore %q\nmemstore %q", round, inside[0], inside[1])
				}
				var after [2][]string
				for i, st := range []store.Store{s, m} {
					if err := st.View(ctx, func(tx store.Tx) error {
						after[i] = scans(t, tx, probes)
						return nil
					}); err != nil {
						t.Fatal(err)
					}
				}
				if !slices.Equal(after[0], after[1]) {
					t.Fatalf("round %d, after:\nidbstore %q\nmemstore %q", round, after[0], after[1])
				}
			}
		})
	}
}

// scans runs Scan and ScanBefore (bounded and not) for each probe (bucket,
// prefix, before) and returns all they visited, in order.
func scans(t *testing.T, tx store.Tx, probes [][3][]byte) []string {
	t.Helper()
	var out []string
	collect := func(k, v []byte) error {
		out = append(out, fmt.Sprintf("%x=%s", k, v))
		return nil
	}
	for _, p := range probes {
		out = append(out, fmt.Sprintf("scan %x %x", p[0], p[1]))
		if err := tx.Scan(p[0], p[1], collect); err != nil {
			t.Fatal(err)
		}
		out = append(out, "before nil")
		if err := tx.ScanBefore(p[0], p[1], nil, collect); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("before %x", p[2]))
		if err := tx.ScanBefore(p[0], p[1], p[2], collect); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestReopen: what Update committed is there after the store is closed
// and opened again; what a failed Update wrote is not.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.Name())
	if err := s.Update(ctx, func(tx store.Tx) error {
		return tx.Put([]byte("b"), []byte("k"), []byte("committed"))
	}); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.Put([]byte("b"), []byte("k2"), []byte("rolled back")); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := idbstore.Open(ctx, "idbstore-test/"+t.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.View(ctx, func(tx store.Tx) error {
		if v, err := tx.Get([]byte("b"), []byte("k")); err != nil || string(v) != "committed" {
			return fmt.Errorf("k: %q %v", v, err)
		}
		if _, err := tx.Get([]byte("b"), []byte("k2")); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("k2: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDelete: a deleted database opens empty.
func TestDelete(t *testing.T) {
	ctx := context.Background()
	name := "idbstore-test/" + t.Name()
	s := open(t, t.Name())
	if err := s.Update(ctx, func(tx store.Tx) error {
		return tx.Put([]byte("b"), []byte("k"), []byte("v"))
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idbstore.Delete(ctx, name); err != nil {
		t.Fatalf("delete: %v", err)
	}
	s2, err := idbstore.Open(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	assertEmpty(t, s2)
}

func assertEmpty(t *testing.T, s store.Store) {
	t.Helper()
	err := s.View(context.Background(), func(tx store.Tx) error {
		if _, err := tx.Get([]byte("b"), []byte("k")); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("get after delete: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDeleteClosesOpenStores: a Store open on the database gives way to
// Delete (sign-out while the app runs, in this tab or another); it is
// closed from then on.
func TestDeleteClosesOpenStores(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.Name())
	if err := s.Update(ctx, func(tx store.Tx) error {
		return tx.Put([]byte("b"), []byte("k"), []byte("v"))
	}); err != nil {
		t.Fatal(err)
	}
	if err := idbstore.Delete(ctx, "idbstore-test/"+t.Name()); err != nil {
		t.Fatalf("delete with a store open: %v", err)
	}
	if err := s.View(ctx, func(store.Tx) error { return nil }); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("view after delete: %v, want ErrClosed", err)
	}
	if err := s.Update(ctx, func(store.Tx) error { return nil }); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("update after delete: %v, want ErrClosed", err)
	}
}

// TestDeleteBlocked: a connection that does not close when asked blocks
// Delete, which says so; the deletion happens when it closes.
func TestDeleteBlocked(t *testing.T) {
	ctx := context.Background()
	name := "idbstore-test/" + t.Name()
	s := open(t, t.Name())
	if err := s.Update(ctx, func(tx store.Tx) error {
		return tx.Put([]byte("b"), []byte("k"), []byte("v"))
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	raw := openRaw(t, name) // ignores versionchange
	if err := idbstore.Delete(ctx, name); !errors.Is(err, idbstore.ErrBlocked) {
		t.Fatalf("delete with a connection that stays open: %v, want ErrBlocked", err)
	}
	raw.Call("close")
	// Open waits for the queued deletion.
	s2, err := idbstore.Open(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	assertEmpty(t, s2)
}

// openRaw opens an IndexedDB connection to name with no versionchange
// handler, as a page that does not cooperate would.
func openRaw(t *testing.T, name string) js.Value {
	t.Helper()
	req := js.Global().Get("indexedDB").Call("open", name)
	done := make(chan js.Value, 1)
	var onSuccess, onError js.Func
	onSuccess = js.FuncOf(func(js.Value, []js.Value) any {
		done <- req.Get("result")
		return nil
	})
	onError = js.FuncOf(func(js.Value, []js.Value) any {
		done <- js.Null()
		return nil
	})
	defer onSuccess.Release()
	defer onError.Release()
	req.Set("onsuccess", onSuccess)
	req.Set("onerror", onError)
	db := <-done
	if db.IsNull() {
		t.Fatalf("open %s: %v", name, req.Get("error"))
	}
	return db
}

// nextTask waits for a task of the browser's event loop that runs no
// request of the store's: the end of the current task has come and gone.
func nextTask() {
	done := make(chan struct{})
	var f js.Func
	f = js.FuncOf(func(js.Value, []js.Value) any {
		f.Release()
		close(done)
		return nil
	})
	js.Global().Call("setTimeout", f, 0)
	<-done
}

// TestWaitOutsideTheStore: IndexedDB ends a transaction when the event
// loop runs with none of its requests pending. A fn that reads, then waits
// on something else, gets an error, and its Update writes nothing; a fn
// that only writes can wait, as it has no transaction open yet.
func TestWaitOutsideTheStore(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.Name())
	b := []byte("b")
	err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.Put(b, []byte("k"), []byte("v")); err != nil {
			return err
		}
		nextTask()
		return tx.Put(b, []byte("k2"), []byte("v2"))
	})
	if err != nil {
		t.Fatalf("an update that writes, waits and writes: %v", err)
	}

	err = s.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.Get(b, []byte("k")); err != nil {
			return err
		}
		nextTask()
		return tx.Put(b, []byte("k"), []byte("lost"))
	})
	if err == nil {
		t.Fatal("an update that read, waited and wrote committed")
	}
	t.Logf("read, wait, write: %v", err)

	err = s.View(ctx, func(tx store.Tx) error {
		if _, err := tx.Get(b, []byte("k")); err != nil {
			return err
		}
		nextTask()
		if _, err := tx.Get(b, []byte("k2")); err == nil {
			return errors.New("a read after waiting outside the store succeeded")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.View(ctx, func(tx store.Tx) error {
		for k, want := range map[string]string{"k": "v", "k2": "v2"} {
			if v, err := tx.Get(b, []byte(k)); err != nil || string(v) != want {
				return fmt.Errorf("%s: %q %v, want %q", k, v, err, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := idbstore.Open(ctx, "idbstore-test/"+t.Name()); !errors.Is(err, context.Canceled) {
		t.Fatalf("open with a done context: %v", err)
	}
	if err := idbstore.Delete(ctx, "idbstore-test/"+t.Name()); !errors.Is(err, context.Canceled) {
		t.Fatalf("delete with a done context: %v", err)
	}
	if _, err := idbstore.Open(context.Background(), ""); err == nil {
		t.Fatal("open of an empty name succeeded")
	}
}

// messageKey is a message's key in the benchmarks: a conversation, then a
// sequence number, as the client keys them.
func messageKey(conv byte, seq uint64) []byte {
	k := make([]byte, 17)
	k[0] = conv
	binary.BigEndian.PutUint64(k[9:], seq)
	return k
}

// BenchmarkPut10000 measures one Update that writes 10,000 records of
// 300 bytes: a large import, or a first sync.
func BenchmarkPut10000(b *testing.B) {
	s := open(b, b.Name())
	ctx := context.Background()
	value := bytes.Repeat([]byte{'m'}, 300)
	bucket := []byte("messages")
	round := uint64(0)
	for b.Loop() {
		round++
		err := s.Update(ctx, func(tx store.Tx) error {
			for i := range uint64(10000) {
				if err := tx.Put(bucket, messageKey(1, round<<20|i), value); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUpdate measures one durable transaction that writes what
// receiving one message writes: a session record, a message and a seen-ID.
func BenchmarkUpdate(b *testing.B) {
	s := open(b, b.Name())
	ctx := context.Background()
	session, msg := make([]byte, 2048), make([]byte, 300)
	var n uint64
	for b.Loop() {
		n++
		err := s.Update(ctx, func(tx store.Tx) error {
			if err := tx.Put([]byte("sessions"), []byte("peer"), session); err != nil {
				return err
			}
			if err := tx.Put([]byte("messages"), messageKey(1, n), msg); err != nil {
				return err
			}
			return tx.Put([]byte("seen"), messageKey(2, n), nil)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScanBefore200 reads a page of 200 messages of 300 bytes, the
// newest before a point in the middle, of a conversation of 10,000 among
// two others: what opening a long chat or scrolling back costs.
func BenchmarkScanBefore200(b *testing.B) {
	for _, r := range readers {
		b.Run(r.name, func(b *testing.B) {
			s := open(b, b.Name())
			r.setup(s)
			ctx := context.Background()
			value := bytes.Repeat([]byte{'m'}, 300)
			bucket := []byte("messages")
			err := s.Update(ctx, func(tx store.Tx) error {
				for _, conv := range []byte{1, 2, 3} {
					for i := range uint64(10000) {
						if err := tx.Put(bucket, messageKey(conv, i), value); err != nil {
							return err
						}
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			prefix := messageKey(2, 0)[:9]
			before := messageKey(2, 5000)
			full := errors.New("page full")
			for b.Loop() {
				n := 0
				err := s.View(ctx, func(tx store.Tx) error {
					return tx.ScanBefore(bucket, prefix, before, func(k, v []byte) error {
						if n++; n == 200 {
							return full
						}
						return nil
					})
				})
				if !errors.Is(err, full) {
					b.Fatalf("%v after %d records", err, n)
				}
			}
		})
	}
}

// BenchmarkGet measures one read in its own View.
func BenchmarkGet(b *testing.B) {
	s := open(b, b.Name())
	ctx := context.Background()
	bucket := []byte("sessions")
	if err := s.Update(ctx, func(tx store.Tx) error {
		return tx.Put(bucket, []byte("peer"), make([]byte, 2048))
	}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := s.View(ctx, func(tx store.Tx) error {
			_, err := tx.Get(bucket, []byte("peer"))
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
}
