"""The eSMS checks that need stored records, as pure functions over the records the caller loaded.

Each raises `errors.DialectError` with the eSMS code, or returns what the caller needs next. The front door
loads the account by ApiKey, the OA by OAID, and any live message with the same RequestId, then calls
`check_send`.
"""

from __future__ import annotations

import hmac
from decimal import Decimal

from dlrhub.core import errors, models, templates
from dlrhub.dialects.esms import codes, requests


def check_account(account: models.Account | None, api_key: str, secret_key: str) -> models.Account:
    """The account these credentials open: 101 when unknown or the secret differs, 143 when locked."""
    if account is None:
        raise codes.error(codes.Code.AUTHORIZE_FAILED)
    key_ok = hmac.compare_digest(account.esms_api_key.encode(), api_key.encode("utf-8", "replace"))
    secret_ok = hmac.compare_digest(account.esms_secret_key.encode(), secret_key.encode("utf-8", "replace"))
    if not (key_ok and secret_ok):
        raise codes.error(codes.Code.AUTHORIZE_FAILED)
    if account.status is not models.AccountStatus.ACTIVE:
        raise codes.error(codes.Code.ACCOUNT_LOCKED)
    return account


def check_oa(oa: models.OA | None, account: models.Account) -> models.OA:
    """The OA a send goes through: 799 when unknown, inactive, or another account's."""
    if oa is None or oa.account_id != account.id or not oa.active:
        raise codes.error(codes.Code.OA_INVALID)
    return oa


def check_pull_oa(oa: models.OA | None, account: models.Account) -> models.OA:
    """The OA a GetCallback filters on: 204 when unknown or another account's (DECISIONS › Wrong ApiKey)."""
    if oa is None or oa.account_id != account.id:
        raise codes.error(codes.Code.OA_UNKNOWN)
    return oa


def check_template(oa: models.OA, template_id: str) -> None:
    """789 when the template is not registered for this OA."""
    if template_id not in oa.template_ids:
        raise codes.error(codes.Code.TEMPLATE_NOT_CONFIGURED)


def check_template_data(request: requests.SendRequest, checker: templates.Checker) -> None:
    """110 when `TempData` (V4: `Params`, in template order) does not fit the template's stored parameters: one
    missing, unknown, too long or too short, or not of its type. A template without stored parameters is not
    checked (docs/reference/decisions.md › Template data)."""
    v4 = request.variant is requests.Variant.V4
    try:
        checker.check(request.template_data, "Params" if v4 else "TempData", positional=v4)
    except errors.InvalidInput as exc:
        raise codes.error(codes.Code.BAD_REQUEST_DATA, f"Invalid request: {exc}") from None


def check_sending_mode(oa: models.OA, sending_mode: str) -> None:
    """802 when the OA may not send over quota (SendingMode 3)."""
    if sending_mode == "3" and not oa.mode3_allowed:
        raise codes.error(codes.Code.MODE3_NOT_ALLOWED)


def price_of(account: models.Account, type_id: int, template_id: str | None = None) -> Decimal:
    """The unit price of one message of `type_id` with `template_id` (the template's own price first): 102 when
    the account has no price for it."""
    price = account.price_for(type_id, template_id)
    if price is None:
        raise codes.error(codes.Code.NO_PRICE_LIST)
    return price


def check_balance(account: models.Account, price: Decimal) -> None:
    """103 when the balance does not cover `price`."""
    if account.balance < price:
        raise codes.error(codes.Code.INSUFFICIENT_BALANCE)


def check_duplicate(existing_message_id: str | None) -> None:
    """124 ("Request exist 1") when a message with the same RequestId was accepted within 24 h."""
    if existing_message_id is not None:
        raise codes.error(codes.Code.DUPLICATE_REQUEST)


def check_send(
    request: requests.SendRequest,
    account: models.Account | None,
    oa: models.OA | None,
    duplicate_of: str | None,
    checker: templates.Checker = templates.NO_CHECK,
) -> Decimal:
    """Run every stored-record check of a send in eSMS's order; returns the price to charge (0 in sandbox).

    Sandbox requests are checked like real ones but neither priced against the balance nor deduplicated,
    since they are never stored.
    """
    account = check_account(account, request.api_key, request.secret_key)
    checked_oa = check_oa(oa, account)
    check_template(checked_oa, request.template_id)
    check_template_data(request, checker)
    check_sending_mode(checked_oa, request.sending_mode)
    if request.sandbox:
        return Decimal(0)
    price = price_of(account, request.type_id, request.template_id)
    check_balance(account, price)
    check_duplicate(duplicate_of)
    return price
