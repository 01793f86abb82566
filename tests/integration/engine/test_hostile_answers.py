"""A receiver is hostile network: whatever its answer holds, the attempt is recorded on each backend, and nothing
it sends stalls the recording of other accounts' attempts."""

from __future__ import annotations

from dlrhub.core import models
from tests.conftest import make_account
from tests.integration.engine.test_dispatcher import config, eventually, ingest, running, states
from tests.receivers import Answer, Receiver

S = models.CallbackState


async def test_an_answer_holding_nul_or_a_lone_surrogate_is_recorded_and_stalls_nobody(db):
    hostile, other = make_account(name="hostile"), make_account(name="other")
    for account in (hostile, other):
        await db.create_account(account, [])
    async with Receiver() as rec, running(db, config()):
        # PostgreSQL's text holds no NUL: an answer's body is stored as text.
        rec.script("/nul", Answer(200, b"ok\x00\xed\xa0\x80 then more"))
        rec.script("/nul-failed", Answer(500, b"\x00" * 50))
        await ingest(db, hostile, "m-nul", models.EventKind.SUCCESS, rec.url("/nul"))
        await ingest(db, hostile, "m-nul-failed", models.EventKind.SUCCESS, rec.url("/nul-failed"))
        await ingest(db, other, "m-other", models.EventKind.SUCCESS, rec.url("/fine"))

        async def recorded():
            return (
                await states(db, "m-nul") == [S.SUCCEEDED]
                and await states(db, "m-other") == [S.SUCCEEDED]
                and len(await db.list_attempts((await db.list_callbacks("m-nul-failed"))[0].id)) >= 1
            )

        await eventually(recorded)
    [cb] = await db.list_callbacks("m-nul")
    [attempt] = await db.list_attempts(cb.id)
    assert attempt.outcome is models.AttemptOutcome.OK
    assert attempt.response is not None and attempt.response.startswith("ok")
    assert "\x00" not in attempt.response
    [failed] = await db.list_callbacks("m-nul-failed")
    assert (await db.list_attempts(failed.id))[0].status_code == 500
