"""Prometheus metrics of one dlrhub process, on a registry of its own.

Every process (`serve`, `api`, `worker`) has the same families, so a dashboard reads the same names in every
layout; the counters and histograms count what that process did, the store gauges (`dlrhub_callbacks`,
`dlrhub_callback_backlog`, `dlrhub_callback_oldest_due_age_seconds`, `dlrhub_endpoints`) are read from the store
at scrape time and are the same in every process.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator

import prometheus_client as prom
from prometheus_client import core as prom_core
from prometheus_client import registry as prom_registry

from dlrhub.core import models, urls

#: Seconds: a callback attempt (bounded by `callback_timeout_s`).
ATTEMPT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: Seconds: from an event to its callback's first attempt (sub-second when healthy, minutes when late).
DELAY_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)
#: Seconds: from a send to its final status (delivery receipts take seconds to hours).
FINAL_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 10_800.0, 43_200.0, 86_400.0)
#: Accepts per group-commit transaction (at most `group_commit.MAX_BATCH`).
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
#: Failing (account, endpoint) pairs a process remembers; past this the ones with the fewest failures go.
FAILING_KEPT = 1_000


@dataclasses.dataclass(slots=True, eq=False)  # hashable: the registry keys its collectors
class FailingEndpoints(prom_registry.Collector):
    """`dlrhub_endpoint_failing`: the accounts' endpoints whose last attempts failed, labelled with the account
    and the endpoint's `urls.health_label` (its origin, its path only as a digest); only the `top` with the most
    consecutive failures are exported, so the label sets stay bounded whatever the number of customers."""

    top: int = 20
    #: (account id, health key) -> (consecutive failures, endpoint state, when that health was judged).
    failing: dict[tuple[str, str], tuple[int, str, dt.datetime]] = dataclasses.field(default_factory=dict)

    def record(self, account_id: str, endpoint: models.Endpoint) -> None:
        """Note an endpoint's health (by health key) after an attempt of `account_id`'s callback."""
        if _healthy(endpoint):
            if self.failing:  # the common case, nothing failing, costs no walk
                self.forget(endpoint.endpoint)
            return
        self.failing[(account_id, endpoint.endpoint)] = (
            endpoint.consecutive_failures,
            endpoint.state.value,
            endpoint.updated_at,
        )
        if len(self.failing) > FAILING_KEPT:
            kept = sorted(self.failing.items(), key=lambda kv: kv[1][0], reverse=True)[: FAILING_KEPT // 2]
            self.failing = dict(kept)

    def forget(self, endpoint: str) -> None:
        """The endpoint (a health key) recovered, or was reset."""
        for key in [k for k in self.failing if k[1] == endpoint]:
            del self.failing[key]

    def endpoints(self) -> list[str]:
        """The health keys remembered as failing."""
        return sorted({endpoint for _, endpoint in self.failing})

    def refresh(self, stored: dict[str, models.Endpoint]) -> None:
        """Take each remembered destination's health from the store (every process's attempts, and resets):
        `stored` is the store's answer for `endpoints()`. Only a stored health at least as recent as the one
        remembered counts: this process's own judgement may not be flushed yet (absent, or older, in the store)."""
        for (account_id, endpoint), (_, _, judged_at) in list(self.failing.items()):
            health = stored.get(endpoint)
            if health is None or health.updated_at < judged_at:
                continue
            if _healthy(health):
                self.forget(endpoint)
            else:
                self.failing[(account_id, endpoint)] = (
                    health.consecutive_failures,
                    health.state.value,
                    health.updated_at,
                )

    def collect(self) -> Iterator[prom_core.Metric]:
        family = prom_core.GaugeMetricFamily(
            "dlrhub_endpoint_failing",
            "Consecutive failures of an account's failing callback endpoint (its origin, its path as a digest),"
            " by account and state (the top `metrics_top_endpoints` only).",
            labels=["account_id", "endpoint", "state"],
        )
        ranked = sorted(self.failing.items(), key=lambda kv: (-kv[1][0], kv[0]))[: self.top]
        for (account_id, key), (failures, state, _) in ranked:
            family.add_metric([account_id, urls.health_label(key), state], failures)
        yield family


def _healthy(endpoint: models.Endpoint) -> bool:
    return endpoint.consecutive_failures == 0 and endpoint.state is models.EndpointState.HEALTHY


