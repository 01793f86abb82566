"""The eSMS use cases: accept a ZNS send, answer GetCallback and the status APIs.

Each takes the raw request (bytes or query parameters) and returns the answer body, or raises
`errors.DialectError` with the eSMS code. The HTTP layer only maps those onto the wire. GetCallback and the status
APIs (`StatusApi`) come in two steps, authenticate then answer, so that the door counts an authenticated account's
request against its rate limit in between.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from dlrhub import store
from dlrhub.adapters import tracing
from dlrhub.core import errors, models, urls
from dlrhub.dialects import registry
from dlrhub.dialects.esms import checks, codes, pull, queries, requests
from dlrhub.services import hub as hub_
from dlrhub.services import lookups
from dlrhub.services import send as send_


async def _account(hub: hub_.Hub, api_key: str, secret_key: str) -> models.Account:
    account = await lookups.account_by_esms_key(hub, api_key, fresh=True)
    return checks.check_account(account, api_key, secret_key)


async def authenticate_get_callback(
    hub: hub_.Hub, raw: object
) -> tuple[queries.CallbackQuery, models.Account]:
    """A GetCallback request and the account it authenticates; raises 110 (malformed), 101 or 143."""
    query = queries.parse_get_callback(raw)
    account = await lookups.account_by_esms_key(hub, query.api_key)
    return query, checks.check_account(account, query.api_key, query.secret_key)


async def send(hub: hub_.Hub, raw: object, variant: requests.Variant) -> str:
    """Accept one ZNS send of `variant`; returns its SMSID.

    A sandbox request is checked like a real one, then answered with an SMSID that is neither stored, charged
    nor sent. Raises `errors.DialectError` with the eSMS code (124 for a RequestId seen within 24 h, whose
    original message is left untouched).
    """
    request = requests.parse_send(raw, variant)
    if request.callback_url is not None:
        # A URL that can never be delivered is refused now; a name's addresses are checked when it is sent.
        try:
            urls.check_target(request.callback_url, hub.allow())
        except errors.BlockedURL as exc:
            raise codes.error(codes.Code.BAD_REQUEST_DATA, f"Invalid request: CallbackUrl: {exc}") from None
    account = await lookups.account_by_esms_key(hub, request.api_key)
    oa = await lookups.oa(hub, request.oa_id)
    checker = await lookups.template_checker(hub, request.oa_id, request.template_id)
    try:
        price = checks.check_send(request, account, oa, None, checker)
    except errors.DialectError as exc:
        if exc.code != codes.Code.INSUFFICIENT_BALANCE:
            raise
        # The looked-up balance may predate a top-up: refuse only on a fresh one (the store checks it again).
        account = await lookups.account_by_esms_key(hub, request.api_key, fresh=True)
        price = checks.check_send(request, account, oa, None, checker)
    assert account is not None  # check_send refuses a missing account
    now = hub.clock()
    sms_id = registry.new_message_id(models.Dialect.ESMS, now)
    if request.sandbox:
        return sms_id
    message = models.Message(
        id=sms_id,
        account_id=account.id,
        dialect=models.Dialect.ESMS,
        type_id=request.type_id,
        recipient=request.recipient,
        recipient_kind=request.recipient_kind.value,
        state=models.MessageState.ACCEPTED,
        seq=0,
        created_at=now,
        updated_at=now,
        # No CallbackUrl: the account's default one, if any (checked by the URL guard when it was set).
        callback_url=request.callback_url or account.default_callback_url,
        request_id=request.request_id,
        oa_id=request.oa_id,
        template_id=request.template_id,
        # V4 `Params` are positional: with the template's parameters known, Zalo gets them by name.
        template_data=checker.named(request.template_data)
        if request.variant is requests.Variant.V4
        else dict(request.template_data),
        price=price,
        currency=account.currency,
        telco_id=request.telco_id,
        journey_id=request.order_id,
        send_at=request.send_at,
        sending_mode=request.sending_mode,
        campaign_id=request.campaign_id,
        traceparent=tracing.inject(),
    )
    try:
        await send_.accept(hub, account, message, charge=price)
    except errors.DuplicateRequest:
        raise codes.error(codes.Code.DUPLICATE_REQUEST) from None
    except errors.InsufficientBalance:
        raise codes.error(codes.Code.INSUFFICIENT_BALANCE) from None
    return sms_id


async def get_callback(
    hub: hub_.Hub, query: queries.CallbackQuery, account: models.Account
) -> list[dict[str, Any]]:
    """The GetCallback records of `query` for an authenticated account: the first 200 ids, in order, only
    messages sent with a CallbackUrl, only the OA asked for. Raises 204 for an OAId not on the account."""
    if query.oa_id is not None:
        checks.check_pull_oa(await lookups.oa(hub, query.oa_id), account)
    db: store.Messages = hub.store
    messages = await db.get_message_statuses(account.id, list(query.sms_ids))
    return [
        pull.callback_record(message)
        for message in messages
        if message.callback_url and (query.oa_id is None or message.oa_id == query.oa_id)
    ]


async def _message(hub: hub_.Hub, account: models.Account, message_id: str) -> models.Message:
    db: store.Messages = hub.store
    found = await db.get_messages(account.id, [message_id])
    if not found:
        raise codes.error(codes.Code.MESSAGE_NOT_FOUND)
    return found[0]


async def _send_status(hub: hub_.Hub, query: queries.StatusQuery, account: models.Account) -> dict[str, Any]:
    return pull.send_status(await _message(hub, account, query.message_id))


async def _zns_status(hub: hub_.Hub, query: queries.StatusQuery, account: models.Account) -> dict[str, Any]:
    return pull.zns_status(await _message(hub, account, query.message_id))


async def _zalo_message_status(
    hub: hub_.Hub, query: queries.StatusQuery, account: models.Account
) -> dict[str, Any]:
    accounts: store.Accounts = hub.store
    messages: store.Messages = hub.store
    checks.check_pull_oa(await accounts.get_oa(query.oa_id or ""), account)
    message = await messages.find_message_by_zalo_msg_id_for_account(account.id, query.message_id)
    if message is None or message.oa_id != query.oa_id:
        raise codes.error(codes.Code.NO_DATA)
    return pull.zalo_message_status(message)


async def _balance(hub: hub_.Hub, query: queries.BalanceQuery, account: models.Account) -> dict[str, Any]:
    return pull.balance(account)


_Query = TypeVar("_Query", queries.StatusQuery, queries.BalanceQuery)


@dataclasses.dataclass(frozen=True)
class StatusApi(Generic[_Query]):
    """A status API's use case in two steps, so that a door can count the request against the account (its rate
    limit) between them: `authenticate`, then `answer`."""

    #: The request's input (a JSON body, or query parameters) as a query; raises the API's own codes.
    parse: Callable[[Any], _Query]
    #: The answer body for the query of an authenticated account; raises the API's own codes.
    answer: Callable[[hub_.Hub, _Query, models.Account], Awaitable[dict[str, Any]]]

    async def authenticate(self, hub: hub_.Hub, raw: object) -> tuple[_Query, models.Account]:
        """The request's query and the account it authenticates (read afresh); raises 110 or the API's code
        for a malformed request, 101 or 143."""
        query = self.parse(raw)
        return query, await _account(hub, query.api_key, query.secret_key)


#: GetSendStatus (`RefId` in the query parameters): 105 when the account has no such message.
SEND_STATUS = StatusApi(queries.parse_send_status, _send_status)
#: QueryZnsStatus (`SmsId`): 105 when the account has no such message.
ZNS_STATUS = StatusApi(queries.parse_zns_status, _zns_status)
#: GetZaloMessageStatus (Zalo's `MessageId` and the `OAID`): 854 when the account sent no such message.
ZALO_MESSAGE_STATUS = StatusApi(queries.parse_zalo_message_status, _zalo_message_status)
#: GetBalance: the account's balance.
BALANCE = StatusApi(queries.parse_balance, _balance)
