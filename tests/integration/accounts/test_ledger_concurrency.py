"""The balance is the ledger's sum under concurrent eSMS and NXCloud sends and top-ups, on both backends."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from dlrhub import store
from tests import customers

OPENING = Decimal("20000")
TOP_UP = Decimal("1500")


@pytest.fixture
def customer_account() -> dict[str, Any]:
    # Less than the sends cost: some are refused for the balance while top-ups arrive.
    return {"balance": OPENING}


async def _esms(customer: customers.Customer, i: int) -> str | None:
    body = customer.zns(
        Phone=f"09018{i:05d}", CallbackUrl="https://customer.example/esms", TempData={"n": "A"}
    )
    answer = (await customer.post("/MainService.svc/json/SendZaloMessage_V6/", body)).json()
    assert answer["CodeResult"] in {"100", "103"}, answer  # accepted, or the balance was short
    return answer.get("SMSID") if answer["CodeResult"] == "100" else None


async def _mt(customer: customers.Customer, i: int) -> str | None:
    data = {"templateId": "100001", "templateData": {"name": "An"}}
    body = {"phone": f"8490{i:07d}", "functionType": "template", "messageData": data}
    answer = await customer.signed("/v1/zalo/mt", body, action="mt")
    assert answer["code"] in {0, 1102}, answer  # accepted, or the balance was short
    return str(answer["data"]["requestId"]) if answer["code"] == 0 else None


async def _top_up(customer: customers.Customer, account_id: str, i: int) -> None:
    answer = await customer.http.post(
        f"/v1/admin/accounts/{account_id}/ledger",
        json={"kind": "top_up", "amount": str(TOP_UP), "reason": f"payment {i}"},
        headers={"Authorization": f"Bearer {customer.admin_token}"},
    )
    assert answer.status_code == 201, answer.text


async def test_balance_is_the_ledger_sum_under_concurrent_sends_and_top_ups(customer: customers.Customer):
    account_id = customer.credentials["id"]
    work: list[Any] = []
    for i in range(60):
        work.append(_esms(customer, i))
        work.append(_mt(customer, i))
        if i % 6 == 0:
            work.append(_top_up(customer, account_id, i))
    results = await asyncio.gather(*work)
    sent = [r for r in results if isinstance(r, str)]
    assert 0 < len(sent) < 120  # some accepted, some refused for the balance: the boundary was crossed

    db: store.Store = customer.hub.store
    account = await db.get_account(account_id)
    messages = await db.get_messages(account_id, sent)
    assert len(messages) == len(sent)
    charged = sum((m.price for m in messages), Decimal(0))
    assert account.balance == await db.ledger_total(account_id)
    assert account.balance == OPENING + 10 * TOP_UP - charged
    rows = await db.list_ledger(account_id, limit=500)
    charges = [r for r in rows if r.kind.value == "charge"]
    assert sum(r.message_count for r in charges) == len(sent)
    assert -sum((r.amount for r in charges), Decimal(0)) == charged
    assert len(charges) < len(sent)  # one row per account per group commit, not one per message
    assert [r.kind.value for r in rows].count("top_up") == 10
    assert rows[-1].kind.value == "opening" and rows[-1].amount == OPENING
