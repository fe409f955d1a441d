package pqxdh

import (
	"bytes"
	"encoding"
	"testing"
)

// fuzzRecord checks that a record that parses re-encodes stably.
func fuzzRecord[T encoding.BinaryMarshaler](f *testing.F, parse func([]byte) (T, error), seeds ...encoding.BinaryMarshaler) {
	for _, s := range seeds {
		b, err := s.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{15 << 3, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parse(b)
		if err != nil {
			return
		}
		again, err := r.MarshalBinary()
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		r2, err := parse(again)
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		third, _ := r2.MarshalBinary()
		if !bytes.Equal(again, third) {
			t.Fatal("encoding not stable")
		}
	})
}

func FuzzParseIdentity(f *testing.F) {
	d := newDevice(f)
	fuzzRecord(f, ParseIdentity, d.id)
}

func FuzzParsePreKey(f *testing.F) {
	d := newDevice(f)
	fuzzRecord(f, ParsePreKey, d.pre)
}

func FuzzParseSignedPreKey(f *testing.F) {
	d := newDevice(f)
	fuzzRecord(f, ParseSignedPreKey, d.signed)
}

func FuzzParseKEMPreKey(f *testing.F) {
	d := newDevice(f)
	d.kem.LastResort = true
	fuzzRecord(f, ParseKEMPreKey, d.kem)
}

func FuzzParseBundle(f *testing.F) {
	d := newDevice(f)
	fuzzRecord(f, ParseBundle, d.bundle(true, true), d.bundle(false, false))
}
