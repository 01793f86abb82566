"""SQLite's fair claim against the statement it replaced (07043f0, window functions and sorts in SQL), on random
stores: a claim of more callbacks than there are destinations claims the same set; and `LEASE` leases only what is
still claimable."""

from __future__ import annotations

import datetime as dt
import random
import shutil
import sqlite3
from typing import Any

import orjson
import pytest

from dlrhub import store
from dlrhub.store import claims
from dlrhub.store.sqlite import callbacks

NOW = 1_800_000_000.0
INSERT = """
INSERT INTO callbacks (id, event_id, account_id, dialect, order_key, seq, method, url, body, endpoint, state, due_at,
                       lease_until, created_at, updated_at)
VALUES (?, 'ev', ?, 'native', ?, ?, 'POST', ?, x'7b7d', ?, ?, ?, ?, ?, ?)
"""
#: The fair claim as it was (07043f0): the reference.
OLD_CLAIM_DUE = """
WITH RECURSIVE
  excluded(endpoint) AS (SELECT value FROM json_each(:exclude)),
  accounts(account_id, pos) AS (SELECT value, key FROM json_each(:accounts)),
  walk(account_id, pos, endpoint, k, s) AS (
    SELECT a.account_id, a.pos,
      (SELECT c.endpoint FROM callbacks c WHERE c.state = 'pending' AND c.account_id = a.account_id
       ORDER BY c.account_id, c.endpoint LIMIT 1), 0, 0
    FROM accounts a
    UNION ALL
    SELECT w.account_id, w.pos,
      (SELECT c.endpoint FROM callbacks c WHERE c.state = 'pending' AND c.account_id = w.account_id
         AND c.endpoint > w.endpoint ORDER BY c.account_id, c.endpoint LIMIT 1),
      w.k + (CASE WHEN w.endpoint IN excluded THEN 0 ELSE (SELECT count(*) FROM (
        SELECT 1 FROM callbacks c WHERE c.state = 'pending' AND c.account_id = w.account_id
          AND c.endpoint = w.endpoint AND c.due_at <= :now AND (c.lease_until IS NULL OR c.lease_until < :now)
          AND NOT EXISTS (
            SELECT 1 FROM callbacks p WHERE p.order_key = c.order_key AND p.seq < c.seq AND p.state = 'pending'
          )
        ORDER BY c.account_id, c.endpoint, c.due_at LIMIT :share)) END), w.s + 1
    FROM walk w
    WHERE w.endpoint IS NOT NULL AND w.s < :steps AND w.k < :limit
  ),
  counted(pos, c) AS (
    SELECT pos, coalesce(next_k - k, :share) FROM (
      SELECT pos, endpoint, k, lead(k) OVER (PARTITION BY pos ORDER BY s) AS next_k FROM walk
    ) WHERE endpoint IS NOT NULL AND endpoint NOT IN excluded
  ),
  width(pos, take) AS (
    SELECT pos, CASE WHEN sum(c) >= :limit THEN :share
      ELSE min(:quota, :share + (:limit - sum(c) + max(1, sum(c >= :share)) - 1) / max(1, sum(c >= :share))) END
    FROM counted GROUP BY pos
  ),
  picked(account_id, endpoint, pos, take, i, id, due_at, rid) AS (
    SELECT w.account_id, w.endpoint, w.pos, t.take, 0, NULL, -1e308, -9223372036854775808
    FROM walk w JOIN width t ON t.pos = w.pos
    WHERE w.endpoint IS NOT NULL AND w.endpoint NOT IN excluded
    UNION ALL
    SELECT p.account_id, p.endpoint, p.pos, p.take, p.i + 1, x.id, x.due_at, x.rowid
    FROM picked p JOIN callbacks x ON x.rowid = (
      SELECT y.rowid FROM callbacks y
      WHERE y.account_id = p.account_id AND y.endpoint = p.endpoint AND y.state = 'pending'
        AND (y.due_at, y.rowid) > (p.due_at, p.rid) AND y.due_at <= :now
        AND (y.lease_until IS NULL OR y.lease_until < :now)
        AND NOT EXISTS (
          SELECT 1 FROM callbacks o WHERE o.order_key = y.order_key AND o.seq < y.seq AND o.state = 'pending'
        )
      ORDER BY y.account_id, y.endpoint, y.due_at, y.rowid LIMIT 1
    )
    WHERE p.i < p.take
  ),
  turns(id, endpoint, pos, turn) AS (
    SELECT id, endpoint, pos, row_number() OVER (PARTITION BY pos ORDER BY due_at, id) FROM picked WHERE i > 0
  ),
  capped(id, pos, turn, n) AS (
    SELECT id, pos, turn, row_number() OVER (PARTITION BY endpoint ORDER BY turn, pos) FROM turns
  )
UPDATE callbacks SET lease_until = :until, lease_owner = :owner
WHERE id IN (SELECT id FROM capped WHERE n <= :quota ORDER BY turn, pos LIMIT :limit)
RETURNING *
"""


