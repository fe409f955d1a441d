-- Contact lists (allowlists) and the record of recent contact requests.
-- A contact with no decision (None) has no row.

CREATE TABLE contacts (
	owner      BYTEA    NOT NULL,
	other      BYTEA    NOT NULL,
	state      SMALLINT NOT NULL CHECK (state IN (1, 2)), -- 1 allowed, 2 blocked
	updated_ns BIGINT   NOT NULL,
	PRIMARY KEY (owner, other)
);

CREATE TABLE contact_requests (
	seq       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	from_user BYTEA  NOT NULL,
	to_user   BYTEA  NOT NULL,
	at_ns     BIGINT NOT NULL
);

CREATE INDEX contact_requests_pair ON contact_requests (from_user, to_user, at_ns);
CREATE INDEX contact_requests_from ON contact_requests (from_user, at_ns);
CREATE INDEX contact_requests_at ON contact_requests (at_ns);
