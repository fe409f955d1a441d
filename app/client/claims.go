package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/internal/address"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Who is writing. The relay cannot say which address a user is
// registered under (it keeps keyed hashes of addresses), so the writer's
// client says it, end to end: a text that goes as a contact request and
// every profile carry the address of the writer's account (content field
// 7, a claim). Anyone can write anything there, so a claim is shown only
// once confirmed: a Lookup of the claimed address must find the writer.
//
// A claim is noted with the contact in the transaction that stores the
// content (takeClaim), at most one Lookup is due per new claim (an
// address already confirmed, or already refused, is not looked up
// again), and the Lookups run in the connection's worker (checkClaims),
// outside that transaction. A Lookup that finds the writer sets
// Contact.VerifiedAddress; one that finds someone else or nobody sets
// Contact.AddressMismatch and the address is never shown; one the relay
// refuses for now (rate_limited, unavailable) leaves the claim pending
// and is tried again later. Each change emits ContactChanged.
//
// An address the user typed in AddContact is confirmed by the Lookup
// that found the contact, and one that comes from another device of this
// account (a contacts sync, sync.go) came end to end from the account
// itself: both count as verified.

// ownAddress is the address this account is registered under, in
// canonical form, as its claims carry it; empty if the address typed at
// registration does not parse (the relay parsed it, so it does).
func (c *Client) ownAddress() string { return canonicalAddress(c.me().Address) }

// sameAddress reports whether a and b are one account's address.
func sameAddress(a, b string) bool {
	x, err := address.Parse(a)
	if err != nil {
		return false
	}
	y, err := address.Parse(b)
	return err == nil && x.Same(y)
}

// takeClaim notes raw, an address ct gave end to end, and reports whether
// ct changed. Each contact costs at most one Lookup: an account has one
// address, so once theirs is confirmed a claim of another is false and
// is not looked up (only the same address in another spelling of the
// local part's case is taken, as how they write it), and once a Lookup
// refused what they said, or while one is to be made, what they say next
// is not looked up either. Otherwise a contact could spend this
// account's Lookups, which the relay limits, with claim after claim. An
// address that does not parse is refused at once; any other becomes the
// claim a Lookup checks (AddressPending).
func takeClaim(ct *Contact, raw string) bool {
	if raw == "" {
		return false
	}
	a, err := address.Parse(raw)
	if ct.VerifiedAddress != "" {
		if err != nil || !sameAddress(ct.VerifiedAddress, a.String()) {
			return false
		}
		claim := a.String()
		if ct.VerifiedAddress == claim && ct.claim == "" {
			return false
		}
		ct.VerifiedAddress, ct.claim = claim, ""
		return true
	}
	if ct.refused != "" || ct.claim != "" {
		return false
	}
	if err != nil {
		ct.AddressMismatch, ct.refused = true, raw
		return true
	}
	ct.claim = a.String()
	return true
}

// verifyAddress records canonical, an address known to be ct's (typed by
// the user and found by a Lookup, or from another device of this
// account), unless ct already has it in another spelling, and reports
// whether ct changed. A pending claim of the same address is settled; a
// different address they gave and a Lookup refused stays marked
// (AddressMismatch).
func verifyAddress(ct *Contact, canonical string) bool {
	if canonical == "" {
		return false
	}
	changed := false
	if ct.VerifiedAddress == "" || !sameAddress(ct.VerifiedAddress, canonical) {
		ct.VerifiedAddress, changed = canonical, true
	}
	if ct.claim != "" && sameAddress(ct.claim, canonical) {
		ct.claim, changed = "", true
	}
	return changed
}

// settleClaim applies a Lookup's verdict on claim to ct (found: it found
// ct's user) and reports whether ct changed; a claim replaced meanwhile
// is left alone.
func settleClaim(ct *Contact, claim string, found bool) bool {
	if ct.claim != claim {
		return false
	}
	ct.claim = ""
	if found {
		ct.VerifiedAddress, ct.AddressMismatch, ct.refused = claim, false, ""
	} else {
		ct.AddressMismatch, ct.refused = true, claim
	}
	return true
}

// indexClaim keeps the claims bucket in step with ct: listed while it
// has a claim to check.
func indexClaim(ts *txState, ct *Contact) error {
	if ct.claim != "" {
		return ts.tx.Put(bClaims, ct.User[:], nil)
	}
	return ts.tx.Delete(bClaims, ct.User[:])
}

// checkClaims looks up every address given and not checked yet, one
// Lookup each, and records the verdicts. It returns when to try again (0
// when nothing waits), after the relay refused a Lookup for now, or an
// error of the connection or the store.
func (c *Client) checkClaims(ctx context.Context, conn *transport.Conn) (time.Duration, error) {
	me := c.me()
	var users []wire.UserID
	err := c.st.View(ctx, func(tx store.Tx) error {
		users = users[:0]
		return tx.Scan(bClaims, nil, func(k, _ []byte) error {
			var u wire.UserID
			if len(k) == len(u) {
				copy(u[:], k)
				users = append(users, u)
			}
			return nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("load claims: %w", err)
	}
	for _, u := range users {
		var claim string
		err := c.st.View(ctx, func(tx store.Tx) error {
			ct, err := getContact(tx, me.User, u)
			if ct != nil {
				claim = ct.claim
			}
			return err
		})
		if err != nil {
			return 0, fmt.Errorf("load claim: %w", err)
		}
		found := false
		if claim != "" {
			f, err := transport.Call[*wire.Found](ctx, conn, &wire.Lookup{Address: claim})
			if c.afterLookup != nil {
				c.afterLookup(err)
			}
			var we *wire.Error
			switch {
			case err == nil:
				found = f.User == u
			case !errors.As(err, &we):
				return 0, err
			case we.Code == wire.CodeNotFound, we.Code == wire.CodeBadAddress, we.Code == wire.CodeUnsupportedScheme:
			case we.Code == wire.CodeRateLimited && we.RetryAfterMS > 0:
				return max(time.Duration(we.RetryAfterMS)*time.Millisecond, time.Millisecond), nil
			default:
				return retryDelay, nil // the relay cannot answer now
			}
		}
		err = c.update(ctx, func(ts *txState) error {
			ct, err := getContact(ts.tx, me.User, u)
			if err != nil {
				return err
			}
			if ct == nil {
				return ts.tx.Delete(bClaims, u[:])
			}
			if claim == "" || !settleClaim(ct, claim, found) {
				return indexClaim(ts, ct)
			}
			return c.putContact(ts, ct)
		})
		if err != nil {
			return 0, fmt.Errorf("record claim: %w", err)
		}
	}
	return 0, nil
}

// claimFrom returns the edit that notes the address a contact's content
// carries (takeClaim) and, when a Lookup becomes due, has r wake the
// worker to run it.
func (c *Client) claimFrom(in *incoming, r *received) func(*Contact) bool {
	return func(ct *Contact) bool {
		if in.fromSelf || !takeClaim(ct, in.content.Address) {
			return false
		}
		if ct.claim != "" {
			r.queued = true
		}
		return true
	}
}

// withOwnAddress returns the padded content with the account's address
// in it: a text about to go as a contact request tells who writes.
func (c *Client) withOwnAddress(padded []byte) ([]byte, error) {
	m, err := openContent(padded)
	if err != nil {
		return nil, err
	}
	m.Address = c.ownAddress()
	return sealContent(m)
}

// canonicalAddress is raw in canonical form; empty if it does not parse.
func canonicalAddress(raw string) string {
	a, err := address.Parse(raw)
	if err != nil {
		return ""
	}
	return a.String()
}
