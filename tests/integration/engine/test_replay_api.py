"""Replay and the callback routes over HTTP (ASGI), with a real dispatcher and receiver, on each backend."""

from __future__ import annotations

import datetime as dt

import httpx

from dlrhub import settings, store
from dlrhub.api import app as app_
from dlrhub.core import models
from dlrhub.services import hub as hub_
from tests.conftest import make_account, signing_secret
from tests.integration.engine.test_dispatcher import config, eventually, ingest, running, states
from tests.receivers import Receiver

TOKEN = "test-admin-token-0123456789"
AUTH = {"authorization": f"Bearer {TOKEN}"}
S = models.CallbackState


def client(db, allow: tuple[str, ...] = ()) -> httpx.AsyncClient:
    hub = hub_.Hub(settings=settings.Settings(admin_token=TOKEN, callback_allow=allow), store=db)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app_.create_app(hub)), base_url="http://t")


async def test_list_replay_by_message_and_to_another_url(db):
    secret = signing_secret(b"r" * 24)
    account = make_account(signing_secrets=(secret,))
    await db.create_account(account, [])
    async with Receiver() as rec, client(db, allow=("127.0.0.1",)) as http:
        await ingest(db, account, "m1", models.EventKind.SUCCESS, rec.url("/hook"))
        async with running(db, config()):

            async def first():
                return await states(db, "m1") == [S.SUCCEEDED]

            await eventually(first)
            listed = (await http.get("/v1/messages/m1/callbacks", headers=AUTH)).json()
            [cb] = listed["callbacks"]
            assert cb["state"] == "succeeded"
            assert [a["outcome"] for a in cb["attempt_log"]] == ["ok"]

            answer = await http.post("/v1/callbacks/replay", json={"message_id": "m1"}, headers=AUTH)
            assert answer.status_code == 200
            assert answer.json()["requeued"] == 1

            async def twice():
                return len(rec.hits) == 2 and await states(db, "m1") == [S.SUCCEEDED]

            await eventually(twice)
            answer = await http.post(
                "/v1/callbacks/replay",
                json={"callback_ids": [cb["id"]], "url": rec.url("/elsewhere")},
                headers=AUTH,
            )
            assert answer.json()["requeued"] == 1

            async def moved():
                return [h.path for h in rec.hits] == ["/hook", "/hook", "/elsewhere"]

            await eventually(moved)
    # The same id every time: receivers drop duplicates by it.
    assert {h.headers["webhook-id"] for h in rec.hits} == {cb["id"]}
    attempts = await db.list_attempts(cb["id"])
    assert [a.number for a in attempts] == [1, 2, 3]
    replays = await db.list_audit(store.AuditFilter(action="callbacks.replay"))
    assert [(e.target, e.details["requeued"], e.details["url"]) for e in replays] == [
        (cb["id"], 1, rec.url("/elsewhere")),
        ("m1", 1, None),
    ]


async def test_replay_failed_in_a_time_range_gets_a_fresh_schedule(db):
    account = make_account()
    await db.create_account(account, [])
    async with Receiver() as rec, client(db) as http:
        rec.scripts["/fail"] = [500]
        await ingest(db, account, "mf", models.EventKind.SUCCESS, rec.url("/fail"))
        await ingest(db, account, "mok", models.EventKind.SUCCESS, rec.url("/ok"))
        async with running(db, config()):

            async def failed():
                return await states(db, "mf") == [S.FAILED] and await states(db, "mok") == [S.SUCCEEDED]

            await eventually(failed)
            since = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()
            dry = await http.post(
                "/v1/callbacks/replay",
                json={"since": since, "states": ["failed"], "dry_run": True},
                headers=AUTH,
            )
            assert dry.json()["selected"] == 1
            assert dry.json()["requeued"] == 0
            rec.scripts["/fail"] = [500, 500, 500, 500, 500, 200]
            answer = await http.post(
                "/v1/callbacks/replay", json={"since": since, "states": ["failed"]}, headers=AUTH
            )
            assert answer.json()["requeued"] == 1

            async def recovered():
                return await states(db, "mf") == [S.SUCCEEDED]

            await eventually(recovered)
        [cb] = await db.list_callbacks("mf")
        assert [a.number for a in await db.list_attempts(cb.id)] == [1, 2, 3, 4, 5, 6]
        assert len([h for h in rec.hits if h.path == "/ok"]) == 1


