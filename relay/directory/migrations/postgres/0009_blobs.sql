-- Attachments' blobs: who asked to upload each, its size, the SHA-256 of
-- the token that authorises its upload, and where it stands. The bytes
-- are in the blob store, never here; nor is the token. A row stays after
-- its bytes are deleted (deleted_ns set) so that a late download learns
-- the blob is gone, and is purged some time after it expired.

CREATE TABLE blobs (
	id               BYTEA   PRIMARY KEY CHECK (octet_length(id) = 16),
	owner            BYTEA   NOT NULL CHECK (octet_length(owner) = 16),
	size             BIGINT  NOT NULL CHECK (size > 0),
	token_hash       BYTEA   NOT NULL CHECK (octet_length(token_hash) = 32),
	token_expires_ns BIGINT  NOT NULL,
	created_ns       BIGINT  NOT NULL,
	completed_ns     BIGINT  NOT NULL DEFAULT 0, -- 0: the upload is unfinished
	expires_ns       BIGINT  NOT NULL,
	deleted_ns       BIGINT  NOT NULL DEFAULT 0  -- 0: the bytes are stored
);

-- An owner's grants by time: the bytes a day, the unfinished uploads.
CREATE INDEX blobs_owner ON blobs (owner, created_ns);
-- What the sweeper deletes: expired blobs, stale unfinished uploads,
-- and the rows of deleted blobs to purge.
CREATE INDEX blobs_stored ON blobs (expires_ns) WHERE deleted_ns = 0;
CREATE INDEX blobs_unfinished ON blobs (created_ns) WHERE completed_ns = 0 AND deleted_ns = 0;
CREATE INDEX blobs_deleted ON blobs (expires_ns) WHERE deleted_ns <> 0;
