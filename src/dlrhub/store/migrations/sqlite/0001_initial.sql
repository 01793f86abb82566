-- dlrhub schema, SQLite (times are Unix seconds, JSON is text, decimals are text): accounts, messages, events, the callback outbox, attempts, endpoints, Zalo state.
CREATE TABLE accounts (
    id                 text PRIMARY KEY,
    name               text NOT NULL,
    status             text NOT NULL DEFAULT 'active',
    esms_api_key       text NOT NULL UNIQUE,
    esms_secret_key    text NOT NULL,
    nx_access_key      text NOT NULL UNIQUE,
    nx_access_secret   text NOT NULL,
    balance            text NOT NULL DEFAULT '0',
    currency           text NOT NULL DEFAULT 'VND',
    prices             text NOT NULL DEFAULT '{}',
    utc_offset_minutes integer NOT NULL DEFAULT 480,
    signing_secrets    text NOT NULL DEFAULT '[]',
    created_at         real NOT NULL
);

CREATE TABLE apps (
    appkey     text PRIMARY KEY,
    account_id text NOT NULL REFERENCES accounts (id),
    name       text NOT NULL,
    active     integer NOT NULL DEFAULT 1,
    dr_url     text,
    quotation  text,
    currency   text NOT NULL DEFAULT 'USD',
    routed     integer NOT NULL DEFAULT 1,
    oa_id      text
);
CREATE INDEX apps_account ON apps (account_id);

CREATE TABLE oas (
    oa_id            text PRIMARY KEY,
    account_id       text NOT NULL REFERENCES accounts (id),
    app_id           text NOT NULL,
    app_secret       text NOT NULL,
    oa_secret        text NOT NULL,
    access_token     text NOT NULL,
    refresh_token    text NOT NULL,
    token_expires_at real NOT NULL,
    template_ids     text NOT NULL DEFAULT '[]',
    daily_quota      integer NOT NULL DEFAULT 5000,
    active           integer NOT NULL DEFAULT 1,
    mode3_allowed    integer NOT NULL DEFAULT 0
);
CREATE INDEX oas_account ON oas (account_id);

CREATE TABLE messages (
    id                  text PRIMARY KEY,
    account_id          text NOT NULL REFERENCES accounts (id),
    dialect             text NOT NULL,
    type_id             integer NOT NULL,
    recipient           text NOT NULL,
    recipient_kind      text NOT NULL DEFAULT 'phone',
    state               text NOT NULL,
    seq                 integer NOT NULL DEFAULT 0,
    callback_url        text,
    request_id          text,
    oa_id               text,
    template_id         text,
    template_data       text,
    appkey              text,
    ext                 text,
    price               text NOT NULL DEFAULT '0',
    currency            text NOT NULL DEFAULT 'VND',
    telco_id            integer,
    journey_id          text,
    zalo_msg_id         text,
    tracking_id         text,
    sandbox             integer NOT NULL DEFAULT 0,
    send_at             real,
    sending_mode        text NOT NULL DEFAULT '1',
    code                integer,
    text                text,
    zalo_res            text,
    sent_at             real,
    campaign_id         text,
    created_at          real NOT NULL,
    updated_at          real NOT NULL,
    -- The channel worker's queue: queued -> sending -> done (or none for messages it does not send).
    channel_state       text NOT NULL DEFAULT 'none',
    channel_due_at      real,
    channel_lease_until real
);
CREATE INDEX messages_account_created ON messages (account_id, created_at);
CREATE INDEX messages_zalo_msg_id ON messages (zalo_msg_id) WHERE zalo_msg_id IS NOT NULL;
CREATE INDEX messages_tracking_id ON messages (tracking_id) WHERE tracking_id IS NOT NULL;
CREATE INDEX messages_channel_due ON messages (channel_due_at) WHERE channel_state IN ('queued', 'sending');