async def test_endpoints_listing_and_reset(db):
    account = make_account()
    await db.create_account(account, [])
    async with Receiver() as rec, client(db) as http:
        rec.scripts["/gone"] = [410]
        await ingest(db, account, "mg", models.EventKind.SUCCESS, rec.url("/gone"))
        async with running(db, config()):

            async def disabled():
                return await states(db, "mg") == [S.FAILED]

            await eventually(disabled)
        listed = (await http.get("/v1/endpoints", params={"state": "disabled"}, headers=AUTH)).json()
        [ep] = listed["endpoints"]
        assert ep["state"] == "disabled"
        assert (await http.get("/v1/endpoints", params={"state": "paused"}, headers=AUTH)).json()[
            "endpoints"
        ] == []
        metrics = (await http.get("/metrics")).text
        assert 'dlrhub_endpoints{state="disabled"} 1.0' in metrics
        body = {"endpoint": ep["endpoint"], "reason": "the customer fixed their gateway"}
        reset = await http.post("/v1/endpoints/reset", json=body, headers=AUTH)
        assert reset.json()["state"] == "healthy"
        [entry] = await db.list_audit(store.AuditFilter(action="endpoint.reset"))
        assert (entry.target, entry.details) == (
            ep["endpoint"],
            {"was": "disabled", "reason": body["reason"]},
        )
        missing = await http.post("/v1/endpoints/reset", json={"endpoint": "http://nowhere:80"}, headers=AUTH)
        assert missing.status_code == 404


async def test_endpoints_are_each_accounts_and_a_reset_names_one(db):
    now = dt.datetime.now(dt.UTC)
    shared = "https://gw.example/dr"
    a, b, c = (f"{name}:https://gw.example:443/dr" for name in ("acc_a", "acc_b", "acc_c"))
    d = "acc_d:https://solo.example:443/x"
    await db.put_endpoints(
        [
            models.Endpoint(a, models.EndpointState.DISABLED, 0, None, None, now),
            models.Endpoint(b, models.EndpointState.DISABLED, 0, None, None, now),
            models.Endpoint(c, models.EndpointState.PAUSED, 20, now, now + dt.timedelta(minutes=5), now),
        ]
    )
    async with client(db) as http:
        listed = (await http.get("/v1/endpoints", params={"account": "acc_a"}, headers=AUTH)).json()
        [ep] = listed["endpoints"]
        assert (ep["endpoint"], ep["account_id"], ep["url"]) == (a, "acc_a", "https://gw.example:443/dr")
        assert ep["label"].startswith("https://gw.example:443/~") and "/dr" not in ep["label"]

        async def reset(**body: str) -> httpx.Response:
            return await http.post("/v1/endpoints/reset", json=body, headers=AUTH)

        # A URL alone that several accounts' endpoints share is ambiguous: name the account.
        assert (await reset(endpoint=shared)).status_code == 409
        done = await reset(endpoint="HTTPS://GW.example/dr?x=1", account="acc_a")
        assert (done.status_code, done.json()["endpoint"], done.json()["state"]) == (200, a, "healthy")
        assert (await reset(endpoint=b)).json()["state"] == "healthy"  # the key as listed
        assert (await reset(endpoint=b, account="acc_c")).status_code == 404  # a key of another account
        assert (await reset(endpoint="https://gw.example/elsewhere", account="acc_c")).status_code == 404
        # A reset endpoint stays stored (healthy): a URL alone still names three. One only one account has is
        # unambiguous.
        assert (await reset(endpoint=shared)).status_code == 409
        await db.put_endpoints([models.Endpoint(d, models.EndpointState.DISABLED, 0, None, None, now)])
        assert (await reset(endpoint="https://solo.example/x")).json()["endpoint"] == d
    healthy, paused = models.EndpointState.HEALTHY, models.EndpointState.PAUSED
    states_now = {e.endpoint: e.state for e in await db.list_endpoints()}
    assert states_now == {a: healthy, b: healthy, c: paused, d: healthy}


