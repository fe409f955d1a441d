package auth_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/mutualcoop/mutual/relay/auth"
)

func TestParseAddress(t *testing.T) {
	local64 := strings.Repeat("a", 64)
	label63 := strings.Repeat("b", 63)
	// 64 + 1 + 189 = 254 characters: the longest address.
	domain189 := label63 + "." + label63 + "." + strings.Repeat("c", 57) + ".org"
	tests := []struct {
		name, in, want string
	}{
		{"bare", "alice@example.org", "email:alice@example.org"},
		{"scheme", "email:alice@example.org", "email:alice@example.org"},
		{"scheme upper case", "EMAIL:alice@example.org", "email:alice@example.org"},
		{"domain lowered, local kept", "Alice.Smith@Example.ORG", "email:Alice.Smith@example.org"},
		{"white space around", " \talice@example.org\r\n", "email:alice@example.org"},
		{"plus tag kept", "alice+mutual@example.org", "email:alice+mutual@example.org"},
		{"dots kept", "a.l.i.c.e@mail.example.co.uk", "email:a.l.i.c.e@mail.example.co.uk"},
		{"all atext", "!#$%&'*+-/=?^_`{|}~@example.org", "email:!#$%&'*+-/=?^_`{|}~@example.org"},
		{"digits and hyphens in domain", "x@1-2.example-3.org", "email:x@1-2.example-3.org"},
		{"IDN to A-labels", "bob@bücher.example", "email:bob@xn--bcher-kva.example"},
		{"IDN upper case", "bob@BÜCHER.Example", "email:bob@xn--bcher-kva.example"},
		{"A-labels kept", "bob@XN--BCHER-KVA.example", "email:bob@xn--bcher-kva.example"},
		{"IDN non-transitional sharp s", "x@faß.de", "email:x@xn--fa-hia.de"},
		{"Japanese", "user@例え.テスト", "email:user@xn--r8jz45g.xn--zckzah"},
		{"ideographic full stop", "user@example\u3002org", "email:user@example.org"},
		{"fullwidth letters", "user@ｅｘａｍｐｌｅ.org", "email:user@example.org"},
		{"longest local part", local64 + "@example.org", "email:" + local64 + "@example.org"},
		{"longest address", local64 + "@" + domain189, "email:" + local64 + "@" + domain189},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := auth.ParseAddress(tt.in)
			if err != nil {
				t.Fatalf("ParseAddress: %v", err)
			}
			if got := a.String(); got != tt.want {
				t.Fatalf("String() = %q, want %q", got, tt.want)
			}
			if a.Scheme() != auth.SchemeEmail || "email:"+a.Target() != tt.want {
				t.Fatalf("Scheme() = %q, Target() = %q", a.Scheme(), a.Target())
			}
			again, err := auth.ParseAddress(a.String())
			if err != nil || again != a {
				t.Fatalf("canonical form does not parse to itself: %v", err)
			}
		})
	}
}

