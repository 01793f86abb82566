-- PostgreSQL only (issue 16): its 0027 leaves room on each page of `callbacks` for a lease written as a HOT
-- update. SQLite has no such setting (a row is rewritten in place in its b-tree, and its indexes change only when
-- their columns do): nothing changes.
SELECT 1;
