// Package loadgen is Mutual's load generator: it drives a relay with many
// real clients over real WebSockets and measures what the relay delivers,
// how fast, and with what latency. `mutual bench` is its command line.
//
// A run registers Config.Clients accounts (each its own address, with the
// code read from a CodeSource: a test SMTP server for an in-process relay,
// or the DEV CODE lines of a remote relay started with --dev), publishes
// keys for each, connects them all, makes them contacts in a ring (client
// i sends to client i+1; each allows both neighbours), sets up the
// end-to-end sessions, then sends Config.Messages messages spread over the clients at Config.Rate
// messages a second in total (0: as fast as the relay answers, with at most
// Config.InFlight unanswered sends per client).
//
// Every message carries a payload of Config.Size bytes that embeds the send
// time and a sequence number (see the payload layout in payload.go). The
// payload reaches the relay through a PayloadEncoder, one per client. By
// default it is E2E, the client's end-to-end encryption: each client
// publishes a real identity key, signed prekey, last-resort ML-KEM prekey
// and one-time prekeys, fetches through the relay the bundle of the client
// it sends to and sets up a PQXDH session with it (session.Manager over a
// session.MemoryStore); every payload is then padded and encrypted with
// the Double Ratchet, and decrypted by its receiver. The first message of
// each session and its answer, which make the session an answered one, are
// handed over inside the bench process during setup; everything timed
// crosses the relay. With Config.Opaque the encoder is Opaque, which hands
// the bytes over unchanged, to measure the relay alone.
//
// Receivers acknowledge what they are delivered, drop duplicates by message
// ID and record latency (receive time minus send time; both ends are in
// this process, so one monotonic clock measures both). After the last send
// the run waits until every message answered Accepted has been delivered,
// or Config.DrainTimeout passes; whatever was accepted and never delivered
// is lost.
//
// Goroutines: Run owns everything it starts (a receiver per client,
// Config.InFlight senders per client, a pacer when Rate is set) and joins
// them before it returns. StartEmbedded's relay is owned by its
// EmbeddedRelay until Close.
package loadgen