func TestParseAddressRejects(t *testing.T) {
	tests := []struct {
		name, in string
		want     error
	}{
		{"empty", "", auth.ErrBadAddress},
		{"blank", "   ", auth.ErrBadAddress},
		{"no at", "alice", auth.ErrBadAddress},
		{"scheme only", "email:", auth.ErrBadAddress},
		{"no local", "@example.org", auth.ErrBadAddress},
		{"no domain", "alice@", auth.ErrBadAddress},
		{"two ats", "alice@@example.org", auth.ErrBadAddress},
		{"at in local", "a@b@example.org", auth.ErrBadAddress},
		{"single label", "alice@localhost", auth.ErrBadAddress},
		{"space in local", "al ice@example.org", auth.ErrBadAddress},
		{"space in domain", "alice@exa mple.org", auth.ErrBadAddress},
		{"quoted local", `"alice"@example.org`, auth.ErrBadAddress},
		{"quoted with space", `"al ice"@example.org`, auth.ErrBadAddress},
		{"leading dot", ".alice@example.org", auth.ErrBadAddress},
		{"trailing dot", "alice.@example.org", auth.ErrBadAddress},
		{"double dot", "al..ice@example.org", auth.ErrBadAddress},
		{"empty label", "alice@example..org", auth.ErrBadAddress},
		{"leading hyphen", "alice@-example.org", auth.ErrBadAddress},
		{"trailing hyphen", "alice@example-.org", auth.ErrBadAddress},
		{"root dot", "alice@example.org.", auth.ErrBadAddress},
		{"leading domain dot", "alice@.example.org", auth.ErrBadAddress},
		{"IP literal", "alice@[192.0.2.1]", auth.ErrBadAddress},
		{"IPv6 literal", "alice@[IPv6:2001:db8::1]", auth.ErrBadAddress},
		{"IPv4 as domain", "alice@192.0.2.1", auth.ErrBadAddress},
		{"underscore in domain", "alice@ex_ample.org", auth.ErrBadAddress},
		{"NUL", "al\x00ice@example.org", auth.ErrBadAddress},
		{"CRLF in local", "alice\r\n@example.org", auth.ErrBadAddress},
		{"header injection", "alice@example.org\r\nBcc: eve@example.org", auth.ErrBadAddress},
		{"DEL", "al\x7fice@example.org", auth.ErrBadAddress},
		{"non-ASCII local", "alicé@example.org", auth.ErrBadAddress},
		{"angle brackets", "<alice@example.org>", auth.ErrBadAddress},
		{"display name", "Alice <alice@example.org>", auth.ErrBadAddress},
		{"local too long", strings.Repeat("a", 65) + "@example.org", auth.ErrBadAddress},
		{"label too long", "alice@" + strings.Repeat("b", 64) + ".org", auth.ErrBadAddress},
		{"domain too long", "a@" + strings.Repeat(strings.Repeat("b", 60)+".", 5) + "org", auth.ErrBadAddress},
		{"address too long", strings.Repeat("a", 64) + "@" + strings.Repeat(strings.Repeat("b", 62)+".", 3) + "org", auth.ErrBadAddress},
		{"huge input", strings.Repeat("a", 5000) + "@example.org", auth.ErrBadAddress},
		{"bad punycode", "alice@xn--zz-.example", auth.ErrBadAddress},
		{"invalid A-label", "alice@xn--a.example", auth.ErrBadAddress},
		{"bidi rule", "alice@\u05d0a.example", auth.ErrBadAddress},
		{"unknown scheme", "mailto:alice@example.org", auth.ErrBadAddress},
		{"unknown scheme bare", "foo:bar", auth.ErrBadAddress},
		{"colon without scheme", ":alice@example.org", auth.ErrBadAddress},

		{"tel", "tel:+447700900123", auth.ErrUnsupportedScheme},
		{"bare tel", "+447700900123", auth.ErrUnsupportedScheme},
		{"tel separators", "tel:+44 (7700) 900-123", auth.ErrUnsupportedScheme},
		{"tel shortest", "tel:+12345678", auth.ErrUnsupportedScheme},
		{"tel longest", "tel:+123456789012345", auth.ErrUnsupportedScheme},
		{"tel without plus", "tel:447700900123", auth.ErrBadAddress},
		{"tel too short", "tel:+1234567", auth.ErrBadAddress},
		{"tel too long", "tel:+1234567890123456", auth.ErrBadAddress},
		{"tel leading zero", "tel:+0447700900123", auth.ErrBadAddress},
		{"tel letters", "tel:+44770090012a", auth.ErrBadAddress},
		{"irc", "irc:alice@libera.chat", auth.ErrUnsupportedScheme},
		{"irc upper case", "IRC:Alice[m]@Libera.Chat", auth.ErrUnsupportedScheme},
		{"irc no network", "irc:alice", auth.ErrBadAddress},
		{"irc digit first", "irc:1alice@libera.chat", auth.ErrBadAddress},
		{"irc space", "irc:al ice@libera.chat", auth.ErrBadAddress},
		{"irc bad network", "irc:alice@libera", auth.ErrBadAddress},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := auth.ParseAddress(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ParseAddress = %v, %v; want %v", a.String(), err, tt.want)
			}
			if tt.want == auth.ErrBadAddress && errors.Is(err, auth.ErrUnsupportedScheme) {
				t.Fatalf("malformed input reported as unsupported: %v", err)
			}
			if !a.IsZero() {
				t.Fatalf("error with a non-zero address")
			}
			// The message names the problem, never the input.
			if s := strings.TrimSpace(tt.in); len(s) > 3 && strings.Contains(err.Error(), s) {
				t.Fatalf("error %q quotes the input", err)
			}
			for _, part := range []string{"alice", "example", "bücher", "447700900123", "libera"} {
				if strings.Contains(tt.in, part) && strings.Contains(err.Error(), part) {
					t.Fatalf("error %q quotes %q", err, part)
				}
			}
		})
	}
}

