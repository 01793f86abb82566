-- Accounts are run from the control plane (issue 12): a default callback URL for sends that name none, and a
-- ledger of every balance change. The balance is the sum of the account's ledger rows; an account stored before
-- starts its ledger with one `opening` row of its balance then.
ALTER TABLE accounts ADD COLUMN default_callback_url text;

CREATE TABLE ledger (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id    text NOT NULL REFERENCES accounts (id),
    amount        numeric(20, 4) NOT NULL,
    kind          text NOT NULL,
    reason        text NOT NULL,
    actor         text NOT NULL,
    message_count integer NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL
);

CREATE INDEX ledger_account ON ledger (account_id, id);

INSERT INTO ledger (account_id, amount, kind, reason, actor, message_count, created_at)
SELECT id, balance, 'opening', 'the balance when the ledger began', 'migration', 0, now()
FROM accounts ORDER BY created_at, id;
