-- Pending authentication codes and the record of recent code requests,
-- both keyed by the keyed hash of the address.

CREATE TABLE codes (
	addr_hash  BLOB    PRIMARY KEY,
	code_hash  BLOB    NOT NULL, -- keyed hash of the code, never the code
	expires_ns INTEGER NOT NULL,
	attempts   INTEGER NOT NULL DEFAULT 0
) STRICT, WITHOUT ROWID;

CREATE INDEX codes_expires ON codes (expires_ns);

CREATE TABLE code_requests (
	addr_hash BLOB    NOT NULL,
	at_ns     INTEGER NOT NULL
) STRICT;

CREATE INDEX code_requests_addr ON code_requests (addr_hash, at_ns);
CREATE INDEX code_requests_at ON code_requests (at_ns);
