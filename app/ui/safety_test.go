package ui

import (
	"bytes"
	"crypto/rand"
	"strings"
	"testing"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/crypto/keys"
	"github.com/mutualcoop/mutual/crypto/safety"
)

func TestScannedPayloads(t *testing.T) {
	for _, tc := range []struct {
		name string
		text string
		want [][]byte
	}{
		{"ASCII", "abc", [][]byte{[]byte("abc")}},
		{"ISO-8859-1", "\u0008\u0002\u0012\u00a2\u00ff", [][]byte{{0x08, 0x02, 0x12, 0xa2, 0xff}, []byte("\u0008\u0002\u0012\u00a2\u00ff")}},
		{"UTF-8 only", "\u20ac", [][]byte{[]byte("\u20ac")}},
		{"empty", "", [][]byte{{}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := scannedPayloads(tc.text)
			if len(got) != len(tc.want) {
				t.Fatalf("%d readings %x, want %x", len(got), got, tc.want)
			}
			for i := range got {
				if !bytes.Equal(got[i], tc.want[i]) {
					t.Errorf("reading %d: %x, want %x", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// latin1 is the text a QR code reader gives for binary bytes read as
// ISO-8859-1.
func latin1(b []byte) string {
	var s strings.Builder
	for _, c := range b {
		s.WriteRune(rune(c))
	}
	return s.String()
}

// pair makes the safety numbers between two new identities, seen from
// each side.
func pair(t *testing.T, version uint32) (mine, theirs safety.Fingerprint) {
	t.Helper()
	a, err := keys.GeneratePrivateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, err := keys.GeneratePrivateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ua, ub := user(1), user(2)
	return safety.New(version, ua[:], a.Public(), ub[:], b.Public()),
		safety.New(version, ub[:], b.Public(), ua[:], a.Public())
}

func TestCompareScanned(t *testing.T) {
	mine1, theirs1 := pair(t, safety.ScannableVersion)
	mine2, theirs2 := pair(t, safety.ScannableVersion)
	_, old := pair(t, 1)
	one := []client.SafetyNumber{{Device: 1, Fingerprint: mine1}}
	two := []client.SafetyNumber{{Device: 1, Fingerprint: mine1}, {Device: 2, Fingerprint: mine2}}
	devs := []safetyDevice{{device: 1}, {device: 2}}
	for _, tc := range []struct {
		name    string
		numbers []client.SafetyNumber
		devices []safetyDevice
		text    string
		want    scanResult
	}{
		{"their code", one, devs[:1], latin1(theirs1.Scannable()), scanResult{device: 1, all: true}},
		{"one device of two", two, devs, latin1(theirs2.Scannable()), scanResult{device: 2}},
		{"the last device of two", two, []safetyDevice{{device: 1, scanned: true}, {device: 2}}, latin1(theirs2.Scannable()), scanResult{device: 2, all: true}},
		{"my own code", one, devs[:1], latin1(mine1.Scannable()), scanResult{}},
		{"another pair's code", one, devs[:1], latin1(theirs2.Scannable()), scanResult{}},
		{"another version", one, devs[:1], latin1(old.Scannable()), scanResult{}},
		{"a link", one, devs[:1], "https://example.org/", scanResult{ignore: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := compareScanned(tc.numbers, tc.devices, tc.text, "Bob")
			if got.device != tc.want.device || got.all != tc.want.all || got.ignore != tc.want.ignore {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			if tc.want.device == 0 && !tc.want.ignore && got.err == "" {
				t.Errorf("no error for a code that does not match")
			}
			if tc.want.device != 0 && (got.err != "" || got.note == "") {
				t.Errorf("a match says %q, error %q", got.note, got.err)
			}
		})
	}
}

func TestVerificationView(t *testing.T) {
	digits := strings.Repeat("0123456789", 6)
	st := safetyState{name: "Bob", peer: user(2), loaded: true,
		devices: []safetyDevice{{device: 1, groups: digitGroups(digits)}}}
	d := render(t, func() app.UI { return safetyView(st, safetyActions{}) })
	if len(d.all("button", "#mark-verified")) != 1 || len(d.all("#clear-verified")) != 0 {
		t.Error("no Mark as verified button on an unverified contact")
	}
	if len(d.all("#scan-unavailable")) != 1 || len(d.all("#scan-code")) != 0 {
		t.Error("without a barcode detector, the page does not say it cannot scan")
	}
	if strings.Contains(text(d.one(".lead")), "scan") {
		t.Errorf("the lead offers scanning without a scanner: %q", text(d.one(".lead")))
	}

	st.verified, st.canScan = true, true
	d = render(t, func() app.UI { return safetyView(st, safetyActions{}) })
	if !strings.Contains(text(d.one("#verified-status")), "Marked as verified") || len(d.all("button", "#clear-verified")) != 1 {
		t.Error("a verified contact does not say so, or cannot be cleared")
	}
	if len(d.all("button", "#scan-code")) != 1 || len(d.all("#scan-unavailable")) != 0 {
		t.Error("no scan button with a barcode detector")
	}
}
