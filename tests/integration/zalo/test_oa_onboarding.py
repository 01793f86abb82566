"""Registering a real OA against the simulator as if it were Zalo: the token is refreshed at once, a refusal stores
nothing, secrets are updated through Zalo, and the token keeper never loses a fresh pair (on both backends)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest

from dlrhub import settings, store
from dlrhub.adapters.zalo import client
from dlrhub.core import errors
from dlrhub.services import accounts, oas
from dlrhub.services import hub as hub_
from dlrhub.workers import zalo_channel
from tests.integration.zalo.conftest import RunningSimulator

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture
async def onboarding(db: store.Store, start_simulator: Any) -> AsyncIterator[tuple[hub_.Hub, Any, Any]]:
    """A hub, a simulator that knows only the OAs its console makes, and a client to it."""
    hub = hub_.Hub(settings=settings.Settings(), store=db)
    running: RunningSimulator = await start_simulator(oas=())
    async with client.ZaloClient(api_base=running.url, oauth_base=running.url) as zalo:
        yield hub, running.sim, zalo


def _registration(sim: Any, **changes: str) -> oas.Registration:
    made, refresh = sim.console.create_oa()
    reg = oas.Registration(made.oa_id, made.app_id, made.app_secret, made.oa_secret, refresh)
    return dataclasses.replace(reg, **changes)


async def _account(hub: hub_.Hub) -> str:
    return (await accounts.create(hub, "real", with_demo_oa=False)).account.id


async def test_register_refreshes_at_once_stores_the_fresh_pair_and_routes_the_app(onboarding, db) -> None:
    hub, sim, zalo = onboarding
    account_id = await _account(hub)
    assert (await db.list_apps(account_id))[0].oa_id is None
    reg = _registration(sim)
    shown = await oas.register(hub, zalo, account_id, reg, "tester")
    stored = await db.get_oa(reg.oa_id)
    assert stored is not None and stored.active and stored.template_ids == ()
    assert stored.refresh_token not in ("", reg.refresh_token)
    assert stored.refresh_expires_at is not None
    assert dt.timedelta(days=89) < stored.refresh_expires_at - NOW < dt.timedelta(days=91)
    assert shown["quota"] == {"daily": 5000, "remaining": 5000}
    assert reg.app_secret not in str(shown) and stored.access_token not in str(shown)
    assert shown["app_secret"] == reg.app_secret[:4] + "…"
    assert (await db.list_apps(account_id))[0].oa_id == reg.oa_id
    # The token given was spent; the stored one is live.
    assert (await zalo.refresh_token(reg.app_id, reg.app_secret, reg.refresh_token)).error == -14020
    assert (await zalo.quota(stored.access_token)).ok
    entries = await db.list_audit(store.AuditFilter(action="oa.register"))
    assert [(e.actor, e.target) for e in entries] == [("tester", reg.oa_id)]
    assert reg.app_secret not in str(entries[0].details)


@pytest.mark.parametrize(
    ("change", "code"),
    [({"app_secret": "wrong-secret"}, -14002), ({"refresh_token": "never-issued"}, -14014)],
)
async def test_a_refusal_stores_nothing(onboarding, db, change: dict[str, str], code: int) -> None:
    hub, sim, zalo = onboarding
    account_id = await _account(hub)
    reg = _registration(sim, **change)
    with pytest.raises(oas.ZaloRefused) as refused:
        await oas.register(hub, zalo, account_id, reg, "tester")
    assert refused.value.zalo_error == code
    assert await db.get_oa(reg.oa_id) is None
    assert (await db.list_apps(account_id))[0].oa_id is None
    assert await db.list_audit(store.AuditFilter(action="oa.register")) == []


async def test_a_spent_token_and_a_taken_oa_are_refused(onboarding, db) -> None:
    hub, sim, zalo = onboarding
    account_id = await _account(hub)
    reg = _registration(sim)
    await oas.register(hub, zalo, account_id, reg, "tester")
    # Registered twice: refused before Zalo is asked, so a new token given by mistake is not spent.
    fresh = dataclasses.replace(reg, refresh_token=sim.console.authorize(reg.oa_id))
    with pytest.raises(errors.Conflict):
        await oas.register(hub, zalo, account_id, fresh, "tester")
    assert (await zalo.refresh_token(reg.app_id, reg.app_secret, fresh.refresh_token)).ok
    # The same OA id under another account, with the spent token: Zalo's -14020.
    other = dataclasses.replace(reg, oa_id="123")
    with pytest.raises(oas.ZaloRefused) as refused:
        await oas.register(hub, zalo, await _account(hub), other, "tester")
    assert refused.value.zalo_error == -14020


async def test_update_secrets_checks_through_zalo(onboarding, db) -> None:
    hub, sim, zalo = onboarding
    reg = _registration(sim)
    await oas.register(hub, zalo, await _account(hub), reg, "tester")
    before = await db.get_oa(reg.oa_id)
    assert before is not None
    # A dead refresh token and a wrong app secret change nothing.
    for bad in ({"refresh_token": "never-issued"}, {"app_secret": "wrong", "oa_secret": "new-oa-secret"}):
        with pytest.raises(oas.ZaloRefused):
            await oas.update_secrets(hub, zalo, reg.oa_id, bad, "tester")
        assert await db.get_oa(reg.oa_id) == before
    # Zalo's console resets the secrets and authorizes again: dlrhub takes them, checked by a refresh.
    reset = sim.console.reset_secrets(reg.oa_id)
    given = {"app_secret": reset.app_secret, "oa_secret": reset.oa_secret, "refresh_token": None}
    await oas.update_secrets(hub, zalo, reg.oa_id, given, "tester")
    after = await db.get_oa(reg.oa_id)
    assert after is not None
    assert (after.app_secret, after.oa_secret) == (reset.app_secret, reset.oa_secret)
    assert after.refresh_token != before.refresh_token
    new_token = sim.console.authorize(reg.oa_id)
    await oas.update_secrets(hub, zalo, reg.oa_id, {"refresh_token": new_token}, "tester")
    assert (await zalo.refresh_token(reg.app_id, reset.app_secret, new_token)).error == -14020
    # The OA secret alone only signs webhooks: stored as given, no refresh.
    grants = sim.tokens.grants
    await oas.update_secrets(hub, zalo, reg.oa_id, {"oa_secret": "another-oa-secret"}, "tester")
    assert sim.tokens.grants == grants
    assert (await oas.get(hub, reg.oa_id)).oa_secret == "another-oa-secret"
    actions = [e.action for e in await db.list_audit(store.AuditFilter(target=reg.oa_id))]
    assert actions.count("oa.update_secrets") == 3


async def test_deactivate_and_list(onboarding, db) -> None:
    hub, sim, zalo = onboarding
    account_id = await _account(hub)
    reg = _registration(sim)
    await oas.register(hub, zalo, account_id, reg, "tester")
    shown = await oas.deactivate(hub, reg.oa_id, "tester")
    assert shown["active"] is False
    listed = await oas.listing(hub, account_id)
    assert [o["oa_id"] for o in listed] == [reg.oa_id] and listed[0]["active"] is False
    assert await oas.listing(hub, "no-such-account") == []
    with pytest.raises(errors.NotFound):
        await oas.deactivate(hub, "404", "tester")


@pytest.fixture
async def other_process(db: store.Store, db_url: str) -> AsyncIterator[store.Store]:
    """Another process's store on the same database (its own connections, and its own in-process locks)."""
    other = store.from_url(db_url)
    try:
        yield other
    finally:
        await other.close()


