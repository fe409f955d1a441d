package pb

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

func TestRoundTrip(t *testing.T) {
	b := AppendVarint(nil, 1, 7)
	b = AppendBytes(b, 2, []byte("key"))
	b = protowire.AppendTag(b, 3, protowire.Fixed64Type)
	b = protowire.AppendFixed64(b, 9)
	var got []Field
	if err := ForEach(b, func(f Field) error { got = append(got, f); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d fields", len(got))
	}
	if v, err := got[0].Uint32(); err != nil || v != 7 {
		t.Fatalf("Uint32 = %d, %v", v, err)
	}
	var key [3]byte
	if err := got[1].FixedBytes(key[:]); err != nil || string(key[:]) != "key" {
		t.Fatalf("FixedBytes = %q, %v", key, err)
	}
	if err := got[1].FixedBytes(make([]byte, 4)); err == nil {
		t.Fatal("FixedBytes accepted the wrong length")
	}
	if v, err := got[2].Fixed64(); err != nil || v != 9 {
		t.Fatalf("Fixed64 = %d, %v", v, err)
	}
	if _, err := got[0].ByteSlice(); !errors.Is(err, ErrWireType) {
		t.Fatalf("ByteSlice of a varint: %v", err)
	}
	big := Field{Type: protowire.VarintType, Value: 1 << 33}
	if _, err := big.Uint32(); err == nil {
		t.Fatal("Uint32 accepted an overflow")
	}
}

func FuzzForEach(f *testing.F) {
	f.Add(AppendBytes(AppendVarint(nil, 1, 300), 2, []byte("x")))
	f.Add([]byte{0x0b}) // a group start: refused
	f.Fuzz(func(t *testing.T, b []byte) {
		n := 0
		ForEach(b, func(Field) error { n++; return nil })
		if n > len(b) {
			t.Fatalf("%d fields from %d bytes", n, len(b))
		}
	})
}
