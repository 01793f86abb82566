from __future__ import annotations

import pytest

from dlrhub.adapters.zalo import client as zalo_client
from dlrhub.dialects.nxcloud import codes
from tests.customers import Customer
from tests.integration.nxcloud.conftest import mt_body

pytestmark = pytest.mark.timeout(60)
INIT = "/v1/zalo/initJourneyToken"
CHECK = "/v1/zalo/checkJourneyToken"


async def _init(customer: Customer, action: str = "initJourneyToken") -> dict[str, str]:
    body = {"phone": "84901888484", "tokenType": "token_logistics_7"}
    answer = await customer.signed(INIT, body, action=action)
    assert (answer["code"], answer["message"]) == (0, "Success"), answer
    data: dict[str, str] = answer["data"]
    assert list(data) == ["journeyId", "token"]
    return data


@pytest.mark.parametrize("action", ["initJourneyToken", "mt"])
async def test_init_stores_the_journey(zalo_customer: Customer, action):
    data = await _init(zalo_customer, action)
    journey = await zalo_customer.hub.store.get_journey(data["journeyId"])
    assert journey is not None
    assert (journey.token, journey.token_type, journey.phone) == (
        data["token"],
        "token_logistics_7",
        "84901888484",
    )
    assert (journey.account_id, journey.appkey) == (zalo_customer.new.account.id, zalo_customer.appkey)
    # Zalo's app id, for the journey's DRs (`appId`), kept apart from the NXCloud appkey.
    assert journey.app_id == zalo_customer.new.oa.app_id != zalo_customer.appkey


async def test_check_answers_in_nxclouds_shape(zalo_customer: Customer):
    data = await _init(zalo_customer)
    answer = await zalo_customer.signed(CHECK, {"journeyToken": data["token"]}, action="checkJourneyToken")
    assert answer["code"] == 0, answer
    info = answer["data"]
    assert list(info) == ["createdAt", "expiredAt", "appId", "tokenType", "oaId"]
    assert int(info["expiredAt"]) > int(info["createdAt"])
    assert (info["tokenType"], info["oaId"]) == ("token_logistics_7", zalo_customer.new.oa.oa_id)


async def test_check_of_an_unknown_token_is_a_failure(zalo_customer: Customer):
    answer = await zalo_customer.signed(CHECK, {"journeyToken": "nope"}, action="checkJourneyToken")
    assert answer == {"code": -1, "message": "Failure"}


async def test_journey_token_refusals(zalo_customer: Customer):
    bad_type = {"phone": "84901888484", "tokenType": "token_x"}
    assert (await zalo_customer.signed(INIT, bad_type, action="initJourneyToken"))["code"] == 9000
    bad_phone = {"phone": "0901888484", "tokenType": "token_logistics_7"}
    assert (await zalo_customer.signed(INIT, bad_phone, action="initJourneyToken"))["code"] == 9002
    wrong_action = {"phone": "84901888484", "tokenType": "token_logistics_7"}
    assert (await zalo_customer.signed(INIT, wrong_action, action="checkJourneyToken"))["code"] == 1002
    assert (await zalo_customer.signed(CHECK, {}, action="checkJourneyToken"))["code"] == 9000


async def test_zalo_not_answering_is_a_failure(customer: Customer):
    async with zalo_client.ZaloClient(api_base="http://127.0.0.1:9", timeout=2.0) as dead:
        customer.api.state.zalo_client = dead
        body = {"phone": "84901888484", "tokenType": "token_logistics_7"}
        answer = await customer.signed(INIT, body, action="initJourneyToken")
    assert answer == {"code": codes.Code.FAILURE, "message": "Failure"}


async def test_mt_on_a_journey_token(zalo_customer: Customer):
    data = await _init(zalo_customer)
    message_data = {"templateId": "100001", "templateData": {"a": "b"}, "journeyToken": data["token"]}
    answer = await zalo_customer.signed("/v1/zalo/mt", mt_body(messageData=message_data))
    assert answer["code"] == 0, answer
    message = await zalo_customer.hub.store.get_message(answer["data"]["requestId"])
    assert (message.journey_id, message.type_id) == (data["journeyId"], 27)
