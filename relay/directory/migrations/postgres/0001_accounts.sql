-- Users, the keyed address hashes that lead to them, their devices with
-- hashed credentials, delivery offsets and published public keys, and the
-- pools of one-time prekeys.

CREATE TABLE users (
	id          BYTEA  PRIMARY KEY CHECK (octet_length(id) = 16),
	created_ns  BIGINT NOT NULL,
	last_device BIGINT NOT NULL DEFAULT 0 -- device IDs are never reused
);

CREATE TABLE accounts (
	addr_hash BYTEA PRIMARY KEY, -- keyed hash of the address, never the address
	user_id   BYTEA NOT NULL REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX accounts_user ON accounts (user_id);

CREATE TABLE devices (
	user_id      BYTEA  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	id           BIGINT NOT NULL CHECK (id > 0),
	name         TEXT   NOT NULL,
	cred_hash    BYTEA  NOT NULL,
	created_ns   BIGINT NOT NULL,
	last_seen_ns BIGINT NOT NULL,
	inbox_offset BIGINT NOT NULL,
	identity     BYTEA,  -- public identity key
	signed_id    BIGINT, -- signed EC prekey
	signed_pub   BYTEA,
	signed_sig   BYTEA,
	kem_id       BIGINT, -- signed last-resort KEM prekey
	kem_pub      BYTEA,
	kem_sig      BYTEA,
	PRIMARY KEY (user_id, id)
);

-- kind 1: one-time EC prekey; kind 2: signed one-time KEM prekey.
-- seq gives the claim order: oldest first.
CREATE TABLE prekeys (
	seq       BIGINT   GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_id   BYTEA    NOT NULL,
	device_id BIGINT   NOT NULL,
	kind      SMALLINT NOT NULL CHECK (kind IN (1, 2)),
	key_id    BIGINT   NOT NULL,
	public    BYTEA    NOT NULL,
	signature BYTEA,
	UNIQUE (user_id, device_id, kind, key_id),
	FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, id) ON DELETE CASCADE
);

CREATE INDEX prekeys_claim ON prekeys (user_id, device_id, kind, seq);
