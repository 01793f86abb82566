"""Every setting of dlrhub, read from `DLRHUB_*` environment variables and an optional TOML file.

This is the only module that reads the environment. Precedence: environment, then the TOML file named by
`DLRHUB_CONFIG`, then the defaults below. `dlrhub.example.toml` at the repository root lists every setting.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib.util
import math
import os
import ssl
import tomllib
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dlrhub.core import errors, signing, urls

ENV_PREFIX = "DLRHUB_"
#: Settings whose values may hold a secret (a token, or a password inside a URL): never echoed in errors.
SECRET_SETTINGS = frozenset({"admin_token", "database_url", "redis_url", "alert_secret"})
#: The shortest bootstrap admin token taken: it opens every account, so it must not be guessable.
MIN_ADMIN_TOKEN = 24


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    """dlrhub's configuration. Field comments are the documentation; keep `dlrhub.example.toml` in step."""

    #: `sqlite:///path/to/file` (the embedded default) or `postgresql://user@host:port/db`.
    database_url: str = "sqlite:///dlrhub.sqlite3"
    #: Address and port `dlrhub serve` and `dlrhub api` listen on.
    host: str = "127.0.0.1"
    port: int = 8080
    #: Port `dlrhub worker` serves `/metrics`, `/healthz` and `/readyz` on; 0 turns it off. Give each worker on
    #: one host a port of its own. `serve` and `api` serve these on `port`.
    worker_port: int = 9091
    #: Address that port listens on; empty: `host` (set it where a worker's `host` names its API, as in compose).
    worker_host: str = ""
    #: How many failing (account, endpoint) pairs `dlrhub_endpoint_failing` exports, most failures first.
    metrics_top_endpoints: int = 20
    #: Bearer token for the native and admin routes (`/v1/events`, `/v1/messages`, `/v1/callbacks`,
    #: `/v1/endpoints`, `/v1/admin/*`), 24 characters or more. Empty: `dlrhub serve` makes one and prints it.
    admin_token: str = ""
    #: Redis URL for shared rate-limit counters across nodes; empty keeps counters in memory.
    redis_url: str = ""
    #: `auto` uses the built-in Zalo simulator unless `zalo_api_url` was changed from Zalo's own
    #: (then that URL); `simulator` or `zalo` force one.
    zalo_mode: str = "auto"
    #: Zalo's business API and OAuth base URLs (point them at a simulator to test).
    zalo_api_url: str = "https://business.openapi.zalo.me"
    zalo_oauth_url: str = "https://oauth.zaloapp.com"
    #: Seconds to wait for Zalo before a send fails with 17005.
    zalo_timeout_s: float = 10.0
    #: Seconds the simulator waits before posting a delivery receipt.
    simulator_receipt_delay_s: float = 0.5
    #: Seconds a journey token issued by the simulator lives before `event_journey_time_out` (Zalo: 7 days).
    simulator_journey_lifetime_s: float = 604_800.0
    #: Zalo sends in flight at once per OA (the channel worker), and in all.
    zalo_oa_concurrency: int = 8
    zalo_concurrency: int = 64
    #: Seconds after a worker died mid-send before the message, with no receipt seen, fails with 17005.
    zalo_recovery_grace_s: float = 600.0
    #: Days before an OA's refresh token expires from which dlrhub warns (log, and alert on the metric).
    zalo_refresh_warn_days: int = 14
    #: Callback destinations the SSRF guard lets through although they are loopback or private (CIDRs or hosts).
    #: Empty: none, except that `dlrhub serve` opens loopback while its store holds only the demo account.
    callback_allow: tuple[str, ...] = ()
    #: A PEM file of CA certificates trusted for https callbacks besides the system's (a private CA, or a
    #: receiver's self-signed certificate). Empty: the system's alone (`SSL_CERT_FILE` replaces those).
    callback_ca_file: str = ""
    #: Seconds before a callback attempt counts as a timeout.
    callback_timeout_s: float = 10.0
    #: How many due callbacks a dispatcher claims at once, and for how long it holds them.
    dispatch_batch_size: int = 500
    dispatch_lease_s: float = 60.0
    #: Requests in flight per dispatcher process, and per destination (scheme, host, port).
    dispatch_concurrency: int = 1024
    endpoint_concurrency: int = 64
    #: Consecutive failures that pause an account's endpoint (its URL's origin and path), for how long, and the
    #: failing time that disables it.
    breaker_failures: int = 20
    breaker_pause_s: float = 30.0
    endpoint_disable_after_s: float = 86_400.0
    #: Retry schedules in seconds (each delay is jittered by ±20 %).
    esms_retry_schedule: tuple[float, ...] = (10.0, 30.0, 120.0, 600.0, 1800.0)
    standard_retry_schedule: tuple[float, ...] = (0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)
    #: Requests per second per account to each eSMS pull API: GetCallback, QueryZnsStatus, GetZaloMessageStatus
    #: (eSMS's own limits), GetSendStatus and GetBalance (eSMS documents none; dlrhub bounds them too).
    esms_getcallback_tps: int = 20
    esms_zns_status_tps: int = 100
    esms_zalo_status_tps: int = 30
    esms_send_status_tps: int = 100
    esms_balance_tps: int = 100
    #: Largest request body any front door reads, in bytes.
    max_body_bytes: int = 1_048_576
    #: Create a demo account on a new store's first start of `dlrhub serve` and print its credentials.
    demo_account: bool = True
    #: `debug`, `info`, `warning` or `error`.
    log_level: str = "info"
    #: The operator's alert webhook (endpoint paused or disabled, backlog too old, OA token expiring, quota low),
    #: signed with `alert_secret` (a Standard Webhooks `whsec_` secret, required with it). Empty: no alerts.
    alert_url: str = ""
    alert_secret: str = ""
    #: Age in seconds of the oldest due callback past which `alert.backlog.age` fires (resolved below 80 % of it).
    alert_backlog_age_s: float = 300.0
    #: `alert.oa.quota_low` fires when an OA's remaining Zalo quota falls below this percentage of its daily one.
    alert_quota_low_percent: float = 10.0
    #: Retention in days, per kind of row (0 keeps them for ever); the worker's pruner deletes older ones.
    #: Finished callbacks (succeeded, failed, cancelled), counted from their last change, with their attempts.
    retain_callbacks_days: int = 30
    #: Attempts (the history of each try), even of a callback still kept.
    retain_attempts_days: int = 30
    #: Messages with their events (and journeys once their messages are gone), counted from the last change, once
    #: no callback of theirs is left: GetCallback, GetSendStatus (eSMS: 7 days) and the native API answer this long.
    retain_messages_days: int = 30
    #: RequestIds, for the eSMS duplicate check (its window is 24 h, so 1 day at least).
    retain_request_ids_days: int = 2
    #: Zalo receipts that came before their send result (matched within 24 h, so 1 day at least).
    retain_orphans_days: int = 7
    #: The audit log of admin actions.
    retain_audit_days: int = 365
    #: Seconds between two pruning rounds, and the most rows one chunk (one transaction) deletes.
    prune_interval_s: float = 300.0
    prune_chunk_rows: int = 200
    #: `auto` (text on a terminal, one JSON object per line otherwise), `json` or `text`: for dlrhub and uvicorn.
    log_format: str = "auto"
    #: OpenTelemetry tracing: `off`, `on` (OTLP over HTTP, set up by the standard `OTEL_EXPORTER_OTLP_*`
    #: variables) or `console` (finished spans printed to stderr). Needs the `otel` extra.
    tracing: str = "off"


