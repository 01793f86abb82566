"""The status APIs' per-account rate limits over HTTP, on each backend, counted in memory and in Redis: over the
limit, HTTP 429 with `Retry-After` and code 160 in the API's own shape; counted after authentication, per account
and per API."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx
import pytest
import redis.asyncio

from dlrhub import store
from dlrhub.services import accounts
from tests import customers
from tests.customers import Customer
from tests.integration.esms.conftest import SEND

#: Requests a second each test allows; 2 * TPS + 1 requests in a burst span at most two one-second windows.
TPS = 2
BURST = 2 * TPS + 1


@dataclasses.dataclass(frozen=True)
class Api:
    """A status API: its setting, how one request of it is made, and its body over the limit."""

    setting: str
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


APIS = {
    "QueryZnsStatus": Api("esms_zns_status_tps", b'{"CodeResult":"160","ErrorMessage":"TPS exceeded"}'),
    "GetZaloMessageStatus": Api(
        "esms_zalo_status_tps", b'{"CodeResult":"160","ErrorMessage":"TPS exceeded"}'
    ),
    "GetSendStatus": Api("esms_send_status_tps", b'{"CodeResponse":"160","ErrorMessage":"TPS exceeded"}'),
    "GetBalance": Api(
        "esms_balance_tps", b'{"Balance":0,"CodeResponse":"160","ErrorMessage":"TPS exceeded"}'
    ),
}


async def _config(backend: str, setting: str) -> dict[str, Any]:
    config: dict[str, Any] = {setting: TPS}
    if backend == "redis":
        client = redis.asyncio.Redis.from_url("redis://127.0.0.1:6379/0")
        try:
            await client.ping()
        except OSError:
            pytest.skip("Redis at 127.0.0.1:6379 is unreachable")
        finally:
            await client.aclose()
        config["redis_url"] = "redis://127.0.0.1:6379/15"
    return config


async def _until_limited(api: Api, customer: Customer, creds: dict[str, str]) -> list[httpx.Response]:
    """A quick burst of BURST requests, stopped at the first 429."""
    answers = []
    for _ in range(BURST):
        answers.append(await api.call(customer, creds))
        if answers[-1].status_code == 429:
            break
    return answers


@pytest.mark.parametrize("backend", ["memory", "redis"])
@pytest.mark.parametrize("name", list(APIS))
async def test_over_the_limit_is_429_with_160_in_the_apis_shape(db: store.Store, backend: str, name: str):
    api = APIS[name]
    customer = await customers.in_process(db, await _config(backend, api.setting))
    try:
        answers = await _until_limited(api, customer, customer.creds)
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
    one = await customers.in_process(db, {api.setting: TPS})
    try:
        assert (await _until_limited(api, one, one.creds))[-1].status_code == 429
        two = one.another(await accounts.create(one.hub, "other"))
        assert (await api.call(two, two.creds)).status_code == 200
        other = APIS["GetBalance" if name != "GetBalance" else "QueryZnsStatus"]
        assert (await other.call(one, one.creds)).status_code == 200
    finally:
        await one.aclose()


@pytest.mark.parametrize("name", list(APIS))
async def test_refused_credentials_do_not_count(db: store.Store, name: str):
    api = APIS[name]
    customer = await customers.in_process(db, {api.setting: TPS})
    try:
        # The account's own ApiKey with a wrong SecretKey: 101 every time, and the account is not held back.
        wrong = {**customer.creds, "SecretKey": "wrong"}
        for _ in range(BURST):
            r = await api.call(customer, wrong)
            assert r.status_code == 200
            assert (r.json().get("CodeResult") or r.json().get("CodeResponse")) == "101"
        assert (await api.call(customer, customer.creds)).status_code == 200
    finally:
        await customer.aclose()
