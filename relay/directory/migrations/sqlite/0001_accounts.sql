-- Users, the keyed address hashes that lead to them, their devices with
-- hashed credentials, delivery offsets and published public keys, and the
-- pools of one-time prekeys.

CREATE TABLE users (
	id          BLOB    PRIMARY KEY CHECK (length(id) = 16),
	created_ns  INTEGER NOT NULL,
	last_device INTEGER NOT NULL DEFAULT 0 -- device IDs are never reused
) STRICT, WITHOUT ROWID;

CREATE TABLE accounts (
	addr_hash BLOB PRIMARY KEY, -- keyed hash of the address, never the address
	user_id   BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

CREATE INDEX accounts_user ON accounts (user_id);

CREATE TABLE devices (
	user_id      BLOB    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	id           INTEGER NOT NULL CHECK (id > 0),
	name         TEXT    NOT NULL,
	cred_hash    BLOB    NOT NULL,
	created_ns   INTEGER NOT NULL,
	last_seen_ns INTEGER NOT NULL,
	inbox_offset INTEGER NOT NULL,
	identity     BLOB,    -- public identity key
	signed_id    INTEGER, -- signed EC prekey
	signed_pub   BLOB,
	signed_sig   BLOB,
	kem_id       INTEGER, -- signed last-resort KEM prekey
	kem_pub      BLOB,
	kem_sig      BLOB,
	PRIMARY KEY (user_id, id)
) STRICT, WITHOUT ROWID;

-- kind 1: one-time EC prekey; kind 2: signed one-time KEM prekey.
-- seq gives the claim order: oldest first.
CREATE TABLE prekeys (
	seq       INTEGER PRIMARY KEY,
	user_id   BLOB    NOT NULL,
	device_id INTEGER NOT NULL,
	kind      INTEGER NOT NULL CHECK (kind IN (1, 2)),
	key_id    INTEGER NOT NULL,
	public    BLOB    NOT NULL,
	signature BLOB,
	UNIQUE (user_id, device_id, kind, key_id),
	FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, id) ON DELETE CASCADE
) STRICT;

CREATE INDEX prekeys_claim ON prekeys (user_id, device_id, kind, seq);
