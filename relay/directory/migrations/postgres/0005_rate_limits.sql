-- Rate-limit buckets shared by every gateway: per key, the theoretical
-- arrival time of the generic cell rate algorithm (see relay/limit). A
-- bucket whose time is past is full, the same as no row: such rows are
-- pruned. Keys name what is counted and whose ("lookup/user/<user id>",
-- "lookup/net/<network>"): a client network appears here as its IPv4
-- address or IPv6 /64 prefix while its bucket is not full.
--
-- The table is unlogged: every charge is a write, and losing the buckets
-- in a crash of the database only refills them.

CREATE UNLOGGED TABLE rate_limits (
	key    TEXT   PRIMARY KEY,
	tat_ns BIGINT NOT NULL
);

CREATE INDEX rate_limits_tat ON rate_limits (tat_ns);
