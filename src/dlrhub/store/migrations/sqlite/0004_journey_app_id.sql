-- A journey keeps Zalo's app id (its OA's), which NXCloud journey DRs carry as `appId`: the NXCloud appkey is not
-- Zalo's app id (issue 11). Journeys stored before take their OA's.
ALTER TABLE journeys ADD COLUMN app_id text;
UPDATE journeys SET app_id = (SELECT oas.app_id FROM oas WHERE oas.oa_id = journeys.oa_id);
