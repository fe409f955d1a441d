package senderkey_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/mutualcoop/mutual/crypto/senderkey"
)

// fixture is a sender, a receiver that processed its distribution
// message, and the messages the sender sent, all made from a fixed seed:
// the same bytes on every run.
type fixture struct {
	sender, receiver []byte // marshaled records
	distributions    [][]byte
	messages         [][]byte
	plaintexts       []string
}

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	rng := mrand.NewChaCha8([32]byte{'s', 'e', 'n', 'd', 'e', 'r', 'k', 'e', 'y'})
	sender, err := senderkey.Generate(rng)
	if err != nil {
		tb.Fatal(err)
	}
	d, err := sender.Distribution()
	if err != nil {
		tb.Fatal(err)
	}
	receiver := new(senderkey.Record)
	if err := receiver.Process(d); err != nil {
		tb.Fatal(err)
	}
	fx := &fixture{distributions: [][]byte{d.Marshal()}}
	for _, pt := range []string{"hello", "", "sixteen bytes!!!", string(bytes.Repeat([]byte{0xFF}, 100))} {
		m, err := sender.Encrypt([]byte(pt), rng)
		if err != nil {
			tb.Fatal(err)
		}
		fx.messages = append(fx.messages, m)
		fx.plaintexts = append(fx.plaintexts, pt)
	}
	later, err := sender.Distribution()
	if err != nil {
		tb.Fatal(err)
	}
	fx.distributions = append(fx.distributions, later.Marshal())
	fx.sender = sender.Marshal()
	fx.receiver = receiver.Marshal()
	return fx
}

// records returns sample records: empty, own, received with two states
// and skipped keys.
func (fx *fixture) records(tb testing.TB) [][]byte {
	r, err := senderkey.ParseRecord(fx.receiver)
	if err != nil {
		tb.Fatal(err)
	}
	other, err := senderkey.Generate(mrand.NewChaCha8([32]byte{'o', 't', 'h', 'e', 'r'}))
	if err != nil {
		tb.Fatal(err)
	}
	d, _ := other.Distribution()
	if err := r.Process(d); err != nil {
		tb.Fatal(err)
	}
	if _, err := r.Decrypt(fx.messages[2]); err != nil {
		tb.Fatal(err)
	}
	return [][]byte{new(senderkey.Record).Marshal(), fx.sender, fx.receiver, r.Marshal()}
}

var updateCorpus = flag.Bool("update-corpus", false, "rewrite the fuzz seed corpus in testdata/fuzz")

// TestSeedCorpus keeps testdata/fuzz in step with the fixture: run with
// -update-corpus after changing the formats.
func TestSeedCorpus(t *testing.T) {
	fx := newFixture(t)
	for target, inputs := range map[string][][]byte{
		"FuzzParseRecord":       fx.records(t),
		"FuzzParseDistribution": fx.distributions,
		"FuzzDecrypt":           fx.messages,
	} {
		dir := filepath.Join("testdata", "fuzz", target)
		for i, in := range inputs {
			name := filepath.Join(dir, fmt.Sprintf("seed-%02d", i))
			want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", in)
			if *updateCorpus {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(name, []byte(want), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(name)
			if err != nil || string(got) != want {
				t.Errorf("%s is missing or stale: run go test -run TestSeedCorpus -update-corpus", name)
			}
		}
	}
}

func FuzzParseRecord(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x78, 0x02})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := senderkey.ParseRecord(b)
		if err != nil {
			if !errors.Is(err, senderkey.ErrMalformed) && !errors.Is(err, senderkey.ErrFormatVersion) {
				t.Fatalf("error %v wraps neither ErrMalformed nor ErrFormatVersion", err)
			}
			return
		}
		again := r.Marshal()
		r2, err := senderkey.ParseRecord(again)
		if err != nil {
			t.Fatalf("a marshaled record does not parse: %v", err)
		}
		if !bytes.Equal(r2.Marshal(), again) || r2.ChainID() != r.ChainID() {
			t.Fatal("Marshal is not stable")
		}
	})
}

func FuzzParseDistribution(f *testing.F) {
	f.Add([]byte{0x33})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := senderkey.ParseDistributionMessage(b)
		if err != nil {
			if !errors.Is(err, senderkey.ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		again := m.Marshal()
		m2, err := senderkey.ParseDistributionMessage(again)
		if err != nil {
			t.Fatalf("a marshaled message does not parse: %v", err)
		}
		if !bytes.Equal(m2.Marshal(), again) || m2.ChainID != m.ChainID || m2.Iteration != m.Iteration || !m2.SigningKey().Equal(m.SigningKey()) {
			t.Fatal("Marshal is not stable")
		}
		r := new(senderkey.Record)
		if err := r.Process(m); err != nil && !errors.Is(err, senderkey.ErrMalformed) {
			t.Fatalf("Process: %v", err)
		}
	})
}

// FuzzDecrypt: only what the sender sent decrypts, to what it sent, once;
// anything refused leaves the record byte for byte as it was.
func FuzzDecrypt(f *testing.F) {
	fx := newFixture(f)
	sent := map[string]bool{}
	for i, m := range fx.messages {
		f.Add(m)
		sent[fx.plaintexts[i]] = true
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := senderkey.ParseRecord(fx.receiver)
		if err != nil {
			t.Fatal(err)
		}
		pt, err := r.Decrypt(b)
		if err != nil {
			if !bytes.Equal(r.Marshal(), fx.receiver) {
				t.Fatalf("refused input (%v) changed the record", err)
			}
			return
		}
		if !sent[string(pt)] {
			t.Fatalf("decrypted something never sent: %q", pt)
		}
		after := r.Marshal()
		if _, err := r.Decrypt(b); !errors.Is(err, senderkey.ErrDuplicate) {
			t.Fatalf("second decrypt: %v", err)
		}
		if !bytes.Equal(r.Marshal(), after) {
			t.Fatal("a replay changed the record")
		}
	})
}
