-- Rate-limit buckets shared by every gateway: per key, the theoretical
-- arrival time of the generic cell rate algorithm (see relay/limit). A
-- bucket whose time is past is full, the same as no row: such rows are
-- pruned. Keys name what is counted and whose: "lookup/net/<id>", where
-- the relay writes the ID of the account or client network as a hash
-- keyed with the server secret (limit.Hashed), never in clear.

CREATE TABLE rate_limits (
	key    TEXT    PRIMARY KEY,
	tat_ns INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX rate_limits_tat ON rate_limits (tat_ns);
