"""Callbacks that failed for real: a message sent to a loopback receiver that answers 500 until the retries end."""

from __future__ import annotations

from dlrhub import store
from dlrhub.core import models
from tests.conftest import make_account, signing_secret
from tests.integration.engine.test_dispatcher import config, eventually, ingest, running
from tests.receivers import Answer, Receiver

#: The account's signing secret: no page may show it, nor any signature made with it.
SECRET = signing_secret(b"page-secret-key-0123456789")
#: A credential in the callback URL's query: masked wherever the URL is shown.
URL_TOKEN = "url-token-value-9876"
#: What the receiver answers: markup that must reach the page escaped.
ANSWER = "<script>alert('boom')</script>"


async def failed_message(
    db: store.Store,
    rec: Receiver,
    message_id: str,
    path: str = "/hook",
    account: models.Account | None = None,
) -> tuple[models.Account, models.Callback]:
    """A message of `account` (a new signed one by default) whose one callback gave up after 4 attempts at 500."""
    if account is None:
        account = make_account(signing_secrets=(SECRET,))
        await db.create_account(account, [])
    rec.script(path, *[Answer(500, ANSWER)] * 4)
    await ingest(db, account, message_id, models.EventKind.SUCCESS, rec.url(path) + f"?token={URL_TOKEN}")
    async with running(db, config()):

        async def gave_up() -> bool:
            return [c.state for c in await db.list_callbacks(message_id)] == [models.CallbackState.FAILED]

        await eventually(gave_up)
    [cb] = await db.list_callbacks(message_id)
    return account, cb
