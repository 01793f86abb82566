-- A Zalo receipt kept as an orphan keeps the OA that signed it (issue 11): only that OA's messages may take it,
-- and two OAs' receipts for one msg_id are two rows. SQLite cannot change a primary key in place, so the table is
-- rebuilt. A receipt kept before takes its OA from its payload (`sender.id`, which the webhook checked the
-- signature against), else ''; an orphan of '' matches no message.
CREATE TABLE orphan_receipts_new (
    oa_id       text NOT NULL,
    msg_id      text NOT NULL,
    tracking_id text,
    payload     text NOT NULL,
    received_at real NOT NULL,
    matched_at  real,
    PRIMARY KEY (oa_id, msg_id)
);

INSERT INTO orphan_receipts_new (oa_id, msg_id, tracking_id, payload, received_at, matched_at)
SELECT coalesce(CAST(json_extract(payload, '$.sender.id') AS text), ''), msg_id, tracking_id, payload,
       received_at, matched_at
FROM orphan_receipts;

DROP TABLE orphan_receipts;

ALTER TABLE orphan_receipts_new RENAME TO orphan_receipts;

CREATE INDEX orphan_receipts_tracking ON orphan_receipts (oa_id, tracking_id) WHERE tracking_id IS NOT NULL;

-- The NXCloud request signatures taken, each kept until its timestamp can no longer pass (issue 11): a repeat of
-- one is a replay and is refused.
CREATE TABLE nxcloud_signatures (
    sign       text PRIMARY KEY,
    expires_at real NOT NULL
);

CREATE INDEX nxcloud_signatures_expiry ON nxcloud_signatures (expires_at);
