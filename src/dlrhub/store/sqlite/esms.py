"""eSMS-specific reads on SQLite: many messages' latest status (GetCallback), a message by Zalo msg id."""

from __future__ import annotations

import datetime as dt
import sqlite3
from decimal import Decimal
from typing import Any

import orjson

from dlrhub.core import models
from dlrhub.store import nouns, rows
from dlrhub.store.sqlite import core

#: `+account_id` keeps SQLite (no statistics) on the Zalo msg id's index: it took the account's, and walked every
#: message of the account for each Zalo receipt.
FIND_BY_ZALO_MSG_ID = "SELECT * FROM messages WHERE zalo_msg_id = ? AND +account_id = ? LIMIT 1"
#: `+account_id` keeps SQLite on the primary key (with many ids it would pick the account index and scan).
STATUSES = (
    "SELECT id, type_id, recipient, recipient_kind, state, callback_url, request_id, oa_id, template_id, price,"
    " telco_id, zalo_msg_id, code, text, zalo_res, updated_at FROM messages WHERE +account_id = ? AND id IN ({})"
)
_STATES = {state.value: state for state in models.MessageState}


def _status(row: tuple[Any, ...]) -> nouns.MessageStatus:
    values = list(row)
    values[4] = _STATES[values[4]]
    values[9] = Decimal(values[9])
    if values[14] is not None:
        values[14] = orjson.loads(values[14])
    values[15] = dt.datetime.fromtimestamp(values[15], dt.UTC)
    return nouns.MessageStatus._make(values)


class SqliteEsms(core.SqliteCore):
    """Reads the eSMS pull APIs need beyond the common ones."""

    async def get_message_statuses(
        self, account_id: str, message_ids: list[str]
    ) -> list[nouns.MessageStatus]:
        unique = list(dict.fromkeys(message_ids))
        if not unique:
            return []
        sql = STATUSES.format(", ".join("?" for _ in unique))

        def run(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
            cursor = conn.cursor()
            cursor.row_factory = None
            return cursor.execute(sql, (account_id, *unique)).fetchall()

        by_id = {row[0]: row for row in await self._read(run)}
        return [_status(by_id[i]) for i in unique if i in by_id]

    async def find_message_by_zalo_msg_id_for_account(
        self, account_id: str, zalo_msg_id: str
    ) -> models.Message | None:
        row = await self._read(lambda c: c.execute(FIND_BY_ZALO_MSG_ID, (zalo_msg_id, account_id)).fetchone())
        return None if row is None else rows.from_row(models.Message, row)
