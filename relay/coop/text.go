package coop

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mutualcoop/mutual/relay/wire"
)

// money formats an amount in minor units of currency (ISO 4217) for
// people: "£10.00", "€3.50", "$0.42", "¥500", "CHF 12.00".
func money(amount int64, currency string) string {
	code := strings.ToUpper(currency)
	digits := 2
	switch code {
	case "JPY", "KRW", "ISK", "CLP", "VND", "XAF", "XOF", "UGX", "PYG", "RWF":
		digits = 0
	}
	sign := ""
	if amount < 0 {
		sign, amount = "-", -amount
	}
	s := strconv.FormatInt(amount, 10)
	if digits > 0 {
		for len(s) <= digits {
			s = "0" + s
		}
		s = s[:len(s)-digits] + "." + s[len(s)-digits:]
	}
	switch code {
	case "GBP":
		return sign + "£" + s
	case "EUR":
		return sign + "€" + s
	case "USD":
		return sign + "$" + s
	case "JPY":
		return sign + "¥" + s
	}
	return sign + code + " " + s
}

// duesText is a NoticeDues's text: what the member's dues support.
func duesText(amount int64, currency string, supports int64) string {
	paid := money(amount, currency)
	switch {
	case supports <= 0:
		return fmt.Sprintf("Thank you: your %s this month keeps Mutual running.", paid)
	case supports == 1:
		return fmt.Sprintf("Your %s this month supports about 1 person on Mutual.", paid)
	}
	return fmt.Sprintf("Your %s this month supports about %d people on Mutual.", paid, supports)
}

// membershipText is a NoticeMembership's text for a membership now in
// status (graceUntil: the end of its grace period).
func membershipText(status wire.MemberStatus, graceUntil time.Time) string {
	switch status {
	case wire.MemberGrace:
		return fmt.Sprintf("A payment for your Mutual membership did not go through. You remain a member until %s while it is tried again; you can check your payment details with the provider.",
			graceUntil.UTC().Format("2 January 2006"))
	case wire.MemberLapsed:
		return "Your Mutual membership has lapsed: its payments did not go through. You can join again from the Co-op screen."
	case wire.MemberCanceled:
		return "Your Mutual membership is cancelled. Thank you for supporting Mutual."
	case wire.MemberActive:
		return "Your Mutual membership is active again. Thank you."
	}
	return "Your Mutual membership is now " + status.String() + "."
}
