// Package layout holds the tests that keep the project's structure honest:
// which packages may import which, and that every package says what it is
// for. It has no code of its own.
//
// The rules: nothing under app/ imports the server (relay/ and its
// dependencies, cmd/, pwa/, the load generator), a database driver or the
// Kafka client; crypto/ and relay/wire also touch no network and nothing
// of app/; nothing under relay/ imports app/ (the load generator, which
// drives a relay with real clients, lives in internal/loadgen); pwa/
// imports neither app/ nor relay/, since the program registers the app's
// pages with go-app's router and hands the handler to the relay; the
// server binary, cmd/mutual, does not link the testing package; the web
// app's packages reach the network through the browser, not net/http;
// the foundations everything builds on depend only on the standard library
// and what their rule lists (internal/pb: protowire; app/transport: the
// wire protocol and the WebSocket library).
package layout
