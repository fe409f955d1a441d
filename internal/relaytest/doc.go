// Package relaytest runs a real Mutual relay for tests and for the load
// generator (`mutual bench`): the embedded default (the log on disk,
// SQLite) in this process on 127.0.0.1, with its authentication codes
// mailed over SMTP, STARTTLS and AUTH to a real SMTP server on loopback
// that catches them (package smtpcatch).
//
// Open starts a relay and Close stops it: the HTTP server first, then the
// gateway's connections, the router, the bus and the directory, then the
// SMTP server; Close waits for every goroutine Open started. Options adjust
// the server's and the embedded parts' configuration before they start.
// Start wraps Open for tests: it fails the test on error and closes the
// relay when the test ends. It takes a TB, which *testing.T and *testing.B
// satisfy, so that the package does not link the testing package into the
// relay binary that runs `mutual bench`.
//
// Register signs a new device in over the wire protocol with the code the
// relay mails, as a client does. MailFlags gives a relay run as a child
// process (`mutual serve`) the same mail setup: the --smtp-* arguments and
// the files that hold the password and trust the SMTP server's
// certificate.
package relaytest
