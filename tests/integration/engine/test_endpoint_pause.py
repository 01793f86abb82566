"""An operator's pause, resume and reset of one account's endpoint (its health key), on each backend: the services,
the store's rule that a running pause outlives a dispatcher's older view, recent failures, and a running
dispatcher honouring them while another account's endpoint at the same URL keeps sending."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from aiohttp import web

from dlrhub import settings, store
from dlrhub.core import breaker, errors, models, retry, urls
from dlrhub.dialects import registry
from dlrhub.services import endpoints
from dlrhub.services import hub as hub_
from dlrhub.store.postgres import core as postgres_core
from dlrhub.store.postgres import dispatch as postgres_dispatch
from dlrhub.store.sqlite import core as sqlite_core
from dlrhub.store.sqlite import dispatch as sqlite_dispatch
from tests.conftest import make_account
from tests.integration.engine.test_dispatcher import config, eventually, ingest, running
from tests.receivers import HANG, Receiver

S = models.CallbackState
#: Retried every 50 ms for as long as the test needs; the breaker itself never opens.
PATIENT = registry.retry_policies({p.name: (0.1,) * 32 for p in (retry.ESMS, retry.STANDARD_WEBHOOKS)})
NEVER_OPENS = breaker.BreakerConfig(failures=100_000)


def hub_on(db: store.Store) -> hub_.Hub:
    return hub_.Hub(settings=settings.Settings(), store=db)


async def audit_actions(db: store.Store, target: str) -> list[str]:
    found = await db.list_audit(store.AuditFilter(target=target))
    return [e.action for e in reversed(found)]


async def test_pause_defers_one_accounts_endpoint_and_resume_brings_it_back(db):
    hub = hub_on(db)
    account, other = make_account(), make_account()
    for acc in (account, other):
        await db.create_account(acc, [])
    await ingest(db, account, "m1", models.EventKind.SUCCESS, "http://a.example/hook?n=1")
    await ingest(db, account, "path", models.EventKind.SUCCESS, "http://a.example/elsewhere")
    await ingest(db, other, "theirs", models.EventKind.SUCCESS, "http://a.example/hook")
    now = dt.datetime.now(dt.UTC)
    until = now + dt.timedelta(hours=1)
    # Never judged: its account is named, with the URL as written (query ignored).
    paused = await endpoints.pause(
        hub, "http://A.example/hook?x=2", until, "ops", "  their maintenance  ", account_id=account.id
    )
    key = f"{account.id}:http://a.example:80/hook"
    assert (paused.endpoint, paused.state, paused.paused_until) == (key, models.EndpointState.PAUSED, until)
    [cb] = await db.list_callbacks("m1")
    assert cb.due_at == until
    # The same account's other path, and the other account's endpoint at the same URL, are not held.
    for message_id in ("path", "theirs"):
        [cb] = await db.list_callbacks(message_id)
        assert cb.due_at < until
    assert set(await db.get_endpoints([urls.health_key(other.id, "http://a.example/hook")])) == set()
    # A URL alone names the one stored endpoint there.
    resumed = await endpoints.resume(hub, "http://a.example/hook", "ops", "they are back")
    assert resumed.state is models.EndpointState.PAUSED and resumed.paused_until is not None
    assert resumed.paused_until <= dt.datetime.now(dt.UTC)
    [cb] = await db.list_callbacks("m1")
    assert cb.due_at < until
    assert await audit_actions(db, key) == ["endpoint.pause", "endpoint.resume"]
    [pause_entry] = await db.list_audit(store.AuditFilter(action="endpoint.pause"))
    assert pause_entry.actor == "ops"
    assert pause_entry.details["reason"] == "their maintenance"
    assert pause_entry.details["deferred"] == 1


async def test_reset_brings_back_what_a_pause_held(db):
    hub = hub_on(db)
    account = make_account()
    await db.create_account(account, [])
    await ingest(db, account, "m1", models.EventKind.SUCCESS, "http://a.example/hook")
    until = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    key = urls.health_key(account.id, "http://a.example/hook")
    await endpoints.pause(hub, key, until, "ops", "why")
    healthy = await endpoints.reset(hub, "http://a.example/hook", "ops", "done", account_id=account.id)
    assert healthy.state is models.EndpointState.HEALTHY
    [cb] = await db.list_callbacks("m1")
    assert cb.due_at < until
    stored = await db.get_endpoints([key])
    assert stored[key].state is models.EndpointState.HEALTHY


async def test_what_pause_and_resume_refuse(db):
    hub = hub_on(db)
    account, other = make_account(), make_account()
    for acc in (account, other):
        await db.create_account(acc, [])
    now = dt.datetime.now(dt.UTC)
    soon = now + dt.timedelta(minutes=5)
    a_key = urls.health_key(account.id, "http://a.example/p")
    with pytest.raises(errors.InvalidInput, match="reason"):
        await endpoints.pause(hub, a_key, soon, "ops", "   ")
    with pytest.raises(errors.InvalidInput, match="until"):
        await endpoints.pause(hub, a_key, now - dt.timedelta(seconds=1), "ops", "why")
    with pytest.raises(errors.InvalidInput, match="until"):
        await endpoints.pause(hub, a_key, now + dt.timedelta(days=31), "ops", "why")
    # A URL never judged names no account's endpoint; nor does an unknown account's.
    with pytest.raises(errors.NotFound, match="name its account"):
        await endpoints.pause(hub, "http://a.example/p", soon, "ops", "why")
    with pytest.raises(errors.UnknownAccount):
        await endpoints.pause(hub, "http://a.example/p", soon, "ops", "why", account_id="acc_nobody")
    with pytest.raises(errors.NotFound):
        await endpoints.resume(hub, a_key, "ops", "why")
    await db.put_endpoints([breaker.fresh(a_key, now)])
    with pytest.raises(errors.Conflict, match="healthy"):
        await endpoints.resume(hub, "http://a.example/p", "ops", "why")
    # Two accounts' endpoints at one URL: the URL alone is ambiguous.
    await db.put_endpoints([breaker.fresh(urls.health_key(other.id, "http://a.example/p"), now)])
    with pytest.raises(errors.Conflict, match="name the account"):
        await endpoints.pause(hub, "http://a.example/p", soon, "ops", "why")
    b_key = urls.health_key(account.id, "http://b.example/")
    await db.put_endpoints([breaker.disable(breaker.fresh(b_key, now), now)])
    with pytest.raises(errors.Conflict, match="disabled"):
        await endpoints.pause(hub, "http://b.example", soon, "ops", "why", account_id=account.id)
    assert await db.list_audit(store.AuditFilter()) == []


async def test_a_running_pause_is_kept_against_an_older_view_unless_overruled(db):
    now = dt.datetime.now(dt.UTC)
    key = "acc_a:http://a.example:80/hook"
    held = models.Endpoint(key, models.EndpointState.PAUSED, 0, None, now + dt.timedelta(hours=1), now)
    await db.put_endpoints([held], overrule=True)
    later = now + dt.timedelta(seconds=1)
    # A dispatcher that had not seen the pause: a failure counted on a healthy view, and its own shorter pause.
    counted = models.Endpoint(key, models.EndpointState.HEALTHY, 3, later, None, later)
    shorter = models.Endpoint(
        key, models.EndpointState.PAUSED, 20, later, later + dt.timedelta(seconds=30), later
    )
    # The writer gets the rows kept as they were (its view from now on); a new key in the same write is stored.
    other = models.Endpoint(
        "acc_a:http://b.example:80/hook", models.EndpointState.HEALTHY, 1, later, None, later
    )
    assert await db.put_endpoints([counted, other]) == [held]
    assert await db.put_endpoints([shorter]) == [held]
    assert (await db.get_endpoints([key, other.endpoint])) == {key: held, other.endpoint: other}
    # A failure counted during the pause (same end) is written; so is a disable.
    during = models.Endpoint(key, models.EndpointState.PAUSED, 1, later, held.paused_until, now)
    assert await db.put_endpoints([during]) == []
    assert (await db.get_endpoints([key]))[key] == during
    gone = breaker.disable(during, later)
    assert await db.put_endpoints([gone]) == []
    assert (await db.get_endpoints([key]))[key] == gone
    # Once the pause is over anything is written, and an operator overrules at any time.
    assert await db.put_endpoints([held], overrule=True) == []
    after = now + dt.timedelta(hours=1, seconds=1)
    assert await db.put_endpoints([breaker.fresh(key, after)]) == []
    assert (await db.get_endpoints([key]))[key].state is models.EndpointState.HEALTHY
    await db.put_endpoints([held], overrule=True)
    await db.put_endpoints([breaker.fresh(key, later)], overrule=True)
    assert (await db.get_endpoints([key]))[key].state is models.EndpointState.HEALTHY


async def test_recent_failures_are_the_last_failed_attempts_newest_first(db):
    account = make_account()
    await db.create_account(account, [])
    async with Receiver() as rec:
        rec.script("/bad", 503)
        rec.script("/good", 200)
        for i in range(3):
            await ingest(db, account, f"f{i}", models.EventKind.SUCCESS, rec.url("/bad"))
        await ingest(db, account, "ok", models.EventKind.SUCCESS, rec.url("/good"))
        cfg = config(
            policies=registry.retry_policies({p.name: () for p in (retry.ESMS, retry.STANDARD_WEBHOOKS)})
        )
        async with running(db, cfg):

            async def done():
                finished = [c for m in ("f0", "f1", "f2", "ok") for c in await db.list_callbacks(m)]
                return all(c.state is not S.PENDING for c in finished)

            await eventually(done)
    key = urls.health_key(account.id, rec.url("/bad"))
    nowhere = urls.health_key(account.id, rec.url("/good"))
    found = await endpoints.recent_failures(hub_on(db), [key, nowhere], per_endpoint=2)
    assert found[nowhere] == []
    assert len(found[key]) == 2
    assert all(a.status_code == 503 and a.outcome is models.AttemptOutcome.HTTP_STATUS for a in found[key])
    assert found[key][0].started_at >= found[key][1].started_at
    assert {a.response for a in found[key]} == {"no"}


class LateFailure(Receiver):
    """A receiver whose held (HANG) requests, once released, fail with a 500."""

    async def _hang(self) -> web.Response:
        await super()._hang()
        return web.Response(status=500, text="late, and failing")


async def test_a_running_dispatcher_stops_at_a_pause_and_sends_again_after_resume(db):
    hub = hub_on(db)
    account, other = make_account(), make_account()
    for acc in (account, other):
        await db.create_account(acc, [])
    cfg = config(policies=PATIENT, breaker=NEVER_OPENS, endpoint_cache_s=0.2)
    # Fails, retried every 100 ms; its third attempt is held until after the pause, so the service cannot defer
    # it, and the dispatcher (which keeps judging the endpoint and storing its health) must see the pause.
    async with LateFailure() as rec, running(db, cfg):
        rec.script("/a", 500, 500, HANG, 500)
        rec.script("/a?m=2", 200)
        rec.script("/a?m=3", 200)
        await ingest(db, account, "m1", models.EventKind.SUCCESS, rec.url("/a"))
        await rec.wait_hanging(1)
        until = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
        await endpoints.pause(
            hub, rec.url("/a"), until, "ops", "receiver under maintenance", account_id=account.id
        )
        [entry] = await db.list_audit(store.AuditFilter(action="endpoint.pause"))
        assert entry.details["deferred"] == 0  # it was in flight
        rec.release.set()
        key = urls.health_key(account.id, rec.url("/a"))

        async def held(message_id: str):
            [cb] = await db.list_callbacks(message_id)
            return cb.state is S.PENDING and cb.due_at >= until

        await eventually(lambda: held("m1"))
        # The promise is "within endpoint_cache_s": a callback made after that is held too, unsent (one made
        # sooner may still go, to a dispatcher that read the endpoint's health just before the pause).
        await asyncio.sleep(cfg.endpoint_cache_s)
        await ingest(db, account, "m2", models.EventKind.SUCCESS, rec.url("/a?m=2"))
        # Another account's endpoint at the same URL (same host, same lane) keeps sending.
        await ingest(db, other, "m3", models.EventKind.SUCCESS, rec.url("/a?m=3"))
        await eventually(lambda: held("m2"))
        await eventually(lambda: states_are(db, "m3", [S.SUCCEEDED]))
        assert [h for h in rec.hits if h.query == "m=2"] == []
        stored = (await db.get_endpoints([key]))[key]
        assert (stored.state, stored.paused_until) == (models.EndpointState.PAUSED, until)
        assert urls.health_key(other.id, rec.url("/a")) not in await db.get_endpoints(
            [urls.health_key(other.id, rec.url("/a"))]
        )

        rec.script("/a", 200)
        await endpoints.resume(hub, key, "ops", "receiver is back")

        async def delivered():
            return [c.state for m in ("m1", "m2") for c in await db.list_callbacks(m)] == [S.SUCCEEDED] * 2

        await eventually(delivered)
    assert len([h for h in rec.hits if h.query == "m=2"]) == 1
    assert (await db.get_endpoints([key]))[key].state is models.EndpointState.HEALTHY


async def states_are(db: store.Store, message_id: str, expected: list[models.CallbackState]) -> bool:
    return [c.state for c in await db.list_callbacks(message_id)] == expected


async def test_a_dispatcher_that_trusts_its_cache_long_still_sees_a_resume_at_once(db):
    hub = hub_on(db)
    account = make_account()
    await db.create_account(account, [])
    cfg = config(policies=PATIENT, breaker=NEVER_OPENS, endpoint_cache_s=3600)
    async with Receiver() as rec:
        key = urls.health_key(account.id, rec.url("/a"))
        until = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
        await endpoints.pause(hub, key, until, "ops", "before the dispatcher starts")
        async with running(db, cfg):
            await ingest(db, account, "m1", models.EventKind.SUCCESS, rec.url("/a"))

            async def held():
                [cb] = await db.list_callbacks("m1")
                return cb.due_at >= until

            await eventually(held)
            assert rec.hits == []
            await endpoints.resume(hub, key, "ops", "go")

            async def delivered():
                return (
                    await db.list_callbacks("m1") and (await db.list_callbacks("m1"))[0].state is S.SUCCEEDED
                )

            await eventually(delivered)
    assert len(rec.hits) == 1


async def test_recent_failures_read_through_their_index(db):
    if isinstance(db, sqlite_core.SqliteCore):
        conn = db._writer_connection()
        plan = " ".join(
            r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + sqlite_dispatch.RECENT_FAILURES, ("x", 3))
        )
    else:
        assert isinstance(db, postgres_core.PostgresCore)
        pool = await db.pool()
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("SET LOCAL enable_seqscan = off")
            rows = await conn.fetch("EXPLAIN " + postgres_dispatch.RECENT_FAILURES, ["x"], 3)
            plan = " ".join(r[0] for r in rows)
    assert "callbacks_health_failed" in plan, plan
