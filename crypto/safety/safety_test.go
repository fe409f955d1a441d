package safety

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/mutualcoop/mutual/crypto/keys"
)

type vectors struct {
	Iterations    int    `json:"iterations"`
	AliceIdentity string `json:"aliceIdentity"`
	BobIdentity   string `json:"bobIdentity"`
	AliceStableID string `json:"aliceStableId"`
	BobStableID   string `json:"bobStableId"`
	Displayable   string `json:"displayable"`
	Versions      []struct {
		Version        uint32 `json:"version"`
		AliceScannable string `json:"aliceScannable"`
		BobScannable   string `json:"bobScannable"`
	} `json:"versions"`
	Encoding struct {
		Version                 uint32
		Local, Remote, Expected string
	} `json:"encoding"`
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func loadVectors(t testing.TB) vectors {
	t.Helper()
	raw, err := os.ReadFile("testdata/libsignal_fingerprint.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func pub(t testing.TB, s string) keys.PublicKey {
	t.Helper()
	p, err := keys.NewPublicKey(unhex(t, s))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func randomIdentity(t testing.TB) keys.PublicKey {
	t.Helper()
	k, err := keys.GeneratePrivateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k.Public()
}

// TestLibsignalVectors checks the displayable and scannable fingerprints
// against libsignal's published vectors for versions 1 and 2.
func TestLibsignalVectors(t *testing.T) {
	v := loadVectors(t)
	if v.Iterations != Iterations {
		t.Fatalf("vectors use %d iterations, package %d", v.Iterations, Iterations)
	}
	alice, bob := pub(t, v.AliceIdentity), pub(t, v.BobIdentity)
	aliceID, bobID := []byte(v.AliceStableID), []byte(v.BobStableID)
	for _, ver := range v.Versions {
		t.Run(fmt.Sprintf("version %d", ver.Version), func(t *testing.T) {
			a := New(ver.Version, aliceID, alice, bobID, bob)
			b := New(ver.Version, bobID, bob, aliceID, alice)
			if got := a.Displayable(); got != v.Displayable {
				t.Fatalf("alice displayable = %s, want %s", got, v.Displayable)
			}
			if got := b.Displayable(); got != v.Displayable {
				t.Fatalf("bob displayable = %s, want %s", got, v.Displayable)
			}
			if got := hex.EncodeToString(a.Scannable()); got != ver.AliceScannable {
				t.Fatalf("alice scannable = %s, want %s", got, ver.AliceScannable)
			}
			if got := hex.EncodeToString(b.Scannable()); got != ver.BobScannable {
				t.Fatalf("bob scannable = %s, want %s", got, ver.BobScannable)
			}
			for _, c := range []struct {
				name    string
				f       Fingerprint
				scanned string
				want    bool
			}{
				{"alice scans bob", a, ver.BobScannable, true},
				{"bob scans alice", b, ver.AliceScannable, true},
				{"alice scans herself", a, ver.AliceScannable, false},
				{"bob scans himself", b, ver.BobScannable, false},
			} {
				got, err := c.f.CompareScanned(unhex(t, c.scanned))
				if err != nil || got != c.want {
					t.Fatalf("%s: %v, %v; want %v", c.name, got, err, c.want)
				}
			}
		})
	}
	t.Run("version mismatch", func(t *testing.T) {
		a1 := New(1, aliceID, alice, bobID, bob)
		_, err := a1.CompareScanned(unhex(t, v.Versions[1].BobScannable))
		if !errors.Is(err, ErrVersionMismatch) {
			t.Fatalf("got %v, want ErrVersionMismatch", err)
		}
		// The displayable number does not depend on the version.
		a2 := New(2, aliceID, alice, bobID, bob)
		if a1.Displayable() != a2.Displayable() {
			t.Fatal("displayable number depends on the version")
		}
	})
}

func TestEncoding(t *testing.T) {
	v := loadVectors(t).Encoding
	got := encodeScanned(v.Version, unhex(t, v.Local), unhex(t, v.Remote))
	if hex.EncodeToString(got) != v.Expected {
		t.Fatalf("encoding = %x, want %s", got, v.Expected)
	}
	s, err := ParseScanned(got)
	if err != nil {
		t.Fatal(err)
	}
	if s.Version != v.Version || !bytes.Equal(s.Local, unhex(t, v.Local)) || !bytes.Equal(s.Remote, unhex(t, v.Remote)) {
		t.Fatalf("parsed %+v", s)
	}
}

// TestMismatches mirrors libsignal's tests with random keys: a man in the
// middle's key, or a different identifier, changes both forms.
func TestMismatches(t *testing.T) {
	a, b, m := randomIdentity(t), randomIdentity(t), randomIdentity(t)
	aliceID, bobID := []byte("alice-id"), []byte("bob-id")
	good := New(ScannableVersion, bobID, b, aliceID, a)
	cases := []struct {
		name string
		f    Fingerprint
	}{
		{"mitm key", New(ScannableVersion, aliceID, a, bobID, m)},
		{"other identifier", New(ScannableVersion, []byte("alice-id2"), a, bobID, b)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.f.Displayable() == good.Displayable() {
				t.Fatal("displayable numbers equal")
			}
			if ok, err := c.f.CompareScanned(good.Scannable()); ok || err != nil {
				t.Fatalf("compare = %v, %v", ok, err)
			}
			if ok, err := good.CompareScanned(c.f.Scannable()); ok || err != nil {
				t.Fatalf("reverse compare = %v, %v", ok, err)
			}
		})
	}
	match := New(ScannableVersion, aliceID, a, bobID, b)
	if match.Displayable() != good.Displayable() || len(match.Displayable()) != DisplayDigits {
		t.Fatal("matching sides disagree")
	}
	if ok, err := match.CompareScanned(good.Scannable()); !ok || err != nil {
		t.Fatalf("matching compare = %v, %v", ok, err)
	}
	g := match.Groups()
	if len(g) != 12 || strings.Join(g, "") != match.Displayable() {
		t.Fatalf("groups %v", g)
	}
}

func TestParseScannedRejects(t *testing.T) {
	fp32 := bytes.Repeat([]byte{0x12}, 32)
	logical := func(content []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), content)
	}
	field := func(b []byte, num protowire.Number, msg []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), msg)
	}
	version := func(v uint64) []byte {
		return protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), v)
	}
	valid := field(field(version(2), 2, logical(fp32)), 3, logical(fp32))
	if _, err := ParseScanned(valid); err != nil {
		t.Fatalf("valid payload rejected: %v", err)
	}
	// A missing version reads as 0, as in libsignal.
	if s, err := ParseScanned(field(field(nil, 2, logical(fp32)), 3, logical(fp32))); err != nil || s.Version != 0 {
		t.Fatalf("no version: %+v, %v", s, err)
	}
	// Unknown fields are skipped.
	unknown := protowire.AppendVarint(protowire.AppendTag(bytes.Clone(valid), 9, protowire.VarintType), 5)
	if _, err := ParseScanned(unknown); err != nil {
		t.Fatalf("unknown field: %v", err)
	}
	cases := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"garbage", []byte("not a protobuf at all")},
		{"truncated", valid[:len(valid)-1]},
		{"no remote", field(version(2), 2, logical(fp32))},
		{"no local", field(version(2), 3, logical(fp32))},
		{"short fingerprint", field(field(version(2), 2, logical(fp32[:31])), 3, logical(fp32))},
		{"long fingerprint", field(field(version(2), 2, logical(append(fp32, 0))), 3, logical(fp32))},
		{"empty logical", field(field(version(2), 2, nil), 3, logical(fp32))},
		{"repeated local", field(bytes.Clone(valid), 2, logical(fp32))},
		{"repeated version", append(bytes.Clone(valid), version(2)...)},
		{"version too large", field(field(version(1<<32), 2, logical(fp32)), 3, logical(fp32))},
		{"version as bytes", field(field(field(nil, 1, []byte{2}), 2, logical(fp32)), 3, logical(fp32))},
		{"too long", append(bytes.Clone(valid), make([]byte, MaxScannedSize)...)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := ParseScanned(c.b); !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %v, want ErrMalformed", err)
			}
		})
	}
}

