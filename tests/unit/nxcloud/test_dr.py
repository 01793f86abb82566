from __future__ import annotations

import dataclasses
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from dlrhub.core import models, rendering
from dlrhub.dialects.nxcloud import dr

GOLDEN = Path(__file__).parent / "golden"
UTC = dt.UTC
DR_URL = "https://customer.example/dr"
APP_DR_URL = "https://customer.example/app-dr"


def _golden(name: str) -> dict[str, Any]:
    # The seed 000 examples, byte for byte; parsed with the stdlib so key order and number types are kept.
    loaded: dict[str, Any] = json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))
    return loaded


def _ms(ms: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(milliseconds=ms)


def _account(offset: int = 480) -> models.Account:
    return models.Account(
        id="acc_1",
        name="a",
        status=models.AccountStatus.ACTIVE,
        esms_api_key="k",
        esms_secret_key="s",
        nx_access_key="AK",
        nx_access_secret="S",
        balance=Decimal(100),
        currency="VND",
        prices={},
        utc_offset_minutes=offset,
        signing_secrets=(),
        created_at=_ms(0),
    )


def _app(
    quotation: str | None = "4.1234", currency: str = "USD", dr_url: str | None = APP_DR_URL
) -> models.App:
    return models.App(
        appkey="appkey1",
        account_id="acc_1",
        name="app",
        active=True,
        dr_url=dr_url,
        quotation=None if quotation is None else Decimal(quotation),
        currency=currency,
        routed=True,
        oa_id="oa1",
    )


def _message(
    request_id: str,
    *,
    ext: str | None = "ext info",
    sent_at: dt.datetime | None = None,
    url: str | None = DR_URL,
    price: str = "4.1234",
    currency: str = "USD",
) -> models.Message:
    return models.Message(
        id=request_id,
        account_id="acc_1",
        dialect=models.Dialect.NXCLOUD,
        type_id=25,
        recipient="84901888484",
        state=models.MessageState.ACCEPTED,
        seq=1,
        created_at=_ms(0),
        updated_at=_ms(0),
        callback_url=url,
        appkey="appkey1",
        ext=ext,
        sent_at=sent_at,
        price=Decimal(price),
        currency=currency,
    )


def _event(kind: models.EventKind, at: dt.datetime, **kw: Any) -> models.StatusEvent:
    return models.StatusEvent(id="ev1", kind=kind, occurred_at=at, **kw)


def _journey(journey_id: str, oa_id: str, appkey: str | None = "appkey1") -> models.Journey:
    return models.Journey(
        journey_id=journey_id,
        account_id="acc_1",
        appkey=appkey,
        oa_id=oa_id,
        token="tok",
        token_type="token_logistics_7",
        phone="84901888484",
        state=models.JourneyState.ISSUED,
        created_at=_ms(0),
        expires_at=_ms(0),
    )


def _render_one(ctx: rendering.RenderContext) -> tuple[models.CallbackRequest, dict[str, Any]]:
    [request] = dr.render(ctx)
    assert request.method == "POST"
    assert request.content_type == "application/json"
    return request, json.loads(request.body)


def _assert_same(got: Any, want: Any, path: str = "$") -> None:
    """Same keys in the same order, same JSON types, same values."""
    assert type(got) is type(want), f"{path}: {type(got).__name__} != {type(want).__name__}"
    if isinstance(want, dict):
        assert list(got) == list(want), f"{path}: keys {list(got)} != {list(want)}"
        for key in want:
            _assert_same(got[key], want[key], f"{path}.{key}")
    else:
        assert got == want, f"{path}: {got!r} != {want!r}"


def _success_ctx() -> rendering.RenderContext:
    want = _golden("success")
    zalo = {"error": 0, "message": "Success", "data": want["zaloRes"]["data"]}
    event = _event(models.EventKind.SUCCESS, _ms(1714529559833), code=0, zalo_res=zalo)
    return rendering.RenderContext(
        event=event, account=_account(), message=_message(want["requestId"]), app=_app("4.1234", "USD")
    )


def test_success_golden():
    request, got = _render_one(_success_ctx())
    want = _golden("success")
    _assert_same(got, want)
    assert request.url == DR_URL
    assert request.body == orjson.dumps(want)  # compact form of the seed's bytes


def test_failed_golden():
    want = _golden("failed")
    zalo = {"error": -118, "message": "Zalo account not existed"}
    at = dt.datetime(2024, 10, 30, 2, 34, 40, 512000, tzinfo=UTC)
    event = _event(models.EventKind.FAILED, at, code=17004, zalo_res=zalo)
    ctx = rendering.RenderContext(
        event=event, account=_account(), message=_message(want["requestId"]), app=_app()
    )
    _, got = _render_one(ctx)
    _assert_same(got, want)
    assert "cost" not in got


def test_delivered_golden_plus_cost():
    # DECISIONS.md › NXCloud › `cost`: the table wins over the example, so `cost` follows the example's keys.
    want = _golden("delivered") | {"cost": {"currency": "USD", "originalPrice": 4.1234}}
    sent = dt.datetime(2023, 7, 13, 7, 12, 11, tzinfo=UTC)
    event = _event(models.EventKind.DELIVERED, sent + dt.timedelta(seconds=7))
    ctx = rendering.RenderContext(
        event=event, account=_account(), message=_message(want["requestId"], sent_at=sent), app=_app()
    )
    _, got = _render_one(ctx)
    _assert_same(got, want)


def test_journey_acknowledged_golden():
    want = _golden("journey_acknowledged")
    event = _event(
        models.EventKind.JOURNEY_ACKNOWLEDGED,
        _ms(int(want["timestamp"])),
        journey_id=want["journeyId"],
        raw={"app_id": want["appId"], "event_name": "event_journey_acknowledged"},
    )
    ctx = rendering.RenderContext(
        event=event,
        account=_account(),
        message=_message(want["requestId"], price="130", currency="EUR"),
        journey=_journey(want["journeyId"], want["oaId"]),
        app=_app("130", "EUR"),
    )
    request, got = _render_one(ctx)
    _assert_same(got, want)
    assert request.url == DR_URL


def test_journey_time_out_golden_plus_cost():
    want = _golden("journey_time_out") | {"cost": {"currency": "EUR", "originalPrice": 130}}
    event = _event(
        models.EventKind.JOURNEY_TIME_OUT, _ms(int(want["timestamp"])), raw={"app_id": want["appId"]}
    )
    ctx = rendering.RenderContext(
        event=event,
        account=_account(),
        journey=_journey(want["journeyId"], want["oaId"]),
        app=_app("130", "EUR"),
    )
    request, got = _render_one(ctx)
    _assert_same(got, want)
    assert request.url == APP_DR_URL


def test_journey_app_id_falls_back_to_the_journeys_zalo_app_id_never_the_appkey():
    # appId is Zalo's app id (docs/reference/nxcloud.md): without Zalo's event, the one the journey keeps.
    journey = dataclasses.replace(
        _journey("j1", "oa1"), acknowledged_message_id="zalomid." + "a" * 32, app_id="4318150922305216413"
    )
    for kind in (models.EventKind.JOURNEY_ACKNOWLEDGED, models.EventKind.JOURNEY_TIME_OUT):
        event = _event(kind, _ms(1720602861913))
        ctx = rendering.RenderContext(event=event, account=_account(), journey=journey, app=_app())
        _, got = _render_one(ctx)
        assert got["appId"] == "4318150922305216413"
        assert "ext" not in got
    assert got["appId"] != "appkey1"
    ack = _event(models.EventKind.JOURNEY_ACKNOWLEDGED, _ms(1720602861913))
    _, got = _render_one(rendering.RenderContext(event=ack, account=_account(), journey=journey, app=_app()))
    assert got["requestId"] == "zalomid." + "a" * 32
    out = _event(models.EventKind.JOURNEY_TIME_OUT, _ms(1720602861913))
    unknown = rendering.RenderContext(
        event=out, account=_account(), journey=_journey("j1", "oa1"), app=_app()
    )
    assert _render_one(unknown)[1]["appId"] == ""


def test_send_time_is_in_the_accounts_zone():
    ctx = _success_ctx()
    _, got = _render_one(dataclasses.replace(ctx, account=_account(offset=420)))
    assert got["sendTime"] == "2024-05-01 09:12:39"
    naive = dataclasses.replace(ctx.event, occurred_at=dt.datetime(2024, 5, 1, 2, 12, 39))
    _, got = _render_one(dataclasses.replace(ctx, event=naive))
    assert got["sendTime"] == "2024-05-01 10:12:39"


def test_no_ext_means_no_ext_key():
    ctx = _success_ctx()
    assert ctx.message is not None
    _, got = _render_one(dataclasses.replace(ctx, message=dataclasses.replace(ctx.message, ext=None)))
    assert "ext" not in got
    _, got = _render_one(dataclasses.replace(ctx, message=dataclasses.replace(ctx.message, ext="")))
    assert got["ext"] == ""


def test_cost_is_the_message_price_fixed_at_acceptance():
    ctx = dataclasses.replace(_success_ctx(), app=_app(quotation="9.5", currency="VND"))
    _, got = _render_one(ctx)
    assert got["cost"] == {"currency": "USD", "originalPrice": 4.1234}


def test_journey_time_out_cost_without_a_quotation_is_zero_in_the_account_currency():
    event = _event(models.EventKind.JOURNEY_TIME_OUT, _ms(0))
    ctx = rendering.RenderContext(
        event=event, account=_account(), journey=_journey("j", "o"), app=_app(quotation=None)
    )
    _, got = _render_one(ctx)
    assert got["cost"] == {"currency": "VND", "originalPrice": 0}


def test_17005_zalo_res_as_decided():
    decided = {
        "sysMsg": "Zalo engine api timeout",
        "cusMsg": "Zalo engine api timeout",
        "error": None,
        "message": None,
        "data": None,
    }
    at = _ms(1714529559833)
    for zalo in (decided, None):
        event = _event(models.EventKind.FAILED, at, code=17005, zalo_res=zalo)
        ctx = rendering.RenderContext(
            event=event, account=_account(), message=_message("zalomid.x"), app=_app()
        )
        _, got = _render_one(ctx)
        assert (got["code"], got["message"]) == (17005, "Zalo engine api timeout")
        _assert_same(got["zaloRes"], decided)


@pytest.mark.parametrize(
    ("code", "text"), [(1102, "Insufficient balance"), (9005, "Missing customer APP routes")]
)
def test_failed_after_acceptance_has_no_zalo_res(code, text):
    event = _event(models.EventKind.FAILED, _ms(1714529559833), code=code)
    ctx = rendering.RenderContext(event=event, account=_account(), message=_message("zalomid.x"), app=_app())
    _, got = _render_one(ctx)
    assert list(got) == ["status", "requestId", "code", "message", "sendTime", "ext"]
    assert (got["code"], got["message"]) == (code, text)


def test_zalo_negative_code_renders_as_17004():
    event = _event(
        models.EventKind.FAILED, _ms(0), code=-114, zalo_res={"error": -114, "message": "User is inactive"}
    )
    ctx = rendering.RenderContext(event=event, account=_account(), message=_message("zalomid.x"), app=_app())
    _, got = _render_one(ctx)
    assert (got["code"], got["message"]) == (17004, "Zalo send error(User is inactive)")
    assert got["zaloRes"]["sysMsg"] == "Zalo send error(User is inactive)"


def test_no_url_no_request():
    ctx = _success_ctx()
    assert ctx.message is not None
    assert (
        dr.render(dataclasses.replace(ctx, message=dataclasses.replace(ctx.message, callback_url=None))) == []
    )
    journey_ctx = rendering.RenderContext(
        event=_event(models.EventKind.JOURNEY_TIME_OUT, _ms(0)),
        account=_account(),
        journey=_journey("j", "o"),
        app=_app(dr_url=None),
    )
    assert dr.render(journey_ctx) == []


def test_accepted_events_have_no_dr():
    ctx = _success_ctx()
    assert dr.render(dataclasses.replace(ctx, event=_event(models.EventKind.ACCEPTED, _ms(0)))) == []


def test_render_is_a_renderer():
    renderer: rendering.Renderer = dr.render
    assert renderer(_success_ctx())
