-- Linking devices and account protection.
--
-- A device signed in by code alone to an account that has a device in
-- use is held (pending_until_ns, 0 once approved) until a device of the
-- account approves it or the hold ends; a device added by a link is
-- marked linked. A device's vouch (another device's signature over its
-- identity key) is kept with the identity key.
--
-- device_links holds the links new devices are waiting on, keyed by
-- their code (derived from the new device's keys): the keys, the name,
-- the hash of the credential the waiting gateway made, and once a device
-- of an account claimed it, that account, the new device's ID and the
-- sealed provisioning message. Rows live ten minutes at most.

ALTER TABLE devices ADD COLUMN pending_until_ns BIGINT  NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN linked           BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE devices ADD COLUMN vouch_device     BIGINT;
ALTER TABLE devices ADD COLUMN vouch_sig        BYTEA;

CREATE TABLE device_links (
	code        TEXT   PRIMARY KEY,
	key         BYTEA  NOT NULL,
	identity    BYTEA  NOT NULL,
	device_name TEXT   NOT NULL,
	cred_hash   BYTEA  NOT NULL,
	expires_ns  BIGINT NOT NULL,
	user_id     BYTEA  CHECK (user_id IS NULL OR octet_length(user_id) = 16),
	device_id   BIGINT,
	provision   BYTEA
);

CREATE INDEX device_links_expires ON device_links (expires_ns);
