-- eSMS's second GET callback, on a Zalo delivery receipt, becomes a per-account choice, off by default
-- (DECISIONS › When is the GET callback sent?). It was a server-wide setting, on by default.
ALTER TABLE accounts ADD COLUMN esms_delivered_callback integer NOT NULL DEFAULT 0;
