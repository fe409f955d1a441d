-- Group member lists: who is invited to or has joined each group, and the
-- SHA-256 hashes of the secrets that allow changing a list. The relay
-- knows nothing else of a group. A group whose list is empty is deleted.

CREATE TABLE groups (
	id         BYTEA PRIMARY KEY CHECK (octet_length(id) = 16),
	admin_hash BYTEA NOT NULL CHECK (octet_length(admin_hash) = 32),
	add_hash   BYTEA NOT NULL CHECK (octet_length(add_hash) = 32),
	link_hash  BYTEA CHECK (octet_length(link_hash) = 32) -- NULL: no invite link
);

CREATE TABLE group_members (
	group_id BYTEA    NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
	user_id  BYTEA    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	state    SMALLINT NOT NULL CHECK (state IN (1, 2)), -- 1 invited, 2 joined
	PRIMARY KEY (group_id, user_id)
);

CREATE INDEX group_members_user ON group_members (user_id, group_id);