#: Settings that are gone, and where their choice lives now: naming one is an error, not a silent no-op.
REMOVED: dict[str, str] = {
    "esms_delivered_callback": "it is an account's choice now (`dlrhub accounts create --esms-delivered-callback`)",
}


def field_names() -> list[str]:
    """The names of every setting, in declaration order."""
    return [f.name for f in dataclasses.fields(Settings)]


def load(environ: Mapping[str, str] | None = None, config_file: Path | None = None) -> Settings:
    """Build Settings from a TOML file and the environment.

    Raises errors.ConfigError naming the setting when a value is unknown or malformed.
    """
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    path = config_file or (Path(env[ENV_PREFIX + "CONFIG"]) if env.get(ENV_PREFIX + "CONFIG") else None)
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise errors.ConfigError(f"cannot read config file {path}: {exc}") from exc
        _refuse_removed(set(data))
        unknown = set(data) - set(field_names())
        if unknown:
            raise errors.ConfigError(f"unknown settings in {path}: {', '.join(sorted(unknown))}")
        values.update(data)
    _refuse_removed({name for name in REMOVED if ENV_PREFIX + name.upper() in env})
    for name in field_names():
        raw = env.get(ENV_PREFIX + name.upper())
        if raw is not None:
            values[name] = raw
    hints = typing.get_type_hints(Settings)
    return _checked(Settings(**{name: _coerce(name, hints[name], value) for name, value in values.items()}))


