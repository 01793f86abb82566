"""The status APIs' per-account rate limits over HTTP, on each backend, counted in memory and in Redis: over the
limit, HTTP 429 with `Retry-After` and code 160 in the API's own shape; counted after authentication, per account
and per API.

No test needs a number of requests inside one second: a limit of 1 a second is reached by the first two requests
that share a window (`conftest.until_limited`), and what is counted, under which scope and key, is read from a
limiter that records its hits."""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from dlrhub import store
from dlrhub.api import esms as esms_door
from dlrhub.services import accounts
from tests import customers
from tests.customers import Customer
from tests.integration.esms.conftest import SEND, limit_config, until_limited


@dataclasses.dataclass(frozen=True)
class Api:
    """A status API: its setting, its rate-limit scope, how one request of it is made, and its body over the
    limit."""

    setting: str
    scope: str
    over: bytes

    async def call(self, customer: Customer, creds: dict[str, str]) -> httpx.Response:
        if self.setting == "esms_send_status_tps":
            return await customer.http.get(SEND + "GetSendStatus", params={**creds, "RefId": "none"})
        path, extra = {
            "esms_zns_status_tps": ("QueryZnsStatus/", {"SmsId": "none", "SmsType": "25"}),
            "esms_zalo_status_tps": ("GetZaloMessageStatus", {"OAID": customer.oa_id, "MessageId": "none"}),
            "esms_balance_tps": ("GetBalance_json", {}),
        }[self.setting]
        return await customer.post(SEND + path, {**creds, **extra})


CODE_RESULT_160 = b'{"CodeResult":"160","ErrorMessage":"TPS exceeded"}'
APIS = {
    "QueryZnsStatus": Api("esms_zns_status_tps", esms_door.ZNS_STATUS_SCOPE, CODE_RESULT_160),
    "GetZaloMessageStatus": Api("esms_zalo_status_tps", esms_door.ZALO_STATUS_SCOPE, CODE_RESULT_160),
    "GetSendStatus": Api(
        "esms_send_status_tps",
        esms_door.SEND_STATUS_SCOPE,
        b'{"CodeResponse":"160","ErrorMessage":"TPS exceeded"}',
    ),
    "GetBalance": Api(
        "esms_balance_tps",
        esms_door.BALANCE_SCOPE,
        b'{"Balance":0,"CodeResponse":"160","ErrorMessage":"TPS exceeded"}',
    ),
}


class Recording:
    """The app's limiter in a test: records each hit and answers `wait` to every one (None: within the limit)."""

    def __init__(self, wait: int | None) -> None:
        self.wait = wait
        self.hits: list[tuple[str, str, int]] = []

    async def hit(self, scope: str, key: str, per_second: int) -> int | None:
        self.hits.append((scope, key, per_second))
        return self.wait

    async def close(self) -> None:
        pass


async def _recording(db: store.Store, api: Api, wait: int | None) -> tuple[Customer, Recording]:
    customer = await customers.in_process(db, {api.setting: 7})
    recording = Recording(wait)
    customer.api.state.esms_limiter = recording
    return customer, recording


@pytest.mark.parametrize("backend", ["memory", "redis"])
@pytest.mark.parametrize("name", list(APIS))
async def test_over_the_limit_is_429_with_160_in_the_apis_shape(db: store.Store, backend: str, name: str):
    api = APIS[name]
    customer = await customers.in_process(db, await limit_config(backend, **{api.setting: 1}))
    try:
        answers = await until_limited(lambda: api.call(customer, customer.creds))
        assert answers[-1].status_code == 429, [a.status_code for a in answers]
        assert {a.status_code for a in answers[:-1]} == {200}
        assert answers[-1].content == api.over
        assert answers[-1].headers["content-type"] == "application/json"
        assert answers[-1].headers["retry-after"] == "1"
    finally:
        await customer.aclose()


@pytest.mark.parametrize("name", list(APIS))
async def test_one_accounts_use_limits_neither_another_account_nor_another_api(db: store.Store, name: str):
    api = APIS[name]
    one = await customers.in_process(db, {api.setting: 1})
    try:
        assert (await until_limited(lambda: api.call(one, one.creds)))[-1].status_code == 429
        two = one.another(await accounts.create(one.hub, "other"))
        assert (await api.call(two, two.creds)).status_code == 200
        other = APIS["GetBalance" if name != "GetBalance" else "QueryZnsStatus"]
        assert (await other.call(one, one.creds)).status_code == 200
    finally:
        await one.aclose()


@pytest.mark.parametrize("name", list(APIS))
async def test_each_api_counts_an_authenticated_account_under_its_own_scope_and_setting(
    db: store.Store, name: str
):
    api = APIS[name]
    customer, recording = await _recording(db, api, None)
    try:
        # The account's own ApiKey with a wrong SecretKey: 101, and nothing counted (no one can spend its limit).
        wrong = {**customer.creds, "SecretKey": "wrong"}
        refused = await api.call(customer, wrong)
        assert (refused.json().get("CodeResult") or refused.json().get("CodeResponse")) == "101"
        assert recording.hits == []
        assert (await api.call(customer, customer.creds)).status_code == 200
        assert recording.hits == [(api.scope, customer.new.account.id, 7)]
    finally:
        await customer.aclose()
    assert len({a.scope for a in APIS.values()} | {esms_door.GET_CALLBACK_SCOPE}) == len(APIS) + 1


@pytest.mark.parametrize("name", list(APIS))
async def test_retry_after_is_the_limiters_wait(db: store.Store, name: str):
    api = APIS[name]
    customer, _ = await _recording(db, api, 3)
    try:
        answer = await api.call(customer, customer.creds)
        assert (answer.status_code, answer.content, answer.headers["retry-after"]) == (429, api.over, "3")
    finally:
        await customer.aclose()


@pytest.mark.parametrize("name", list(APIS))
async def test_a_failing_redis_lets_requests_through(db: store.Store, name: str):
    """As documented (esms.md › Rate limits): a rate limit must not take the API down with it."""
    api = APIS[name]
    customer = await customers.in_process(db, {api.setting: 1, "redis_url": "redis://127.0.0.1:1/0"})
    try:
        assert [(await api.call(customer, customer.creds)).status_code for _ in range(3)] == [200] * 3
    finally:
        await customer.aclose()
