"""Sync from the simulator over HTTP on both backends: what is stored, what may send, what Zalo no longer lists,
and nothing written when Zalo fails half way; manual registration beside it."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from dlrhub import settings, store
from dlrhub.adapters.zalo import client as zalo_client
from dlrhub.core import errors, templates
from dlrhub.services import accounts, audit
from dlrhub.services import hub as hub_
from dlrhub.services import templates as service
from dlrhub.simulator import config as simulator_config


@pytest.fixture
def hub(db: store.Store) -> hub_.Hub:
    return hub_.Hub(settings=settings.Settings(), store=db)


async def synced(hub, url, oa_id, **kw):
    async with zalo_client.ZaloClient(api_base=url, oauth_base=url, timeout=5) as zalo:
        return await service.sync(hub, zalo, oa_id, actor="test", **kw)


async def test_sync_stores_every_template_with_its_parameters(hub, start_simulator) -> None:
    running = await start_simulator()
    made = await accounts.create(hub, "shop")
    result = await synced(hub, running.url, made.oa.oa_id)
    assert result.template_ids == ("100001", "100002", "100003")
    stored = {t.template_id: t for t in await hub.store.list_templates(made.oa.oa_id)}
    assert set(stored) == {"100001", "100002", "100003"}
    payment = stored["100003"]
    assert payment.source is templates.Source.ZALO
    assert payment.price == Decimal(200)
    assert payment.synced_at is not None
    assert [(p.name, p.type, p.max_length) for p in payment.params or ()] == [
        ("customer_name", "STRING", 30),
        ("amount", "NUMBER", 20),
        ("due_date", "DATE", 20),
    ]
    assert payment.info["templateTag"] == "TRANSACTION"
    oa = await hub.store.get_oa(made.oa.oa_id)
    assert oa is not None and oa.template_ids == ("100001", "100002", "100003")
    [entry] = await audit.entries(hub, store.AuditFilter(action="templates.sync"))
    assert (entry.action, entry.target, entry.actor) == ("templates.sync", made.oa.oa_id, "test")


async def test_disabled_and_delisted_templates_are_kept_but_may_not_send(hub, start_simulator) -> None:
    base = simulator_config.DEFAULT_TEMPLATES
    disabled = dataclasses.replace(base[1], status="DISABLE")
    first = await start_simulator(oas=(simulator_config.SimOA(templates=(base[0], disabled, base[2])),))
    made = await accounts.create(hub, "shop")
    oa_id = made.oa.oa_id
    result = await synced(hub, first.url, oa_id)
    assert result.template_ids == ("100001", "100003")
    assert {t.template_id: t.status for t in result.templates}["100002"] == "DISABLE"
    # Zalo stops listing 100003 and disables 100001: both stay, with their parameters, and may no longer send.
    now_disabled = dataclasses.replace(base[0], status="DISABLE")
    second = await start_simulator(oas=(simulator_config.SimOA(templates=(now_disabled, base[1])),))
    result = await synced(hub, second.url, oa_id)
    assert result.template_ids == ("100002",)
    assert result.delisted == ("100003",)
    stored = {t.template_id: t for t in await hub.store.list_templates(oa_id)}
    assert (stored["100001"].status, stored["100003"].status) == ("DISABLE", "DISABLE")
    assert stored["100001"].params is not None and stored["100003"].params is not None


async def test_zalo_failing_half_way_writes_nothing(hub, start_simulator) -> None:
    good = await start_simulator()
    made = await accounts.create(hub, "shop")
    oa_id = made.oa.oa_id
    await service.add(hub, oa_id, "555", name="by hand", params=None, actor="test")
    before_rows = await hub.store.list_templates(oa_id)
    before_oa = await hub.store.get_oa(oa_id)
    failing = await start_simulator(template_errors={"100002": -124})
    with pytest.raises(service.ZaloRefused, match="-124"):
        await synced(hub, failing.url, oa_id)
    assert await hub.store.list_templates(oa_id) == before_rows
    assert await hub.store.get_oa(oa_id) == before_oa
    # Zalo not answering at all is refused the same way.
    async with zalo_client.ZaloClient(api_base="http://127.0.0.1:9", timeout=1) as dead:
        with pytest.raises(service.ZaloRefused, match="no answer"):
            await service.sync(hub, dead, oa_id, actor="test")
    assert await hub.store.list_templates(oa_id) == before_rows
    # A later good sync keeps the manual template beside the synced ones.
    result = await synced(hub, good.url, oa_id)
    assert result.template_ids == ("100001", "100002", "100003", "555")


async def test_manual_registration(hub) -> None:
    made = await accounts.create(hub, "shop")
    oa_id = made.oa.oa_id
    params = [{"name": "otp", "type": "NUMBER", "maxLength": 6}]
    added = await service.add(hub, oa_id, "777", name="OTP", params=params, price=Decimal(300), actor="ops")
    assert added.params == (templates.Param("otp", "NUMBER", True, 6),)
    oa = await hub.store.get_oa(oa_id)
    # The ids the OA held before keep working, as manual templates without parameters.
    assert oa is not None and oa.template_ids == ("100001", "100002", "100003", "777")
    shown = await service.show(hub, oa_id, "777")
    assert shown.to_json()["params"] == [
        {
            "name": "otp",
            "type": "NUMBER",
            "require": True,
            "maxLength": 6,
            "minLength": None,
            "acceptNull": False,
        }
    ]
    listed = await service.list_(hub, oa_id)
    assert [(t.template_id, t.source.value) for t in listed] == [
        ("100001", "manual"),
        ("100002", "manual"),
        ("100003", "manual"),
        ("777", "manual"),
    ]
    with pytest.raises(errors.NotFound):
        await service.show(hub, oa_id, "778")
    with pytest.raises(errors.NotFound):
        await service.add(hub, "no-such-oa", "1", name="", params=None, actor="ops")
    with pytest.raises(errors.InvalidInput):
        await service.add(hub, oa_id, "bad id", name="", params=None, actor="ops")
    with pytest.raises(errors.InvalidInput):
        await service.add(hub, oa_id, "9", name="", params=[{"name": "a"}, {"name": "a"}], actor="ops")
    assert oa.template_ids == (await hub.store.get_oa(oa_id)).template_ids


async def test_a_synced_template_cannot_be_replaced_by_hand(hub, start_simulator) -> None:
    running = await start_simulator()
    made = await accounts.create(hub, "shop")
    await synced(hub, running.url, made.oa.oa_id)
    with pytest.raises(errors.Conflict):
        await service.add(hub, made.oa.oa_id, "100001", name="mine", params=None, actor="ops")
