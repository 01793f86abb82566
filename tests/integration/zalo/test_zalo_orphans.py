"""`GET /v1/admin/orphans`: orphan receipts are visible in the API (DECISIONS › Zalo upstream), on both backends."""

from __future__ import annotations

import datetime as dt

import httpx

from dlrhub import settings, store
from dlrhub.api import app as app_
from dlrhub.services import hub as hub_

NOW = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
ADMIN = {"Authorization": "Bearer test-admin-token-0123456789"}
OA = "2222222222222222222"


def receipt(msg_id: str, tracking_id: str | None) -> dict[str, object]:
    return {
        "sender": {"id": OA},
        "recipient": {"id": "84900000300"},
        "event_name": "user_received_message",
        "message": {"delivery_time": "1767323045000", "msg_id": msg_id, "tracking_id": tracking_id},
        "app_id": "1111111111111111111",
        "timestamp": "1767323045000",
    }


async def test_orphans_are_listed_newest_first_with_their_state(db: store.Store):
    hub = hub_.Hub(
        settings=settings.Settings(admin_token="test-admin-token-0123456789"), store=db, clock=lambda: NOW
    )
    await db.put_orphan_receipt(OA, "old", None, receipt("old", None), NOW - dt.timedelta(days=2))
    await db.put_orphan_receipt(
        OA, "taken", "zalomid.t", receipt("taken", "zalomid.t"), NOW - dt.timedelta(hours=2)
    )
    await db.put_orphan_receipt(
        OA, "new", "zalomid.n", receipt("new", "zalomid.n"), NOW - dt.timedelta(minutes=1)
    )
    assert await db.take_orphan_receipt(OA, "taken", None, NOW - dt.timedelta(days=1), NOW) is not None
    transport = httpx.ASGITransport(app=app_.create_app(hub))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        assert (await http.get("/v1/admin/orphans")).status_code == 401
        unmatched = (await http.get("/v1/admin/orphans", headers=ADMIN)).json()
        everything = (await http.get("/v1/admin/orphans?state=all&limit=2", headers=ADMIN)).json()
        matched = (await http.get("/v1/admin/orphans?state=matched", headers=ADMIN)).json()
        too_many = await http.get("/v1/admin/orphans?limit=501", headers=ADMIN)
    assert [(o["msg_id"], o["state"]) for o in unmatched["orphans"]] == [
        ("new", "waiting"),
        ("old", "expired"),
    ]
    assert unmatched["unmatched"] == 2
    first = unmatched["orphans"][0]
    assert (first["tracking_id"], first["oa_id"], first["matched_at"]) == (
        "zalomid.n",
        "2222222222222222222",
        None,
    )
    assert first["payload"] == receipt("new", "zalomid.n")
    assert dt.datetime.fromisoformat(first["received_at"]) == NOW - dt.timedelta(minutes=1)
    assert [o["msg_id"] for o in everything["orphans"]] == ["new", "taken"]
    [taken] = matched["orphans"]
    assert (taken["msg_id"], taken["state"]) == ("taken", "matched")
    assert taken["matched_at"] is not None
    assert too_many.status_code == 422