def populate(path: str, rnd: random.Random, destinations: int) -> None:
    conn = sqlite3.connect(path)
    n = rnd.randint(1, 600)
    for i, key in enumerate(rnd.sample(range(100_000), n)):
        endpoint = f"http://e{rnd.randint(0, destinations - 1)}"
        lease = rnd.choice([None, None, NOW - 5, NOW + 30])
        due = NOW + rnd.choice([-100, -50, -10, -1, 0, 5])
        row = (f"cb{key:05d}", f"a{rnd.randint(0, 3)}", f"k{rnd.randint(0, n // 2)}", rnd.randint(0, 5))
        state = rnd.choice(["pending"] * 4 + ["delivered"])
        conn.execute(INSERT, (*row, endpoint + "/h", endpoint, state, due, lease, NOW, NOW + i))
    conn.commit()
    conn.close()


def old_claim(path: str, limit: int, quota: int | None, exclude: list[str]) -> list[str]:
    """`claim_due_callbacks` as it was, on the file at `path`: the ids it claims."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.row_factory = sqlite3.Row
    step: claims.Pass | None = claims.Pass(limit, limit if quota is None else quota, frozenset(exclude))
    turns, n = claims.Turns(), claims.accounts(limit)
    conn.execute("BEGIN IMMEDIATE")
    first = [r[0] for r in conn.execute(callbacks.ACCOUNTS_PENDING, {"after": turns.after, "n": n})]
    accounts = turns.take(n, first, [])
    found: list[Any] = []
    for _ in range(claims.PASSES):
        if step is None or not accounts:
            break
        params = {"now": NOW, "until": NOW + 30, "owner": "o", "accounts": orjson.dumps(accounts).decode()}
        exclusions = orjson.dumps(sorted(step.exclude)).decode()
        steps = {"limit": step.limit, "quota": step.quota, "steps": step.steps, "share": step.share}
        got = conn.execute(OLD_CLAIM_DUE, {**params, **steps, "exclude": exclusions}).fetchall()
        found += got
        step = step.then(r["endpoint"] for r in got)
    conn.execute("COMMIT")
    conn.close()
    return sorted(r["id"] for r in found)


async def new_claim(path: str, limit: int, quota: int | None, exclude: list[str]) -> list[str]:
    db = store.from_url(f"sqlite:///{path}")
    now = dt.datetime.fromtimestamp(NOW, dt.UTC)
    got = await db.claim_due_callbacks("o", now, limit, 30, quota=quota, exclude=exclude)
    await db.close()
    return sorted(c.id for c in got)


@pytest.mark.parametrize("seed", range(24))
async def test_a_claim_larger_than_its_destinations_takes_what_the_old_statement_took(
    sqlite_url, tmp_path, seed
):
    rnd = random.Random(seed)
    destinations = rnd.randint(1, 8)
    base = str(tmp_path / "random.sqlite3")
    shutil.copy(sqlite_url.removeprefix("sqlite:///"), base)
    populate(base, rnd, destinations)
    old, new = base + ".old", base + ".new"
    shutil.copy(base, old)
    shutil.copy(base, new)
    # Claims of more than 256 callbacks count more than one of each destination (`claims.share`), some of them
    # against a smaller quota.
    limit = rnd.choice([rnd.randint(destinations + 1, 40), rnd.randint(257, 700)])
    quota = rnd.choice([None, 1, 2, 3, rnd.randint(1, limit)])
    exclude = [f"http://e{i}" for i in range(destinations) if rnd.random() < 0.15]
    assert await new_claim(new, limit, quota, exclude) == old_claim(old, limit, quota, exclude)


async def test_the_lease_by_rowid_leases_only_what_is_still_claimable(sqlite_url):
    path = sqlite_url.removeprefix("sqlite:///")
    conn = sqlite3.connect(path, isolation_level=None)
    rows = [
        ("cb_leased", "a", "k1", 1, "http://e/h", "http://e", "pending", NOW - 1, NOW + 30, NOW, NOW),
        ("cb_done", "a", "k2", 1, "http://e/h", "http://e", "delivered", NOW - 1, None, NOW, NOW),
        ("cb_later", "a", "k3", 1, "http://e/h", "http://e", "pending", NOW + 60, None, NOW, NOW),
        ("cb_free", "a", "k4", 1, "http://e/h", "http://e", "pending", NOW - 1, NOW - 5, NOW, NOW),
    ]
    conn.executemany(INSERT, rows)
    rids = [r[0] for r in conn.execute("SELECT rowid FROM callbacks ORDER BY rowid")]
    params = {"now": NOW, "until": NOW + 30, "owner": "w2", "rids": orjson.dumps(rids).decode()}
    got = conn.execute(callbacks.LEASE, params).fetchall()
    assert [r[0] for r in got] == ["cb_free"]
    owners = dict(conn.execute("SELECT id, lease_owner FROM callbacks").fetchall())
    assert owners == {"cb_leased": None, "cb_done": None, "cb_later": None, "cb_free": "w2"}
    conn.close()