func BenchmarkSafetyNumber(b *testing.B) {
	x, y := randomIdentity(b), randomIdentity(b)
	for b.Loop() {
		f := New(ScannableVersion, []byte("alice-id"), x, []byte("bob-id"), y)
		_ = f.Displayable()
	}
}

func FuzzParseScanned(f *testing.F) {
	v := loadVectors(f)
	for _, ver := range v.Versions {
		f.Add(unhex(f, ver.AliceScannable))
		f.Add(unhex(f, ver.BobScannable))
	}
	f.Add(unhex(f, v.Encoding.Expected))
	f.Add([]byte{})
	f.Add([]byte{0x08})
	fp := New(ScannableVersion, []byte("a"), randomIdentity(f), []byte("b"), randomIdentity(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseScanned(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		if len(s.Local) != 32 || len(s.Remote) != 32 {
			t.Fatal("accepted a fingerprint of the wrong size")
		}
		// Re-encoding what was parsed parses to the same thing.
		s2, err := ParseScanned(encodeScanned(s.Version, s.Local, s.Remote))
		if err != nil || s2.Version != s.Version || !bytes.Equal(s2.Local, s.Local) || !bytes.Equal(s2.Remote, s.Remote) {
			t.Fatalf("re-encode: %v", err)
		}
		fp.CompareScanned(b)
	})
}
