"""The breaker's gate on a host's lane: each waiting callback judged by its own account's endpoint (health key)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time

from dlrhub.core import breaker, models, urls
from dlrhub.workers import endpoint_health, gate, lanes

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
HOST = "http://h:80"
A = urls.health_key("acc_a", "http://h/dr")
B = urls.health_key("acc_b", "http://h/dr")


def waiting(i: int, key: str, claimed: float | None = None) -> lanes.Waiting:
    account, _ = urls.split_health_key(key)
    cb = models.Callback(
        id=f"{account}-{i}",
        event_id=f"ev{i}",
        account_id=account,
        dialect=models.Dialect.NATIVE,
        order_key=f"m{i}",
        seq=1,
        request=models.CallbackRequest("POST", "http://h/dr", b"{}", "application/json"),
        state=models.CallbackState.PENDING,
        due_at=NOW,
        attempts=0,
        created_at=NOW,
        endpoint=HOST,
        health_key=key,
    )
    return lanes.Waiting(cb, (), claimed=time.monotonic() if claimed is None else claimed)


def lane(*items: lanes.Waiting, slots: int = 4) -> lanes.Lanes:
    found = lanes.Lanes(slots)
    for item in items:
        found.push(item)
    return found


def health(**states: models.Endpoint) -> dict[str, models.Endpoint]:
    return {A: states.get("a", breaker.fresh(A, NOW)), B: states.get("b", breaker.fresh(B, NOW))}


def opened(held: lanes.Lanes, known: dict[str, models.Endpoint]) -> gate.Opened:
    return gate.open_lane(held, HOST, known.__getitem__, NOW, fresh_s=60.0)


def ids(items: list[lanes.Waiting]) -> list[str]:
    return [w.callback.id for w in items]


def test_a_disabled_endpoint_cancels_its_own_callbacks_and_the_others_start():
    held = lane(waiting(0, A), waiting(0, B), waiting(1, A), waiting(1, B))
    out = opened(held, health(a=breaker.disable(breaker.fresh(A, NOW), NOW)))
    assert out.cancel == ["acc_a-0", "acc_a-1"]
    assert ids(out.start) == ["acc_b-0", "acc_b-1"] and out.release == []
    assert held.load[HOST] == 2 and held.waiting(HOST) == 0


def test_a_paused_endpoint_gives_back_its_own_callbacks_until_its_pause_ends():
    until = NOW + dt.timedelta(minutes=5)
    paused = models.Endpoint(A, models.EndpointState.PAUSED, 20, NOW, until, NOW)
    held = lane(waiting(0, A), waiting(1, A), waiting(0, B))
    out = opened(held, health(a=paused))
    assert out.release == [("acc_a-0", until), ("acc_a-1", until)]
    assert ids(out.start) == ["acc_b-0"] and out.cancel == []


def test_a_recovering_endpoint_gets_one_probe_while_the_others_flow():
    over = models.Endpoint(A, models.EndpointState.PAUSED, 20, NOW, NOW - dt.timedelta(seconds=1), NOW)
    held = lane(waiting(0, A), waiting(1, A), waiting(0, B), waiting(1, B))
    out = opened(held, health(a=over))
    assert ids(out.start) == ["acc_a-0", "acc_b-0", "acc_b-1"]
    assert held.probing == {A} and ids(held.take_all(HOST)) == ["acc_a-1"]  # waits for the probe's answer


def test_the_host_cap_is_shared_and_a_stale_claim_is_given_back():
    held = lane(
        waiting(0, A, claimed=time.monotonic() - 120), waiting(0, B), waiting(1, B), waiting(1, A), slots=2
    )
    out = opened(held, health())
    assert out.release == [("acc_a-0", NOW)]
    assert ids(out.start) == ["acc_b-0", "acc_b-1"] and held.waiting(HOST) == 1


def test_a_lane_takes_one_keys_callbacks_and_pops_past_held_keys():
    held = lane(waiting(0, A), waiting(0, B), waiting(1, A))
    first = held.pop(HOST, {A})
    assert first is not None and first.callback.id == "acc_b-0"
    assert held.pop(HOST, {A}) is None
    assert ids(held.take_all(HOST, A)) == ["acc_a-0", "acc_a-1"] and held.waiting(HOST) == 0


def test_a_callback_stored_without_a_key_is_judged_as_its_accounts_endpoint():
    bare = waiting(0, A).callback
    old = dataclasses.replace(bare, health_key="")
    assert endpoint_health.keyed(old).health_key == urls.health_key("acc_a", "http://h/dr") == A
    assert endpoint_health.keyed(bare) is bare


def test_a_budget_starts_at_most_that_many_in_order_and_the_rest_keep_waiting_slotless():
    held = lane(waiting(0, A), waiting(1, A), waiting(2, B), slots=4)
    out = gate.open_lane(held, HOST, health().__getitem__, NOW, fresh_s=60.0, budget=1)
    assert ids(out.start) == ["acc_a-0"] and held.load[HOST] == 1
    assert held.waiting(HOST) == 2 and held.free(HOST)
    assert gate.open_lane(held, HOST, health().__getitem__, NOW, fresh_s=60.0, budget=0).start == []
    out = gate.open_lane(held, HOST, health().__getitem__, NOW, fresh_s=60.0, budget=5)
    assert ids(out.start) == ["acc_a-1", "acc_b-2"]


def test_a_budget_still_gives_back_a_callback_held_past_its_lease():
    held = lane(waiting(0, A, claimed=time.monotonic() - 120), waiting(1, A), slots=4)
    out = gate.open_lane(held, HOST, health().__getitem__, NOW, fresh_s=60.0, budget=1)
    assert out.release == [("acc_a-0", NOW)] and ids(out.start) == ["acc_a-1"]
