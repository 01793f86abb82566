"""Every HTTP request has an id: a sane `X-Request-ID` is kept, any other is replaced; the answer returns it, on
the fast lane too, and every log line written while handling the request carries it."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from dlrhub.core import breaker, urls
from tests import log_lines
from tests.customers import Customer

GENERATED = re.compile(r"[0-9a-f]{24}")
ESMS_SEND = "/MainService.svc/json/SendZaloMessage_V6/"


async def test_a_request_without_an_id_gets_a_new_one_in_its_answer(customer: Customer) -> None:
    first = await customer.http.get("/healthz")
    second = await customer.http.get("/no-such-route")
    assert second.status_code == 404
    ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
    assert all(GENERATED.fullmatch(i) for i in ids), ids
    assert ids[0] != ids[1]


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("abc-123", True),
        ("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1", True),
        ("x" * 128, True),
        ("x" * 129, False),
        ("has space", False),
        ('quote"d', False),
        ("", False),
    ],
)
async def test_a_sane_incoming_id_is_kept_any_other_replaced(
    customer: Customer, sent: str, kept: bool
) -> None:
    got = (await customer.http.get("/healthz", headers={"X-Request-ID": sent})).headers["x-request-id"]
    assert (got == sent) is kept
    if not kept:
        assert GENERATED.fullmatch(got)


async def test_the_fast_lane_returns_the_id_too(customer: Customer) -> None:
    assert ("POST", ESMS_SEND) in customer.api.fast_lane  # type: ignore[attr-defined]
    sent = await customer.http.post(ESMS_SEND, json=customer.zns(), headers={"X-Request-ID": "lane-1"})
    assert sent.json()["CodeResult"] == "100", sent.text
    assert sent.headers["x-request-id"] == "lane-1"
    fresh = await customer.http.post(ESMS_SEND, json=customer.zns())
    assert GENERATED.fullmatch(fresh.headers["x-request-id"])
    assert fresh.headers.get_list("x-request-id") == [fresh.headers["x-request-id"]]


async def test_lines_logged_while_handling_a_request_carry_its_id(customer: Customer) -> None:
    now = dt.datetime.now(dt.UTC)
    await customer.hub.store.put_endpoints(
        [breaker.disable(breaker.fresh("acc_a:https://hooks.example:443/dr", now), now)]
    )
    with log_lines.captured("info") as lines:
        answer = await customer.http.post(
            "/v1/endpoints/reset",
            json={"endpoint": "https://hooks.example/dr", "account": "acc_a", "reason": "fixed"},
            headers={"Authorization": f"Bearer {customer.admin_token}", "X-Request-ID": "reset-42"},
        )
        assert answer.status_code == 200, answer.text
        outside = await customer.http.get("/healthz")
    [line] = lines.events("endpoint.reset")
    assert (line["request_id"], line["endpoint"], line["account_id"], line["was"]) == (
        "reset-42",
        urls.health_label("acc_a:https://hooks.example:443/dr"),  # never the path
        "acc_a",
        "disabled",
    )
    assert "/dr" not in lines.text
    assert outside.headers["x-request-id"] not in lines.text
