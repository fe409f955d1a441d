package relaytest

import (
	"context"
	"time"
)

// TB is the part of testing.TB that Start uses; *testing.T and
// *testing.B are ones.
type TB interface {
	Helper()
	Fatal(args ...any)
	Errorf(format string, args ...any)
	Cleanup(func())
	TempDir() string
}

// closeTimeout bounds the relay's shutdown at the end of a test.
const closeTimeout = 10 * time.Second

// Start opens a relay for a test, in the test's temporary directory
// unless o.Dir is set, and closes it when the test ends; a failure to
// open or to close fails the test.
func Start(tb TB, o Options) *Relay {
	tb.Helper()
	if o.Dir == "" {
		o.Dir = tb.TempDir()
	}
	r, err := Open(context.Background(), o)
	if err != nil {
		tb.Fatal(err)
		return nil // for a TB whose Fatal returns
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		if err := r.Close(ctx); err != nil {
			tb.Errorf("%v", err)
		}
	})
	return r
}
