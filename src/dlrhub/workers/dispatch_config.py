"""The dispatcher's and the sender's configuration, read from the settings, and the name of its leases."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import resource
import socket
import uuid

from dlrhub import settings
from dlrhub.adapters import sender
from dlrhub.core import breaker, errors, models, retry, urls
from dlrhub.dialects import registry

log = logging.getLogger("dlrhub.dispatch")
#: File descriptors a process needs besides its pool's connections (the store, listeners, logs, spare).
SPARE_FDS = 256


@dataclasses.dataclass(frozen=True, slots=True)
class DispatchConfig:
    """How one dispatcher claims and paces callbacks."""

    #: Callbacks claimed per query, and how long a claim is held before others may take it.
    batch_size: int = 500
    lease_s: float = 60.0
    #: Requests in flight at once (the connection pool); twice this many may be claimed and unrecorded. Sized for
    #: slow receivers: at 10-500 ms an answer, 1,024 slots carry about 3,000 callbacks/s (`bench/fleet.py`).
    concurrency: int = 1024
    #: Requests in flight per destination. As many more may be claimed and wait for its slots (see `lanes`);
    #: claims skip a destination held that full rather than claim callbacks only to give them back.
    per_endpoint: int = 64
    #: Longest sleep when nothing is due and nothing wakes the dispatcher.
    idle_s: float = 1.0
    #: How far a callback is put back when sending it failed unexpectedly (a bug, a malformed secret), or when
    #: its destination is paused with no known end.
    defer_s: float = 1.0
    #: Answers that trickle in are recorded together: the flush waits up to `flush_window_s` after the first
    #: unrecorded result, or until `flush_rows` are waiting, so a write transaction carries many rows.
    flush_window_s: float = 0.025
    flush_rows: int = 256
    #: Slots that free one by one are claimed for together: while the backlog has room for fewer than
    #: `min_claim` callbacks, a claim waits up to `claim_wait_s` after the last one.
    claim_wait_s: float = 0.1
    #: How long a destination's stored health and an account's secrets are trusted before re-reading.
    endpoint_cache_s: float = 2.0
    account_cache_s: float = 10.0
    policies: dict[models.Dialect, retry.RetryPolicy] = dataclasses.field(
        default_factory=registry.retry_policies
    )
    breaker: breaker.BreakerConfig = dataclasses.field(default_factory=breaker.BreakerConfig)
    #: The secrets that sign the operator's alerts (`ids.OPERATOR_ACCOUNT`, no stored account): `alert_secret`.
    operator_secrets: tuple[str, ...] = ()

    @property
    def max_backlog(self) -> int:
        """Callbacks claimed and not yet recorded, at most."""
        return self.concurrency * 2

    @property
    def min_claim(self) -> int:
        """The room worth a claim of its own at once (below it, a claim waits up to `claim_wait_s`)."""
        return min(self.batch_size, max(1, self.max_backlog // 8))

    @classmethod
    def from_settings(cls, config: settings.Settings) -> DispatchConfig:
        """The dispatcher's part of the settings. Raises errors.ConfigError on bad values."""
        if (
            config.dispatch_batch_size < 1
            or config.dispatch_concurrency < 1
            or config.endpoint_concurrency < 1
        ):
            raise errors.ConfigError("dispatch batch size and concurrency must be at least 1")
        if config.dispatch_lease_s < 3 * config.callback_timeout_s:
            # A claim may wait for one attempt ahead of it at a busy destination, then make its own, then flush.
            raise errors.ConfigError("dispatch_lease_s must be at least 3 x callback_timeout_s")
        return cls(
            batch_size=config.dispatch_batch_size,
            lease_s=config.dispatch_lease_s,
            concurrency=config.dispatch_concurrency,
            per_endpoint=config.endpoint_concurrency,
            policies=registry.retry_policies(
                {name: getattr(config, field) for name, field in registry.SCHEDULE_SETTINGS.items()}
            ),
            breaker=breaker.BreakerConfig(
                failures=config.breaker_failures,
                pause=dt.timedelta(seconds=config.breaker_pause_s),
                max_pause=max(dt.timedelta(minutes=10), dt.timedelta(seconds=config.breaker_pause_s)),
                disable_after=dt.timedelta(seconds=config.endpoint_disable_after_s),
            ),
            operator_secrets=(config.alert_secret,) if config.alert_secret else (),
        )


def sender_config(config: settings.Settings, extra_allow: tuple[str, ...] = ()) -> sender.SenderConfig:
    """The sender's part of the settings; `extra_allow` opens more addresses (the demo account's sender)."""
    return sender.SenderConfig(
        timeout_s=config.callback_timeout_s,
        pool_size=config.dispatch_concurrency,
        per_endpoint=config.endpoint_concurrency,
        allow=urls.parse_allowlist(config.callback_allow + extra_allow),
        ca_file=config.callback_ca_file,
    )


def owner_id() -> str:
    """A name for a dispatcher's leases: host, process and a random suffix."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def ensure_file_limit(pool: int) -> int:
    """Raise this process's soft open-file limit to fit `pool` connections (up to the hard limit); return it.

    A pool of 1,024 needs more than the soft limit of 1,024 many systems start a process with; a connection that
    cannot be opened would count as a failed attempt, so warn when even the hard limit is too low.
    """
    want = pool + SPARE_FDS
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= want:
        return soft
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):
        target = soft
    if target < want:
        log.warning(
            "dispatch: the open-file limit (%d) is below what a pool of %d needs (%d); raise it (LimitNOFILE,"
            " ulimit -n) or lower dispatch_concurrency",
            target,
            pool,
            want,
        )
    return target
