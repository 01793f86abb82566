-- Room on each page of `callbacks` for its leases (issue 16): a claim's lease sets only `lease_until` and
-- `lease_owner`, which no index holds, so PostgreSQL can write it as a HOT update (no new entry in any of the
-- table's 12 indexes) when the row's page has room for the new version. With full pages (fillfactor 100) it had
-- none: every lease wrote a new entry in each index a pending callback is in (10 of them), and the record of its
-- outcome did so again. A claim leases a destination's callbacks in due order, that is mostly whole pages of
-- rows inserted together, so a page is filled to half: room for each of its rows' lease. The outcome changes
-- `state` and cannot be HOT. Only pages written from now on are filled to half (no rewrite, no long lock:
-- `ALTER TABLE ... SET` takes a SHARE UPDATE EXCLUSIVE lock, which waits for no reads or writes).
ALTER TABLE callbacks SET (fillfactor = 50);
