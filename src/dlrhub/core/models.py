"""The domain nouns of dlrhub: frozen dataclasses and closed enums, with no I/O."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from decimal import Decimal
from typing import Any

JSON = dict[str, Any]


class Dialect(enum.StrEnum):
    """The wire dialect a message was accepted in, and in which its callbacks are rendered."""

    #: eSMS.vn: JSON send APIs, GET callbacks, GetCallback pull.
    ESMS = "esms"
    #: NXCloud: signed `mt` API, JSON DR webhooks.
    NXCLOUD = "nxcloud"
    #: dlrhub's own `/v1` API: Standard Webhooks JSON envelopes.
    NATIVE = "native"


class AccountStatus(enum.StrEnum):
    """Whether an account may send."""

    #: The account may send and pull.
    ACTIVE = "active"
    #: Sends are refused (eSMS 143, NXCloud 1100); unlocking makes it active again.
    LOCKED = "locked"
    #: For good: refused as when locked, its keys open nothing, and nothing about it changes any more (its rows
    #: are kept).
    DEACTIVATED = "deactivated"


class MessageState(enum.StrEnum):
    """Where a message stands. See `states` for the allowed moves."""

    #: Accepted at a front door, not yet answered by Zalo (or the engine).
    ACCEPTED = "accepted"
    #: Zalo accepted the send (`error: 0`).
    SUCCESS = "success"
    #: Zalo refused it, timed out, or dlrhub refused it after acceptance.
    FAILED = "failed"
    #: Zalo reported that the message reached the user's phone.
    DELIVERED = "delivered"


class EventKind(enum.StrEnum):
    """What a StatusEvent reports."""

    #: The message was accepted at a front door.
    ACCEPTED = "accepted"
    #: The send succeeded.
    SUCCESS = "success"
    #: The send failed.
    FAILED = "failed"
    #: The message reached the phone.
    DELIVERED = "delivered"
    #: The journey's first message reached the user; billing starts.
    JOURNEY_ACKNOWLEDGED = "journey_acknowledged"
    #: The journey token expired unused.
    JOURNEY_TIME_OUT = "journey_time_out"


class JourneyState(enum.StrEnum):
    """Where a Zalo journey token stands."""

    #: The token was issued and has not been used or expired.
    ISSUED = "issued"
    #: Its first message reached the user.
    ACKNOWLEDGED = "acknowledged"
    #: It expired unused.
    TIMED_OUT = "timed_out"


class CallbackState(enum.StrEnum):
    """Where a callback stands."""

    #: Waiting to be sent, or to be retried.
    PENDING = "pending"
    #: A 2xx answer was received.
    SUCCEEDED = "succeeded"
    #: The retry policy gave up.
    FAILED = "failed"
    #: An operator or a disabled endpoint stopped it.
    CANCELLED = "cancelled"


class AttemptOutcome(enum.StrEnum):
    """The class of one HTTP try."""

    #: A 2xx answer.
    OK = "ok"
    #: No answer within the timeout.
    TIMEOUT = "timeout"
    #: The connection failed or was closed.
    CONNECT = "connect"
    #: The name did not resolve.
    DNS = "dns"
    #: An answer other than 2xx.
    HTTP_STATUS = "http_status"
    #: The URL guard refused the destination.
    BLOCKED_URL = "blocked_url"


class EndpointState(enum.StrEnum):
    """The health of one account's callback endpoint (`urls.health_key`: the account, origin and path)."""

    #: Requests flow.
    HEALTHY = "healthy"
    #: The circuit breaker is open; requests wait until `paused_until`.
    PAUSED = "paused"
    #: Failing too long, or answered 410: callbacks are cancelled.
    DISABLED = "disabled"


@dataclasses.dataclass(frozen=True, slots=True)
class Account:
    """A customer of the platform, with its credentials in each dialect."""

    id: str
    name: str
    status: AccountStatus
    esms_api_key: str
    esms_secret_key: str
    nx_access_key: str
    nx_access_secret: str
    balance: Decimal
    currency: str
    #: TypeId (as a string), or `tpl:` and a template id -> unit price, in `currency` (see `price_for`).
    prices: dict[str, Decimal]
    #: Offset from UTC in minutes of the NXCloud `sendTime` (default UTC+08:00); eSMS times are always Vietnam time.
    utc_offset_minutes: int
    #: Standard Webhooks secrets (`whsec_...`); empty means callbacks are not signed.
    signing_secrets: tuple[str, ...]
    created_at: dt.datetime
    #: Whether eSMS messages get a second GET callback when Zalo reports them delivered (off by default: a
    #: receiver written against the samples would see one SMSID twice, and form C `error_info`).
    esms_delivered_callback: bool = False
    #: Where callbacks go when a send names no callback URL (eSMS `CallbackUrl`, NXCloud `drWebhook` and the app's
    #: DR URL, the native `callback_url`); None: such sends get no callback.
    default_callback_url: str | None = None
    #: Where dlrhub tells the customer that one of its callback endpoints was disabled (`alert.destination.disabled`,
    #: signed with `signing_secrets`); None: it is not told.
    notify_url: str | None = None

    def price_for(self, type_id: int, template_id: str | None) -> Decimal | None:
        """The unit price of one message: its template's (`tpl:<id>`), else its TypeId's; None when neither."""
        if template_id is not None:
            price = self.prices.get(TEMPLATE_PRICE + template_id)
            if price is not None:
                return price
        return self.prices.get(str(type_id))


