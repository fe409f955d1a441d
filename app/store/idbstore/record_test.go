//go:build !js

package idbstore

import (
	"bytes"
	"testing"
)

// FuzzParseRecord: parsing any bytes fails cleanly or gives a key and a
// value that encode back to what parses the same.
func FuzzParseRecord(f *testing.F) {
	f.Add(appendRecord(nil, string(appendKey(nil, []byte("b"), []byte("key"))), []byte("value")))
	f.Add(appendRecord(nil, string(appendKey(nil, []byte("b"), []byte{0})), nil))
	f.Add(appendRecord(nil, string(appendKey(nil, []byte("b"), bytes.Repeat([]byte{0xff}, 300))), []byte{1}))
	f.Add([]byte{})
	f.Add([]byte{0x80})
	f.Add([]byte{5, 'a'})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, rec []byte) {
		key, value, err := parseRecord(rec)
		if err != nil {
			return
		}
		if len(key)+len(value) > len(rec) {
			t.Fatalf("key %d and value %d bytes from %d", len(key), len(value), len(rec))
		}
		again := appendRecord(nil, string(appendKey(nil, []byte("b"), key)), value)
		k2, v2, err := parseRecord(again)
		if err != nil || !bytes.Equal(k2, key) || !bytes.Equal(v2, value) {
			t.Fatalf("round trip of %x/%x: %x/%x %v", key, value, k2, v2, err)
		}
	})
}

// FuzzKeyOrder: IndexedDB keys sort as the store package's keys within a
// bucket, and each bucket's keys lie in its own range, apart from every
// other bucket's, however the names compare.
func FuzzKeyOrder(f *testing.F) {
	f.Add([]byte("a"), []byte("ab"), []byte("k"), []byte("k\x00"))
	f.Add([]byte("a"), []byte("a\x00"), []byte("\xff\xff"), []byte("\x00"))
	f.Add([]byte("\xff"), []byte("\xff\xff"), []byte("\xff"), []byte("\xff\xff"))
	f.Fuzz(func(t *testing.T, bucketA, bucketB, k1, k2 []byte) {
		if len(bucketA) == 0 || len(bucketA) > 255 || len(bucketB) == 0 || len(bucketB) > 255 {
			return
		}
		a1, a2 := appendKey(nil, bucketA, k1), appendKey(nil, bucketA, k2)
		if got, want := bytes.Compare(a1, a2), bytes.Compare(k1, k2); got != want {
			t.Fatalf("%x vs %x compare %d, keys %x vs %x compare %d", a1, a2, got, k1, k2, want)
		}
		lo := appendKey(nil, bucketA, nil)
		hi := prefixEnd(lo)
		in := func(k []byte) bool {
			return bytes.Compare(k, lo) >= 0 && (hi == nil || bytes.Compare(k, hi) < 0)
		}
		if !in(a1) {
			t.Fatalf("%x is outside its bucket's range [%x, %x)", a1, lo, hi)
		}
		if b1 := appendKey(nil, bucketB, k1); !bytes.Equal(bucketA, bucketB) && in(b1) {
			t.Fatalf("%x of bucket %x is in the range of bucket %x", b1, bucketB, bucketA)
		}
	})
}

func TestPrefixEnd(t *testing.T) {
	tests := []struct{ prefix, want []byte }{
		{nil, nil},
		{[]byte{0xff, 0xff}, nil},
		{[]byte("a"), []byte("b")},
		{[]byte("a\xff"), []byte("b")},
		{[]byte("a\xfe"), []byte("a\xff")},
		{[]byte{0}, []byte{1}},
	}
	for _, tc := range tests {
		if got := prefixEnd(tc.prefix); !bytes.Equal(got, tc.want) {
			t.Errorf("prefixEnd(%x) = %x, want %x", tc.prefix, got, tc.want)
		}
	}
}
