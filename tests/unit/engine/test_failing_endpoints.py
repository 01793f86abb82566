"""`dlrhub_endpoint_failing`: the top N failing (account, endpoint) pairs, dropped when the destination recovers."""

from __future__ import annotations

import datetime as dt

from dlrhub.adapters import metrics
from dlrhub.core import models, urls

NOW = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
E = models.EndpointState


def health(endpoint: str, failures: int, state: E = E.HEALTHY, at: dt.datetime = NOW) -> models.Endpoint:
    return models.Endpoint(endpoint, state, failures, at if failures else None, None, at)


def exported(meter: metrics.Metrics) -> dict[tuple[str, str, str], float]:
    [family] = [f for f in meter.registry.collect() if f.name == "dlrhub_endpoint_failing"]
    return {
        (s.labels["account_id"], s.labels["endpoint"], s.labels["state"]): s.value for s in family.samples
    }


def test_only_the_top_n_are_exported_most_failures_first():
    meter = metrics.Metrics(top_endpoints=3)
    for i in range(10):
        meter.failing.record(f"acct{i}", health(f"http://h{i}:80", i + 1))
    assert exported(meter) == {
        ("acct9", "http://h9:80", "healthy"): 10,
        ("acct8", "http://h8:80", "healthy"): 9,
        ("acct7", "http://h7:80", "healthy"): 8,
    }


def test_a_success_or_a_reset_drops_the_destination_for_every_account():
    meter = metrics.Metrics()
    meter.failing.record("a", health("http://x:80", 3))
    meter.failing.record("b", health("http://x:80", 4, E.PAUSED))
    meter.failing.record("c", health("http://y:80", 30, E.DISABLED))
    assert exported(meter) == {
        ("a", "http://x:80", "healthy"): 3,
        ("b", "http://x:80", "paused"): 4,
        ("c", "http://y:80", "disabled"): 30,
    }
    meter.failing.record("a", health("http://x:80", 0))
    assert set(exported(meter)) == {("c", "http://y:80", "disabled")}
    later = NOW + dt.timedelta(seconds=1)
    meter.failing.refresh({"http://y:80": health("http://y:80", 0, at=later)})  # reset in the store since
    assert exported(meter) == {}


def test_refresh_takes_the_store_s_count_and_state():
    meter = metrics.Metrics()
    meter.failing.record("a", health("http://x:80", 3))
    meter.failing.refresh({"http://x:80": health("http://x:80", 25, E.PAUSED)})
    assert exported(meter) == {("a", "http://x:80", "paused"): 25}


def test_refresh_keeps_a_judgement_the_store_has_not_caught_up_with():
    """The dispatcher flushes endpoint health after the attempt: a scrape in between reads nothing, or an older
    row, and must not drop the failure it was just told about."""
    meter = metrics.Metrics()
    meter.failing.record("a", health("http://x:80", 0, E.DISABLED))
    meter.failing.refresh({})
    assert exported(meter) == {("a", "http://x:80", "disabled"): 0}
    earlier = NOW - dt.timedelta(seconds=5)
    meter.failing.refresh({"http://x:80": health("http://x:80", 2, at=earlier)})
    assert exported(meter) == {("a", "http://x:80", "disabled"): 0}


def test_each_accounts_endpoint_fails_and_recovers_alone_and_its_path_is_never_a_label():
    meter = metrics.Metrics()
    a = urls.health_key("acc_a", "https://gw.example/hooks/T0K3N")
    b = urls.health_key("acc_b", "https://gw.example/hooks/T0K3N")
    meter.failing.record("acc_a", health(a, 3))
    meter.failing.record("acc_b", health(b, 5, E.PAUSED))
    label = urls.health_label(a)
    assert exported(meter) == {("acc_a", label, "healthy"): 3, ("acc_b", label, "paused"): 5}
    assert "T0K3N" not in meter.render().decode()
    meter.failing.record("acc_a", health(a, 0))  # A's endpoint recovered; B's still fails
    assert exported(meter) == {("acc_b", label, "paused"): 5}
