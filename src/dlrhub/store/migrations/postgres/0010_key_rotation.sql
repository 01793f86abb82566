-- Customer key pairs replaced by a rotation (issue 12): the old pair keeps working until `valid_until`, then is
-- refused like an unknown key. The front doors read this table only when a key is not an account's current one.
CREATE TABLE retired_keys (
    kind        text NOT NULL,
    key         text NOT NULL,
    secret      text NOT NULL,
    account_id  text NOT NULL REFERENCES accounts (id),
    valid_until timestamptz NOT NULL,
    PRIMARY KEY (kind, key)
);

CREATE INDEX retired_keys_account ON retired_keys (account_id);
