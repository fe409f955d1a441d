package client

import "testing"

// TestTakeClaim: a contact costs at most one Lookup, whatever they claim
// after their first claim: a confirmed address stays (another spelling of
// its case replaces it, without a Lookup), a refused claim stays refused,
// and a pending one is not replaced.
func TestTakeClaim(t *testing.T) {
	const ann, annCased, carol = "email:ann@example.org", "email:Ann@example.org", "email:carol@example.org"

	var fresh Contact
	if !takeClaim(&fresh, ann) || fresh.claim != ann || !fresh.AddressPending() {
		t.Fatalf("a first claim is not pending: %+v", fresh)
	}
	if takeClaim(&fresh, carol) || fresh.claim != ann {
		t.Fatalf("a second claim replaced the pending one: %+v", fresh)
	}

	verified := Contact{VerifiedAddress: ann}
	if takeClaim(&verified, carol) || verified.claim != "" || verified.AddressMismatch || verified.VerifiedAddress != ann {
		t.Fatalf("a confirmed contact's claim of another address was taken: %+v", verified)
	}
	if takeClaim(&verified, "not an address") || verified.AddressMismatch {
		t.Fatalf("a confirmed contact's malformed claim was taken: %+v", verified)
	}
	if !takeClaim(&verified, annCased) || verified.VerifiedAddress != annCased || verified.claim != "" {
		t.Fatalf("their own address in another case: %+v", verified)
	}

	refused := Contact{AddressMismatch: true, refused: carol}
	if takeClaim(&refused, ann) || refused.claim != "" || !refused.AddressMismatch {
		t.Fatalf("a contact whose claim was refused got another Lookup: %+v", refused)
	}

	var malformed Contact
	if !takeClaim(&malformed, "not an address") || !malformed.AddressMismatch || malformed.claim != "" {
		t.Fatalf("a malformed first claim: %+v", malformed)
	}
	if takeClaim(&malformed, ann) || malformed.claim != "" {
		t.Fatalf("a claim after a malformed one was looked up: %+v", malformed)
	}
}
