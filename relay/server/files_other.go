//go:build !unix

package server

// RaiseFileLimit does nothing on systems without RLIMIT_NOFILE: it
// returns 0, no limit known.
func RaiseFileLimit() (uint64, error) { return 0, nil }

// fileLimit reports that no open-file limit is known.
func fileLimit() (uint64, bool) { return 0, false }
