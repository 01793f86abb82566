"""NXCloud use cases: authenticate a signed request, accept an `mt` send, issue and check journey tokens.

Every refusal is an `errors.DialectError` carrying an NXCloud code; the front door turns it into the answer body.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from decimal import Decimal

from dlrhub import store
from dlrhub.adapters import tracing
from dlrhub.adapters.zalo import client as zalo_client
from dlrhub.core import errors, ids, models, urls
from dlrhub.dialects import registry
from dlrhub.dialects.nxcloud import codes, requests, signing
from dlrhub.planning import accepts
from dlrhub.services import hub as hub_
from dlrhub.services import lookups, send

#: eSMS TypeIds, used by the shared message table: a normal ZNS, and a ZNS sent on a journey token.
TYPE_ZNS = 25
TYPE_JOURNEY_ZNS = 27


@dataclasses.dataclass(frozen=True, slots=True)
class Route:
    """An app checked for sending: active, quoted and routed to an active OA of the account."""

    app: models.App
    oa: models.OA


@dataclasses.dataclass(frozen=True, slots=True)
class Signed:
    """A request whose signature checks out, by an active account; its signature is yet to be taken (`take`)."""

    account: models.Account
    signature: accepts.Signature


async def authenticate(
    hub: hub_.Hub, headers: Mapping[str, str], raw_body: bytes, *, api: str
) -> models.Account:
    """The active account that signed this request to `api` (`mt`, `initJourneyToken`, `checkJourneyToken`).

    A request that passes takes its signature for good: a repeat of it, from any API process sharing the store, is a
    replay, whatever the first one's answer was (docs/reference/nxcloud.md › Replays). Raises
    `errors.DialectError`: 1001–1005 (see `signing.verify`), 1100 when the account is locked, 1003 for a replay.
    """
    signed = await verify(hub, headers, raw_body, api=api)
    await take(hub, signed.signature)
    return signed.account


async def take(hub: hub_.Hub, signature: accepts.Signature) -> None:
    """Take a checked request's signature for good. Raises `errors.DialectError` 1003 when it was taken before."""
    signatures: store.Signatures = hub.store
    if not await signatures.take_signature(signature.sign, signature.expires_at, hub.clock()):
        raise codes.error(codes.Code.INVALID_SIGNATURE)


async def verify(hub: hub_.Hub, headers: Mapping[str, str], raw_body: bytes, *, api: str) -> Signed:
    """`authenticate` but for taking the signature: the caller must `take` it, or have the send take it
    (`send_mt`), before it answers. Raises `errors.DialectError` 1001–1005 and 1100."""
    now = hub.clock()
    checked = signing.parse_headers(headers, int(now.timestamp() * 1000), api=api)
    key = checked.access_key
    account = await lookups.account_by_nx_key(hub, key)
    signing.check_sign(checked, raw_body, account.nx_access_secret if account else None)
    assert account is not None  # check_sign raised 1005 otherwise
    if account.status is not models.AccountStatus.ACTIVE:
        raise codes.error(codes.Code.CUSTOMER_UNAVAILABLE)
    until = dt.datetime.fromtimestamp((checked.ts_ms + signing.TAKEN_FOR_MS) / 1000, dt.UTC)
    return Signed(account, accepts.Signature(signing.replay_key(checked), until))


async def route(hub: hub_.Hub, account: models.Account, appkey: str) -> Route:
    """The account's app `appkey`, ready to send. Raises `errors.DialectError` 9003, 9004 or 9005."""
    app = await lookups.app(hub, appkey)
    if app is None or app.account_id != account.id or not app.active:
        raise codes.error(codes.Code.APP_UNAVAILABLE)
    if app.quotation is None or app.currency != account.currency:
        # A quotation in another currency than the balance cannot be debited without a rate we do not have.
        raise codes.error(codes.Code.APP_NO_QUOTATION)
    oa_id = app.oa_id
    oa = await lookups.oa(hub, oa_id) if app.routed and oa_id else None
    if oa is None or oa.account_id != account.id or not oa.active:
        raise codes.error(codes.Code.APP_NO_ROUTE)
    return Route(app, oa)


def _refuse(field: str, problem: str) -> errors.DialectError:
    err = codes.error(codes.Code.PARAMETER_ERROR)
    err.__cause__ = errors.InvalidInput(field, problem)
    return err


async def send_mt(
    hub: hub_.Hub, account: models.Account, raw_body: bytes, signature: accepts.Signature | None = None
) -> models.Message:
    """Accept one `mt` send: validate, route, price, store, and queue it for Zalo. Returns the stored message.

    A request `signature` not yet taken (`verify`) is taken with the send, in its batch's statement; a send refused
    before it is stored takes it on its own first, so a replay is answered 1003 whatever the first answer was, as
    after `authenticate`.

    Its DR URL is the request's `drWebhook`, else the app's DR URL, else the account's default callback URL, else
    none (the status stays visible in the native API). The price is the account's price for the template
    (`tpl:<id>`), else the app's quotation, in the app's currency, debited from the balance.
    Raises `errors.DialectError`: 9000, 9002 (body; `templateData` not fitting the template's stored parameters), 9003–9005 (app), 1102 (balance), 1003 (replay).
    """
    try:
        message, app, price = await _mt_message(hub, account, raw_body)
    except errors.DlrhubError:
        if signature is not None:
            await take(hub, signature)  # a replay is answered 1003 first
        raise
    try:
        result = await send.accept(hub, account, message, app=app, charge=price, signature=signature)
    except errors.InsufficientBalance:
        raise codes.error(codes.Code.INSUFFICIENT_BALANCE) from None
    except errors.Replayed:
        raise codes.error(codes.Code.INVALID_SIGNATURE) from None
    return result.message or message


