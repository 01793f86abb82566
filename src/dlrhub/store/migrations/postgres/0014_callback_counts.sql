-- Callbacks counted by dialect and state, kept by statement triggers in the transaction that changes a
-- callback, so a scrape reads a few rows instead of counting the whole table (issue 14).
--
-- Each backend adds its changes to rows of its own (`slot` = its process id), so concurrent writers never wait
-- for each other on a counter row; a count is the sum over slots. `fold_callback_counts` (run by the scrape)
-- moves the rows of backends that have gone into slot 0, so the table stays about (live backends x 12) rows.
CREATE TABLE callback_counts (
    dialect text NOT NULL,
    state   text NOT NULL,
    slot    integer NOT NULL DEFAULT 0,
    n       bigint NOT NULL,
    PRIMARY KEY (dialect, state, slot)
);
INSERT INTO callback_counts (dialect, state, slot, n)
SELECT dialect, state, 0, count(*) FROM callbacks GROUP BY dialect, state;

CREATE FUNCTION callback_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO callback_counts (dialect, state, slot, n)
        SELECT dialect, state, pg_backend_pid(), count(*) FROM new_rows GROUP BY dialect, state
        ORDER BY dialect, state
        ON CONFLICT (dialect, state, slot) DO UPDATE SET n = callback_counts.n + EXCLUDED.n;
    ELSIF TG_OP = 'UPDATE' THEN
        -- -1 for each row as it was, +1 as it is: an update that moved no row's state nets to nothing.
        INSERT INTO callback_counts (dialect, state, slot, n)
        SELECT dialect, state, pg_backend_pid(), sum(d) FROM (
            SELECT dialect, state, -1 AS d FROM old_rows
            UNION ALL
            SELECT dialect, state, 1 AS d FROM new_rows
        ) AS changes
        GROUP BY dialect, state HAVING sum(d) <> 0
        ORDER BY dialect, state
        ON CONFLICT (dialect, state, slot) DO UPDATE SET n = callback_counts.n + EXCLUDED.n;
    ELSE
        INSERT INTO callback_counts (dialect, state, slot, n)
        SELECT dialect, state, pg_backend_pid(), -count(*) FROM old_rows GROUP BY dialect, state
        ORDER BY dialect, state
        ON CONFLICT (dialect, state, slot) DO UPDATE SET n = callback_counts.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER callback_counts_insert AFTER INSERT ON callbacks
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION callback_counts_apply();
CREATE TRIGGER callback_counts_update AFTER UPDATE ON callbacks
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION callback_counts_apply();
CREATE TRIGGER callback_counts_delete AFTER DELETE ON callbacks
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION callback_counts_apply();