#: The database URL prefixes a store exists for (`store.from_url`).
DATABASE_SCHEMES = ("sqlite:///", "postgresql://", "postgres://")
#: The log levels both Python's logging and uvicorn know.
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
ZALO_MODES = ("auto", "simulator", "zalo")
#: The log formats (`adapters.logs.FORMATS`; settings sits below adapters, so the words are repeated here).
LOG_FORMATS = ("auto", "json", "text")
#: The `tracing` setting's words, and the modules each needs (`pip install 'dlrhub[otel]'`).
TRACING_MODES: dict[str, tuple[str, ...]] = {
    "off": (),
    "on": ("opentelemetry.sdk", "opentelemetry.exporter.otlp.proto.http"),
    "console": ("opentelemetry.sdk",),
}
#: `DLRHUB_*` variables that are read but name no setting.
OTHER_VARIABLES = frozenset({ENV_PREFIX + "CONFIG"})

#: A number setting must be finite and at least 0, and more where listed here: a count of 0 (`1`) or a time of
#: 0 (`POSITIVE`) would stop the work it sizes. `port` 0 means a free port the system picks.
AT_LEAST_ONE = frozenset(
    {
        "zalo_oa_concurrency",
        "zalo_concurrency",
        "dispatch_batch_size",
        "dispatch_concurrency",
        "endpoint_concurrency",
        "breaker_failures",
        "esms_getcallback_tps",
        "esms_zns_status_tps",
        "esms_zalo_status_tps",
        "esms_send_status_tps",
        "esms_balance_tps",
        "max_body_bytes",
        "prune_chunk_rows",
        "metrics_top_endpoints",
    }
)
POSITIVE = frozenset(
    {
        "zalo_timeout_s",
        "simulator_journey_lifetime_s",
        "callback_timeout_s",
        "dispatch_lease_s",
        "alert_backlog_age_s",
        "prune_interval_s",
    }
)
#: Retention settings that keep what a dialect promises: 0 (for ever) or at least these days.
MIN_RETAIN_DAYS = {
    "retain_messages_days": 7,  # eSMS GetSendStatus answers for the last 7 days
    "retain_request_ids_days": 1,  # eSMS refuses a RequestId used within 24 h
    "retain_orphans_days": 1,  # an orphan receipt is matched for up to 24 h
}
#: Settings holding a URL, and the schemes each may use (an empty value is allowed where "" is listed).
URL_SCHEMES: dict[str, tuple[str, ...]] = {
    "database_url": DATABASE_SCHEMES,
    "redis_url": ("", "redis://", "rediss://", "unix://"),
    "zalo_api_url": ("http://", "https://"),
    "zalo_oauth_url": ("http://", "https://"),
    "alert_url": ("", "http://", "https://"),
}
#: Settings whose value must be one of a few words.
CHOICES: dict[str, tuple[str, ...]] = {
    "log_level": LOG_LEVELS,
    "log_format": LOG_FORMATS,
    "zalo_mode": ZALO_MODES,
    "tracing": tuple(TRACING_MODES),
}


def _checked(config: Settings) -> Settings:
    """`config`, once the values whose type alone does not make them usable are known to be.

    Raises errors.ConfigError naming the first setting that is not, and what it must be.
    """
    for name in field_names():
        problem = _problem(name, getattr(config, name))
        if problem is not None:
            value = getattr(config, name)
            shown = repr(_short(value))
            if name in SECRET_SETTINGS:  # a URL's scheme says enough; the rest may hold a password
                shown = repr(value.split(":", 1)[0][:20] + ":…") if name in URL_SCHEMES else "(hidden)"
            raise errors.ConfigError(
                f"setting {name} ({ENV_PREFIX}{name.upper()}): bad value {shown} ({problem})"
            )
    if config.alert_url and not config.alert_secret:
        # Alerts are always signed: a receiver must be able to tell them from anyone's POST.
        raise errors.ConfigError(
            f"setting alert_secret ({ENV_PREFIX}ALERT_SECRET): required with alert_url (a whsec_ secret)"
        )
    missing = [m for m in TRACING_MODES.get(config.tracing.strip().lower(), ()) if not _importable(m)]
    if missing:
        raise errors.ConfigError(
            f"setting tracing ({ENV_PREFIX}TRACING): {config.tracing!r} needs {missing[0]},"
            " which is not installed (install dlrhub's otel extra)"
        )
    return config


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def _problem(name: str, value: Any) -> str | None:
    """What is wrong with `value` for setting `name`, or None."""
    if name in URL_SCHEMES:
        schemes = URL_SCHEMES[name]
        if not (value == "" and "" in schemes) and not any(
            s and value.startswith(s) and len(value) > len(s) for s in schemes
        ):
            return "empty, or " * ("" in schemes) + "a URL starting " + " or ".join(s for s in schemes if s)
    elif name in CHOICES:
        if value.strip().lower() not in CHOICES[name]:
            return "one of " + ", ".join(CHOICES[name])
    elif name == "host":
        if not value.strip():
            return "an address to listen on, such as 127.0.0.1 or 0.0.0.0"
    elif name in ("port", "worker_port"):
        if not 0 <= value <= 65_535:
            return "0 to 65535"
    elif name == "admin_token":
        if value and len(value) < MIN_ADMIN_TOKEN:
            return f"empty, or at least {MIN_ADMIN_TOKEN} characters (such as `openssl rand -hex 24`)"
    elif name == "alert_secret":
        if value:
            try:
                signing.check_secret(value)
            except errors.InvalidInput:
                return "empty, or whsec_ followed by the base64 of 24 to 64 bytes"
    elif name == "alert_quota_low_percent":
        if not (math.isfinite(value) and 0 <= value <= 100):
            return "a percentage, 0 to 100"
    elif name == "callback_allow":
        try:
            urls.parse_allowlist(value)
        except errors.ConfigError as exc:
            return str(exc)
    elif name == "callback_ca_file":
        if value:
            try:
                ssl.create_default_context(cafile=value)
            except (OSError, ssl.SSLError, ValueError):
                return "empty, or a readable PEM file of CA certificates"
    elif isinstance(value, tuple):
        if not value or not all(_number_problem(name, v) is None for v in value):
            return "a comma-separated list of seconds, at least one, each finite and 0 or more"
    elif isinstance(value, int | float) and not isinstance(value, bool):
        return _number_problem(name, value)
    return None


