package client

import "bytes"

// ForgeInvite returns inv with another link secret: what someone who
// guesses a link would hold.
func ForgeInvite(inv Invite) Invite {
	inv.secret = bytes.Repeat([]byte{0x5a}, secretSize)
	return inv
}

// InviteWith returns an invite of the fields given, with secret as the
// link's secret (for the token decoder's fuzz seeds).
func InviteWith(inv Invite, secret []byte) Invite {
	inv.secret = secret
	return inv
}