func TestAddressRedacted(t *testing.T) {
	a, err := auth.ParseAddress("alice.secret@private.example")
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	log.Info("x", "addr", a)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("y", "addr", a, "group", slog.GroupValue(slog.Any("inner", a)))
	outs := []string{
		logs.String(),
		fmt.Sprint(a), fmt.Sprintf("%v %s %q %+v %#v %x", a, a, a, a, a, a),
		fmt.Errorf("wrapped: %v", a).Error(),
		fmt.Sprintf("%v", []auth.Address{a}),
		fmt.Sprintf("%+v", struct{ A auth.Address }{a}),
	}
	for _, out := range outs {
		if strings.Contains(out, "alice") || strings.Contains(out, "private") {
			t.Errorf("address leaked: %s", out)
		}
		if !strings.Contains(out, "email:***@***") {
			t.Errorf("no redacted form in %s", out)
		}
	}
	if a.String() != "email:alice.secret@private.example" {
		t.Errorf("String() = %q", a.String())
	}
	var zero auth.Address
	if zero.String() != "" || !zero.IsZero() || fmt.Sprint(zero) != "(none)" {
		t.Errorf("zero address: %q %v %q", zero.String(), zero.IsZero(), fmt.Sprint(zero))
	}
}

func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{
		"alice@example.org", "email:Alice@Example.ORG", "bob@bücher.example", "user@例え.テスト",
		"x@faß.de", "x@xn--fa-hia.de", "tel:+447700900123", "+44 7700 900123", "irc:alice@libera.chat",
		`"q"@example.org`, "a@[192.0.2.1]", "a@b@c.d", "alice@example.org.", "a@\u05d0a.example",
		"user@example\u3002org", "!#$%&'*+-/=?^_`{|}~@example.org", "mailto:x@y.z", "", ":", "@",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		a, err := auth.ParseAddress(in)
		if err != nil {
			if !errors.Is(err, auth.ErrBadAddress) && !errors.Is(err, auth.ErrUnsupportedScheme) {
				t.Fatalf("error %v is neither ErrBadAddress nor ErrUnsupportedScheme", err)
			}
			if !a.IsZero() {
				t.Fatal("error with a non-zero address")
			}
			return
		}
		s := a.String()
		if a.Scheme() != auth.SchemeEmail || !strings.HasPrefix(s, "email:") {
			t.Fatalf("scheme %q, form %q", a.Scheme(), s)
		}
		target := a.Target()
		if len(target) > 254 || strings.Count(target, "@") != 1 {
			t.Fatalf("bad canonical target %q", target)
		}
		for i := 0; i < len(s); i++ {
			if c := s[i]; c <= ' ' || c >= 0x7f {
				t.Fatalf("canonical form %q has byte %#x", s, c)
			}
		}
		domain := target[strings.IndexByte(target, '@')+1:]
		if domain != strings.ToLower(domain) {
			t.Fatalf("domain %q not lower case", domain)
		}
		b, err := auth.ParseAddress(s)
		if err != nil || b != a {
			t.Fatalf("canonical form %q does not parse to itself: %v", s, err)
		}
		if c, err := auth.ParseAddress(target); err != nil || c != a {
			t.Fatalf("bare target %q does not parse to the same address: %v", target, err)
		}
	})
}

func BenchmarkParseAddress(b *testing.B) {
	for _, in := range []string{"alice.smith@example.org", "bob@bücher.example"} {
		b.Run(in, func(b *testing.B) {
			for b.Loop() {
				if _, err := auth.ParseAddress(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
