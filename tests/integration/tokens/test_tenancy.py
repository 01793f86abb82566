"""Customer tokens on each backend: one account's native pull and replay, and nothing of another account's."""

from __future__ import annotations

import dataclasses

import pytest

from dlrhub.api import deps
from dlrhub.core import models, scopes
from tests.conftest import make_account
from tests.integration.engine.test_dispatcher import ingest
from tests.integration.tokens.conftest import BOOT, bearer
from tests.integration.tokens.test_token_api import api_routes

#: The routes a customer token reaches; each is tried below against another account's ids.
CUSTOMER_ROUTES = {
    ("GET", "/v1/messages/{message_id}"),
    ("GET", "/v1/messages/{message_id}/callbacks"),
    ("GET", "/v1/callbacks/{callback_id}"),
    ("POST", "/v1/callbacks/replay"),
    # Tried in test_feed_api.py: naming another account answers 403.
    ("GET", "/v1/feed/events"),
    ("GET", "/v1/callbacks/undelivered"),
    # Tried in test_endpoint_limits_api.py: only hosts of its own callbacks, only limits it set.
    ("PUT", "/v1/endpoint-limits"),
    ("GET", "/v1/endpoint-limits"),
    ("DELETE", "/v1/endpoint-limits"),
}


@dataclasses.dataclass
class Side:
    account: models.Account
    message_id: str
    callback_id: str
    token: str


@pytest.fixture
async def two(api, db) -> tuple[Side, Side]:
    sides = []
    for name in ("a", "b"):
        account = make_account(name=name)
        await db.create_account(account, [])
        message_id = f"m-{name}"
        await ingest(db, account, message_id, models.EventKind.SUCCESS, f"https://{name}.example/hook")
        [cb] = await db.list_callbacks(message_id)
        token = await api.token(f"shop-{name}", "customer", account.id)
        sides.append(Side(account, message_id, cb.id, token))
    return sides[0], sides[1]


def test_the_customer_routes_are_the_ones_tried_here(api) -> None:
    reachable = {deps.require(scopes.Scope.PULL), deps.require(scopes.Scope.REPLAY)}
    found = {
        (method, path)
        for method, path, route in api_routes(api.app)
        if any(d.call in reachable for d in route.dependant.dependencies)
    }
    assert found == CUSTOMER_ROUTES


async def test_a_customer_reads_its_own_messages_callbacks_and_attempts(api, two) -> None:
    a, _ = two
    auth = bearer(a.token)
    message = await api.http.get(f"/v1/messages/{a.message_id}", headers=auth)
    assert message.status_code == 200
    assert message.json()["account"] == a.account.id
    listed = await api.http.get(f"/v1/messages/{a.message_id}/callbacks", headers=auth)
    assert [cb["id"] for cb in listed.json()["callbacks"]] == [a.callback_id]
    one = await api.http.get(f"/v1/callbacks/{a.callback_id}", headers=auth)
    assert one.status_code == 200
    assert one.json()["attempt_log"] == []


async def test_another_accounts_ids_answer_404_as_unknown_ones_do(api, two) -> None:
    a, b = two
    auth = bearer(a.token)
    for theirs, unknown in (
        (f"/v1/messages/{b.message_id}", "/v1/messages/m-none"),
        (f"/v1/messages/{b.message_id}/callbacks", "/v1/messages/m-none/callbacks"),
        (f"/v1/callbacks/{b.callback_id}", "/v1/callbacks/cb_none"),
    ):
        refused = await api.http.get(theirs, headers=auth)
        assert refused.status_code == 404, theirs
        missing = await api.http.get(unknown, headers=auth)
        assert refused.json()["error"] == missing.json()["error"] == "not_found"
        assert refused.json()["message"].replace(b.message_id, "?").replace(
            b.callback_id, "?"
        ) == missing.json()["message"].replace("m-none", "?").replace("cb_none", "?")
        # An admin token sees every account's.
        assert (await api.http.get(theirs, headers=bearer(BOOT))).status_code == 200


async def test_a_customer_replays_only_its_own_callbacks(api, two) -> None:
    a, b = two
    auth = bearer(a.token)

    async def replay(body):
        return await api.http.post("/v1/callbacks/replay", json={"dry_run": True, **body}, headers=auth)

    for body in (
        {"callback_ids": [b.callback_id]},
        {"message_id": b.message_id},
        {"account": b.account.id, "since": "2000-01-01T00:00:00Z"},
    ):
        answer = await replay(body)
        assert answer.status_code == 404, (body, answer.text)
    everything = await replay({"since": "2000-01-01T00:00:00Z"})
    assert everything.json()["callbacks"] == [a.callback_id]
    both = await replay({"callback_ids": [a.callback_id, b.callback_id]})
    assert both.json()["callbacks"] == [a.callback_id]
    own = await api.http.post("/v1/callbacks/replay", json={"message_id": a.message_id}, headers=auth)
    assert own.status_code == 200
    assert own.json()["requeued"] == 1
    admin = await api.http.post(
        "/v1/callbacks/replay", json={"since": "2000-01-01T00:00:00Z", "dry_run": True}, headers=bearer(BOOT)
    )
    assert sorted(admin.json()["callbacks"]) == sorted([a.callback_id, b.callback_id])


async def test_a_read_token_pulls_every_account_but_replays_nothing(api, two) -> None:
    a, b = two
    ops = await api.token("ops", "read")
    for side in (a, b):
        assert (await api.http.get(f"/v1/messages/{side.message_id}", headers=bearer(ops))).status_code == 200
    refused = await api.http.post(
        "/v1/callbacks/replay", json={"message_id": a.message_id}, headers=bearer(ops)
    )
    assert refused.status_code == 403
