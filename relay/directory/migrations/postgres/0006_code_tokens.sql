-- A pending code is bound to the request that asked for it: the relay
-- answers each request with a random token and keeps only the token's
-- hash (SHA-256) with the code, and only a verification that presents the
-- token may try the code. An address may have several pending codes, one
-- per request, so that a stranger asking for a code for someone else's
-- address neither replaces nor uses up the code that person is typing.
--
-- Codes pending at the upgrade were issued without a token and could not
-- be verified any more: they are dropped (they live ten minutes at most).
-- code_requests is unchanged; it now also counts requests per address and
-- client network, under a keyed hash of the pair.

DROP TABLE codes;

CREATE TABLE codes (
	addr_hash  BYTEA   NOT NULL,
	token_hash BYTEA   NOT NULL, -- SHA-256 of the request's token, never the token
	code_hash  BYTEA   NOT NULL, -- keyed hash of the code, never the code
	expires_ns BIGINT  NOT NULL,
	attempts   INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (addr_hash, token_hash)
);

CREATE INDEX codes_expires ON codes (expires_ns);
