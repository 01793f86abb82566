"""The fair claim's turn over the accounts (`store/claims.py`): every account leads in turn, none is left out."""

from __future__ import annotations

from dlrhub.store import claims

ACCOUNTS = ["a", "b", "c", "d", "e"]


def scan(after: str, n: int) -> list[str]:
    return [a for a in ACCOUNTS if a > after][:n]


def claim(turns: claims.Turns, n: int) -> list[str]:
    first = scan(turns.after, n)
    wrapped = scan("", n - len(first)) if turns.wraps(first, n) else []
    return turns.take(n, first, wrapped)


def test_when_one_claim_sees_every_account_each_leads_in_turn():
    turns = claims.Turns()
    leaders = [claim(turns, 10)[0] for _ in range(6)]
    assert leaders == ["a", "b", "c", "d", "e", "a"]
    assert claim(turns, 10) == ["b", "c", "d", "e", "a"]


def test_when_there_are_more_accounts_than_a_claim_sees_the_next_carries_on():
    turns = claims.Turns()
    seen = [claim(turns, 2) for _ in range(3)]
    assert seen == [["a", "b"], ["c", "d"], ["e", "a"]]
    assert claim(turns, 2) == ["b", "c"]


def test_no_accounts_no_turn():
    turns = claims.Turns()
    assert turns.take(3, []) == [] and turns.after == ""


def test_a_claim_looks_at_no_more_accounts_than_callbacks_and_steps_past_the_excluded():
    assert claims.accounts(1) == 1 and claims.accounts(10_000) == claims.ACCOUNTS
    assert claims.steps(64, {"x", "y"}) == 64 + claims.IDLE_STEPS + 2
