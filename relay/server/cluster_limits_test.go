//go:build cluster

package server_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/relay/wire"
)

// TestClusterSharedLimits: the gateways of a cluster count rate limits in
// the shared directory, so a client that goes from one gateway to the
// other gets one budget, not one per gateway. Lookups allow 60 at once
// and 2 a second after that: alternating between two gateways that
// counted apart, a client would make 120 before a refusal.
func TestClusterSharedLimits(t *testing.T) {
	brokers, db := clusterServices(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cl := newCluster(t, ctx, brokers, db)
	defer cl.stop(t)

	c := cl.gateways[0].register(t, ctx, 0)
	var conns [2]*transport.Conn
	for i, g := range cl.gateways {
		conn, err := g.auth(ctx, c.crashClient)
		if err != nil {
			t.Fatalf("%s: %v", g.name, err)
		}
		defer conn.Close()
		conns[i] = conn
	}
	// limited reports whether a lookup on conn was refused as rate_limited.
	limited := func(conn *transport.Conn) bool {
		t.Helper()
		_, err := transport.Call[*wire.Found](ctx, conn, &wire.Lookup{Address: "email:nobody@mutual.test"})
		var we *wire.Error
		if !errors.As(err, &we) {
			t.Fatalf("lookup: %v", err)
		}
		switch we.Code {
		case wire.CodeNotFound:
			return false
		case wire.CodeRateLimited:
			return true
		}
		t.Fatalf("lookup: %v", err)
		return false
	}

	granted := 0
	for !limited(conns[granted%2]) {
		if granted++; granted > 200 {
			t.Fatal("never rate limited")
		}
	}
	// 60 at once and 2 a second: at most 90 unless the lookups took 15 s.
	if granted >= 90 {
		t.Fatalf("alternating between the gateways, the client made %d lookups before a refusal; one shared budget allows about 60", granted)
	}
	t.Logf("alternating between the gateways, %d lookups before a refusal", granted)

	// A fresh connection to either gateway starts from the same bucket.
	for _, g := range cl.gateways {
		conn, err := g.auth(ctx, c.crashClient)
		if err != nil {
			t.Fatalf("%s: %v", g.name, err)
		}
		more := 0
		for !limited(conn) {
			if more++; more >= 30 {
				t.Fatalf("a new connection to %s made %d more lookups; the account's bucket was empty", g.name, more)
			}
		}
		conn.Close()
	}
}
