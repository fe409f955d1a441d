package auth

import "github.com/mutualcoop/mutual/internal/address"

// Address schemes (see package internal/address).
const (
	SchemeEmail = address.SchemeEmail // email:local@domain, delivered by SMTP
	SchemeTel   = address.SchemeTel   // tel:+447700900123 (E.164), reserved
	SchemeIRC   = address.SchemeIRC   // irc:nick@network, reserved
)

// Address is a parsed address in canonical form, as package
// internal/address defines it; the clients parse and compare addresses
// with the same package, so they see them exactly as the relay does.
// Accounts, codes and limits are keyed by its folded form (Key); it
// formats itself redacted for fmt and slog.
type Address = address.Address

// ParseAddress parses what a person typed (see address.Parse): errors
// wrap ErrBadAddress or ErrUnsupportedScheme and never quote the input.
func ParseAddress(raw string) (Address, error) { return address.Parse(raw) }
