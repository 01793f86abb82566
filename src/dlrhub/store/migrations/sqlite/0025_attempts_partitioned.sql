-- PostgreSQL only: its `attempts` becomes partitioned by day (docs/adr/0009). SQLite has no partitions; its pruner
-- keeps deleting old attempts in chunks, so nothing changes here.
SELECT 1;
