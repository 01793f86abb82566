"""The callback outbox on SQLite: claiming due callbacks under a lease and recording attempts."""

from __future__ import annotations

import datetime as dt
import functools
import operator
import sqlite3
from collections.abc import Collection, Mapping
from typing import Any

import orjson

from dlrhub.core import errors, models
from dlrhub.store import claims, outage, queues, rows
from dlrhub.store.sqlite import core, messages

#: What a claim returns: a Callback's columns, in `rows.callbacks_from_values`'s order (not the lease's). The claims
#: lease by rowid (the primary key's index on the text id is not read).
CLAIMED = ", ".join(rows.CALLBACK_COLUMNS)
#: Where `CLAIMED` holds a callback's destination and its due time.
ENDPOINT, DUE_AT = rows.CALLBACK_COLUMNS.index("endpoint"), rows.CALLBACK_COLUMNS.index("due_at")

# One statement each, whatever the batch size: fewer, larger statements cost less than one per row (they were
# chosen when a writer thread shared the GIL with the loop; they still save the per-statement overhead).
#: Up to `:n` accounts with pending callbacks after `:after`, in order: a loose scan of `callbacks_account_due`,
#: one seek per account however many callbacks each has.
ACCOUNTS_PENDING = """
WITH RECURSIVE a(account_id, k) AS (
  SELECT (SELECT account_id FROM callbacks WHERE state = 'pending' AND account_id > :after
          ORDER BY account_id LIMIT 1), 1
  UNION ALL
  SELECT (SELECT c.account_id FROM callbacks c WHERE c.state = 'pending' AND c.account_id > a.account_id
          ORDER BY c.account_id LIMIT 1), a.k + 1
  FROM a WHERE a.account_id IS NOT NULL AND a.k < :n
)
SELECT account_id FROM a WHERE account_id IS NOT NULL
"""


def _next_claimable(walker: str) -> str:
    """The subquery of the fair claim: the rowid of the next claimable callback of `walker`'s account and
    destination after its last one (due, unleased, no earlier callback of its message pending)."""
    return f"""
      SELECT y.rowid FROM callbacks y
      WHERE y.account_id = {walker}.account_id AND y.endpoint = {walker}.endpoint AND y.state = 'pending'
        AND (y.due_at, y.rowid) > ({walker}.due_at, {walker}.rid) AND y.due_at <= :now
        AND (y.lease_until IS NULL OR y.lease_until < :now)
        AND NOT EXISTS (
          SELECT 1 FROM callbacks o WHERE o.order_key = y.order_key AND o.seq < y.seq AND o.state = 'pending'
        )
      ORDER BY y.account_id, y.endpoint, y.due_at, y.rowid LIMIT 1
"""


