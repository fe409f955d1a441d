-- Contact lists (allowlists) and the record of recent contact requests.
-- A contact with no decision (None) has no row.

CREATE TABLE contacts (
	owner      BLOB    NOT NULL,
	other      BLOB    NOT NULL,
	state      INTEGER NOT NULL CHECK (state IN (1, 2)), -- 1 allowed, 2 blocked
	updated_ns INTEGER NOT NULL,
	PRIMARY KEY (owner, other)
) STRICT, WITHOUT ROWID;

CREATE TABLE contact_requests (
	from_user BLOB    NOT NULL,
	to_user   BLOB    NOT NULL,
	at_ns     INTEGER NOT NULL
) STRICT;

CREATE INDEX contact_requests_pair ON contact_requests (from_user, to_user, at_ns);
CREATE INDEX contact_requests_from ON contact_requests (from_user, at_ns);
CREATE INDEX contact_requests_at ON contact_requests (at_ns);
