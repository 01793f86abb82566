"""Builders of the records the eSMS unit tests need."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

from dlrhub.core import models

GOLDEN = Path(__file__).parent / "golden"
T0 = dt.datetime(2024, 4, 24, 9, 58, 1, tzinfo=dt.UTC)


def golden(name: str) -> str:
    """The exact query string of a golden file (bytes decoded as UTF-8, nothing stripped)."""
    return (GOLDEN / f"{name}.txt").read_bytes().decode("utf-8")


def account(**changes: Any) -> models.Account:
    base = models.Account(
        id="acc_0123456789abcdef",
        name="Shop",
        status=models.AccountStatus.ACTIVE,
        esms_api_key="KEY",
        esms_secret_key="SECRET",
        nx_access_key="nxk",
        nx_access_secret="nxs",
        balance=Decimal(1000),
        currency="VND",
        prices={"25": Decimal(220), "27": Decimal(300)},
        utc_offset_minutes=420,
        signing_secrets=(),
        created_at=T0,
    )
    return dataclasses.replace(base, **changes)


def oa(**changes: Any) -> models.OA:
    base = models.OA(
        oa_id="1397492183140006179",
        account_id="acc_0123456789abcdef",
        app_id="app",
        app_secret="appsecret",
        oa_secret="oasecret",
        access_token="tok",
        refresh_token="rtok",
        token_expires_at=T0,
        template_ids=("2056446", "523194"),
        daily_quota=500,
        active=True,
        mode3_allowed=False,
    )
    return dataclasses.replace(base, **changes)


def message(**changes: Any) -> models.Message:
    base = models.Message(
        id="f66545d2-c7e2-4603-984e-d2238c363c8292",
        account_id="acc_0123456789abcdef",
        dialect=models.Dialect.ESMS,
        type_id=25,
        recipient="0901888484",
        state=models.MessageState.ACCEPTED,
        seq=1,
        created_at=T0,
        updated_at=T0,
        callback_url="https://example.com/cb",
        oa_id="1397492183140006179",
        template_id="2056446",
        telco_id=2,
    )
    return dataclasses.replace(base, **changes)


def event(kind: models.EventKind, **changes: Any) -> models.StatusEvent:
    base = models.StatusEvent(id="ev_1", kind=kind, occurred_at=T0, message_id="m")
    return dataclasses.replace(base, **changes)
