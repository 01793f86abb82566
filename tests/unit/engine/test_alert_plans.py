"""The alert callbacks (pure): their envelope, their stable ids, and which endpoint changes raise them."""

from __future__ import annotations

import dataclasses
import datetime as dt

import orjson

from dlrhub import settings
from dlrhub.core import breaker, ids, models
from dlrhub.planning import alerts as planning
from dlrhub.services import alerts
from dlrhub.services import hub as hub_
from tests.conftest import make_account

NOW = dt.datetime(2026, 12, 3, 8, 0, tzinfo=dt.UTC)
OPS = "https://ops.example/a"


def test_an_alert_is_a_native_envelope_with_an_id_from_what_it_is_about() -> None:
    cb = planning.callback(
        planning.Kind.OA_QUOTA_LOW, "oa1@2026-12-03", {"x": 1}, OPS, ids.OPERATOR_ACCOUNT, NOW
    )
    assert orjson.loads(cb.request.body) == {
        "type": "alert.oa.quota_low",
        "timestamp": "2026-12-03T08:00:00.000Z",
        "data": {"x": 1},
    }
    assert (cb.request.method, cb.request.content_type, cb.endpoint) == (
        "POST",
        "application/json",
        "https://ops.example:443",
    )
    assert (cb.dialect, cb.state, cb.order_key) == (
        models.Dialect.NATIVE,
        models.CallbackState.PENDING,
        "alerts:acc_operator",
    )
    later = planning.callback(
        planning.Kind.OA_QUOTA_LOW,
        "oa1@2026-12-03",
        {"x": 2},
        OPS,
        ids.OPERATOR_ACCOUNT,
        NOW + dt.timedelta(1),
    )
    assert later.id == cb.id and later.seq > cb.seq  # the same alert: one id; a later one goes after
    other = planning.callback(
        planning.Kind.OA_QUOTA_LOW, "oa1@2026-12-04", {}, OPS, ids.OPERATOR_ACCOUNT, NOW
    )
    assert other.id != cb.id and planning.is_alert(cb)


def test_only_a_new_pause_or_disable_raises_and_the_customer_gets_its_own() -> None:
    hub = hub_.Hub(settings=settings.Settings(alert_url=OPS, alert_secret="whsec_" + "a" * 32), store=None)  # type: ignore[arg-type]
    account = make_account(notify_url="https://shop.example/notices")
    cb = models.Callback(
        id="cb_1", event_id="m1:success", account_id=account.id, dialect=models.Dialect.NATIVE, order_key="m1", seq=1,
        request=models.CallbackRequest("POST", "https://shop.example/dr"), state=models.CallbackState.PENDING,
        due_at=NOW, attempts=1, created_at=NOW, endpoint="https://shop.example:443",
    )  # fmt: skip
    healthy = breaker.fresh(cb.endpoint, NOW)
    config = breaker.BreakerConfig(failures=1)
    paused = breaker.record(healthy, models.AttemptOutcome.HTTP_STATUS, 500, NOW, config)
    [alert] = alerts.endpoint_alerts(hub, cb, healthy, paused, account)
    assert orjson.loads(alert.request.body)["type"] == "alert.endpoint.paused"
    # Paused again after a failed probe: the same streak, no alert.
    later = NOW + dt.timedelta(minutes=1)
    again = breaker.record(paused, models.AttemptOutcome.HTTP_STATUS, 500, later, config)
    assert (
        again.state is models.EndpointState.PAUSED
        and alerts.endpoint_alerts(hub, cb, paused, again, account) == []
    )
    gone = breaker.disable(again, later)
    ops, customer = alerts.endpoint_alerts(hub, cb, again, gone, account)
    assert (ops.account_id, ops.request.url) == (ids.OPERATOR_ACCOUNT, OPS)
    assert (customer.account_id, customer.request.url) == (account.id, "https://shop.example/notices")
    body = orjson.loads(customer.request.body)
    assert body["type"] == "alert.destination.disabled" and body["data"]["reason"] == "gone"
    assert body["data"]["account_id"] == account.id
    # No notify_url, or an alert's own endpoint: the customer hears nothing.
    assert (
        len(alerts.endpoint_alerts(hub, cb, again, gone, dataclasses.replace(account, notify_url=None))) == 1
    )
    alert_cb = dataclasses.replace(cb, event_id=planning.EVENT_PREFIX + "x")
    assert len(alerts.endpoint_alerts(hub, alert_cb, again, gone, account)) == 1
