-- The co-op's records: each account's membership (an opaque reference
-- and the provider's IDs, never an address or payment details), the
-- provider events applied (each once), the dues received, roles, the
-- months' costs and counts, each account's last active month and
-- notice setting, the yearly notices sent, and the key that signs the
-- relay's notices to users.

CREATE TABLE coop_memberships (
	user_id         BLOB    PRIMARY KEY CHECK (length(user_id) = 16),
	reference       TEXT    NOT NULL UNIQUE,
	provider        TEXT    NOT NULL,
	plan            TEXT    NOT NULL,
	amount          INTEGER NOT NULL,
	currency        TEXT    NOT NULL,
	customer        TEXT    NOT NULL DEFAULT '', -- '': not known yet
	subscription    TEXT    NOT NULL DEFAULT '',
	mandate         TEXT    NOT NULL DEFAULT '',
	status          INTEGER NOT NULL CHECK (status BETWEEN 1 AND 5), -- wire.MemberStatus
	status_ns       INTEGER NOT NULL DEFAULT 0,
	paid_through_ns INTEGER NOT NULL DEFAULT 0,
	grace_until_ns  INTEGER NOT NULL DEFAULT 0,
	next_payment_ns INTEGER NOT NULL DEFAULT 0,
	created_ns      INTEGER NOT NULL,
	updated_ns      INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- A provider's event finds its membership by these when it lacks the
-- reference.
CREATE INDEX coop_memberships_subscription ON coop_memberships (provider, subscription) WHERE subscription <> '';
CREATE INDEX coop_memberships_mandate ON coop_memberships (provider, mandate) WHERE mandate <> '';
CREATE INDEX coop_memberships_customer ON coop_memberships (provider, customer) WHERE customer <> '';
-- The paying members (active, grace), and the grace sweep.
CREATE INDEX coop_memberships_paying ON coop_memberships (user_id) WHERE status IN (2, 3);
CREATE INDEX coop_memberships_grace ON coop_memberships (grace_until_ns) WHERE status = 3;

-- The provider events applied: a webhook delivered again changes nothing.
CREATE TABLE coop_events (
	provider   TEXT    NOT NULL,
	event_id   TEXT    NOT NULL,
	applied_ns INTEGER NOT NULL,
	PRIMARY KEY (provider, event_id)
) STRICT, WITHOUT ROWID;

-- Payments received, each once whatever events report it.
CREATE TABLE coop_dues (
	provider TEXT    NOT NULL,
	payment  TEXT    NOT NULL,
	user_id  BLOB    NOT NULL CHECK (length(user_id) = 16),
	month    TEXT    NOT NULL, -- "2026-12", UTC
	amount   INTEGER NOT NULL,
	currency TEXT    NOT NULL,
	paid_ns  INTEGER NOT NULL,
	PRIMARY KEY (provider, payment)
) STRICT, WITHOUT ROWID;

CREATE INDEX coop_dues_month ON coop_dues (month);

-- Operators and contributors. by_user NULL: the server's command line.
-- last_contributed_ns 0: a manual grant, which does not expire.
CREATE TABLE coop_roles (
	user_id             BLOB    NOT NULL CHECK (length(user_id) = 16),
	role                INTEGER NOT NULL CHECK (role IN (2, 3)), -- 2 operator, 3 contributor
	by_user             BLOB    CHECK (length(by_user) = 16),
	granted_ns          INTEGER NOT NULL,
	last_contributed_ns INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (user_id, role)
) STRICT, WITHOUT ROWID;

CREATE INDEX coop_roles_role ON coop_roles (role, user_id);

-- The co-op's costs, a line per month and category.
CREATE TABLE coop_costs (
	month      TEXT    NOT NULL,
	category   TEXT    NOT NULL,
	amount     INTEGER NOT NULL CHECK (amount > 0),
	note       TEXT    NOT NULL DEFAULT '',
	by_user    BLOB    CHECK (length(by_user) = 16),
	updated_ns INTEGER NOT NULL,
	PRIMARY KEY (month, category)
) STRICT, WITHOUT ROWID;

-- Each month's counts: accounts active in it, and paying members at its
-- last change.
CREATE TABLE coop_months (
	month        TEXT    PRIMARY KEY,
	active_users INTEGER NOT NULL DEFAULT 0,
	members      INTEGER NOT NULL DEFAULT 0
) STRICT, WITHOUT ROWID;

-- Per account: the last month it was active in (counted once in that
-- month), and whether it turned the yearly notices off.
CREATE TABLE coop_accounts (
	user_id     BLOB    PRIMARY KEY CHECK (length(user_id) = 16),
	last_active TEXT    NOT NULL DEFAULT '', -- "2026-12"; '': never
	notices_off INTEGER NOT NULL DEFAULT 0 CHECK (notices_off IN (0, 1))
) STRICT, WITHOUT ROWID;

-- The yearly notices sent, with the distance each told.
CREATE TABLE coop_yearly (
	user_id  BLOB    NOT NULL CHECK (length(user_id) = 16),
	year     INTEGER NOT NULL,
	distance INTEGER NOT NULL,
	sent_ns  INTEGER NOT NULL,
	PRIMARY KEY (user_id, year)
) STRICT, WITHOUT ROWID;

-- The seed of the Ed25519 key that signs co-op notices: one row, written
-- by the first process to start, read by every process.
CREATE TABLE coop_key (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	seed       BLOB    NOT NULL,
	created_ns INTEGER NOT NULL
) STRICT;
