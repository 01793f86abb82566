-- Fair claims (issue 15): the dispatcher's discovery claim walks the accounts with pending callbacks (one seek
-- each), then each account's destinations (one seek each, an excluded one skipped in a seek rather than walked),
-- then takes each destination's first due callbacks, so one account's backlog never fills a claim nor makes a
-- claim walk past it. Partial, like `callbacks_due`: only pending callbacks are in it.
CREATE INDEX callbacks_account_due ON callbacks (account_id, endpoint, due_at) WHERE state = 'pending';
