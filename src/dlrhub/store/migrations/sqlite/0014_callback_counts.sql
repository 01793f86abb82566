-- Callbacks counted by dialect and state, kept by triggers in the transaction that changes a callback, so a
-- scrape reads a dozen rows instead of counting the whole table (issue 14). SQLite has one writer: one row per
-- (dialect, state), `slot` 0 (PostgreSQL spreads its writers over slots; the column keeps the shapes alike).
CREATE TABLE callback_counts (
    dialect text NOT NULL,
    state   text NOT NULL,
    slot    integer NOT NULL DEFAULT 0,
    n       integer NOT NULL,
    PRIMARY KEY (dialect, state, slot)
);
INSERT INTO callback_counts (dialect, state, slot, n)
SELECT dialect, state, 0, count(*) FROM callbacks GROUP BY dialect, state;
CREATE TRIGGER callback_counts_insert AFTER INSERT ON callbacks
BEGIN
    INSERT INTO callback_counts (dialect, state, slot, n) VALUES (NEW.dialect, NEW.state, 0, 1)
    ON CONFLICT (dialect, state, slot) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER callback_counts_update AFTER UPDATE OF state, dialect ON callbacks
WHEN OLD.state IS NOT NEW.state OR OLD.dialect IS NOT NEW.dialect
BEGIN
    UPDATE callback_counts SET n = n - 1 WHERE dialect = OLD.dialect AND state = OLD.state AND slot = 0;
    INSERT INTO callback_counts (dialect, state, slot, n) VALUES (NEW.dialect, NEW.state, 0, 1)
    ON CONFLICT (dialect, state, slot) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER callback_counts_delete AFTER DELETE ON callbacks
BEGIN
    UPDATE callback_counts SET n = n - 1 WHERE dialect = OLD.dialect AND state = OLD.state AND slot = 0;
END;
