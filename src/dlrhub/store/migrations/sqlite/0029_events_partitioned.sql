-- PostgreSQL only: its `events` becomes partitioned by day (docs/adr/0009). SQLite has no partitions; its pruner
-- keeps deleting a message's events with it, so nothing changes here.
SELECT 1;
