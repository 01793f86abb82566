"""The eSMS checks over stored records: each documented code, in order."""

from __future__ import annotations

from decimal import Decimal

import pytest

from dlrhub.core import errors, models
from dlrhub.dialects.esms import checks, requests
from tests.unit.esms import factories


def send(**changes):
    base = {
        "ApiKey": "KEY",
        "SecretKey": "SECRET",
        "OAID": "1397492183140006179",
        "Phone": "0901888484",
        "TempID": "2056446",
        "TempData": {"a": "1"},
    }
    base.update(changes)
    return requests.parse_send(base, requests.Variant.V6)


def code_of(request, account=None, oa=None, duplicate_of=None):
    account = factories.account() if account is None else account
    oa = factories.oa() if oa is None else oa
    with pytest.raises(errors.DialectError) as info:
        checks.check_send(request, account, oa, duplicate_of)
    return info.value.code, info.value.text


def test_all_good_returns_the_price():
    assert checks.check_send(send(), factories.account(), factories.oa(), None) == Decimal(220)


def test_unknown_account_or_wrong_secret_is_101():
    with pytest.raises(errors.DialectError) as info:
        checks.check_send(send(), None, factories.oa(), None)
    assert (info.value.code, info.value.text) == (101, "Authorize Failed")
    assert code_of(send(SecretKey="nope")) == (101, "Authorize Failed")
    assert code_of(send(ApiKey="KEY2")) == (101, "Authorize Failed")


def test_locked_account_is_143():
    assert code_of(send(), account=factories.account(status=models.AccountStatus.LOCKED))[0] == 143


@pytest.mark.parametrize("oa", [factories.oa(active=False), factories.oa(account_id="acc_other")])
def test_inactive_or_foreign_oa_is_799(oa):
    assert code_of(send(), oa=oa)[0] == 799


def test_missing_oa_is_799():
    with pytest.raises(errors.DialectError) as info:
        checks.check_send(send(), factories.account(), None, None)
    assert info.value.code == 799


def test_unconfigured_template_is_789():
    assert code_of(send(TempID="999")) == (789, "TemplateId is not config")


def test_mode3_not_allowed_is_802_and_allowed_passes():
    assert code_of(send(SendingMode="3"))[0] == 802
    assert checks.check_send(
        send(SendingMode="3"), factories.account(), factories.oa(mode3_allowed=True), None
    )


def test_no_price_is_102_and_low_balance_is_103():
    assert code_of(send(), account=factories.account(prices={}))[0] == 102
    assert code_of(send(), account=factories.account(balance=Decimal(219)))[0] == 103


def test_duplicate_request_is_124():
    assert code_of(send(RequestId="r1"), duplicate_of="m-old") == (124, "Request exist 1")


def test_sandbox_is_free_and_never_a_duplicate():
    request = send(Sandbox="1")
    account = factories.account(balance=Decimal(0), prices={})
    assert checks.check_send(request, account, factories.oa(), "m-old") == Decimal(0)


def test_auth_before_oa_checks():
    assert code_of(send(SecretKey="x"), oa=factories.oa(active=False))[0] == 101


def test_pull_oa_is_204():
    account = factories.account()
    with pytest.raises(errors.DialectError) as info:
        checks.check_pull_oa(None, account)
    assert info.value.code == 204
    with pytest.raises(errors.DialectError):
        checks.check_pull_oa(factories.oa(account_id="acc_other"), account)
    assert checks.check_pull_oa(factories.oa(), account).oa_id == "1397492183140006179"
