package pb

import (
	"bytes"
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
	if err := got[1].FixedBytes(make([]byte, 4)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("FixedBytes of the wrong length: %v", err)
	}
	if v, err := got[2].Fixed64(); err != nil || v != 9 {
		t.Fatalf("Fixed64 = %d, %v", v, err)
	}
	if _, err := got[0].ByteSlice(); !errors.Is(err, ErrWireType) || !errors.Is(err, ErrMalformed) {
		t.Fatalf("ByteSlice of a varint: %v", err)
	}
	big := Field{Type: protowire.VarintType, Value: 1 << 33}
	if _, err := big.Uint32(); !errors.Is(err, ErrMalformed) {
		t.Fatalf("Uint32 of 1<<33: %v", err)
	}
}

// one decodes a message of exactly one field.
func one(t *testing.T, b []byte) Field {
	t.Helper()
	f, n, err := Next(b)
	if err != nil || n != len(b) {
		t.Fatalf("Next(%x) = %+v, %d, %v", b, f, n, err)
	}
	return f
}

func TestAccessors(t *testing.T) {
	varint := func(v uint64) Field { return one(t, AppendVarint(nil, 1, v)) }
	bytesField := func(v string) Field { return one(t, AppendBytes(nil, 1, []byte(v))) }
	fixed32 := one(t, protowire.AppendFixed32(protowire.AppendTag(nil, 1, protowire.Fixed32Type), 5))
	group := one(t, []byte{0x0b, 0x08, 0x01, 0x0c}) // group 1 { 1: 1 }

	tests := []struct {
		name string
		get  func() (any, error)
		want any
		err  error // nil, ErrMalformed or ErrWireType
	}{
		{"uint64", func() (any, error) { return varint(1 << 40).Uint64() }, uint64(1 << 40), nil},
		{"uint64 of bytes", func() (any, error) { return bytesField("x").Uint64() }, uint64(0), ErrWireType},
		{"uint32 max", func() (any, error) { return varint(1<<32 - 1).Uint32() }, uint32(1<<32 - 1), nil},
		{"uint32 overflow", func() (any, error) { return varint(1 << 32).Uint32() }, uint32(0), ErrMalformed},
		{"uint32 of fixed32", func() (any, error) { return fixed32.Uint32() }, uint32(0), ErrWireType},
		{"sint64 negative", func() (any, error) { return varint(protowire.EncodeZigZag(-3)).Sint64() }, int64(-3), nil},
		{"bool", func() (any, error) { return varint(2).Bool() }, true, nil},
		{"bool of group", func() (any, error) { return group.Bool() }, false, ErrWireType},
		{"fixed64 of varint", func() (any, error) { return varint(1).Fixed64() }, uint64(0), ErrWireType},
		{"bytes", func() (any, error) { return bytesField("abc").Bytes(3) }, []byte("abc"), nil},
		{"bytes empty is nil", func() (any, error) { return bytesField("").Bytes(3) }, []byte(nil), nil},
		{"bytes over limit", func() (any, error) { return bytesField("abcd").Bytes(3) }, []byte(nil), ErrMalformed},
		{"bytes of varint", func() (any, error) { return varint(1).Bytes(3) }, []byte(nil), ErrWireType},
		{"string", func() (any, error) { return bytesField("héllo").String(6) }, "héllo", nil},
		{"string over limit", func() (any, error) { return bytesField("héllo").String(5) }, "", ErrMalformed},
		{"string not utf-8", func() (any, error) { return bytesField("\xff\xfe").String(5) }, "", ErrMalformed},
		{"string of fixed32", func() (any, error) { return fixed32.String(5) }, "", ErrWireType},
		{"byte slice of group", func() (any, error) { return group.ByteSlice() }, []byte(nil), ErrWireType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.get()
			switch {
			case tt.err == nil && err != nil:
				t.Fatalf("error %v", err)
			case tt.err != nil && (!errors.Is(err, tt.err) || !errors.Is(err, ErrMalformed)):
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			if b, ok := got.([]byte); ok {
				if w := tt.want.([]byte); !bytes.Equal(b, w) || (b == nil) != (w == nil) {
					t.Fatalf("got %q, want %q", b, w)
				}
				return
			}
			if got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBytesCopies(t *testing.T) {
	in := AppendBytes(nil, 1, []byte("secret"))
	f := one(t, in)
	copied, err := f.Bytes(10)
	if err != nil {
		t.Fatal(err)
	}
	aliased, _ := f.ByteSlice()
	var id [6]byte
	if err := f.FixedBytes(id[:]); err != nil {
		t.Fatal(err)
	}
	clear(in)
	if string(copied) != "secret" || string(id[:]) != "secret" {
		t.Fatalf("Bytes or FixedBytes alias the input: %q %q", copied, id)
	}
	if string(aliased) == "secret" {
		t.Fatal("ByteSlice copied the input")
	}
}

func TestVarints(t *testing.T) {
	packed := Encoder(nil)
	Packed(&packed, 5, []uint32{1, 300, 1 << 31})
	unpacked := AppendVarint(nil, 5, 1)
	unpacked = AppendVarint(unpacked, 5, 300)
	unpacked = AppendVarint(unpacked, 5, 1<<31)
	for name, b := range map[string][]byte{"packed": packed, "unpacked": unpacked} {
		t.Run(name, func(t *testing.T) {
			var got []uint64
			err := ForEach(b, func(f Field) error {
				return f.Varints(func(v uint64) error { got = append(got, v); return nil })
			})
			if err != nil || len(got) != 3 || got[0] != 1 || got[1] != 300 || got[2] != 1<<31 {
				t.Fatalf("got %v, %v", got, err)
			}
		})
	}
	bad := AppendBytes(nil, 5, []byte{0x80}) // a varint cut short
	if err := one(t, bad).Varints(func(uint64) error { return nil }); !errors.Is(err, ErrMalformed) {
		t.Fatalf("truncated packed varint: %v", err)
	}
	stop := errors.New("stop")
	if err := one(t, packed).Varints(func(uint64) error { return stop }); err != stop {
		t.Fatalf("the callback's error: %v", err)
	}
}

func TestForEachErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
	}{
		{"truncated tag", []byte{0x80}},
		{"field number 0", []byte{0x00, 0x01}},
		{"truncated varint", []byte{0x08, 0x80}},
		{"truncated length", []byte{0x12, 0x05, 0x01}},
		{"truncated fixed32", []byte{0x0d, 0x01, 0x02}},
		{"truncated fixed64", []byte{0x09, 0x01}},
		{"unterminated group", []byte{0x0b, 0x08, 0x01}},
		{"stray end group", []byte{0x0c}},
		{"after a good field", append(AppendVarint(nil, 1, 1), 0x12, 0x02)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ForEach(tt.in, func(Field) error { return nil })
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %v", err)
			}
		})
	}
	stop := errors.New("stop")
	if err := ForEach(AppendVarint(nil, 1, 1), func(Field) error { return stop }); err != stop {
		t.Fatalf("the callback's error: %v", err)
	}
}