class Metrics:
    """The counters, gauges and histograms dlrhub exports at `/metrics`."""

    def __init__(self, top_endpoints: int = 20) -> None:
        self.registry = prom.CollectorRegistry()
        r = self.registry
        self.requests = prom.Counter(
            "dlrhub_http_requests",
            "HTTP requests served, by route and status.",
            ["method", "route", "status"],
            registry=r,
        )
        self.events_ingested = prom.Counter(
            "dlrhub_events_ingested",
            "Status events stored, by kind and dialect.",
            ["kind", "dialect"],
            registry=r,
        )
        self.callbacks = prom.Gauge(
            "dlrhub_callbacks",
            "Callbacks in the store, by state (kept counts, read at scrape time).",
            ["state"],
            registry=r,
        )
        self.backlog = prom.Gauge(
            "dlrhub_callback_backlog",
            "Pending callbacks (due or waiting to retry), by dialect (kept counts, read at scrape time).",
            ["dialect"],
            registry=r,
        )
        self.oldest_due_age = prom.Gauge(
            "dlrhub_callback_oldest_due_age_seconds",
            "How long the oldest due pending callback has been due; 0 when none is due (read at scrape time).",
            registry=r,
        )
        self.attempts = prom.Counter(
            "dlrhub_callback_attempts", "Callback attempts made, by outcome.", ["outcome"], registry=r
        )
        self.attempt_seconds = prom.Histogram(
            "dlrhub_callback_attempt_duration_seconds",
            "How long callback attempts took, by dialect and outcome.",
            ["dialect", "outcome"],
            buckets=ATTEMPT_BUCKETS,
            registry=r,
        )
        self.first_attempt_delay = prom.Histogram(
            "dlrhub_callback_first_attempt_delay_seconds",
            "From a callback's event being stored to its first attempt, by dialect.",
            ["dialect"],
            buckets=DELAY_BUCKETS,
            registry=r,
        )
        self.send_to_final = prom.Histogram(
            "dlrhub_send_to_final_seconds",
            "From a send's acceptance to its final status (delivered or failed) being stored, by dialect.",
            ["dialect"],
            buckets=FINAL_BUCKETS,
            registry=r,
        )
        self.endpoints = prom.Gauge(
            "dlrhub_endpoints",
            "Accounts' callback endpoints judged by the breaker, by health state (read at scrape time).",
            ["state"],
            registry=r,
        )
        self.failing = FailingEndpoints(top_endpoints)
        #: `attempt_judged`'s labelled children by dialect and outcome (a few dozen): looked up once, not per
        #: attempt (a `labels` call takes a lock and builds its key every time).
        self._attempt_children: dict[
            tuple[models.Dialect, models.AttemptOutcome], tuple[prom.Counter, prom.Histogram, prom.Histogram]
        ] = {}
        r.register(self.failing)
        self.group_commit_batch = prom.Histogram(
            "dlrhub_group_commit_batch_size",
            "Accepted sends written per group-commit transaction.",
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.zalo_sends = prom.Counter(
            "dlrhub_zalo_sends",
            "Zalo template sends by the channel worker, by dlrhub code (0, 17004, 17005).",
            ["code"],
            registry=r,
        )
        self.zalo_quota_remaining = prom.Gauge(
            "dlrhub_zalo_quota_remaining",
            "ZNS sends an OA has left today, as Zalo's last send answer said.",
            ["oa_id"],
            registry=r,
        )
        self.zalo_orphans = prom.Counter(
            "dlrhub_zalo_orphan_receipts",
            "Zalo receipts kept as orphans (no send result yet), and orphans matched later.",
            ["what"],
            registry=r,
        )
        self.pruned = prom.Counter(
            "dlrhub_pruned_rows",
            "Rows deleted by retention, by kind (table).",
            ["kind"],
            registry=self.registry,
        )

        self.zalo_refresh_expiry = prom.Gauge(
            "dlrhub_zalo_refresh_token_expiry_seconds",
            "Seconds until each active OA's refresh token expires (checked every minute by the channel worker).",
            ["oa_id"],
            registry=r,
        )

    def attempt_judged(self, cb: models.Callback, attempt: models.Attempt, endpoint: models.Endpoint) -> None:
        """Count one finished attempt of `cb`, with its destination's health after it."""
        children = self._attempt_children.get((cb.dialect, attempt.outcome))
        if children is None:
            outcome, dialect = attempt.outcome.value, cb.dialect.value
            children = self._attempt_children[(cb.dialect, attempt.outcome)] = (
                self.attempts.labels(outcome=outcome),
                self.attempt_seconds.labels(dialect=dialect, outcome=outcome),
                self.first_attempt_delay.labels(dialect=dialect),
            )
        count, seconds, first_delay = children
        count.inc()
        seconds.observe(max(0.0, attempt.duration_ms / 1000))
        if attempt.number == 1:
            delay = (attempt.started_at - cb.created_at).total_seconds()
            first_delay.observe(max(0.0, delay))
        self.failing.record(cb.account_id, endpoint)

    def render(self) -> bytes:
        """The text exposition format."""
        return prom.generate_latest(self.registry)


#: Every family name (as exposed, without `_total`/`_bucket` suffixes) a process exports: docs and tests check it.
FAMILIES = (
    "dlrhub_http_requests",
    "dlrhub_events_ingested",
    "dlrhub_callbacks",
    "dlrhub_callback_backlog",
    "dlrhub_callback_oldest_due_age_seconds",
    "dlrhub_callback_attempts",
    "dlrhub_callback_attempt_duration_seconds",
    "dlrhub_callback_first_attempt_delay_seconds",
    "dlrhub_send_to_final_seconds",
    "dlrhub_endpoints",
    "dlrhub_endpoint_failing",
    "dlrhub_group_commit_batch_size",
    "dlrhub_zalo_sends",
    "dlrhub_zalo_quota_remaining",
    "dlrhub_zalo_orphan_receipts",
    "dlrhub_zalo_refresh_token_expiry_seconds",
)
