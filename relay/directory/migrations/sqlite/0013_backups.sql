-- Each account's encrypted backup: the blob that holds it (a finished
-- upload of the account's, whose expiry is pushed out to "never" while it
-- is the backup) and the sealed key material that opens it, which the
-- relay cannot read. One row per account; a new backup replaces it.

CREATE TABLE backups (
	user_id    BLOB    PRIMARY KEY CHECK (length(user_id) = 16),
	blob       BLOB    NOT NULL CHECK (length(blob) = 16),
	sealed     BLOB    NOT NULL CHECK (length(sealed) > 0),
	created_ns INTEGER NOT NULL,
	size       INTEGER NOT NULL CHECK (size > 0)
) STRICT, WITHOUT ROWID;
