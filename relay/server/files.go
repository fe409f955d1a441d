package server

// FileReserve is how many open files the relay keeps for everything but
// WebSocket connections: the embedded bus's segment files (up to 1,024),
// the database, the log, /healthz and page requests, the metrics
// listener, SMTP and the cluster's connections to Kafka and PostgreSQL.
const FileReserve = 2048

// MaxConns is the cap on WebSocket connections for an open-file limit:
// the limit less FileReserve, and at least half the limit.
func MaxConns(fileLimit uint64) int {
	n := fileLimit / 2
	if fileLimit > 2*FileReserve {
		n = fileLimit - FileReserve
	}
	return int(min(n, 1<<30))
}
