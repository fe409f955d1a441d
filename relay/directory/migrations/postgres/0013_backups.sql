-- Each account's encrypted backup: the blob that holds it (a finished
-- upload of the account's, whose expiry is pushed out to "never" while it
-- is the backup) and the sealed key material that opens it, which the
-- relay cannot read. One row per account; a new backup replaces it.

CREATE TABLE backups (
	user_id    BYTEA   PRIMARY KEY CHECK (octet_length(user_id) = 16),
	blob       BYTEA   NOT NULL CHECK (octet_length(blob) = 16),
	sealed     BYTEA   NOT NULL CHECK (octet_length(sealed) > 0),
	created_ns BIGINT  NOT NULL,
	size       BIGINT  NOT NULL CHECK (size > 0)
);
