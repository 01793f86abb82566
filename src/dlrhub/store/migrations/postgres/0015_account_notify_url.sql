-- Where an account is told that one of its callback endpoints was disabled (`alert.destination.disabled`);
-- NULL: it is not told.
ALTER TABLE accounts ADD COLUMN notify_url text;
