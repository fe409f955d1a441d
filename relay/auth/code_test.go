package auth

import (
	"testing"
)

// chiSquare returns the chi-square statistic of counts against a uniform
// expectation.
func chiSquare(counts []int, total int) float64 {
	exp := float64(total) / float64(len(counts))
	var x float64
	for _, c := range counts {
		d := float64(c) - exp
		x += d * d / exp
	}
	return x
}

func TestNewCodeDistribution(t *testing.T) {
	const n = 60000
	for _, digits := range []int{MinCodeDigits, MaxCodeDigits} {
		t.Run(string(rune('0'+digits)), func(t *testing.T) {
			pos := make([][]int, digits)
			for i := range pos {
				pos[i] = make([]int, 10)
			}
			pairs := make([]int, 100)
			seen := make(map[string]bool, n)
			dups := 0
			for range n {
				c, err := newCode(digits)
				if err != nil {
					t.Fatal(err)
				}
				if len(c) != digits {
					t.Fatalf("code %q has %d digits, want %d", c, len(c), digits)
				}
				for i := 0; i < digits; i++ {
					if c[i] < '0' || c[i] > '9' {
						t.Fatalf("code %q has a non-digit", c)
					}
					pos[i][c[i]-'0']++
				}
				pairs[int(c[digits-2]-'0')*10+int(c[digits-1]-'0')]++
				if seen[c] {
					dups++
				}
				seen[c] = true
			}
			// Critical values for p = 1e-6: a correct generator fails
			// this about once in a million runs per position.
			for i, counts := range pos {
				if x := chiSquare(counts, n); x > 46 {
					t.Errorf("position %d: chi-square %.1f over 9 degrees of freedom: %v", i, x, counts)
				}
			}
			if x := chiSquare(pairs, n); x > 181 {
				t.Errorf("last two digits: chi-square %.1f over 99 degrees of freedom", x)
			}
			// Birthday bound: 60,000 draws from 10^6 give about 1,800
			// collisions; from 10^8 about 18.
			if limit := map[int]int{6: 2200, 8: 60}[digits]; dups > limit {
				t.Errorf("%d repeated codes, want at most %d", dups, limit)
			}
		})
	}
}

func TestNormaliseCode(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
		ok   bool
	}{
		{"12345678", 8, "12345678", true},
		{"1234 5678", 8, "12345678", true},
		{"1234-5678", 8, "12345678", true},
		{" 12 34 56 78 ", 8, "12345678", true},
		{"00000000", 8, "00000000", true},
		{"123456", 6, "123456", true},
		{"123 456", 6, "123456", true},
		{"1234567", 8, "", false},
		{"123456789", 8, "", false},
		{"1234567a", 8, "", false},
		{"１２３４５６７８", 8, "", false},
		{"1234\t5678", 8, "", false},
		{"", 6, "", false},
		{"12345678" + string(make([]byte, 40)), 8, "", false},
	}
	for _, tt := range tests {
		got, ok := normaliseCode(tt.in, tt.n)
		if got != tt.want || ok != tt.ok {
			t.Errorf("normaliseCode(%q, %d) = %q, %v; want %q, %v", tt.in, tt.n, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzNormaliseCode(f *testing.F) {
	for _, s := range []string{"12345678", "1234 5678", "1234-5678", "123456", "", "12a", "--------"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		for _, n := range []int{6, 8} {
			got, ok := normaliseCode(in, n)
			if !ok {
				continue
			}
			if len(got) != n {
				t.Fatalf("%q -> %q: want %d digits", in, got, n)
			}
			for i := 0; i < len(got); i++ {
				if got[i] < '0' || got[i] > '9' {
					t.Fatalf("%q -> %q: non-digit", in, got)
				}
			}
			if again, ok := normaliseCode(got, n); !ok || again != got {
				t.Fatalf("%q is not a fixed point", got)
			}
		}
	})
}

func TestHashesAreBound(t *testing.T) {
	k1, err := deriveKeys([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	k2, err := deriveKeys([]byte("0123456789abcdef0123456789abcdeF"))
	if err != nil {
		t.Fatal(err)
	}
	alice, _ := ParseAddress("alice@example.org")
	bob, _ := ParseAddress("bob@example.org")
	ha, hb := k1.hashAddress(alice), k1.hashAddress(bob)
	if len(ha) != 32 || string(ha) == string(hb) || string(ha) != string(k1.hashAddress(alice)) {
		t.Fatal("address hash not a stable 32-byte function of the address")
	}
	if string(ha) == string(k2.hashAddress(alice)) {
		t.Fatal("address hash does not depend on the secret")
	}
	if string(k1.hashCode(ha, "12345678")) == string(k1.hashCode(hb, "12345678")) {
		t.Fatal("code hash not bound to the address")
	}
	if string(k1.hashCode(ha, "12345678")) == string(ha) {
		t.Fatal("code and address hashes share a key")
	}
}

func BenchmarkNewCode(b *testing.B) {
	for b.Loop() {
		if _, err := newCode(8); err != nil {
			b.Fatal(err)
		}
	}
}
