// Package coopharness runs the co-op's Service from end to end for tests:
// a SQLite directory in the test's temporary directory, a Service over it,
// its webhook handlers and public pages on an HTTP test server, and a bus
// that records what the Service appends, whose parcels are decoded into
// notices and checked as a client checks them (a KindCoop parcel from no
// one, in the co-op's conversation, signed with the Service's key for its
// inbox's user).
//
// The tests of the Service with a fake provider, with Stripe and with
// GoCardless, and the tests of the yearly notice, share it; what is
// particular to a provider (paying, confirming, replaying its webhooks)
// stays with that provider's tests. Everything here fails the test it is
// given rather than returning errors.
package coopharness
