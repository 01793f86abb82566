"""The Zalo simulator's settings: its app, its OAs with their secrets and templates, delays, lifetimes and bounds."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from decimal import Decimal

from dlrhub.core import templates
from dlrhub.dialects.zalo import templates as zalo_templates


def _template(template_id: str, name: str, *params: templates.Param) -> zalo_templates.Detail:
    info = {
        "timeout": 7_200_000,
        "previewUrl": f"https://simulator.invalid/znspreview/{template_id}",
        "templateQuality": "HIGH",
        "templateTag": "TRANSACTION",
    }
    return zalo_templates.Detail(template_id, name, templates.ENABLE, params, Decimal(200), info)


def _text(name: str, max_length: int = 30, *, require: bool = True) -> templates.Param:
    return templates.Param(name, templates.STRING, require, max_length, 0)


#: The templates every simulated OA has unless told otherwise: the ids and data the demo, the docs and the tests
#: send (`name` and an optional `order`; `customer_name` and `order_code`; a number and a date).
DEFAULT_TEMPLATES = (
    _template("100001", "Order confirmation", _text("name"), _text("order", require=False)),
    _template("100002", "Order shipped", _text("customer_name"), _text("order_code")),
    _template(
        "100003",
        "Payment reminder",
        _text("customer_name"),
        templates.Param("amount", templates.NUMBER, True, 20, 1),
        templates.Param("due_date", templates.DATE, True, 20, 10),
    ),
)


@dataclasses.dataclass(frozen=True, slots=True)
class SimOA:
    """An OA the simulator knows, with the app it is linked to (whose id signs its events)."""

    oa_id: str = "2222222222222222222"
    oa_secret: str = "dlrhub-sim-oa-secret"  # noqa: S105 (simulator default)
    app_id: str = "1111111111111111111"
    app_secret: str = "dlrhub-sim-app-secret"  # noqa: S105 (simulator default)
    access_token: str = ""
    refresh_token: str = ""
    #: Its ZNS templates, as `/template/all` and `/template/info/v2` answer them.
    templates: tuple[zalo_templates.Detail, ...] = DEFAULT_TEMPLATES


@dataclasses.dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """Everything about the simulator a test or `dlrhub serve` may choose."""

    #: The OAs known from the start. Without a directory, a token the simulator did not issue is the first's.
    oas: tuple[SimOA, ...] = (SimOA(),)
    #: Where receipts and journey events are posted; None posts nothing.
    webhook_url: str | None = None
    #: Seconds between a send and its receipt.
    receipt_delay: float = 0.2
    #: How long a `no_answer` send hangs at most (the client's timeout normally ends it first).
    hang_seconds: float = 30.0
    #: Seconds a journey token lives (Zalo: 7 days); at its end an unused token gets `event_journey_time_out`.
    journey_lifetime: float = 7 * 86400.0
    #: `expires_in` of the access tokens it issues (Zalo: 90000 s).
    token_ttl: int = 90_000
    daily_quota: int = 5000
    #: Messages, tokens and journeys remembered (oldest forgotten first); also the bound on pending posts.
    max_tracked: int = 100_000
    max_concurrent_posts: int = 16
    post_timeout: float = 5.0
    receipt_retries: int = 2
    retry_delay: float = 1.0
    #: Template id -> the Zalo error its `/template/info/v2` answers (to test a sync Zalo fails half way).
    template_errors: Mapping[str, int] = dataclasses.field(default_factory=dict)