func TestGroupsAreConsumedWhole(t *testing.T) {
	b := []byte{0x0b, 0x08, 0x01, 0x13, 0x14, 0x0c} // group 1 { 1: 1, group 2 {} }
	b = AppendVarint(b, 3, 4)
	var nums []Number
	if err := ForEach(b, func(f Field) error { nums = append(nums, f.Num); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(nums) != 2 || nums[0] != 1 || nums[1] != 3 {
		t.Fatalf("fields %v, want [1 3]", nums)
	}
}

func FuzzForEach(f *testing.F) {
	f.Add(AppendBytes(AppendVarint(nil, 1, 300), 2, []byte("x")))
	f.Add([]byte{0x0b}) // an unterminated group: refused
	f.Add([]byte{0x0b, 0x08, 0x01, 0x0c, 0x15, 1, 2, 3, 4, 0x19, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Fuzz(func(t *testing.T, b []byte) {
		var fields []Field
		if err := ForEach(b, func(f Field) error { fields = append(fields, f); return nil }); err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if len(fields) > len(b) {
			t.Fatalf("%d fields from %d bytes", len(fields), len(b))
		}
		// Written back, the fields (but groups) read the same again.
		var again []byte
		var want []Field
		for _, f := range fields {
			switch f.Type {
			case protowire.VarintType:
				again = AppendVarint(again, f.Num, f.Value)
			case protowire.Fixed32Type:
				again = protowire.AppendFixed32(protowire.AppendTag(again, f.Num, f.Type), uint32(f.Value))
			case protowire.Fixed64Type:
				again = protowire.AppendFixed64(protowire.AppendTag(again, f.Num, f.Type), f.Value)
			case protowire.BytesType:
				v, err := f.Bytes(len(b))
				if err != nil {
					t.Fatalf("Bytes: %v", err)
				}
				again = AppendBytes(again, f.Num, v)
			default:
				continue
			}
			want = append(want, f)
		}
		i := 0
		err := ForEach(again, func(f Field) error {
			w := want[i]
			i++
			wb, _ := w.ByteSlice()
			fb, _ := f.ByteSlice()
			if f.Num != w.Num || f.Type != w.Type || f.Value != w.Value || !bytes.Equal(fb, wb) {
				t.Fatalf("field %d reads %+v, was %+v", i, f, w)
			}
			return nil
		})
		if err != nil || i != len(want) {
			t.Fatalf("re-read %d of %d fields: %v", i, len(want), err)
		}
	})
}
