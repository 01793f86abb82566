-- The ZNS templates of each OA (issue 12): synced from Zalo's template API or registered by hand, with the
-- parameters sends are checked against. `oas.template_ids` stays the list of the OA's templates that may send
-- (status ENABLE), kept in step in the same transaction. The ids OAs held before become manual templates
-- without parameters (not checked), so nothing that could send stops.
CREATE TABLE templates (
    oa_id       text NOT NULL REFERENCES oas (oa_id),
    template_id text NOT NULL,
    name        text NOT NULL DEFAULT '',
    status      text NOT NULL,
    source      text NOT NULL CHECK (source IN ('zalo', 'manual')),
    params      jsonb,
    price       numeric(20, 4),
    synced_at   timestamptz,
    info        jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (oa_id, template_id)
);

INSERT INTO templates (oa_id, template_id, status, source)
SELECT oas.oa_id, ids.value, 'ENABLE', 'manual'
FROM oas, jsonb_array_elements_text(oas.template_ids) AS ids (value)
ON CONFLICT DO NOTHING;
