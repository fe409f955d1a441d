package pqxdh

import (
	"bytes"
	"errors"
	"testing"
)

func TestRecordEncoding(t *testing.T) {
	d := newDevice(t)
	d.kem.LastResort = true
	check := func(name string, r interface{ MarshalBinary() ([]byte, error) }, parse func([]byte) (interface{ MarshalBinary() ([]byte, error) }, error)) {
		t.Run(name, func(t *testing.T) {
			b, err := r.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			r2, err := parse(b)
			if err != nil {
				t.Fatal(err)
			}
			b2, _ := r2.MarshalBinary()
			if !bytes.Equal(b, b2) {
				t.Fatal("round trip changed the encoding")
			}
			if b[0] != fFormat<<3 || b[1] != FormatVersion {
				t.Fatalf("no leading format version: %x", b[:2])
			}
			future := bytes.Clone(b)
			future[1] = 2
			if _, err := parse(future); !errors.Is(err, ErrFormatVersion) {
				t.Fatalf("format version 2: %v", err)
			}
			if _, err := parse(b[2:]); !errors.Is(err, ErrMalformed) {
				t.Fatalf("no format version: %v", err)
			}
		})
	}
	wrap := func(f func([]byte) (any, error)) func([]byte) (interface{ MarshalBinary() ([]byte, error) }, error) {
		return func(b []byte) (interface{ MarshalBinary() ([]byte, error) }, error) {
			r, err := f(b)
			if err != nil {
				return nil, err
			}
			return r.(interface{ MarshalBinary() ([]byte, error) }), nil
		}
	}
	check("identity", d.id, wrap(func(b []byte) (any, error) { return ParseIdentity(b) }))
	check("prekey", d.pre, wrap(func(b []byte) (any, error) { return ParsePreKey(b) }))
	check("signed prekey", d.signed, wrap(func(b []byte) (any, error) { return ParseSignedPreKey(b) }))
	check("kem prekey", d.kem, wrap(func(b []byte) (any, error) { return ParseKEMPreKey(b) }))
	check("bundle", d.bundle(true, true), wrap(func(b []byte) (any, error) { return ParseBundle(b) }))

	// Parsed records keep their meaning.
	b, _ := d.bundle(true, true).MarshalBinary()
	bundle, err := ParseBundle(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := bundle.Verify(); err != nil {
		t.Fatal(err)
	}
	kb, _ := d.kem.MarshalBinary()
	kem, _ := ParseKEMPreKey(kb)
	if !kem.LastResort || !kem.Key.Public().Equal(d.kem.Key.Public()) || !kem.Created.Equal(d.kem.Created.Truncate(1e6)) {
		t.Fatal("kem prekey changed")
	}
}
