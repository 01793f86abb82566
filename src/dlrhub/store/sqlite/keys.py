"""NXCloud apps created and changed, customer key pairs rotated (with the retired ones), signing secrets, on SQLite."""

from __future__ import annotations

import datetime as dt
import sqlite3

import orjson

from dlrhub.core import control, errors, models
from dlrhub.store import rows
from dlrhub.store.sqlite import core

INSERT_APP = (
    "INSERT INTO apps (appkey, account_id, name, active, dr_url, quotation, currency, routed, oa_id)"
    " VALUES (:appkey, :account_id, :name, :active, :dr_url, :quotation, :currency, :routed, :oa_id)"
)
REPLACE_APP = (
    "UPDATE apps SET account_id = :account_id, name = :name, active = :active, dr_url = :dr_url,"
    " quotation = :quotation, currency = :currency, routed = :routed, oa_id = :oa_id WHERE appkey = :appkey"
)
ALL_APPS = "SELECT * FROM apps ORDER BY account_id, appkey LIMIT ?"
#: The columns of each kind's current pair in `accounts` (names from this table only, never from input).
PAIR_COLUMNS = {
    control.KeyKind.ESMS: ("esms_api_key", "esms_secret_key"),
    control.KeyKind.NXCLOUD: ("nx_access_key", "nx_access_secret"),
}
ROTATE_PAIR = {
    kind: f"UPDATE accounts SET {key} = ?, {secret} = ? WHERE id = ? AND {key} = ?"
    for kind, (key, secret) in PAIR_COLUMNS.items()
}
INSERT_RETIRED = (
    "INSERT INTO retired_keys (kind, key, secret, account_id, valid_until) VALUES (?, ?, ?, ?, ?)"
)
#: A rotation ends the account's earlier retired pairs of its kind no later than the pair it retires now: a pair
#: rotated out twice never outlives the one rotated out after it (an overlap of 0 stops them all).
CAP_RETIRED = "UPDATE retired_keys SET valid_until = ? WHERE account_id = ? AND kind = ? AND valid_until > ?"
DROP_EXPIRED = "DELETE FROM retired_keys WHERE account_id = ? AND valid_until <= ?"
FIND_RETIRED = "SELECT * FROM retired_keys WHERE kind = ? AND key = ?"
LIST_RETIRED = "SELECT * FROM retired_keys WHERE account_id = ? ORDER BY valid_until, kind, key"
READ_SIGNING = "SELECT signing_secrets FROM accounts WHERE id = ?"
WRITE_SIGNING = "UPDATE accounts SET signing_secrets = ? WHERE id = ?"


class SqliteKeys(core.SqliteCore):
    """Apps written, key pairs rotated, signing secrets swapped."""

    async def create_app(self, app: models.App) -> None:
        def run(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(INSERT_APP, rows.to_row(app, core.BACKEND))
            except sqlite3.IntegrityError as exc:
                raise errors.Conflict(f"app {app.appkey!r} already exists") from exc

        await self._tx(run)

    async def replace_app(self, app: models.App) -> None:
        def run(conn: sqlite3.Connection) -> int:
            return conn.execute(REPLACE_APP, rows.to_row(app, core.BACKEND)).rowcount

        if await self._tx(run) == 0:
            raise errors.NotFound(f"no app {app.appkey!r}")

    async def list_all_apps(self, limit: int = 10_000) -> list[models.App]:
        found = await self._read(lambda c: c.execute(ALL_APPS, (limit,)).fetchall())
        return [rows.from_row(models.App, r) for r in found]

    async def rotate_customer_key(
        self,
        kind: control.KeyKind,
        account_id: str,
        expected_key: str,
        new_key: str,
        new_secret: str,
        retired: control.RetiredKey | None,
        now: dt.datetime,
    ) -> bool:
        def run(conn: sqlite3.Connection) -> bool:
            try:
                changed = conn.execute(ROTATE_PAIR[kind], (new_key, new_secret, account_id, expected_key))
            except sqlite3.IntegrityError as exc:
                raise errors.Conflict("the new key is taken") from exc
            if changed.rowcount == 0:
                return False
            cap = (now if retired is None else retired.valid_until).timestamp()
            conn.execute(CAP_RETIRED, (cap, account_id, kind.value, cap))
            conn.execute(DROP_EXPIRED, (account_id, now.timestamp()))
            if retired is not None:
                r = retired
                conn.execute(
                    INSERT_RETIRED, (r.kind.value, r.key, r.secret, r.account_id, r.valid_until.timestamp())
                )
            return True

        return await self._tx(run)

    async def find_retired_key(self, kind: control.KeyKind, key: str) -> control.RetiredKey | None:
        row = await self._read(lambda c: c.execute(FIND_RETIRED, (kind.value, key)).fetchone())
        return None if row is None else rows.from_row(control.RetiredKey, row)

    async def list_retired_keys(self, account_id: str) -> list[control.RetiredKey]:
        found = await self._read(lambda c: c.execute(LIST_RETIRED, (account_id,)).fetchall())
        return [rows.from_row(control.RetiredKey, r) for r in found]

    async def swap_signing_secrets(
        self, account_id: str, expected: tuple[str, ...], new: tuple[str, ...]
    ) -> bool:
        def run(conn: sqlite3.Connection) -> bool:
            row = conn.execute(READ_SIGNING, (account_id,)).fetchone()
            if row is None:
                raise errors.UnknownAccount(f"no account {account_id!r}")
            if tuple(orjson.loads(row[0])) != expected:
                return False
            conn.execute(WRITE_SIGNING, (orjson.dumps(list(new)).decode(), account_id))
            return True

        return await self._tx(run)
