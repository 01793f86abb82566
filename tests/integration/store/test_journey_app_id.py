"""Migration 0004 gives journeys stored before it their OA's Zalo app id, on both backends."""

from __future__ import annotations

import datetime as dt

from dlrhub import store
from dlrhub.core import models
from tests.integration.store.test_endpoint_rekey import execute
from tests.unit.esms import factories

NOW = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
MIGRATION = "0004_journey_app_id"


async def test_old_journeys_take_their_oas_zalo_app_id(db: store.Store) -> None:
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
        template_ids=(),
        daily_quota=1,
        active=True,
        mode3_allowed=False,
    )
    await db.put_oa(oa)
    journey = models.Journey(
        journey_id="j1",
        account_id="acc_1",
        appkey="appkey1",
        oa_id=oa.oa_id,
        token="tok",
        token_type="token_logistics_7",
        phone="84901888484",
        state=models.JourneyState.ISSUED,
        created_at=NOW,
        expires_at=NOW + dt.timedelta(days=7),
    )
    await db.put_journey(journey)
    # As stored before 0004: no app_id column.
    await execute(db, "ALTER TABLE journeys DROP COLUMN app_id")
    await execute(db, "DELETE FROM schema_migrations WHERE name = $1", MIGRATION)

    assert await db.migrate() == [MIGRATION]

    stored = await db.get_journey("j1")
    assert stored is not None
    assert (stored.app_id, stored.appkey) == ("1234567890123456789", "appkey1")
