"""What the benchmarks put in a store before they measure: an account, and native callbacks due now."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from dlrhub.core import ids, models, urls


def account(account_id: str = "acc_bench", name: str = "bench") -> models.Account:
    """An active account with fresh credentials and no signing secrets."""
    return models.Account(
        id=account_id,
        name=name,
        status=models.AccountStatus.ACTIVE,
        esms_api_key=ids.token(),
        esms_secret_key=ids.token(),
        nx_access_key=ids.token(8),
        nx_access_secret=ids.token(),
        balance=Decimal(0),
        currency="VND",
        prices={},
        utc_offset_minutes=420,
        signing_secrets=(),
        created_at=dt.datetime.now(dt.UTC),
    )


def callback(i: int, url: str, now: dt.datetime, body: bytes) -> models.Callback:
    """The `i`th benchmark callback: message `m<i>`'s one callback of `acc_bench`, POSTing `body` to `url`, due
    `now`."""
    event_id = f"ev{i}"
    return models.Callback(
        id=ids.callback_id(event_id, url),
        event_id=event_id,
        account_id="acc_bench",
        dialect=models.Dialect.NATIVE,
        order_key=f"m{i}",
        seq=1,
        request=models.CallbackRequest("POST", url, body, "application/json"),
        state=models.CallbackState.PENDING,
        due_at=now,
        attempts=0,
        created_at=now,
        message_id=f"m{i}",
        endpoint=urls.check_url(url).endpoint,
        health_key=urls.health_key("acc_bench", url),
    )
