// Package address parses the addresses Mutual accounts are registered
// under (`email:local@domain`), gives each one canonical form, and says
// when two are the same account. The relay (relay/auth) and the clients
// (app/client, app/ui, cmd/mutual-cli) share it, so that an address is
// parsed, shown and compared alike everywhere: a friend who types
// `ann-ux@example.org` finds the account registered as
// `Ann-UX@Example.ORG`, which everyone is shown as `Ann-UX@example.org`.
//
// An address identifies a person: fmt and slog print an Address
// redacted, and error messages never quote the input.
package address

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"golang.org/x/net/idna"
)

// Errors callers branch on. Their messages, and those of every error
// wrapping them, never contain the address.
var (
	// ErrBad: the input is not a valid address of any scheme.
	ErrBad = errors.New("bad address")
	// ErrUnsupportedScheme: a well-formed address of a scheme that cannot
	// be registered yet (tel:, irc:).
	ErrUnsupportedScheme = errors.New("address scheme not supported yet")
)

func badAddress(why string) error { return fmt.Errorf("%w: %s", ErrBad, why) }

// Address schemes.
const (
	SchemeEmail = "email" // email:local@domain, delivered by SMTP
	SchemeTel   = "tel"   // tel:+447700900123 (E.164), reserved
	SchemeIRC   = "irc"   // irc:nick@network, reserved
)

// Size limits. An email address follows RFC 5321 §4.5.3.1 (64 octets of
// local part, 255 of domain of which a name uses at most 253) and the
// 254-octet path limit (RFC 5321 erratum 1690, RFC 3696 erratum).
const (
	maxLocal   = 64
	maxDomain  = 253
	maxEmail   = 254
	maxLabel   = 63
	maxNick    = 32   // IRC networks allow longer nicks than RFC 2812's 9
	maxRawAddr = 1024 // input longer than this is refused before any work
)

// domains converts a domain name to A-labels under IDNA2008 as profiled by
// UTS #46 for lookup (non-transitional: ß stays ß), with the STD3 ASCII
// rules, label validation (hyphens, joiners, normalisation), the Bidi rule
// and the DNS length limits.
var domains = idna.New(
	idna.MapForLookup(),
	idna.Transitional(false),
	idna.BidiRule(),
	idna.VerifyDNSLength(true),
	idna.StrictDomainName(true),
)

// Address is a parsed address in canonical form. The zero Address is no
// address. Addresses are comparable with ==.
//
// Canonical form: the scheme in lower case, and for email the local part
// exactly as typed and the domain in lower-case A-labels. Codes are
// delivered to the local part as typed (RFC 5321 leaves its case to the
// receiving host), but one mailbox is one account: accounts, codes and
// limits are keyed by the folded form (see Key), in which the local part
// is in lower case too. Two Addresses that differ only in the case of the
// local part are two values with one key (Same).
//
// An address identifies a person, so it is kept out of logs: fmt verbs and
// slog print a redacted form. Only String gives the canonical form, for
// delivery and for hashing.
type Address struct {
	scheme string
	target string
}

// Parse parses what a person typed. It accepts `email:local@domain`
// and a bare `local@domain`; surrounding white space is ignored, the scheme
// is case-insensitive.
//
// Email local parts are RFC 5321 dot-atoms of printable ASCII (quoted
// strings and internationalised local parts are refused); domains are
// names of at least two labels, converted to A-labels (IP literals are
// refused).
//
// Well-formed `tel:` (E.164: + and 8 to 15 digits; also a bare +number) and
// `irc:nick@network` addresses give ErrUnsupportedScheme; malformed ones
// and everything else give ErrBad.
func Parse(raw string) (Address, error) {
	if len(raw) > maxRawAddr {
		return Address{}, badAddress("too long")
	}
	s := strings.TrimSpace(raw)
	scheme, rest := splitScheme(s)
	switch scheme {
	case SchemeEmail:
		target, err := parseEmail(rest)
		if err != nil {
			return Address{}, err
		}
		return Address{scheme: SchemeEmail, target: target}, nil
	case SchemeTel:
		if err := checkTel(rest); err != nil {
			return Address{}, err
		}
		return Address{}, fmt.Errorf("%w: tel", ErrUnsupportedScheme)
	case SchemeIRC:
		if err := checkIRC(rest); err != nil {
			return Address{}, err
		}
		return Address{}, fmt.Errorf("%w: irc", ErrUnsupportedScheme)
	case "":
		return Address{}, badAddress("not an email address, phone number or IRC nick")
	default:
		return Address{}, badAddress("unknown scheme")
	}
}

