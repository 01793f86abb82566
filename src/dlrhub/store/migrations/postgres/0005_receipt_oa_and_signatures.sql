-- A Zalo receipt kept as an orphan keeps the OA that signed it (issue 11): only that OA's messages may take it,
-- and two OAs' receipts for one msg_id are two rows. A receipt kept before takes its OA from its payload
-- (`sender.id`, which the webhook checked the signature against), else ''; an orphan of '' matches no message.
ALTER TABLE orphan_receipts ADD COLUMN oa_id text NOT NULL DEFAULT '';

UPDATE orphan_receipts SET oa_id = coalesce(payload -> 'sender' ->> 'id', '');

ALTER TABLE orphan_receipts ALTER COLUMN oa_id DROP DEFAULT;

ALTER TABLE orphan_receipts DROP CONSTRAINT orphan_receipts_pkey, ADD PRIMARY KEY (oa_id, msg_id);

DROP INDEX orphan_receipts_tracking;

CREATE INDEX orphan_receipts_tracking ON orphan_receipts (oa_id, tracking_id) WHERE tracking_id IS NOT NULL;

-- The NXCloud request signatures taken, each kept until its timestamp can no longer pass (issue 11): a repeat of
-- one is a replay and is refused.
CREATE TABLE nxcloud_signatures (
    sign       text PRIMARY KEY,
    expires_at timestamptz NOT NULL
);

CREATE INDEX nxcloud_signatures_expiry ON nxcloud_signatures (expires_at);
