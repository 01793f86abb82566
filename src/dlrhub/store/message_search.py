"""The message search's SQL, the same on both backends: each filter, the keyset page, and the index each one uses.

Rows come newest first, by `(created_at, id)` descending; a page starts after the previous page's last
`(created_at, id)` (keyset paging), so a deep page costs what the first one does. The indexes (migration 0017)
and what each costs a write:

- `messages_created_id (created_at, id)` and `messages_account_created_id (account_id, created_at, id)`: no filter, or
  the account (with or without the other filters). They replace the `(created_at)` and `(account_id,
  created_at)` indexes of before, so a write costs what it did.
- `messages_recipient (recipient, created_at, id)`: the phone. A number stored in two forms (`0901…`, `84901…`) is
  one branch per form, merged (UNION ALL), so a busy number costs what a quiet one does. One more entry per message
  inserted; the recipient never changes, so an update does not touch it on SQLite (on PostgreSQL see below).
- `messages_request_id (request_id) WHERE request_id IS NOT NULL`: the customer's RequestId, with the primary key
  for the message id. Only messages sent with a RequestId pay for it.
- `messages_state_dialect (state, dialect, created_at, id)` (migration 0030, in place of one index per column):
  a state, a dialect, or both. A state alone is one walk per dialect, a dialect alone one per state, merged
  (UNION ALL, as the phone's forms), so a state or dialect with few or no messages costs a few index probes,
  never a walk of the table. One index entry per insert where there were two; the state changes two or three
  times in a message's life, and each change moves its entry.

On PostgreSQL a message update is not HOT already (`zalo_msg_id`, `channel_due_at` and `channel_state` are
indexed), so each update writes an entry in every index of `messages`: each index above costs one index entry
per insert and per update there.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from dlrhub.core import models
from dlrhub.store import nouns, rows

#: The columns ordering a page (descending), the keyset of `MessageQuery.before`.
ORDER = "ORDER BY created_at DESC, id DESC"


def limit(q: nouns.MessageQuery) -> int:
    """The page size `q` asks for, clamped to 1..MAX_SEARCH_ROWS."""
    return max(1, min(q.limit, nouns.MAX_SEARCH_ROWS))


def select(q: nouns.MessageQuery, backend: rows.Backend) -> tuple[str, list[Any]]:
    """The SELECT of the messages matching `q` on `backend`, and its parameters."""
    params: list[Any] = []
    lead = _lead(q)

    def bind(value: Any) -> str:
        params.append(value)
        return "?" if backend == "sqlite" else f"${len(params)}"

    def col(name: str, filter_name: str) -> str:
        # SQLite keeps no statistics (nothing runs ANALYZE), so it takes any index an equality names: a unary `+`
        # keeps it on the lead filter's index, the most selective one as a rule. PostgreSQL plans by statistics.
        walked = (lead,) if lead not in ("state", "dialect") else ("state", "dialect")
        return name if backend == "postgres" or filter_name in walked else f"+{name}"

    def at(value: dt.datetime) -> Any:
        return value.timestamp() if backend == "sqlite" else value

    def where(recipient: str | None, state: str | None = None, dialect: str | None = None) -> str:
        found: list[str] = []
        if q.public_id is not None:
            found.append(f"(id = {bind(q.public_id)} OR request_id = {bind(q.public_id)})")
        if recipient is not None:
            found.append(f"recipient = {bind(recipient)}")
        elif q.phones:
            found.append(f"{col('recipient', 'phones')} IN ({', '.join(bind(p) for p in q.phones)})")
        if q.account_id is not None:
            found.append(f"{col('account_id', 'account_id')} = {bind(q.account_id)}")
        if state is not None:
            found.append(f"{col('state', 'state')} = {bind(state)}")
        if dialect is not None:
            found.append(f"{col('dialect', 'dialect')} = {bind(dialect)}")
        if q.since is not None:
            found.append(f"created_at >= {bind(at(q.since))}")
        if q.until is not None and (q.before is None or q.before[0] >= q.until):
            # Past the first page the keyset is the upper bound: with both, SQLite would walk down from `until`.
            found.append(f"created_at < {bind(at(q.until))}")
        if q.before is not None:
            created_at, message_id = q.before
            found.append(f"(created_at, id) < ({bind(at(created_at))}, {bind(message_id)})")
        return " WHERE " + " AND ".join(found) if found else ""

    state = q.state.value if q.state is not None else None
    dialect = q.dialect.value if q.dialect is not None else None
    page = f"{ORDER} LIMIT {limit(q)}"
    if lead in ("state", "dialect") and (state is None or dialect is None):
        # `messages_state_dialect` orders by time within one (state, dialect) pair: each pair's newest rows in
        # index order, merged, rather than every message of the state (or dialect) sorted.
        pairs = [
            (s, d)
            for s in ([state] if state is not None else [m.value for m in models.MessageState])
            for d in ([dialect] if dialect is not None else [m.value for m in models.Dialect])
        ]
        branches = [
            f"SELECT * FROM (SELECT * FROM messages{where(None, s, d)} {page}) AS f{n}"
            for n, (s, d) in enumerate(pairs)
        ]
        return f"{' UNION ALL '.join(branches)} {page}", params
    if lead == "phones" and len(q.phones) > 1:
        # One number stored in several forms: each form's newest rows in index order, merged, rather than every
        # message of the recipients sorted (a busy test number may have many).
        branches = [
            f"SELECT * FROM (SELECT * FROM messages{where(p, state, dialect)} {page}) AS f{n}"
            for n, p in enumerate(q.phones)
        ]
        return f"{' UNION ALL '.join(branches)} {page}", params
    if lead == "phones":
        return f"SELECT * FROM messages{where(q.phones[0], state, dialect)} {page}", params
    return f"SELECT * FROM messages{where(None, state, dialect)} {page}", params


def _lead(q: nouns.MessageQuery) -> str | None:
    """The filter whose index a search walks: the one naming the fewest messages as a rule."""
    for name, given in (
        ("public_id", q.public_id is not None),
        ("phones", bool(q.phones)),
        ("account_id", q.account_id is not None),
        ("state", q.state is not None),
        ("dialect", q.dialect is not None),
    ):
        if given:
            return name
    return None
