-- Web Push subscriptions, one per device at most, deleted with the
-- device: where its push service takes pushes (the endpoint), the keys
-- pushes are encrypted to, and the conversations it does not want to be
-- woken for (16-byte IDs one after the other). online_until_ns is the
-- device's presence as the gateways of a cluster record it (0: not
-- connected).

CREATE TABLE push_subscriptions (
	user_id         BLOB    NOT NULL,
	device_id       INTEGER NOT NULL,
	endpoint        TEXT    NOT NULL CHECK (length(endpoint) BETWEEN 1 AND 1024),
	p256dh          BLOB    NOT NULL CHECK (length(p256dh) = 65),
	auth            BLOB    NOT NULL CHECK (length(auth) = 16),
	muted           BLOB    NOT NULL,
	updated_ns      INTEGER NOT NULL,
	online_until_ns INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (user_id, device_id),
	FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
