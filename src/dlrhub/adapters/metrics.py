"""Prometheus metrics of one dlrhub process, on a registry of its own."""

from __future__ import annotations

import prometheus_client as prom


class Metrics:
    """The counters and gauges dlrhub exports at `/metrics`."""

    def __init__(self) -> None:
        self.registry = prom.CollectorRegistry()
        self.requests = prom.Counter(
            "dlrhub_http_requests",
            "HTTP requests served, by route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.events_ingested = prom.Counter(
            "dlrhub_events_ingested",
            "Status events stored, by kind and dialect.",
            ["kind", "dialect"],
            registry=self.registry,
        )
        self.callbacks = prom.Gauge(
            "dlrhub_callbacks",
            "Callbacks in the store, by state (read at scrape time).",
            ["state"],
            registry=self.registry,
        )
        self.attempts = prom.Counter(
            "dlrhub_callback_attempts",
            "Callback attempts made, by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        self.endpoints = prom.Gauge(
            "dlrhub_endpoints",
            "Callback destinations, by health state.",
            ["state"],
            registry=self.registry,
        )
        self.zalo_sends = prom.Counter(
            "dlrhub_zalo_sends",
            "Zalo template sends by the channel worker, by dlrhub code (0, 17004, 17005).",
            ["code"],
            registry=self.registry,
        )
        self.zalo_orphans = prom.Counter(
            "dlrhub_zalo_orphan_receipts",
            "Zalo receipts kept as orphans (no send result yet), and orphans matched later.",
            ["what"],
            registry=self.registry,
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
            registry=self.registry,
        )

    def render(self) -> bytes:
        """The text exposition format."""
        return prom.generate_latest(self.registry)