CREATE TABLE request_ids (
    account_id text NOT NULL,
    request_id text NOT NULL,
    message_id text NOT NULL,
    created_at real NOT NULL,
    PRIMARY KEY (account_id, request_id)
);

CREATE TABLE events (
    id          text PRIMARY KEY,
    message_id  text,
    journey_id  text,
    seq         integer NOT NULL,
    kind        text NOT NULL,
    code        integer,
    text        text,
    zalo_res    text,
    raw         text,
    applied     integer NOT NULL,
    occurred_at real NOT NULL,
    recorded_at real NOT NULL
);
CREATE INDEX events_message ON events (message_id, seq);
CREATE INDEX events_journey ON events (journey_id) WHERE journey_id IS NOT NULL;

CREATE TABLE callbacks (
    id           text PRIMARY KEY,
    event_id     text NOT NULL,
    account_id   text NOT NULL,
    dialect      text NOT NULL,
    message_id   text,
    order_key    text NOT NULL,
    seq          integer NOT NULL,
    method       text NOT NULL,
    url          text NOT NULL,
    body         blob NOT NULL,
    content_type text,
    endpoint     text NOT NULL,
    state        text NOT NULL,
    due_at       real NOT NULL,
    attempts     integer NOT NULL DEFAULT 0,
    -- `attempts` when last replayed: the retry schedule counts from here.
    retry_from   integer NOT NULL DEFAULT 0,
    lease_until  real,
    lease_owner  text,
    last_outcome text,
    last_status  integer,
    created_at   real NOT NULL,
    updated_at   real NOT NULL
);
CREATE INDEX callbacks_due ON callbacks (due_at) WHERE state = 'pending';
CREATE INDEX callbacks_order ON callbacks (order_key, seq) WHERE state = 'pending';
CREATE INDEX callbacks_message ON callbacks (message_id);
CREATE INDEX callbacks_created ON callbacks (created_at, state);
CREATE INDEX callbacks_endpoint ON callbacks (endpoint) WHERE state = 'pending';

CREATE TABLE attempts (
    id          integer PRIMARY KEY AUTOINCREMENT,
    callback_id text NOT NULL,
    number      integer NOT NULL,
    started_at  real NOT NULL,
    duration_ms real NOT NULL,
    outcome     text NOT NULL,
    status_code integer,
    response    text NOT NULL DEFAULT '',
    error       text NOT NULL DEFAULT '',
    retry_after_s real
);
CREATE INDEX attempts_callback ON attempts (callback_id, number);

CREATE TABLE endpoints (
    endpoint             text PRIMARY KEY,
    state                text NOT NULL,
    consecutive_failures integer NOT NULL DEFAULT 0,
    failing_since        real,
    paused_until         real,
    updated_at           real NOT NULL
);

CREATE TABLE journeys (
    journey_id              text PRIMARY KEY,
    account_id              text NOT NULL,
    appkey                  text,
    oa_id                   text NOT NULL,
    token                   text NOT NULL UNIQUE,
    token_type              text NOT NULL,
    phone                   text NOT NULL,
    state                   text NOT NULL,
    created_at              real NOT NULL,
    expires_at              real NOT NULL,
    acknowledged_message_id text
);
CREATE INDEX journeys_expiry ON journeys (expires_at) WHERE state = 'issued';

CREATE TABLE orphan_receipts (
    msg_id      text PRIMARY KEY,
    tracking_id text,
    payload     text NOT NULL,
    received_at real NOT NULL,
    matched_at  real
);
CREATE INDEX orphan_receipts_tracking ON orphan_receipts (tracking_id) WHERE tracking_id IS NOT NULL;

-- Sends per OA per Vietnam day, counted when the Zalo channel worker claims a message (the daily quota).
CREATE TABLE oa_quota (
    oa_id text NOT NULL,
    day   text NOT NULL,
    used  integer NOT NULL DEFAULT 0,
    PRIMARY KEY (oa_id, day)
);
