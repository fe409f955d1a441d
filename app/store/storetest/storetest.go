// Package storetest is the conformance suite of the store package: every
// store.Store implementation runs it from its own tests, so that the
// client behaves the same on each.
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return memstore.New() })
//	}
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/mutualcoop/mutual/app/store"
)

// Open returns a new, empty store for one subtest. The suite closes it.
type Open func(t *testing.T) store.Store

var (
	bucketA = []byte("a")
	bucketB = []byte("b")
)

// Run runs the suite against the stores open returns.
func Run(t *testing.T, open Open) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"GetMissing", testGetMissing},
		{"PutGetDelete", testPutGetDelete},
		{"EmptyValue", testEmptyValue},
		{"BucketsAreSeparate", testBucketsSeparate},
		{"ScanOrderAndPrefix", testScan},
		{"ScanStopsOnError", testScanStops},
		{"ScanBeforeOrderBoundAndPrefix", testScanBefore},
		{"ScanBeforePages", testScanBeforePages},
		{"ReadOwnWrites", testReadOwnWrites},
		{"RollbackOnError", testRollbackOnError},
		{"RollbackOnPanic", testRollbackOnPanic},
		{"ViewIsReadOnly", testViewReadOnly},
		{"Copies", testCopies},
		{"Limits", testLimits},
		{"DoneContext", testDoneContext},
		{"TxAfterEnd", testTxAfterEnd},
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"Closed", testClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { s.Close() })
			tc.fn(t, s)
		})
	}
}

func update(t *testing.T, s store.Store, fn func(tx store.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("update: %v", err)
	}
}

// get reads one key in its own transaction; missing reads as nil.
func get(t *testing.T, s store.Store, bucket []byte, key string) []byte {
	t.Helper()
	var v []byte
	err := s.View(context.Background(), func(tx store.Tx) error {
		var err error
		v, err = tx.Get(bucket, []byte(key))
		if errors.Is(err, store.ErrNotFound) {
			v, err = nil, nil
		}
		return err
	})
	if err != nil {
		t.Fatalf("view: %v", err)
	}
	return v
}

// scan returns "k=v" for each key under prefix.
func scan(t *testing.T, tx store.Tx, bucket []byte, prefix string) []string {
	t.Helper()
	var out []string
	err := tx.Scan(bucket, []byte(prefix), func(k, v []byte) error {
		out = append(out, string(k)+"="+string(v))
		return nil
	})
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	return out
}

