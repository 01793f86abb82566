-- Rate limits per destination host (issue 15): receivers behind a gateway with a fixed TPS. The dispatcher starts
-- at most `rate_per_s` attempts a second to `endpoint` (`urls.endpoint_key`: scheme://host:port), after a
-- first `burst`. Set by the operator or by an account with callbacks there (`set_by`).
CREATE TABLE endpoint_limits (
    endpoint   text PRIMARY KEY,
    rate_per_s double precision NOT NULL CHECK (rate_per_s > 0),
    burst      integer NOT NULL CHECK (burst >= 1),
    set_by     text NOT NULL,
    updated_at timestamptz NOT NULL
);