def _number_problem(name: str, value: float) -> str | None:
    if not math.isfinite(value) or value < 0:
        return "a finite number, 0 or more"
    if name in AT_LEAST_ONE and value < 1:
        return "1 or more"
    if name in POSITIVE and value <= 0:
        return "more than 0"
    least = MIN_RETAIN_DAYS.get(name)
    if least is not None and 0 < value < least:
        return f"0 (keep for ever) or at least {least}"
    return None


def _short(value: Any) -> Any:
    """`value` cut short for an error line (a long list or string would wrap it)."""
    if isinstance(value, str) and len(value) > 40:
        return value[:40] + "…"
    if isinstance(value, tuple) and len(value) > 10:
        return value[:10]
    return value


def unknown_variables(environ: Mapping[str, str] | None = None) -> list[str]:
    """A warning line for each `DLRHUB_*` environment variable that names no setting (it would be ignored),
    with the closest setting's variable when one is near."""
    env = os.environ if environ is None else environ
    known = {ENV_PREFIX + name.upper() for name in field_names()} | OTHER_VARIABLES
    known |= {ENV_PREFIX + name.upper() for name in REMOVED}  # refused with their own message
    lines = []
    for var in sorted(v for v in env if v.upper().startswith(ENV_PREFIX) and v not in known):
        # Compared without the prefix every candidate shares, which would make any two names look alike.
        suffixes = {k.removeprefix(ENV_PREFIX): k for k in known}
        near = difflib.get_close_matches(
            var.upper().removeprefix(ENV_PREFIX), sorted(suffixes), n=1, cutoff=0.7
        )
        hint = f" (did you mean {suffixes[near[0]]}?)" if near else ""
        lines.append(f"unknown environment variable {var} is ignored{hint}")
    return lines


def _refuse_removed(names: set[str]) -> None:
    for name in sorted(names & set(REMOVED)):
        raise errors.ConfigError(f"setting {name} ({ENV_PREFIX}{name.upper()}) was removed: {REMOVED[name]}")


def _coerce(name: str, hint: Any, value: Any) -> Any:
    try:
        if hint is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text not in {"1", "0", "true", "false", "yes", "no", "on", "off"}:
                raise ValueError(value)
            return text in {"1", "true", "yes", "on"}
        if hint in (int, float) and isinstance(value, bool | dict | list):
            raise TypeError(value)  # TOML's `true` is no number (Python's int(True) is 1)
        if hint is int:
            if isinstance(value, float):
                raise TypeError(value)  # 1.5 in a TOML file is no count
            return int(value)
        if hint is float:
            return float(value)
        if hint is str:
            if not isinstance(value, str):
                raise TypeError(value)
            return value
        item = typing.get_args(hint)[0]
        items = value if isinstance(value, list) else [v for v in str(value).split(",") if v.strip()]
        return tuple(_coerce(name, item, v.strip() if isinstance(v, str) else v) for v in items)
    except (TypeError, ValueError) as exc:
        shown = "(hidden)" if name in SECRET_SETTINGS else repr(value)
        raise errors.ConfigError(f"setting {name} ({ENV_PREFIX}{name.upper()}): bad value {shown}") from exc
