"""`claims.rounds`: which of a fair claim's candidates it takes, in what order (SQLite orders them in Python)."""

from __future__ import annotations

from dlrhub.store import claims


def candidate(key: int, destination: str, pos: int, due: float) -> tuple[int, str, int, float, str]:
    return (key, destination, pos, due, f"cb{key}")


def test_accounts_take_turns_in_due_order_each():
    found = [
        candidate(1, "a", 0, 3.0),
        candidate(2, "a", 0, 1.0),
        candidate(3, "b", 0, 2.0),
        candidate(4, "c", 1, 9.0),
        candidate(5, "c", 1, 8.0),
    ]
    assert claims.rounds(found, quota=64, limit=10) == [2, 5, 3, 4, 1]


def test_a_destination_gets_no_more_than_its_quota_across_accounts():
    found = [candidate(k, "shared", k % 2, float(k)) for k in range(10)]
    assert claims.rounds(found, quota=3, limit=10) == [0, 1, 2]


def test_the_limit_cuts_the_later_turns():
    found = [candidate(k, f"d{k}", k % 3, float(k)) for k in range(9)]
    assert claims.rounds(found, quota=64, limit=4) == [0, 1, 2, 3]
    assert claims.rounds(found, quota=64, limit=0) == []


def test_equal_due_times_go_by_id():
    found = [candidate(1, "a", 0, 1.0), candidate(2, "b", 0, 1.0)]
    found[0] = (1, "a", 0, 1.0, "cb_z")
    found[1] = (2, "b", 0, 1.0, "cb_a")
    assert claims.rounds(found, quota=64, limit=1) == [2]
