-- Rate-limit buckets shared by every gateway: per key, the theoretical
-- arrival time of the generic cell rate algorithm (see relay/limit). A
-- bucket whose time is past is full, the same as no row: such rows are
-- pruned. Keys name what is counted and whose ("lookup/user/<user id>",
-- "lookup/net/<network>"): a client network appears here as its IPv4
-- address or IPv6 /64 prefix while its bucket is not full.

CREATE TABLE rate_limits (
	key    TEXT    PRIMARY KEY,
	tat_ns INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX rate_limits_tat ON rate_limits (tat_ns);
