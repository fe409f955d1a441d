-- Web Push subscriptions, one per device at most, deleted with the
-- device: where its push service takes pushes (the endpoint), the keys
-- pushes are encrypted to, and the conversations it does not want to be
-- woken for (16-byte IDs one after the other). online_until_ns is the
-- device's presence as the gateways of a cluster record it (0: not
-- connected).

CREATE TABLE push_subscriptions (
	user_id         BYTEA  NOT NULL,
	device_id       BIGINT NOT NULL,
	endpoint        TEXT   NOT NULL CHECK (octet_length(endpoint) BETWEEN 1 AND 1024),
	p256dh          BYTEA  NOT NULL CHECK (octet_length(p256dh) = 65),
	auth            BYTEA  NOT NULL CHECK (octet_length(auth) = 16),
	muted           BYTEA  NOT NULL,
	updated_ns      BIGINT NOT NULL,
	online_until_ns BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (user_id, device_id),
	FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, id) ON DELETE CASCADE
);