func same(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func testGetMissing(t *testing.T, s store.Store) {
	err := s.View(context.Background(), func(tx store.Tx) error {
		if _, err := tx.Get(bucketA, []byte("k")); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("missing bucket: got %v, want ErrNotFound", err)
		}
		if got := scan(t, tx, bucketA, ""); len(got) != 0 {
			return fmt.Errorf("scan of a missing bucket: %v", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	update(t, s, func(tx store.Tx) error { return tx.Put(bucketA, []byte("x"), []byte("1")) })
	if v := get(t, s, bucketA, "k"); v != nil {
		t.Fatalf("missing key: got %q", v)
	}
	// Deleting what is not there is fine.
	update(t, s, func(tx store.Tx) error {
		if err := tx.Delete(bucketB, []byte("nothing")); err != nil {
			return err
		}
		return tx.Delete(bucketA, []byte("nothing"))
	})
}

func testPutGetDelete(t *testing.T, s store.Store) {
	update(t, s, func(tx store.Tx) error { return tx.Put(bucketA, []byte("k"), []byte("v1")) })
	if v := get(t, s, bucketA, "k"); string(v) != "v1" {
		t.Fatalf("got %q, want v1", v)
	}
	update(t, s, func(tx store.Tx) error { return tx.Put(bucketA, []byte("k"), []byte("v2")) })
	if v := get(t, s, bucketA, "k"); string(v) != "v2" {
		t.Fatalf("after overwrite: got %q, want v2", v)
	}
	update(t, s, func(tx store.Tx) error { return tx.Delete(bucketA, []byte("k")) })
	if v := get(t, s, bucketA, "k"); v != nil {
		t.Fatalf("after delete: got %q", v)
	}
}

func testEmptyValue(t *testing.T, s store.Store) {
	update(t, s, func(tx store.Tx) error {
		if err := tx.Put(bucketA, []byte("empty"), nil); err != nil {
			return err
		}
		return tx.Put(bucketA, []byte("zero"), []byte{})
	})
	err := s.View(context.Background(), func(tx store.Tx) error {
		for _, k := range []string{"empty", "zero"} {
			v, err := tx.Get(bucketA, []byte(k))
			if err != nil || len(v) != 0 {
				return fmt.Errorf("%s: got %q, %v; want an empty value", k, v, err)
			}
		}
		if got := scan(t, tx, bucketA, ""); !same(got, []string{"empty=", "zero="}) {
			return fmt.Errorf("scan: %v", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testBucketsSeparate(t *testing.T, s store.Store) {
	update(t, s, func(tx store.Tx) error {
		if err := tx.Put(bucketA, []byte("k"), []byte("in a")); err != nil {
			return err
		}
		return tx.Put(bucketB, []byte("k"), []byte("in b"))
	})
	if a, b := get(t, s, bucketA, "k"), get(t, s, bucketB, "k"); string(a) != "in a" || string(b) != "in b" {
		t.Fatalf("got %q and %q", a, b)
	}
	// A bucket whose name extends another's is still another bucket.
	update(t, s, func(tx store.Tx) error { return tx.Put([]byte("ab"), []byte("k"), []byte("in ab")) })
	if a := get(t, s, bucketA, "k"); string(a) != "in a" {
		t.Fatalf("bucket a now holds %q", a)
	}
}

func testScan(t *testing.T, s store.Store) {
	keys := []string{"b", "a", "ab", "abc", "b\x00", "a\xff", "c", "\x00", "\xff\xff"}
	update(t, s, func(tx store.Tx) error {
		for _, k := range keys {
			if err := tx.Put(bucketA, []byte(k), []byte("v"+k)); err != nil {
				return err
			}
		}
		return nil
	})
	err := s.View(context.Background(), func(tx store.Tx) error {
		all := scan(t, tx, bucketA, "")
		want := []string{"\x00=v\x00", "a=va", "ab=vab", "abc=vabc", "a\xff=va\xff", "b=vb", "b\x00=vb\x00", "c=vc", "\xff\xff=v\xff\xff"}
		if !same(all, want) {
			return fmt.Errorf("scan all:\n got %q\nwant %q", all, want)
		}
		for prefix, want := range map[string][]string{
			"a":    {"a=va", "ab=vab", "abc=vabc", "a\xff=va\xff"},
			"ab":   {"ab=vab", "abc=vabc"},
			"b":    {"b=vb", "b\x00=vb\x00"},
			"abcd": nil,
			"\xff": {"\xff\xff=v\xff\xff"},
			"d":    nil,
		} {
			if got := scan(t, tx, bucketA, prefix); !same(got, want) {
				return fmt.Errorf("scan %q: got %q, want %q", prefix, got, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testScanStops(t *testing.T, s store.Store) {
	update(t, s, func(tx store.Tx) error {
		for _, k := range []string{"1", "2", "3"} {
			if err := tx.Put(bucketA, []byte(k), nil); err != nil {
				return err
			}
		}
		return nil
	})
	stop := errors.New("stop")
	var seen []string
	err := s.View(context.Background(), func(tx store.Tx) error {
		return tx.Scan(bucketA, nil, func(k, _ []byte) error {
			seen = append(seen, string(k))
			if string(k) == "2" {
				return stop
			}
			return nil
		})
	})
	if !errors.Is(err, stop) || !same(seen, []string{"1", "2"}) {
		t.Fatalf("got %v after %v, want the callback's error after 1 and 2", err, seen)
	}
}

func testReadOwnWrites(t *testing.T, s store.Store) {
	update(t, s, func(tx store.Tx) error {
		for _, k := range []string{"k1", "k2", "k3"} {
			if err := tx.Put(bucketA, []byte(k), []byte("old")); err != nil {
				return err
			}
		}
		return nil
	})
	update(t, s, func(tx store.Tx) error {
		if err := tx.Put(bucketA, []byte("k2"), []byte("new")); err != nil {
			return err
		}
		if err := tx.Delete(bucketA, []byte("k3")); err != nil {
			return err
		}
		if err := tx.Put(bucketA, []byte("k0"), []byte("added")); err != nil {
			return err
		}
		if v, err := tx.Get(bucketA, []byte("k2")); err != nil || string(v) != "new" {
			return fmt.Errorf("get k2: %q %v", v, err)
		}
		if _, err := tx.Get(bucketA, []byte("k3")); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("get deleted k3: %v", err)
		}
		want := []string{"k0=added", "k1=old", "k2=new"}
		if got := scan(t, tx, bucketA, "k"); !same(got, want) {
			return fmt.Errorf("scan: got %v, want %v", got, want)
		}
		return nil
	})
}

func testRollbackOnError(t *testing.T, s store.Store) {
	update(t, s, func(tx store.Tx) error { return tx.Put(bucketA, []byte("k"), []byte("kept")) })
	boom := errors.New("boom")
	err := s.Update(context.Background(), func(tx store.Tx) error {
		if err := tx.Put(bucketA, []byte("k"), []byte("lost")); err != nil {
			return err
		}
		if err := tx.Put(bucketB, []byte("new"), []byte("lost")); err != nil {
			return err
		}
		if err := tx.Delete(bucketA, []byte("k")); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("update returned %v, want fn's error", err)
	}
	if v := get(t, s, bucketA, "k"); string(v) != "kept" {
		t.Fatalf("after rollback: %q", v)
	}
	if v := get(t, s, bucketB, "new"); v != nil {
		t.Fatalf("after rollback, bucket b holds %q", v)
	}
}

func testRollbackOnPanic(t *testing.T, s store.Store) {
	update(t, s, func(tx store.Tx) error { return tx.Put(bucketA, []byte("k"), []byte("kept")) })
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Fatalf("recovered %v, want the panic passed on", r)
			}
		}()
		_ = s.Update(context.Background(), func(tx store.Tx) error {
			if err := tx.Put(bucketA, []byte("k"), []byte("lost")); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	if v := get(t, s, bucketA, "k"); string(v) != "kept" {
		t.Fatalf("after a panic: %q", v)
	}
	// The store is still usable.
	update(t, s, func(tx store.Tx) error { return tx.Put(bucketA, []byte("k"), []byte("again")) })
	if v := get(t, s, bucketA, "k"); string(v) != "again" {
		t.Fatalf("after a panic and an update: %q", v)
	}
}

func testViewReadOnly(t *testing.T, s store.Store) {
	update(t, s, func(tx store.Tx) error { return tx.Put(bucketA, []byte("k"), []byte("v")) })
	err := s.View(context.Background(), func(tx store.Tx) error {
		if err := tx.Put(bucketA, []byte("k"), []byte("w")); !errors.Is(err, store.ErrReadOnly) {
			return fmt.Errorf("put in view: %v", err)
		}
		if err := tx.Delete(bucketA, []byte("k")); !errors.Is(err, store.ErrReadOnly) {
			return fmt.Errorf("delete in view: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if v := get(t, s, bucketA, "k"); string(v) != "v" {
		t.Fatalf("got %q", v)
	}
}

func testCopies(t *testing.T, s store.Store) {
	key, value := []byte("k"), []byte("value")
	update(t, s, func(tx store.Tx) error {
		if err := tx.Put(bucketA, key, value); err != nil {
			return err
		}
		// The caller's buffers are the caller's.
		key[0], value[0] = 'x', 'X'
		return nil
	})
	got := get(t, s, bucketA, "k")
	if string(got) != "value" {
		t.Fatalf("stored %q, want value", got)
	}
	got[0] = 'Y'
	if v := get(t, s, bucketA, "k"); string(v) != "value" {
		t.Fatalf("changing what Get returned changed the store: %q", v)
	}
}

func testLimits(t *testing.T, s store.Store) {
	big := bytes.Repeat([]byte{'k'}, store.MaxKeySize)
	update(t, s, func(tx store.Tx) error {
		if err := tx.Put(bucketA, big, []byte("max key")); err != nil {
			return fmt.Errorf("a key of MaxKeySize: %w", err)
		}
		return tx.Put(bytes.Repeat([]byte{'b'}, store.MaxBucketName), []byte("k"), nil)
	})
	err := s.Update(context.Background(), func(tx store.Tx) error {
		for name, err := range map[string]error{
			"empty key":        tx.Put(bucketA, nil, []byte("v")),
			"long key":         tx.Put(bucketA, append(big, 'k'), []byte("v")),
			"empty bucket":     tx.Put(nil, []byte("k"), []byte("v")),
			"long bucket":      tx.Put(bytes.Repeat([]byte{'b'}, store.MaxBucketName+1), []byte("k"), nil),
			"long value":       tx.Put(bucketA, []byte("k"), make([]byte, store.MaxValueSize+1)),
			"get empty key":    getErr(tx.Get(bucketA, nil)),
			"delete empty key": tx.Delete(bucketA, nil),
			"scan no bucket":   tx.Scan(nil, nil, func(k, v []byte) error { return nil }),
		} {
			if !errors.Is(err, store.ErrInvalid) {
				return fmt.Errorf("%s: got %v, want ErrInvalid", name, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func getErr(_ []byte, err error) error { return err }

func testDoneContext(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	called := false
	fn := func(store.Tx) error { called = true; return nil }
	if err := s.Update(ctx, fn); !errors.Is(err, context.Canceled) || called {
		t.Fatalf("update: %v (called %v)", err, called)
	}
	if err := s.View(ctx, fn); !errors.Is(err, context.Canceled) || called {
		t.Fatalf("view: %v (called %v)", err, called)
	}
}

func testTxAfterEnd(t *testing.T, s store.Store) {
	var kept store.Tx
	update(t, s, func(tx store.Tx) error { kept = tx; return nil })
	if err := kept.Put(bucketA, []byte("k"), nil); !errors.Is(err, store.ErrTxDone) {
		t.Fatalf("put after the transaction: %v", err)
	}
	if _, err := kept.Get(bucketA, []byte("k")); !errors.Is(err, store.ErrTxDone) {
		t.Fatalf("get after the transaction: %v", err)
	}
}

// testConcurrentUpdates increments one counter from several goroutines:
// read-write transactions are serialised, so no increment is lost, and
// readers always see a whole transaction (both keys equal).
func testConcurrentUpdates(t *testing.T, s store.Store) {
	const workers, each = 4, 25
	var wg sync.WaitGroup
	errs := make(chan error, 2*workers)
	for range workers {
		wg.Go(func() {
			for range each {
				err := s.Update(context.Background(), func(tx store.Tx) error {
					n := 0
					if v, err := tx.Get(bucketA, []byte("n")); err == nil {
						n = int(v[0])<<8 | int(v[1])
					} else if !errors.Is(err, store.ErrNotFound) {
						return err
					}
					n++
					v := []byte{byte(n >> 8), byte(n)}
					if err := tx.Put(bucketA, []byte("n"), v); err != nil {
						return err
					}
					return tx.Put(bucketA, []byte("m"), v)
				})
				if err != nil {
					errs <- err
					return
				}
			}
		})
		wg.Go(func() {
			for range each {
				err := s.View(context.Background(), func(tx store.Tx) error {
					n, err1 := tx.Get(bucketA, []byte("n"))
					m, err2 := tx.Get(bucketA, []byte("m"))
					if !bytes.Equal(n, m) || (err1 == nil) != (err2 == nil) {
						return fmt.Errorf("a reader saw half a transaction: %v/%v %v/%v", n, err1, m, err2)
					}
					return nil
				})
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if v := get(t, s, bucketA, "n"); len(v) != 2 || int(v[0])<<8|int(v[1]) != workers*each {
		t.Fatalf("counter %v, want %d", v, workers*each)
	}
}

func testClosed(t *testing.T, s store.Store) {
	update(t, s, func(tx store.Tx) error { return tx.Put(bucketA, []byte("k"), nil) })
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	fn := func(store.Tx) error { return nil }
	if err := s.Update(context.Background(), fn); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("update after close: %v", err)
	}
	if err := s.View(context.Background(), fn); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("view after close: %v", err)
	}
}

// scanBefore collects "key=value" in the order ScanBefore visits them.
func scanBefore(t *testing.T, tx store.Tx, bucket []byte, prefix, before string, bounded bool) []string {
	t.Helper()
	var b []byte
	if bounded {
		b = []byte(before)
	}
	var got []string
	if err := tx.ScanBefore(bucket, []byte(prefix), b, func(k, v []byte) error {
		got = append(got, string(k)+"="+string(v))
		return nil
	}); err != nil {
		t.Fatalf("scan before %q in %q: %v", before, prefix, err)
	}
	return got
}

func testScanBefore(t *testing.T, s store.Store) {
	keys := []string{"b", "a", "ab", "abc", "b\x00", "a\xff", "c", "\x00", "\xff\xff"}
	update(t, s, func(tx store.Tx) error {
		for _, k := range keys {
			if err := tx.Put(bucketA, []byte(k), []byte("v"+k)); err != nil {
				return err
			}
		}
		return tx.Put(bucketB, []byte("a0"), []byte("other bucket"))
	})
	cases := []struct {
		prefix, before string
		bounded        bool
		want           []string
	}{
		{"", "", false, []string{"\xff\xff=v\xff\xff", "c=vc", "b\x00=vb\x00", "b=vb", "a\xff=va\xff", "abc=vabc", "ab=vab", "a=va", "\x00=v\x00"}},
		{"a", "", false, []string{"a\xff=va\xff", "abc=vabc", "ab=vab", "a=va"}},
		{"a", "abc", true, []string{"ab=vab", "a=va"}},
		{"a", "ab\x00", true, []string{"ab=vab", "a=va"}},
		{"a", "a", true, nil},
		{"a", "b", true, []string{"a\xff=va\xff", "abc=vabc", "ab=vab", "a=va"}},
		{"a", "zzz", true, []string{"a\xff=va\xff", "abc=vabc", "ab=vab", "a=va"}},
		{"a", "\x00", true, nil},
		{"", "b", true, []string{"a\xff=va\xff", "abc=vabc", "ab=vab", "a=va", "\x00=v\x00"}},
		{"\xff", "", false, []string{"\xff\xff=v\xff\xff"}},
		{"\xff\xff", "", false, []string{"\xff\xff=v\xff\xff"}},
		{"d", "", false, nil},
		{"", "\x00", true, nil},
	}
	err := s.View(context.Background(), func(tx store.Tx) error {
		for _, c := range cases {
			if got := scanBefore(t, tx, bucketA, c.prefix, c.before, c.bounded); !same(got, c.want) {
				return fmt.Errorf("scan before %q (bounded %v) in %q:\n got %q\nwant %q", c.before, c.bounded, c.prefix, got, c.want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A read-write transaction sees its own puts and deletes.
	update(t, s, func(tx store.Tx) error {
		if err := tx.Put(bucketA, []byte("aa"), []byte("vaa")); err != nil {
			return err
		}
		if err := tx.Delete(bucketA, []byte("abc")); err != nil {
			return err
		}
		got := scanBefore(t, tx, bucketA, "a", "", false)
		want := []string{"a\xff=va\xff", "ab=vab", "aa=vaa", "a=va"}
		if !same(got, want) {
			return fmt.Errorf("own writes: got %q, want %q", got, want)
		}
		return nil
	})
	stop := errors.New("stop")
	var seen []string
	err = s.View(context.Background(), func(tx store.Tx) error {
		return tx.ScanBefore(bucketA, nil, nil, func(k, _ []byte) error {
			seen = append(seen, string(k))
			if len(seen) == 2 {
				return stop
			}
			return nil
		})
	})
	if !errors.Is(err, stop) || !same(seen, []string{"\xff\xff", "c"}) {
		t.Fatalf("got %v after %q, want the callback's error after the two last keys", err, seen)
	}
}

// testScanBeforePages pages backwards through one prefix among others, the
// way a client reads a conversation's newest messages first.
func testScanBeforePages(t *testing.T, s store.Store) {
	const n, page = 250, 40
	key := func(conv byte, seq int) []byte {
		return []byte{conv, byte(seq >> 8), byte(seq)}
	}
	update(t, s, func(tx store.Tx) error {
		for _, conv := range []byte{1, 2, 3} {
			for i := range n {
				if err := tx.Put(bucketA, key(conv, i), []byte{conv}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	stop := errors.New("page full")
	var before []byte
	next := n - 1
	for {
		var got [][]byte
		err := s.View(context.Background(), func(tx store.Tx) error {
			return tx.ScanBefore(bucketA, []byte{2}, before, func(k, v []byte) error {
				if len(v) != 1 || v[0] != 2 {
					return fmt.Errorf("key %x has value %x", k, v)
				}
				got = append(got, bytes.Clone(k))
				if len(got) == page {
					return stop
				}
				return nil
			})
		})
		if err != nil && !errors.Is(err, stop) {
			t.Fatal(err)
		}
		for _, k := range got {
			if want := key(2, next); !bytes.Equal(k, want) {
				t.Fatalf("got key %x, want %x", k, want)
			}
			next--
		}
		if len(got) < page {
			break
		}
		before = got[len(got)-1]
	}
	if next != -1 {
		t.Fatalf("paging stopped with %d keys unread", next+1)
	}
}
