package address_test

import (
	"errors"
	"testing"

	"github.com/mutualcoop/mutual/internal/address"
)

// TestSameAccount: addresses that differ only in the case of the local
// part are one account, shown with the local part as typed and the
// domain in lower case, without the scheme.
func TestSameAccount(t *testing.T) {
	tests := []struct {
		name, a, b string
		same       bool
		display    string
	}{
		{"case of the local part", "Ann-UX@Example.ORG", "email:ann-ux@example.org", true, "Ann-UX@example.org"},
		{"scheme typed or not", "email:bob@example.org", "bob@EXAMPLE.org", true, "bob@example.org"},
		{"IDN and A-labels", "bob@BÜCHER.example", "bob@xn--bcher-kva.example", true, "bob@xn--bcher-kva.example"},
		{"another local part", "ann@example.org", "anne@example.org", false, "ann@example.org"},
		{"another domain", "ann@example.org", "ann@example.net", false, "ann@example.org"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := address.Parse(tt.a)
			if err != nil {
				t.Fatal(err)
			}
			b, err := address.Parse(tt.b)
			if err != nil {
				t.Fatal(err)
			}
			if got := a.Same(b); got != tt.same {
				t.Errorf("Same = %v, want %v", got, tt.same)
			}
			if got := a.Key() == b.Key(); got != tt.same {
				t.Errorf("keys %q and %q equal: %v, want %v", a.Key(), b.Key(), got, tt.same)
			}
			if got := a.Display(); got != tt.display {
				t.Errorf("Display = %q, want %q", got, tt.display)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	if _, err := address.Parse("not an address"); !errors.Is(err, address.ErrBad) {
		t.Errorf("Parse(not an address): %v", err)
	}
	if _, err := address.Parse("tel:+447700900123"); !errors.Is(err, address.ErrUnsupportedScheme) {
		t.Errorf("Parse(tel): %v", err)
	}
	var zero address.Address
	if zero.Display() != "" || !zero.IsZero() {
		t.Errorf("zero address: %q", zero.Display())
	}
}