async def test_replay_refuses_bad_requests(db):
    async with client(db) as http:
        assert (await http.post("/v1/callbacks/replay", json={"message_id": "x"})).status_code == 401
        assert (await http.post("/v1/callbacks/replay", json={}, headers=AUTH)).status_code == 422
        naive = await http.post("/v1/callbacks/replay", json={"since": "2024-01-01T00:00:00"}, headers=AUTH)
        assert naive.status_code == 422
        bad_url = await http.post(
            "/v1/callbacks/replay", json={"message_id": "x", "url": "ftp://example.com/"}, headers=AUTH
        )
        assert bad_url.status_code == 422
        # An address the URL guard refuses is refused at once (the sender would refuse every attempt).
        for blocked in ("http://127.0.0.1:8080/x", "http://[::ffff:169.254.169.254]/", "http://10.0.0.8/dr"):
            refused = await http.post(
                "/v1/callbacks/replay", json={"message_id": "x", "url": blocked}, headers=AUTH
            )
            assert refused.status_code == 422 and refused.json()["error"] == "blocked_url", blocked
        unknown = await http.post("/v1/callbacks/replay", json={"callback_ids": ["cb_nope"]}, headers=AUTH)
        assert unknown.status_code == 404
        assert (await http.get("/v1/messages/nope/callbacks", headers=AUTH)).status_code == 404
        assert (await http.get("/v1/callbacks/nope", headers=AUTH)).status_code == 404


async def test_endpoints_pause_and_resume_over_http(db):
    account = make_account()
    await db.create_account(account, [])
    key = f"{account.id}:https://hooks.example:443/x"
    async with client(db) as http:
        body = {"endpoint": "https://Hooks.example/x", "minutes": 30, "reason": "their deploy"}
        # Never judged: the URL alone names no account's endpoint.
        alone = await http.post("/v1/endpoints/pause", json=body, headers=AUTH)
        assert alone.status_code == 404, alone.text
        body["account"] = account.id
        paused = await http.post("/v1/endpoints/pause", json=body, headers=AUTH)
        assert paused.status_code == 200, paused.text
        assert (paused.json()["endpoint"], paused.json()["account_id"], paused.json()["state"]) == (
            key,
            account.id,
            "paused",
        )
        until = dt.datetime.fromisoformat(paused.json()["paused_until"])
        assert dt.timedelta(minutes=29) < until - dt.datetime.now(dt.UTC) <= dt.timedelta(minutes=30)
        both = {**body, "until": (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()}
        assert (await http.post("/v1/endpoints/pause", json=both, headers=AUTH)).status_code == 422
        no_reason = {"endpoint": key, "minutes": 5}
        assert (await http.post("/v1/endpoints/pause", json=no_reason, headers=AUTH)).status_code == 422
        # Now stored, the URL alone names it; so does its key.
        resume = {"endpoint": "https://hooks.example/x?y=1", "reason": "deployed"}
        resumed = await http.post("/v1/endpoints/resume", json=resume, headers=AUTH)
        assert resumed.status_code == 200, resumed.text
        again = await http.post("/v1/endpoints/resume", json={**resume, "endpoint": key}, headers=AUTH)
        assert again.status_code == 200  # still paused, its pause already over: resuming it again is harmless
        wrong = await http.post("/v1/endpoints/resume", json={**resume, "account": "acc_other"}, headers=AUTH)
        assert wrong.status_code == 404
        unknown = await http.post(
            "/v1/endpoints/resume", json={**resume, "endpoint": "http://x.example"}, headers=AUTH
        )
        assert unknown.status_code == 404
        entries = await db.list_audit(store.AuditFilter())
        assert [(e.action, e.target) for e in reversed(entries)] == [
            ("endpoint.pause", key),
            ("endpoint.resume", key),
            ("endpoint.resume", key),
        ]
