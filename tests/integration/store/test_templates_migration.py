"""Migration 0009 makes the template ids OAs held before it manual templates without parameters, on both backends."""

from __future__ import annotations

import datetime as dt

from dlrhub import store
from dlrhub.core import models, templates
from tests.integration.store.test_endpoint_rekey import execute
from tests.unit.esms import factories

NOW = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
MIGRATION = "0009_templates"


async def test_held_template_ids_become_manual_templates(db: store.Store) -> None:
    await db.create_account(factories.account(id="acc_1"), [])
    oa = models.OA(
        oa_id="4097311281936189049",
        account_id="acc_1",
        app_id="1234567890123456789",
        app_secret="s",
        oa_secret="o",
        access_token="a",
        refresh_token="r",
        token_expires_at=NOW,
        template_ids=("100001", "228386"),
        daily_quota=1,
        active=True,
        mode3_allowed=False,
    )
    await db.put_oa(oa)
    # As stored before 0009: no templates table.
    await execute(db, "DROP TABLE templates")
    await execute(db, "DELETE FROM schema_migrations WHERE name = $1", MIGRATION)

    assert await db.migrate() == [MIGRATION]

    found = await db.list_templates(oa.oa_id)
    assert [(t.template_id, t.status, t.source, t.params) for t in found] == [
        ("100001", templates.ENABLE, templates.Source.MANUAL, None),
        ("228386", templates.ENABLE, templates.Source.MANUAL, None),
    ]
    # Saving keeps them, and the OA's sendable ids follow the stored templates.
    disabled = templates.Template(oa.oa_id, "228386", "", templates.DISABLE, templates.Source.ZALO, ())
    assert await db.save_templates(oa.oa_id, [disabled]) == ("100001",)
    stored = await db.get_oa(oa.oa_id)
    assert stored is not None and stored.template_ids == ("100001",)