async def _mt_message(
    hub: hub_.Hub, account: models.Account, raw_body: bytes
) -> tuple[models.Message, models.App, Decimal]:
    """The message of an `mt` send, its app and its price; raises what `send_mt` does before storing."""
    req = requests.parse_mt(raw_body)
    target = await route(hub, account, req.appkey)
    app = target.app
    if req.dr_webhook is not None:
        try:
            # A URL that can never be delivered is refused now; a name's addresses are checked when it is sent.
            urls.check_target(req.dr_webhook, hub.allow())
        except errors.BlockedURL as exc:
            raise _refuse("drWebhook", str(exc)) from None
    checker = await lookups.template_checker(hub, target.oa.oa_id, req.template_id)
    try:
        checker.check(req.template_data, "messageData.templateData")
    except errors.InvalidInput as exc:
        # NXCloud's table has no template code: its invalid-parameter code (docs/reference/decisions.md).
        raise _refuse(exc.field, exc.problem) from exc
    journey_id = None
    if req.journey_token is not None:
        journeys: store.Journeys = hub.store
        journey = await journeys.get_journey_by_token(req.journey_token)
        if journey is None or journey.account_id != account.id or journey.oa_id != target.oa.oa_id:
            raise _refuse("messageData.journeyToken", "not a journey token of this app's OA")
        journey_id = journey.journey_id
    now = hub.clock()
    assert app.quotation is not None  # route() refused 9004 otherwise
    # A template priced on the account's price list costs that; any other costs the app's quotation.
    price = account.prices.get(models.TEMPLATE_PRICE + req.template_id, app.quotation)
    message = models.Message(
        id=registry.new_message_id(models.Dialect.NXCLOUD, now),
        account_id=account.id,
        dialect=models.Dialect.NXCLOUD,
        type_id=TYPE_JOURNEY_ZNS if journey_id else TYPE_ZNS,
        recipient=req.phone,
        state=models.MessageState.ACCEPTED,
        seq=0,
        created_at=now,
        updated_at=now,
        callback_url=req.dr_webhook or app.dr_url or account.default_callback_url or None,
        oa_id=target.oa.oa_id,
        template_id=req.template_id,
        template_data=req.template_data,
        appkey=app.appkey,
        ext=req.ext,
        price=price,
        currency=app.currency,
        journey_id=journey_id,
        traceparent=tracing.inject(),
    )
    return message, app, price


def _token_days(token_type: str) -> int:
    return 30 if token_type.endswith("_30") else 7


async def init_journey_token(
    hub: hub_.Hub, zalo: zalo_client.ZaloClient, account: models.Account, raw_body: bytes
) -> models.Journey:
    """Ask Zalo for a journey token for a phone, through the app's OA, and keep it.

    Raises `errors.DialectError`: 9000, 9002 (body), 9003–9005 (app), -1 when Zalo refuses or does not answer.
    """
    req = requests.parse_init_journey_token(raw_body)
    target = await route(hub, account, req.appkey)
    answer = await zalo.get_journey_token(target.oa.access_token, req.phone, req.token_type)
    if answer.value is None:
        raise codes.error(codes.Code.FAILURE)
    now = hub.clock()
    journey = models.Journey(
        journey_id=answer.value.journey_id or ids.token(9),
        account_id=account.id,
        appkey=target.app.appkey,
        oa_id=target.oa.oa_id,
        token=answer.value.token,
        token_type=req.token_type,
        phone=req.phone,
        state=models.JourneyState.ISSUED,
        created_at=now,
        expires_at=now + dt.timedelta(days=_token_days(req.token_type)),
        app_id=target.oa.app_id,
    )
    journeys: store.Journeys = hub.store
    await journeys.put_journey(journey)
    return journey


@dataclasses.dataclass(frozen=True, slots=True)
class TokenCheck:
    """What `checkJourneyToken` answers."""

    created_at: dt.datetime
    expired_at: dt.datetime
    app_id: str
    token_type: str
    oa_id: str


async def check_journey_token(
    hub: hub_.Hub, zalo: zalo_client.ZaloClient, account: models.Account, raw_body: bytes
) -> TokenCheck:
    """What Zalo says about a journey token this account's app was issued.

    Raises `errors.DialectError`: 9000 (body), 9003–9005 (app), -1 when the token is not this app's, or Zalo
    refuses or does not answer.
    """
    req = requests.parse_check_journey_token(raw_body)
    target = await route(hub, account, req.appkey)
    journeys: store.Journeys = hub.store
    journey = await journeys.get_journey_by_token(req.journey_token)
    if journey is None or journey.account_id != account.id or journey.oa_id != target.oa.oa_id:
        raise codes.error(codes.Code.FAILURE)
    answer = await zalo.check_journey_token(target.oa.access_token, req.journey_token)
    if answer.value is None:
        raise codes.error(codes.Code.FAILURE)
    info = answer.value
    return TokenCheck(
        created_at=info.created_at,
        expired_at=info.expired_at,
        app_id=info.app_id or journey.app_id or target.oa.app_id,
        token_type=journey.token_type,
        oa_id=journey.oa_id,
    )