// splitScheme returns the lower-case scheme and the rest. Without a scheme
// it guesses: a leading + is a phone number, anything with an @ is email.
func splitScheme(s string) (scheme, rest string) {
	if i := strings.IndexByte(s, ':'); i > 0 && isAlpha(s[:i]) {
		return strings.ToLower(s[:i]), s[i+1:]
	}
	switch {
	case strings.HasPrefix(s, "+"):
		return SchemeTel, s
	case strings.Contains(s, "@") && !strings.Contains(s, ":"):
		return SchemeEmail, s
	}
	return "", s
}

func isAlpha(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// parseEmail validates local@domain and returns its canonical form.
func parseEmail(s string) (string, error) {
	at := strings.IndexByte(s, '@')
	if at < 0 {
		return "", badAddress("no @")
	}
	local, domain := s[:at], s[at+1:]
	if strings.IndexByte(domain, '@') >= 0 {
		return "", badAddress("more than one @")
	}
	if err := checkLocal(local); err != nil {
		return "", err
	}
	d, err := parseDomain(domain)
	if err != nil {
		return "", err
	}
	if len(local)+1+len(d) > maxEmail {
		return "", badAddress("longer than 254 characters")
	}
	return local + "@" + d, nil
}

// checkLocal accepts an RFC 5321 Dot-string: atoms of atext joined by
// single dots.
func checkLocal(l string) error {
	switch {
	case l == "":
		return badAddress("empty local part")
	case len(l) > maxLocal:
		return badAddress("local part longer than 64 characters")
	case l[0] == '.' || l[len(l)-1] == '.':
		return badAddress("local part starts or ends with a dot")
	case strings.Contains(l, ".."):
		return badAddress("two dots in a row in the local part")
	}
	for i := 0; i < len(l); i++ {
		if c := l[i]; c != '.' && !isAtext(c) {
			return badAddress("character not allowed in the local part")
		}
	}
	return nil
}

// isAtext reports whether c is in RFC 5322 atext: letters, digits and
// !#$%&'*+-/=?^_`{|}~.
func isAtext(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// parseDomain converts a host name to lower-case A-labels and checks it is
// a fully qualified name: two or more LDH labels, the last not numeric.
func parseDomain(d string) (string, error) {
	if d == "" {
		return "", badAddress("empty domain")
	}
	if d[0] == '[' {
		return "", badAddress("address literals are not accepted")
	}
	a, err := domains.ToASCII(d)
	if err != nil {
		// The IDNA error quotes the label: keep it out of the message.
		return "", badAddress("domain is not a valid host name")
	}
	a = strings.ToLower(a)
	if err := checkHostname(a); err != nil {
		return "", err
	}
	// The canonical form must be a fixed point: converting the A-labels
	// back and forth gives them again.
	if u, err := domains.ToUnicode(a); err != nil {
		return "", badAddress("domain is not a valid host name")
	} else if b, err := domains.ToASCII(u); err != nil || b != a {
		return "", badAddress("domain is not a valid host name")
	}
	return a, nil
}

// checkHostname checks an ASCII host name: 2+ labels of letters, digits
// and inner hyphens, 1 to 63 octets each, 253 in all, the top label not
// all digits (so no IPv4 address passes as a name).
func checkHostname(a string) error {
	if len(a) > maxDomain {
		return badAddress("domain longer than 253 characters")
	}
	labels := strings.Split(a, ".")
	if len(labels) < 2 {
		return badAddress("domain has no dot")
	}
	for _, l := range labels {
		if l == "" || len(l) > maxLabel {
			return badAddress("domain label empty or longer than 63 characters")
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return badAddress("domain label starts or ends with a hyphen")
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return badAddress("character not allowed in the domain")
			}
		}
	}
	top := labels[len(labels)-1]
	if strings.Trim(top, "0123456789") == "" {
		return badAddress("top-level domain is numeric")
	}
	return nil
}

// checkTel accepts E.164: + then 8 to 15 digits, the first not 0. Spaces,
// dots, hyphens and parentheses between digits are ignored.
func checkTel(s string) error {
	if !strings.HasPrefix(s, "+") {
		return badAddress("phone number does not start with +")
	}
	n := 0
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case '0' <= c && c <= '9':
			if n == 0 && c == '0' {
				return badAddress("country code starts with 0")
			}
			n++
		case c == ' ' || c == '.' || c == '-' || c == '(' || c == ')':
		default:
			return badAddress("character not allowed in a phone number")
		}
	}
	if n < 8 || n > 15 {
		return badAddress("phone number not 8 to 15 digits")
	}
	return nil
}

