-- Named API tokens with scopes (issue 12): `admin` (everything), `read` (every read, no change) and `customer`
-- (one account's native pull and replay). Only the SHA-256 of a token is kept: tokens are 32 random bytes, so a
-- fast hash is as safe as a slow one and lets a request find its token by an indexed equality.
CREATE TABLE tokens (
    id           text PRIMARY KEY,
    name         text NOT NULL UNIQUE,
    kind         text NOT NULL CHECK (kind IN ('admin', 'read', 'customer')),
    account_id   text REFERENCES accounts (id),
    token_hash   text NOT NULL UNIQUE,
    prefix       text NOT NULL,
    created_at   real NOT NULL,
    created_by   text NOT NULL,
    last_used_at real,
    revoked_at   real,
    CHECK ((kind = 'customer') = (account_id IS NOT NULL))
);
