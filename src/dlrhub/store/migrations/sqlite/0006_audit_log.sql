-- The admin actions taken (issue 12): who, what, to which noun, when; appended, never changed. `details` is JSON
-- that never holds a secret. Ids are time-ordered, so the newest-first list walks the primary key.
CREATE TABLE audit_log (
    id      text PRIMARY KEY,
    at      real NOT NULL,
    actor   text NOT NULL,
    action  text NOT NULL,
    target  text NOT NULL,
    details text NOT NULL DEFAULT '{}'
);

CREATE INDEX audit_log_target ON audit_log (target, id);