// checkIRC accepts nick@network: an RFC 2812 nickname (a letter or one of
// []\`_^{|} first, then also digits and hyphens, up to 32) at a network
// host name.
func checkIRC(s string) error {
	at := strings.IndexByte(s, '@')
	if at < 0 {
		return badAddress("IRC address has no @network")
	}
	nick, network := s[:at], s[at+1:]
	if nick == "" || len(nick) > maxNick {
		return badAddress("IRC nick empty or too long")
	}
	for i := 0; i < len(nick); i++ {
		c := nick[i]
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || strings.IndexByte("[]\\`_^{|}", c) >= 0 ||
			i > 0 && ('0' <= c && c <= '9' || c == '-')
		if !ok {
			return badAddress("character not allowed in an IRC nick")
		}
	}
	_, err := parseDomain(network)
	return err
}

// Scheme returns the address scheme, such as "email"; "" for the zero
// Address.
func (a Address) Scheme() string { return a.scheme }

// Target returns the scheme-specific part in canonical form: for email the
// mailbox local@domain, as used in the SMTP envelope. It is an address in
// clear: never log it.
func (a Address) Target() string { return a.target }

// String returns the canonical form, such as "email:Alice@example.org",
// with the local part as typed; accounts are keyed by its folded form,
// "email:alice@example.org" (Key). It is an address in clear: never log it (fmt
// and slog print a redacted form by themselves).
func (a Address) String() string {
	if a.scheme == "" {
		return ""
	}
	return a.scheme + ":" + a.target
}

// Key returns the form accounts, codes and limits are keyed by: String
// with the local part folded to lower case (ASCII: Parse accepts nothing
// else in a local part). It is an address in clear: never log it.
func (a Address) Key() string { return strings.ToLower(a.String()) }

// Same reports whether a and b are one account's address: their Keys are
// equal.
func (a Address) Same(b Address) bool { return a.Key() == b.Key() }

// Display is the form people read and type: the canonical form without
// the "email:" scheme ("Ann-UX@example.org"); other schemes keep theirs.
// It is an address in clear: never log it.
func (a Address) Display() string {
	if a.scheme == SchemeEmail {
		return a.target
	}
	return a.String()
}

// IsZero reports whether a is the zero Address.
func (a Address) IsZero() bool { return a.scheme == "" }

// redacted is the form logs and fmt show: the scheme only.
func (a Address) redacted() string {
	switch a.scheme {
	case "":
		return "(none)"
	case SchemeEmail, SchemeIRC:
		return a.scheme + ":***@***"
	default:
		return a.scheme + ":***"
	}
}

// LogValue implements slog.LogValuer: an Address in a log record shows only
// its scheme.
func (a Address) LogValue() slog.Value { return slog.StringValue(a.redacted()) }

// Format implements fmt.Formatter so that an Address passed to fmt or a
// logger by mistake prints redacted with every verb; call String
// explicitly for the canonical form.
func (a Address) Format(f fmt.State, verb rune) {
	fmt.Fprint(f, a.redacted())
}