#: The fair claim. For each account of `:accounts` (a JSON array, in turn order), its destinations in
#: `callbacks_account_due` (one seek each: a destination of `:exclude` is skipped, never walked), counting up to
#: `:share` claimable callbacks of each, until those counted reach `:limit` or `:steps` were looked at. The walk
#: keeps the callbacks it counts (one seek each, from the last: leased callbacks ahead of them are stepped over
#: once), and `more` goes on from where it stopped: of each destination walked the claim takes its first `take`
#: claimable callbacks in due order, `:share` when the walk found enough, else more of those that had `:share`
#: (up to `:quota`), so a few destinations with backlogs fill the claim. It returns those candidates (`rowid,
#: endpoint, pos, due_at, id`); `claims.rounds` orders them round-robin (every account's first, then every
#: account's second, ... at most `:quota` per destination and `:limit` in all) and `LEASE` leases what it keeps:
#: the same order in Python costs less than the statement's window functions and sorts did (about 6 µs a row of a
#: claim of 256). Whatever one account has queued, the others' due callbacks are in the claim; within an account a
#: claim spreads over its destinations, as due order would.
CLAIM_DUE = """
WITH RECURSIVE
  excluded(endpoint) AS (SELECT value FROM json_each(:exclude)),
  accounts(account_id, pos) AS (SELECT value, key FROM json_each(:accounts)),
  walk(account_id, pos, endpoint, n, due_at, rid, id, k, s) AS (
    SELECT a.account_id, a.pos,
      (SELECT c.endpoint FROM callbacks c WHERE c.state = 'pending' AND c.account_id = a.account_id
       ORDER BY c.account_id, c.endpoint LIMIT 1), 0, -1e308, -9223372036854775808, NULL, 0, 0
    FROM accounts a
    UNION ALL
    SELECT w.account_id, w.pos,
      CASE WHEN x.rowid IS NULL THEN (
        SELECT c.endpoint FROM callbacks c WHERE c.state = 'pending' AND c.account_id = w.account_id
          AND c.endpoint > w.endpoint ORDER BY c.account_id, c.endpoint LIMIT 1
      ) ELSE w.endpoint END,
      CASE WHEN x.rowid IS NULL THEN 0 ELSE w.n + 1 END,
      coalesce(x.due_at, -1e308), coalesce(x.rowid, -9223372036854775808), x.id,
      w.k + (x.rowid IS NOT NULL), w.s + (x.rowid IS NULL)
    FROM walk w LEFT JOIN callbacks x ON x.rowid = (CASE WHEN w.n < :share AND w.endpoint NOT IN excluded THEN (
{next_w}    ) END)
    WHERE w.endpoint IS NOT NULL AND w.s < :steps AND w.k < :limit
  ),
  counted(pos, c) AS (SELECT pos, max(n) FROM walk WHERE endpoint IS NOT NULL GROUP BY pos, endpoint),
  width(pos, take) AS (
    SELECT pos, CASE WHEN sum(c) >= :limit THEN :share
      ELSE min(:quota, :share + (:limit - sum(c) + max(1, sum(c >= :share)) - 1) / max(1, sum(c >= :share))) END
    FROM counted GROUP BY pos
  ),
  more(account_id, endpoint, pos, take, i, id, due_at, rid) AS (
    SELECT w.account_id, w.endpoint, w.pos, t.take, w.n, w.id, w.due_at, w.rid
    FROM walk w JOIN width t ON t.pos = w.pos
    WHERE w.n = :share AND t.take > :share
    UNION ALL
    SELECT p.account_id, p.endpoint, p.pos, p.take, p.i + 1, x.id, x.due_at, x.rowid
    FROM more p JOIN callbacks x ON x.rowid = (
{next_p}    )
    WHERE p.i < p.take
  ),
  picked(id, rid, endpoint, pos, due_at) AS (
    SELECT w.id, w.rid, w.endpoint, w.pos, w.due_at FROM walk w JOIN width t ON t.pos = w.pos
    WHERE w.n > 0 AND w.n <= t.take
    UNION ALL
    SELECT id, rid, endpoint, pos, due_at FROM more WHERE i > :share
  )
SELECT rid, endpoint, pos, due_at, id FROM picked
""".format(next_w=_next_claimable("w"), next_p=_next_claimable("p"))
#: The lease of a fair claim's callbacks, `:rids` a JSON array of their rowids: each only if still claimable (pending,
#: due, its lease none or expired), checked here in the claim's transaction, so a rowid never leases a row twice.
LEASE = (
    """
UPDATE callbacks SET lease_until = :until, lease_owner = :owner
WHERE rowid IN (SELECT value FROM json_each(:rids)) AND state = 'pending' AND due_at <= :now
  AND (lease_until IS NULL OR lease_until < :now)
RETURNING """
    + CLAIMED
)
#: The first `:limit` claimable callbacks of one destination, in due order (the `callbacks_endpoint_due` index).
CLAIM_ENDPOINT = (
    """
UPDATE callbacks SET lease_until = :until, lease_owner = :owner
WHERE rowid IN (
  SELECT c.rowid FROM callbacks c
  WHERE c.endpoint = :endpoint AND c.state = 'pending' AND c.due_at <= :now
    AND (c.lease_until IS NULL OR c.lease_until < :now)
    AND NOT EXISTS (
      SELECT 1 FROM callbacks p WHERE p.order_key = c.order_key AND p.seq < c.seq AND p.state = 'pending'
    )
  ORDER BY c.due_at
  LIMIT :limit
)
RETURNING """
    + CLAIMED
)
#: Counts kept by the triggers of migration 0014 (one row per dialect and state).
COUNT_CALLBACKS = "SELECT dialect, state, sum(n) AS n FROM callback_counts GROUP BY dialect, state"
#: MIN over the partial index `callbacks_due`: SQLite reads its first entry.
OLDEST_PENDING_DUE = "SELECT min(due_at) FROM callbacks WHERE state = 'pending'"
#: One bound row per attempt (`executemany`): cheaper than reading each column out of a JSON batch (about 4 against
#: 7 µs a row), unlike the UPDATE below, whose one statement over the batch costs half what a statement per row does.
INSERT_ATTEMPT = """
INSERT INTO attempts (callback_id, number, started_at, duration_ms, outcome, status_code, response, error,
                      retry_after_s)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
#: `:batch` is a JSON array of [callback_id, number, outcome, status_code, state, due_at] rows.
FINISH_ATTEMPTS = """
UPDATE callbacks SET state = u.value ->> 4, due_at = COALESCE(u.value ->> 5, callbacks.due_at),
    attempts = u.value ->> 1, last_outcome = u.value ->> 2, last_status = u.value ->> 3, lease_until = NULL,
    lease_owner = NULL, updated_at = :now
