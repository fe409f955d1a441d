// Package layout holds the tests that keep the project's structure honest:
// which packages may import which, and that every package says what it is
// for. It has no code of its own.
package layout
