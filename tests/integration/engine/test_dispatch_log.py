"""The dispatcher's lines for on-call, as JSON: a callback given up for good (retries spent, or the endpoint gone),
an endpoint disabled or paused; each names the callback, account and endpoint, never the URL's path or query."""

from __future__ import annotations

import datetime as dt

from dlrhub.core import breaker, models, urls
from tests import log_lines
from tests.conftest import make_account
from tests.integration.engine.test_dispatcher import S, config, eventually, ingest, running, states
from tests.receivers import Receiver

#: A token in a callback URL's query: a customer's secret as far as dlrhub knows.
QUERY_TOKEN = "q-token-5f1d9a"


async def test_a_callback_that_spends_its_retries_logs_one_give_up_line(db):
    account = make_account()
    await db.create_account(account, [])
    with log_lines.captured("debug") as lines:
        async with Receiver() as rec:
            rec.scripts["/down"] = [500]
            await ingest(db, account, "m1", models.EventKind.SUCCESS, rec.url(f"/down?token={QUERY_TOKEN}"))
            async with running(db, config()):

                async def failed():
                    return await states(db, "m1") == [S.FAILED]

                await eventually(failed)
    [line] = lines.events("callback.gave_up")
    [cb] = await db.list_callbacks("m1")
    assert line["level"] == "warning"
    assert (line["callback_id"], line["message_id"], line["account_id"]) == (cb.id, "m1", account.id)
    assert line["endpoint"] == f"http://127.0.0.1:{rec.port}"
    assert (line["attempts"], line["outcome"], line["status_code"]) == (cb.attempts, "http_status", 500)
    assert line["reason"] == "retries_exhausted"
    assert cb.id in line["message"] and account.id in line["message"]
    assert QUERY_TOKEN not in lines.text
    assert "/down" not in lines.text


async def test_a_gone_endpoint_logs_its_disabling_and_the_give_up(db):
    account = make_account()
    await db.create_account(account, [])
    with log_lines.captured("info") as lines:
        async with Receiver() as rec:
            rec.scripts["/gone"] = [410]
            await ingest(db, account, "m2", models.EventKind.SUCCESS, rec.url(f"/gone?token={QUERY_TOKEN}"))
            async with running(db, config()):

                async def failed():
                    return await states(db, "m2") == [S.FAILED]

                await eventually(failed)
    [disabled] = lines.events("endpoint.disabled")
    # The account's endpoint, by its label: the origin, the path only as a digest.
    label = urls.health_label(urls.health_target(rec.url("/gone")))
    assert label.startswith(f"http://127.0.0.1:{rec.port}/~")
    assert (disabled["endpoint"], disabled["account_id"]) == (label, account.id)
    [gave_up] = lines.events("callback.gave_up")
    assert (gave_up["reason"], gave_up["status_code"]) == ("endpoint_gone", 410)
    assert QUERY_TOKEN not in lines.text
    assert "/gone" not in lines.text


async def test_a_paused_endpoint_logs_the_pause(db):
    account = make_account()
    await db.create_account(account, [])
    cfg = config(breaker=breaker.BreakerConfig(failures=2, pause=dt.timedelta(minutes=5)))
    with log_lines.captured("info") as lines:
        async with Receiver() as rec:
            rec.scripts["/down"] = [503]
            for i in range(4):
                await ingest(db, account, f"p{i}", models.EventKind.SUCCESS, rec.url("/down"))
            async with running(db, cfg):

                async def paused():
                    return [e.state for e in await db.list_endpoints()] == [models.EndpointState.PAUSED]

                await eventually(paused)
    [first, *_] = lines.events("endpoint.paused")
    assert first["endpoint"] == urls.health_label(urls.health_target(rec.url("/down")))
    assert "/down" not in lines.text
    assert first["failures"] >= 2
    assert dt.datetime.fromisoformat(first["paused_until"]) > dt.datetime.fromisoformat(first["time"])
