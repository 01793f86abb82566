-- Real Zalo OAs (issue 12): when the OA's single-use refresh token expires (Zalo: about 3 months after the grant
-- that issued it). An OA stored before took its last grant about 25 h before its access token expires, so its
-- refresh token is taken to expire 90 days after that.
ALTER TABLE oas ADD COLUMN refresh_expires_at real;

UPDATE oas SET refresh_expires_at = token_expires_at - 90000 + 90 * 86400;
