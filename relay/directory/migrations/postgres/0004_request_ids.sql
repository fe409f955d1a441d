-- Each contact request record keeps the ID of the message that was
-- counted, so that a request routed again (a batch retried after a failed
-- append or a crash, a message resent by its client) is not counted twice.
-- Records written before this version have none.

ALTER TABLE contact_requests ADD COLUMN message_id BYTEA;
