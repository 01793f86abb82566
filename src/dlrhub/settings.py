"""Every setting of dlrhub, read from `DLRHUB_*` environment variables and an optional TOML file.

This is the only module that reads the environment. Precedence: environment, then the TOML file named by
`DLRHUB_CONFIG`, then the defaults below. `dlrhub.example.toml` at the repository root lists every setting.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dlrhub.core import errors

ENV_PREFIX = "DLRHUB_"
#: Settings whose values may hold a secret (a token, or a password inside a URL): never echoed in errors.
SECRET_SETTINGS = frozenset({"admin_token", "database_url", "redis_url"})


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    """dlrhub's configuration. Field comments are the documentation; keep `dlrhub.example.toml` in step."""

    #: `sqlite:///path/to/file` (the embedded default) or `postgresql://user@host:port/db`.
    database_url: str = "sqlite:///dlrhub.sqlite3"
    #: Address and port `dlrhub serve` and `dlrhub api` listen on.
    host: str = "127.0.0.1"
    port: int = 8080
    #: Bearer token for the native and admin routes (`/v1/events`, `/v1/messages`, `/v1/callbacks`,
    #: `/v1/endpoints`, `/v1/admin/*`). Empty: `dlrhub serve` makes one at start and prints it.
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
    callback_allow: tuple[str, ...] = ()
    #: Seconds before a callback attempt counts as a timeout.
    callback_timeout_s: float = 10.0
    #: How many due callbacks a dispatcher claims at once, and for how long it holds them.
    dispatch_batch_size: int = 500
    dispatch_lease_s: float = 60.0
    #: Requests in flight per dispatcher process, and per destination (scheme, host, port).
    dispatch_concurrency: int = 256
    endpoint_concurrency: int = 64
    #: Consecutive failures that pause a destination, for how long, and the failing time that disables it.
    breaker_failures: int = 20
    breaker_pause_s: float = 30.0
    endpoint_disable_after_s: float = 86_400.0
    #: Retry schedules in seconds (each delay is jittered by ±20 %).
    esms_retry_schedule: tuple[float, ...] = (10.0, 30.0, 120.0, 600.0, 1800.0)
    standard_retry_schedule: tuple[float, ...] = (0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)
    #: GetCallback requests per second per account.
    esms_getcallback_tps: int = 20
    #: Largest request body any front door reads, in bytes.
    max_body_bytes: int = 1_048_576
    #: Create a demo account on first start of `dlrhub serve` and print its credentials.
    demo_account: bool = True
    #: `debug`, `info`, `warning` or `error`.
    log_level: str = "info"


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


def _checked(config: Settings) -> Settings:
    """`config`, once the values whose type alone does not make them usable are known to be."""
    if not config.database_url.startswith(DATABASE_SCHEMES):
        scheme = config.database_url.split(":", 1)[0][:20]
        raise errors.ConfigError(
            f"setting database_url ({ENV_PREFIX}DATABASE_URL): unsupported scheme {scheme!r}"
            " (sqlite:///path or postgresql://user@host:port/db)"
        )
    if config.log_level.lower() not in LOG_LEVELS:
        raise errors.ConfigError(
            f"setting log_level ({ENV_PREFIX}LOG_LEVEL): bad value {config.log_level[:20]!r}"
            f" ({', '.join(LOG_LEVELS)})"
        )
    return config


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
        if hint is int:
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