class Gate:
    """A refresher that holds each refresh until two have arrived (or a moment has passed), so two keepers that
    are not kept apart by a shared lock really do spend the same refresh token at once."""

    def __init__(self, zalo: client.ZaloClient) -> None:
        self.zalo = zalo
        self.arrived = 0
        self.both = asyncio.Event()

    async def refresh_token(self, app_id: str, app_secret: str, refresh_token: str) -> Any:
        self.arrived += 1
        if self.arrived >= 2:
            self.both.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.both.wait(), 0.5)
        return await self.zalo.refresh_token(app_id, app_secret, refresh_token)


async def test_two_keepers_racing_make_one_refresh_and_both_end_with_the_new_pair(
    onboarding, db, other_process
) -> None:
    hub, sim, zalo = onboarding
    reg = _registration(sim)
    await oas.register(hub, zalo, await _account(hub), reg, "tester")
    oa = await db.get_oa(reg.oa_id)
    assert oa is not None
    due = NOW - dt.timedelta(minutes=1)
    await db.change_oa(oa.oa_id, store.OAChanges(token_expires_at=due))
    oa = dataclasses.replace(oa, token_expires_at=due)
    grants = sim.tokens.grants
    gate = Gate(zalo)
    first = zalo_channel.keeper_for(db, gate, oa, hub.clock)
    second = zalo_channel.keeper_for(other_process, gate, oa, hub.clock)
    token_a, token_b = await asyncio.gather(first.access_token(), second.access_token())
    stored = await db.get_oa(oa.oa_id)
    assert stored is not None
    assert sim.tokens.grants - grants == 1
    assert token_a == token_b == stored.access_token != oa.access_token
    assert first.state.refresh_token == second.state.refresh_token == stored.refresh_token != oa.refresh_token
    assert (await zalo.refresh_token(oa.app_id, oa.app_secret, stored.refresh_token)).ok


