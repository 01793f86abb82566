"""The Zalo simulator's settings: its app, its OAs and their secrets, delays, lifetimes and bounds."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True, slots=True)
class SimOA:
    """An OA the simulator knows, with the app it is linked to (whose id signs its events)."""

    oa_id: str = "2222222222222222222"
    oa_secret: str = "dlrhub-sim-oa-secret"  # noqa: S105 (simulator default)
    app_id: str = "1111111111111111111"
    app_secret: str = "dlrhub-sim-app-secret"  # noqa: S105 (simulator default)
    access_token: str = ""
    refresh_token: str = ""


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