FROM json_each(:batch) AS u
WHERE callbacks.id = u.value ->> 0
"""

#: The `callbacks_due` index's first entry.
OLDEST_DUE = "SELECT * FROM callbacks WHERE state = 'pending' AND due_at <= ? ORDER BY due_at LIMIT 1"


def tuples(conn: sqlite3.Connection) -> sqlite3.Cursor:
    """A cursor of `conn` whose rows are plain tuples (no `sqlite3.Row` made for each)."""
    cursor = conn.cursor()
    cursor.row_factory = None
    return cursor


def claimed(found: list[tuple[Any, ...]]) -> list[models.Callback]:
    """Claimed rows (`CLAIMED`) as callbacks, in due order."""
    found.sort(key=operator.itemgetter(DUE_AT))
    return rows.callbacks_from_values(found)


class SqliteCallbacks(core.SqliteCore):
    """Claiming, recording and listing callbacks."""

    @functools.cached_property
    def _turns(self) -> claims.Turns:
        """Where the next claim starts in the accounts' order (this process's claims take turns)."""
        return claims.Turns()

    async def claim_due_callbacks(
        self,
        owner: str,
        now: dt.datetime,
        limit: int,
        lease_s: float,
        *,
        quota: int | None = None,
        exclude: Collection[str] = (),
    ) -> list[models.Callback]:
        params = {"now": now.timestamp(), "until": now.timestamp() + lease_s, "owner": owner}
        first_pass = claims.Pass(limit, limit if quota is None else quota, frozenset(exclude))
        turns, n = self._turns, claims.accounts(limit)

        def run(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
            def scan(after: str, n: int) -> list[str]:
                return [r[0] for r in conn.execute(ACCOUNTS_PENDING, {"after": after, "n": n})]

            first = scan(turns.after, n)
            wrapped = scan("", n - len(first)) if turns.wraps(first, n) else []
            accounts = turns.take(n, first, wrapped)
            found: list[tuple[Any, ...]] = []
            step: claims.Pass | None = first_pass if accounts else None
            for _ in range(claims.PASSES):
                if step is None:
                    break
                cursor = tuples(conn)
                candidates = cursor.execute(
                    CLAIM_DUE,
                    {
                        "now": params["now"],
                        "accounts": orjson.dumps(accounts).decode(),
                        "limit": step.limit,
                        "quota": step.quota,
                        "exclude": orjson.dumps(sorted(step.exclude)).decode(),
                        "steps": step.steps,
                        "share": step.share,
                    },
                ).fetchall()
                rids = claims.rounds(candidates, step.quota, step.limit)
                got = cursor.execute(LEASE, {**params, "rids": orjson.dumps(rids).decode()}).fetchall()
                found += got
                step = step.then(r[ENDPOINT] for r in got)
            return found

        return claimed(await self._tx(run))

    async def claim_endpoint_callbacks(
        self, owner: str, now: dt.datetime, limits: Mapping[str, int], lease_s: float
    ) -> list[models.Callback]:
        until = now.timestamp() + lease_s

        def run(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
            found: list[tuple[Any, ...]] = []
            for endpoint, limit in limits.items():
                params = {"now": now.timestamp(), "limit": limit, "until": until, "owner": owner}
                found += tuples(conn).execute(CLAIM_ENDPOINT, {**params, "endpoint": endpoint}).fetchall()
            return found

        return claimed(await self._tx(run))

    async def record_attempts(self, results: list[queues.AttemptResult], now: dt.datetime) -> None:
        if not results:
            return
        attempts = [
            (
                a.callback_id,
                a.number,
                a.started_at.timestamp(),
                a.duration_ms,
                a.outcome.value,
                a.status_code,
                a.response,
                a.error,
                a.retry_after_s,
            )
            for a in (r.attempt for r in results)
        ]
        finished = [
            (
                a.callback_id,
                a.number,
                a.outcome.value,
                a.status_code,
                r.state.value,
                None if r.due_at is None else r.due_at.timestamp(),
            )
            for r in results
            for a in (r.attempt,)
        ]

        def run(conn: sqlite3.Connection) -> None:
            conn.executemany(INSERT_ATTEMPT, attempts)
            conn.execute(FINISH_ATTEMPTS, params)

        with (
            outage.refused()
        ):  # the batch's JSON refuses what the driver would too (a lone surrogate, an int)
            params = {"batch": orjson.dumps(finished).decode(), "now": now.timestamp()}
            await self._tx(run)

    async def list_callbacks(self, message_id: str) -> list[models.Callback]:
        found = await self._read(
            lambda c: c.execute(
                "SELECT * FROM callbacks WHERE message_id = ? ORDER BY seq, created_at", (message_id,)
            ).fetchall()
        )
        return [rows.from_row(models.Callback, r) for r in found]

    async def get_callback(self, callback_id: str) -> models.Callback:
        row = await self._read(
            lambda c: c.execute("SELECT * FROM callbacks WHERE id = ?", (callback_id,)).fetchone()
        )
        if row is None:
            raise errors.UnknownCallback(f"no callback {callback_id!r}")
        return rows.from_row(models.Callback, row)

    async def list_attempts(self, callback_id: str) -> list[models.Attempt]:
        found = await self._read(
            lambda c: c.execute(
                "SELECT * FROM attempts WHERE callback_id = ? ORDER BY number, id", (callback_id,)
            ).fetchall()
        )
        return [rows.from_row(models.Attempt, r) for r in found]

    async def count_callbacks(self) -> dict[models.CallbackState, int]:
        return rows.counts_by_state(await self.callback_counts())

    async def callback_counts(self) -> dict[tuple[models.Dialect, models.CallbackState], int]:
        found = await self._read(lambda c: c.execute(COUNT_CALLBACKS).fetchall())
        return rows.callback_counts((r["dialect"], r["state"], r["n"]) for r in found)

    async def oldest_pending_due_at(self) -> dt.datetime | None:
        found = await self._read(lambda c: c.execute(OLDEST_PENDING_DUE).fetchone())
        return None if found is None or found[0] is None else rows.timestamp(found[0])

    async def enqueue_callbacks(self, callbacks: list[models.Callback]) -> int:
        if not callbacks:
            return 0

        def run(conn: sqlite3.Connection) -> int:
            return sum(
                conn.execute(messages.INSERT_CALLBACK, rows.to_row(c, core.BACKEND)).rowcount
                for c in callbacks
            )

        added = await self._tx(run)
        if added:
            self._notify_callbacks()
        return added

    async def oldest_due_callback(self, now: dt.datetime) -> models.Callback | None:
        row = await self._read(lambda c: c.execute(OLDEST_DUE, (now.timestamp(),)).fetchone())
        return None if row is None else rows.from_row(models.Callback, row)
