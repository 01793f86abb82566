"""eSMS-specific reads on PostgreSQL: many messages' latest status (GetCallback), a message by Zalo msg id."""

from __future__ import annotations

from dlrhub.core import models
from dlrhub.store import nouns, rows
from dlrhub.store.postgres import core

FIND_BY_ZALO_MSG_ID = "SELECT * FROM messages WHERE zalo_msg_id = $1 AND account_id = $2 LIMIT 1"
STATUSES = (
    "SELECT id, type_id, recipient, recipient_kind, state, callback_url, request_id, oa_id, template_id, price,"
    " telco_id, zalo_msg_id, code, text, zalo_res, updated_at FROM messages"
    " WHERE account_id = $1 AND id = ANY($2::text[])"
)
_STATES = {state.value: state for state in models.MessageState}


class PostgresEsms(core.PostgresCore):
    """Reads the eSMS pull APIs need beyond the common ones."""

    async def get_message_statuses(
        self, account_id: str, message_ids: list[str]
    ) -> list[nouns.MessageStatus]:
        unique = list(dict.fromkeys(message_ids))
        if not unique:
            return []
        pool = await self.pool()
        by_id = {row[0]: row for row in await pool.fetch(STATUSES, account_id, unique)}
        found = []
        for mid in unique:
            row = by_id.get(mid)
            if row is not None:
                values = list(row)
                values[4] = _STATES[values[4]]
                found.append(nouns.MessageStatus._make(values))
        return found

    async def find_message_by_zalo_msg_id_for_account(
        self, account_id: str, zalo_msg_id: str
    ) -> models.Message | None:
        pool = await self.pool()
        row = await pool.fetchrow(FIND_BY_ZALO_MSG_ID, zalo_msg_id, account_id)
        return None if row is None else rows.from_row(models.Message, row)
