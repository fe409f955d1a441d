package smtpcatch

// TB is the part of testing.TB that Start uses; *testing.T and
// *testing.B are ones.
type TB interface {
	Helper()
	Fatal(args ...any)
	Cleanup(func())
}

// Start starts a server for a test and closes it when the test ends.
func Start(tb TB, opts Options) *Server {
	tb.Helper()
	s, err := New(opts)
	if err != nil {
		tb.Fatal(err)
		return nil // for a TB whose Fatal returns
	}
	tb.Cleanup(func() { s.Close() })
	return s
}
