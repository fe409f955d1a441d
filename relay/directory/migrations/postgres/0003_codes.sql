-- Pending authentication codes and the record of recent code requests,
-- both keyed by the keyed hash of the address.

CREATE TABLE codes (
	addr_hash  BYTEA   PRIMARY KEY,
	code_hash  BYTEA   NOT NULL, -- keyed hash of the code, never the code
	expires_ns BIGINT  NOT NULL,
	attempts   INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX codes_expires ON codes (expires_ns);

CREATE TABLE code_requests (
	seq       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	addr_hash BYTEA  NOT NULL,
	at_ns     BIGINT NOT NULL
);

CREATE INDEX code_requests_addr ON code_requests (addr_hash, at_ns);
CREATE INDEX code_requests_at ON code_requests (at_ns);
