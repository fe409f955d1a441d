package ratchet

import (
	"bytes"
	"crypto/rand"
	"testing"
)

func FuzzParseSignalMessage(f *testing.F) {
	a, _ := pair(f, Version4)
	ct, _ := a.Encrypt([]byte("seed"))
	f.Add(signalMessage(f, ct).Bytes())
	f.Add([]byte{0x43})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseSignalMessage(b)
		if err != nil {
			return
		}
		if !bytes.Equal(m.Bytes(), b) {
			t.Fatal("parsed message does not keep its bytes")
		}
	})
}

func FuzzParsePreKeySignalMessage(f *testing.F) {
	for _, v := range []int{Version3, Version4} {
		a, _ := pair(f, v)
		ct, _ := a.Encrypt([]byte("seed"))
		f.Add(ct.Body)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParsePreKeySignalMessage(b)
		if err != nil {
			return
		}
		if m.Message() == nil || m.Message().Version() != m.Version() {
			t.Fatal("inconsistent message")
		}
	})
}

func FuzzParseState(f *testing.F) {
	a, b := pair(f, Version4)
	mustDecrypt(f, b, encrypt(f, a, "x"), "x")
	encrypt(f, a, "skipped")
	mustDecrypt(f, b, encrypt(f, a, "y"), "y")
	f.Add(marshal(f, a))
	f.Add(marshal(f, b))
	a3, _ := pair(f, Version3)
	f.Add(marshal(f, a3))
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, err := ParseState(raw)
		if err != nil {
			return
		}
		again := marshal(t, s)
		s2, err := ParseState(again)
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if !bytes.Equal(again, marshal(t, s2)) {
			t.Fatal("encoding not stable")
		}
	})
}

// FuzzDecrypt feeds arbitrary messages to a live state: whatever they are,
// a failed decrypt must leave the state exactly as it was, and only
// messages the peer really sent may decrypt.
func FuzzDecrypt(f *testing.F) {
	a, b := pair(f, Version4)
	mustDecrypt(f, b, encrypt(f, a, "hello"), "hello")
	genuine := map[string]bool{}
	for i := range 4 {
		m := encrypt(f, a, string(rune('a'+i)))
		genuine[string(m.Bytes())] = true
		f.Add(m.Bytes())
	}
	m := encrypt(f, b, "to a")
	f.Add(m.Bytes())
	start := marshal(f, b)
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, err := ParseState(start)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := ParseSignalMessage(raw)
		if err != nil {
			return
		}
		_, err = s.Decrypt(rand.Reader, msg)
		if err != nil {
			if !bytes.Equal(start, marshal(t, s)) {
				t.Fatal("failed decrypt changed the state")
			}
			return
		}
		if !genuine[string(raw)] {
			t.Fatalf("a message the peer never sent decrypted: %x", raw)
		}
	})
}