async def test_a_keeper_dying_after_the_answer_has_already_stored_the_pair(onboarding, db) -> None:
    hub, sim, zalo = onboarding
    reg = _registration(sim)
    await oas.register(hub, zalo, await _account(hub), reg, "tester")
    oa = await db.get_oa(reg.oa_id)
    assert oa is not None
    oa = dataclasses.replace(oa, token_expires_at=NOW)

    async def crash(_: Any) -> None:
        raise RuntimeError("the process dies before using the new token")

    dying = zalo_channel.keeper_for(db, zalo, oa, hub.clock, on_grant=crash)
    with pytest.raises(RuntimeError):
        await dying.access_token()
    stored = await db.get_oa(oa.oa_id)
    assert stored is not None and stored.refresh_token != oa.refresh_token
    # The next start takes the stored pair and refreshes with it.
    restarted = zalo_channel.keeper_for(
        db, zalo, dataclasses.replace(stored, token_expires_at=NOW), hub.clock
    )
    assert (await restarted.access_token()) != stored.access_token
    assert restarted.refreshes == 1


async def test_a_pair_stored_by_an_operator_during_a_refresh_wins(onboarding, db) -> None:
    hub, sim, zalo = onboarding
    reg = _registration(sim)
    await oas.register(hub, zalo, await _account(hub), reg, "tester")
    oa = await db.get_oa(reg.oa_id)
    assert oa is not None
    oa = dataclasses.replace(oa, token_expires_at=NOW)
    later = NOW + dt.timedelta(hours=25)
    operators = store.OAChanges(access_token="op-access", refresh_token="op-refresh", token_expires_at=later)

    class OperatorMeanwhile:
        async def refresh_token(self, app_id: str, app_secret: str, refresh_token: str) -> Any:
            answer = await zalo.refresh_token(app_id, app_secret, refresh_token)
            await db.change_oa(oa.oa_id, operators)  # `oas update-secrets` lands while Zalo answers
            return answer

    keeper = zalo_channel.keeper_for(db, OperatorMeanwhile(), oa, hub.clock)
    assert await keeper.access_token() == "op-access"
    stored = await db.get_oa(oa.oa_id)
    assert stored is not None and (stored.access_token, stored.refresh_token) == ("op-access", "op-refresh")


async def test_the_worker_remakes_a_keeper_when_the_app_secret_changes(onboarding, db) -> None:
    hub, sim, zalo = onboarding
    reg = _registration(sim)
    await oas.register(hub, zalo, await _account(hub), reg, "tester")
    worker = zalo_channel.ChannelWorker(hub, zalo)
    oa = await oas.get(hub, reg.oa_id)
    first = worker._keeper(oa)
    assert worker._keeper(oa) is first
    reset = sim.console.reset_secrets(reg.oa_id, oa_secret=False)
    await oas.update_secrets(hub, zalo, reg.oa_id, {"app_secret": reset.app_secret}, "tester")
    renewed = worker._keeper(await oas.get(hub, reg.oa_id))
    assert renewed is not first and renewed.app_secret == reset.app_secret
