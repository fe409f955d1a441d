package auth

// ErrNoCode lets external tests tell "no code pending" from a compared
// wrong code; callers outside the package only ever see ErrBadCode.
var ErrNoCode = errNoCode
