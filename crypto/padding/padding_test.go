package padding

import (
	"bytes"
	"errors"
	"testing"
)

func TestSize(t *testing.T) {
	cases := []struct{ n, want int }{
		{0, 256}, {1, 256}, {255, 256}, {256, 512}, {511, 512}, {512, 1024},
		{1000, 1024}, {4095, 4096}, {4096, 8192}, {40000, 65536}, {MaxPlaintext, MaxBucket},
	}
	for _, c := range cases {
		got, err := Size(c.n)
		if err != nil || got != c.want {
			t.Errorf("Size(%d) = %d, %v; want %d", c.n, got, err, c.want)
		}
	}
	for _, n := range []int{-1, MaxPlaintext + 1, 1 << 30} {
		if _, err := Size(n); !errors.Is(err, ErrTooLarge) {
			t.Errorf("Size(%d): %v, want ErrTooLarge", n, err)
		}
	}
	want := []int{256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536}
	if got := Buckets(); len(got) != len(want) {
		t.Fatalf("Buckets() = %v", got)
	}
	for i, b := range Buckets() {
		if b != want[i] {
			t.Fatalf("Buckets() = %v, want %v", Buckets(), want)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	lengths := []int{0, 1, 2, 100, 254, 255, 256, 257, 511, 512, 1023, 1024, 5000, 40000, MaxPlaintext}
	for _, n := range lengths {
		for _, fill := range []byte{0x00, 0x80, 0xFF, 0x41} {
			msg := bytes.Repeat([]byte{fill}, n)
			p, err := Pad(msg)
			if err != nil {
				t.Fatalf("Pad(%d×%#x): %v", n, fill, err)
			}
			size, _ := Size(n)
			if len(p) != size {
				t.Fatalf("Pad(%d) is %d bytes, want %d", n, len(p), size)
			}
			got, err := Unpad(p)
			if err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("Unpad(Pad(%d×%#x)) = %d bytes, %v", n, fill, len(got), err)
			}
		}
	}
	if _, err := Pad(make([]byte, MaxPlaintext+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized Pad: %v", err)
	}
}

func TestPadFormat(t *testing.T) {
	p, err := Pad([]byte("hi"))
	if err != nil {
		t.Fatal(err)
	}
	want := append([]byte("hi\x80"), make([]byte, 253)...)
	if !bytes.Equal(p, want) {
		t.Fatalf("Pad(hi) = %x", p)
	}
}

func TestUnpadRejects(t *testing.T) {
	valid, err := Pad([]byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	mutate := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(valid)) }
	cases := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"all zeros", make([]byte, 256)},
		{"no marker, data to the end", bytes.Repeat([]byte{0x41}, 256)},
		{"not a bucket size", valid[:255]},
		{"bucket plus one", append(bytes.Clone(valid), 0)},
		{"too large", make([]byte, 2*MaxBucket)},
		{"byte after marker", mutate(func(b []byte) []byte { b[200] = 1; return b })},
		{"wrong marker", mutate(func(b []byte) []byte { b[5] = 0x81; return b })},
		{"marker removed", mutate(func(b []byte) []byte { b[5] = 0; return b })},
		{"last byte set", mutate(func(b []byte) []byte { b[255] = 0x80 + 1; return b })},
		{"small power of two", make([]byte, 128)},
		{"bucket too large for the message", append([]byte("hello\x80"), make([]byte, 506)...)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := Unpad(c.b); !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %v, want ErrMalformed", err)
			}
		})
	}
	// A marker in the last byte is a valid 255-byte message.
	full := append(bytes.Repeat([]byte{0x41}, 255), 0x80)
	if got, err := Unpad(full); err != nil || len(got) != 255 {
		t.Fatalf("full bucket: %d, %v", len(got), err)
	}
}

func BenchmarkPad(b *testing.B) {
	msg := make([]byte, 200)
	for b.Loop() {
		if _, err := Pad(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnpad(b *testing.B) {
	p, err := Pad(make([]byte, 200))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Unpad(p); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzUnpad(f *testing.F) {
	for _, n := range []int{0, 5, 255, 256, 1000} {
		p, err := Pad(bytes.Repeat([]byte{7}, n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(p)
	}
	f.Add([]byte{})
	f.Add(make([]byte, 256))
	f.Add(append(make([]byte, 255), 0x80))
	f.Fuzz(func(t *testing.T, b []byte) {
		msg, err := Unpad(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		// Whatever Unpad accepts, Pad reproduces exactly.
		again, err := Pad(msg)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("Pad(Unpad(b)) != b (%v)", err)
		}
	})
}

func FuzzPad(f *testing.F) {
	f.Add([]byte("hello"))
	f.Add([]byte{})
	f.Add([]byte{0x80, 0})
	f.Fuzz(func(t *testing.T, msg []byte) {
		p, err := Pad(msg)
		if err != nil {
			if len(msg) <= MaxPlaintext {
				t.Fatal(err)
			}
			return
		}
		got, err := Unpad(p)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("round trip failed: %v", err)
		}
	})
}