#: The price-list key prefix of a template's own price.
TEMPLATE_PRICE = "tpl:"


@dataclasses.dataclass(frozen=True, slots=True)
class App:
    """An NXCloud-style application of an account."""

    appkey: str
    account_id: str
    name: str
    active: bool
    #: Default DR URL; a request's `drWebhook` overrides it.
    dr_url: str | None
    #: Unit price of one ZNS, or None when the app has no quotation (9004).
    quotation: Decimal | None
    currency: str
    #: Whether the app has a route to Zalo (9005 when not).
    routed: bool
    #: The Zalo OA this app sends through.
    oa_id: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class OA:
    """A Zalo Official Account, with its tokens and templates."""

    oa_id: str
    account_id: str
    app_id: str
    app_secret: str
    oa_secret: str
    access_token: str
    refresh_token: str
    token_expires_at: dt.datetime
    template_ids: tuple[str, ...]
    daily_quota: int
    active: bool
    #: Whether the OA may send with `SendingMode` 3 (over quota).
    mode3_allowed: bool
    #: When the refresh token dies (Zalo: about 3 months after the grant that issued it); None when unknown.
    refresh_expires_at: dt.datetime | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Message:
    """One send to one recipient."""

    id: str
    account_id: str
    dialect: Dialect
    type_id: int
    recipient: str
    state: MessageState
    #: The sequence number of the last event applied.
    seq: int
    created_at: dt.datetime
    updated_at: dt.datetime
    callback_url: str | None = None
    request_id: str | None = None
    oa_id: str | None = None
    template_id: str | None = None
    template_data: JSON | None = None
    appkey: str | None = None
    ext: str | None = None
    price: Decimal = Decimal(0)
    currency: str = "VND"
    telco_id: int | None = None
    #: How `recipient` identifies the user: phone, hash_phone, zalo_uid or user_id.
    recipient_kind: str = "phone"
    journey_id: str | None = None
    zalo_msg_id: str | None = None
    tracking_id: str | None = None
    sandbox: bool = False
    send_at: dt.datetime | None = None
    sending_mode: str = "1"
    code: int | None = None
    text: str | None = None
    #: Zalo's raw answer (or the engine's payload) of the latest event.
    zalo_res: JSON | None = None
    sent_at: dt.datetime | None = None
    #: The customer's campaign label (eSMS `campaignid`, at most 254 characters).
    campaign_id: str | None = None
    #: The W3C traceparent of the span that accepted the send (tracing on), so the trace crosses the outbox.
    traceparent: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Journey:
    """A Zalo journey token."""

    journey_id: str
    account_id: str
    appkey: str | None
    oa_id: str
    token: str
    token_type: str
    phone: str
    state: JourneyState
    created_at: dt.datetime
    expires_at: dt.datetime
    acknowledged_message_id: str | None = None
    #: Zalo's app id (the OA's; not the NXCloud `appkey`), which NXCloud journey DRs carry as `appId`.
    app_id: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class StatusEvent:
    """An immutable fact about a message or a journey."""

    #: The idempotency key: an event seen twice changes nothing.
    id: str
    kind: EventKind
    occurred_at: dt.datetime
    message_id: str | None = None
    journey_id: str | None = None
    code: int | None = None
    text: str | None = None
    zalo_res: JSON | None = None
    #: The upstream payload as received, for audit.
    raw: JSON | None = None
    #: Set by the store: the message's sequence number for this event.
    seq: int = 0
    #: Set by the store: False when the event did not move the state.
    applied: bool = True


@dataclasses.dataclass(frozen=True, slots=True)
class CallbackRequest:
    """One HTTP request a dialect renders for an event; the sender adds signing headers."""

    method: str
    url: str
    body: bytes = b""
    content_type: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Callback:
    """One StatusEvent rendered in one dialect for one URL."""

    #: Stable across retries: receivers drop duplicates by it.
    id: str
    event_id: str
    account_id: str
    dialect: Dialect
    #: Callbacks that share an order key go out in `seq` order (a message or a journey id).
    order_key: str
    seq: int
    request: CallbackRequest
    state: CallbackState
    due_at: dt.datetime
    attempts: int
    created_at: dt.datetime
    message_id: str | None = None
    #: `scheme://host:port` of the URL (`urls.endpoint_key`): the destination, whose connections are capped.
    endpoint: str = ""
    #: `account_id:scheme://host:port/path` (`urls.health_key`): the unit of endpoint health (pause, disable).
    health_key: str = ""
    last_outcome: AttemptOutcome | None = None
    last_status: int | None = None
    #: `attempts` when the callback was last replayed: the retry schedule counts attempts from here.
    retry_from: int = 0
    #: The W3C traceparent its attempts' spans continue (its message's, when tracing was on), or None.
    traceparent: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Attempt:
    """One HTTP try of a callback; never changed afterwards."""

    callback_id: str
    number: int
    started_at: dt.datetime
    duration_ms: float
    outcome: AttemptOutcome
    status_code: int | None = None
    #: The first 1 KB of the answer's body.
    response: str = ""
    error: str = ""
    #: The answer's `Retry-After`, read as seconds from `started_at` (None when absent or unreadable).
    retry_after_s: float | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Endpoint:
    """The health of one account's callback endpoint."""

    #: Its `urls.health_key`: `account_id:scheme://host:port/path`.
    endpoint: str
    state: EndpointState
    consecutive_failures: int
    failing_since: dt.datetime | None
    paused_until: dt.datetime | None
    updated_at: dt.datetime
