package auth

// ErrNoCode lets external tests tell "no code pending" from a compared
// wrong code; callers outside the package only ever see ErrBadCode.
var ErrNoCode = errNoCode

// HashToken lets external tests find a code in the store by its token.
var HashToken = hashToken

// HashLegacy is the hash an account made before addresses were folded is
// stored under, for tests that make such an account.
func (s *Service) HashLegacy(a Address) []byte { return s.keys.hashLegacy(a) }
