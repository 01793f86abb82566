"""From a send request in each dialect to the callback at a real receiver, through a real `dlrhub serve`.

The Zalo simulator inside `dlrhub serve` picks each outcome by the number's last digits (docs/reference/simulator.md).
eSMS has no journey callbacks (PROTOCOLS §4): its journey sends report success and delivery like any other.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests import customers, receivers
from tests.acceptance.engine import harness
from tests.acceptance.zalo import serve

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[serve.Served]:
    running = serve.start(Path(tmp_path_factory.mktemp("serve")))
    try:
        yield running
    finally:
        harness.stop_worker(running.proc)


@pytest.fixture
async def customer(served: serve.Served, receiver: receivers.Receiver) -> AsyncIterator[customers.Customer]:
    async with httpx.AsyncClient(base_url=served.url, timeout=10) as http:
        # With the second eSMS callback on a delivery receipt (off by default), to see receipts end to end.
        yield await customers.Customer.create(
            http, serve.ADMIN, receiver.url("/app"), esms_delivered_callback=True
        )


def esms_of(sms_id: str):
    return lambda hit: hit.path == "/esms" and hit.params.get("SMSID") == sms_id


def nx_of(request_id: str, status: str):
    def pick(hit: receivers.Hit) -> bool:
        body = hit.json()
        return (
            hit.path == "/nx"
            and body is not None
            and (body.get("requestId"), body["status"]) == (request_id, status)
        )

    return pick


async def test_esms_success_then_delivered(customer, receiver):
    sms_id = await customer.esms("0900000300", receiver.url("/esms"))
    sent, delivered = await receiver.wait(esms_of(sms_id), 2)
    assert (sent.params["SendStatus"], sent.params["SendSuccess"], sent.params["SendFailed"]) == (
        "5",
        "1",
        "0",
    )
    assert sent.params["partnerids"]
    info = serve.error_info(delivered)
    assert info["data"]["status"] == 1
    assert info["data"]["message"] == "The message was delivered to the user's phone"


async def test_esms_failed_118(customer, receiver):
    sms_id = await customer.esms("0900000118", receiver.url("/esms"))
    [failed] = await receiver.wait(esms_of(sms_id))
    assert (failed.params["SendSuccess"], failed.params["SendFailed"], failed.params["partnerids"]) == (
        "0",
        "1",
        "",
    )
    assert serve.error_info(failed) == {"error": -118, "message": "Zalo account not existed"}


async def test_esms_17005(customer, receiver):
    sms_id = await customer.esms("0900000005", receiver.url("/esms"))
    [failed] = await receiver.wait(esms_of(sms_id))
    assert (failed.params["SendSuccess"], failed.params["SendFailed"]) == ("0", "1")


async def test_nx_success_then_delivered(customer, receiver):
    request_id = await customer.mt("84900000300", receiver.url("/nx"))
    [success] = await receiver.wait(nx_of(request_id, "success"))
    [delivered] = await receiver.wait(nx_of(request_id, "delivered"))
    assert (success.json()["code"], success.json()["ext"]) == (0, "x")
    assert success.json()["zaloRes"]["error"] == 0
    assert success.json()["zaloRes"]["data"]["msg_id"]
    assert (delivered.json()["code"], delivered.json()["message"]) == (17003, "Zalo message has delivered")


async def test_nx_failed_118(customer, receiver):
    request_id = await customer.mt("84900000118", receiver.url("/nx"))
    [failed] = await receiver.wait(nx_of(request_id, "failed"))
    assert failed.json()["code"] == 17004
    assert failed.json()["message"] == "Zalo send error(Zalo account not existed)"
    assert failed.json()["zaloRes"]["error"] == -118
    assert failed.json()["zaloRes"]["data"] is None


async def test_nx_17005(customer, receiver):
    request_id = await customer.mt("84900000005", receiver.url("/nx"))
    [failed] = await receiver.wait(nx_of(request_id, "failed"))
    assert failed.json()["code"] == 17005
    assert failed.json()["zaloRes"] == {
        "sysMsg": "Zalo engine api timeout",
        "cusMsg": "Zalo engine api timeout",
        "error": None,
        "message": None,
        "data": None,
    }


async def test_nx_journey_acknowledged(customer, receiver):
    journey = await customer.journey("84900000300")
    request_id = await customer.mt("84900000300", receiver.url("/nx"), journey_token=journey["token"])
    [acked] = await receiver.wait(nx_of(request_id, "journey_acknowledged"))
    assert acked.json()["code"] == 17006
    assert acked.json()["journeyId"] == journey["journeyId"]
    await receiver.wait(nx_of(request_id, "delivered"))


async def test_nx_journey_timed_out(customer, receiver):
    journey = await customer.journey("84900000301")
    # The serve process's simulator lets journey tokens live 3 s; this one is never used.
    [timed_out] = await receiver.wait(
        lambda hit: (hit.json() or {}).get("status") == "journey_time_out", within_s=30
    )
    assert timed_out.path == "/app"  # the app's DR URL: a journey event belongs to no message
    assert (timed_out.json()["code"], timed_out.json()["journeyId"]) == (17007, journey["journeyId"])
    assert "requestId" not in timed_out.json()


async def test_esms_journey_sends_and_is_delivered(customer, receiver):
    e = customer.credentials["esms"]
    body = {
        "ApiKey": e["ApiKey"],
        "SecretKey": e["SecretKey"],
        "OAID": e["OAID"],
        "TempID": e["TempIDs"][0],
        "Params": ["An"],
        "Phone": "0900000302",
        "IsJourney": True,
        "OrderId": "order-1",
        "CallbackUrl": receiver.url("/esms"),
    }
    answer = await customer.http.post("/MainService.svc/json/SendZaloMessage_V4_post_json/", json=body)
    assert answer.json()["CodeResult"] == "100", answer.text
    sent, delivered = await receiver.wait(esms_of(answer.json()["SMSID"]), 2)
    assert (sent.params["TypeId"], sent.params["SendSuccess"]) == ("27", "1")
    # Form B: the samples' JSON (Zalo's ZNS answer reshaped), then the Vietnam time stamp.
    zalo_json, _stamp = urllib.parse.unquote(sent.params["error_info"]).split("____")
    assert json.loads(zalo_json) == {
        "data": {"message_id": sent.params["partnerids"], "user_id": ""},
        "error": 0,
        "message": "Success",
    }
    assert list(json.loads(zalo_json)) == ["data", "error", "message"]
    assert serve.error_info(delivered)["data"]["status"] == 1


async def test_esms_send_by_zalo_uid_gets_form_c_with_telcoid_9(customer, receiver):
    e = customer.credentials["esms"]
    uid = "5308693166941955300"
    body = {
        "ApiKey": e["ApiKey"],
        "SecretKey": e["SecretKey"],
        "OAID": e["OAID"],
        "TempID": e["TempIDs"][0],
        "TempData": {"name": "An"},
        "ZaloUid": uid,
        "CallbackUrl": receiver.url("/esms"),
    }
    answer = await customer.http.post("/MainService.svc/json/SendZaloMessage_V6/zalo_uid/", json=body)
    assert answer.json()["CodeResult"] == "100", answer.text
    sent, delivered = await receiver.wait(esms_of(answer.json()["SMSID"]), 2)
    assert (sent.params["SendSuccess"], sent.params["telcoid"], sent.params["phonenumber"]) == ("1", "9", uid)
    assert (delivered.params["telcoid"], delivered.params["phonenumber"]) == ("9", uid)
    assert delivered.params["partnerids"] == sent.params["partnerids"] != ""
    info = serve.error_info(delivered)
    assert (info["error"], info["data"]["status"]) == (0, 1)
    assert info["data"]["message"] == "The message was delivered to the user's phone"
