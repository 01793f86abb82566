"""Settings: environment over file over defaults, clear errors, and an example that lists every setting."""

from __future__ import annotations

import base64
import tomllib
from pathlib import Path

import pytest

from dlrhub import settings
from dlrhub.core import errors, urls

EXAMPLE = Path(__file__).parents[3] / "dlrhub.example.toml"


def test_example_lists_every_setting_with_its_default() -> None:
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert list(data) == settings.field_names()
    assert settings.load({}, EXAMPLE) == settings.Settings()
    text = EXAMPLE.read_text(encoding="utf-8")
    for name in settings.field_names():
        assert f"DLRHUB_{name.upper()}" in text


def test_environment_wins_over_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('port = 9000\ncallback_allow = ["10.0.0.0/8"]\n', encoding="utf-8")
    loaded = settings.load({"DLRHUB_PORT": "9001", "DLRHUB_DEMO_ACCOUNT": "off"}, path)
    assert (loaded.port, loaded.callback_allow, loaded.demo_account) == (9001, ("10.0.0.0/8",), False)
    env = settings.load({"DLRHUB_CALLBACK_ALLOW": "127.0.0.1, ::1", "DLRHUB_CONFIG": str(path)})
    assert env.callback_allow == ("127.0.0.1", "::1")
    assert env.port == 9000


@pytest.mark.parametrize(
    ("env", "name"),
    [({"DLRHUB_PORT": "eighty"}, "port"), ({"DLRHUB_DEMO_ACCOUNT": "maybe"}, "demo_account")],
)
def test_bad_values_name_the_setting(env: dict[str, str], name: str) -> None:
    with pytest.raises(errors.ConfigError, match=name):
        settings.load(env)


def test_unknown_file_keys_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("prot = 1\n", encoding="utf-8")
    with pytest.raises(errors.ConfigError, match="prot"):
        settings.load({}, path)


def test_bad_secret_values_are_not_echoed(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("admin_token = 918273645\n", encoding="utf-8")
    with pytest.raises(errors.ConfigError, match="admin_token") as caught:
        settings.load({}, path)
    assert "918273645" not in str(caught.value)


@pytest.mark.parametrize("token", ["s3cr3t", "x" * 23, "short-but-not-that-short"[:23]])
def test_a_short_admin_token_is_refused_without_echoing_it(token: str, tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(f'admin_token = "{token}"\n', encoding="utf-8")
    for env, file in (({"DLRHUB_ADMIN_TOKEN": token}, None), ({}, path)):
        with pytest.raises(errors.ConfigError) as caught:
            settings.load(env, file)
        said = str(caught.value)
        assert said.startswith("setting admin_token (DLRHUB_ADMIN_TOKEN): bad value (hidden)")
        assert "at least 24 characters" in said
        assert token not in said


@pytest.mark.parametrize("token", ["", "x" * 24, "0123456789abcdef" * 3])
def test_an_admin_token_of_24_characters_or_none_is_taken(token: str) -> None:
    assert settings.load({"DLRHUB_ADMIN_TOKEN": token}).admin_token == token


def test_the_removed_delivered_callback_setting_is_refused_with_where_it_went(tmp_path: Path) -> None:
    # It is an account's choice now (DECISIONS › When is the GET callback sent?): ignoring it would silently
    # change what every account's receivers get.
    path = tmp_path / "c.toml"
    path.write_text("esms_delivered_callback = true\n", encoding="utf-8")
    for env, file in (({}, path), ({"DLRHUB_ESMS_DELIVERED_CALLBACK": "on"}, None)):
        with pytest.raises(errors.ConfigError, match=r"esms_delivered_callback .*account") as caught:
            settings.load(env, file)
        assert "--esms-delivered-callback" in str(caught.value)


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"DLRHUB_PORT": "70000"}, "setting port (DLRHUB_PORT): bad value 70000 (0 to 65535)"),
        ({"DLRHUB_ZALO_CONCURRENCY": "0"}, "setting zalo_concurrency (DLRHUB_ZALO_CONCURRENCY): bad value 0"),
        (
            {"DLRHUB_DISPATCH_LEASE_S": "0"},
            "dispatch_lease_s (DLRHUB_DISPATCH_LEASE_S): bad value 0.0 (more than 0)",
        ),
        ({"DLRHUB_BREAKER_PAUSE_S": "inf"}, "breaker_pause_s"),
        ({"DLRHUB_ESMS_RETRY_SCHEDULE": ""}, "esms_retry_schedule"),
        (
            {"DLRHUB_ZALO_MODE": "live"},
            "zalo_mode (DLRHUB_ZALO_MODE): bad value 'live' (one of auto, simulator",
        ),
        ({"DLRHUB_ZALO_OAUTH_URL": "oauth.zaloapp.com"}, "zalo_oauth_url"),
        ({"DLRHUB_CALLBACK_ALLOW": "10.0.0.0/33x"}, "callback_allow"),
        ({"DLRHUB_HOST": ""}, "host"),
    ],
)
def test_values_out_of_range_name_the_setting_and_what_it_must_be(env: dict[str, str], says: str) -> None:
    with pytest.raises(errors.ConfigError) as caught:
        settings.load(env)
    assert says in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_bad_url_with_a_password_shows_only_its_scheme() -> None:
    for name in ("DATABASE_URL", "REDIS_URL"):
        with pytest.raises(errors.ConfigError, match=name) as caught:
            settings.load({f"DLRHUB_{name}": "mysql://root:hunter2@db/x"})
        assert "hunter2" not in str(caught.value) and "'mysql:…'" in str(caught.value)


def test_toml_numbers_are_not_taken_from_booleans_or_fractions(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    for text in ("dispatch_batch_size = true\n", "dispatch_batch_size = 1.5\n"):
        path.write_text(text, encoding="utf-8")
        with pytest.raises(errors.ConfigError, match="dispatch_batch_size"):
            settings.load({}, path)


def test_unknown_variables_are_warned_about_with_the_nearest_name() -> None:
    env = {
        "DLRHUB_CALLBACKS_ALLOW": "x",
        "DLRHUB_WIDGETS": "1",
        "DLRHUB_PORT": "1",
        "DLRHUB_CONFIG": "c.toml",
    }
    assert settings.unknown_variables(env) == [
        "unknown environment variable DLRHUB_CALLBACKS_ALLOW is ignored (did you mean DLRHUB_CALLBACK_ALLOW?)",
        "unknown environment variable DLRHUB_WIDGETS is ignored",
    ]
    assert settings.unknown_variables({"HOME": "/root", "DLRHUB_ESMS_DELIVERED_CALLBACK": "1"}) == []


def test_alert_settings_are_checked_and_the_secret_never_echoed() -> None:
    secret = "whsec_" + base64.b64encode(b"k" * 24).decode()
    ok = settings.load({"DLRHUB_ALERT_URL": "https://ops.example/a", "DLRHUB_ALERT_SECRET": secret})
    assert (ok.alert_url, ok.alert_secret, ok.alert_backlog_age_s) == ("https://ops.example/a", secret, 300.0)
    assert settings.load({}).alert_url == ""  # off by default
    for env, says in (
        ({"DLRHUB_ALERT_URL": "ftp://ops.example"}, "alert_url"),
        ({"DLRHUB_ALERT_URL": "https://ops.example/a"}, "required with alert_url"),
        ({"DLRHUB_ALERT_SECRET": "whsec_c2hvcnQ="}, "24 to 64 bytes"),
        ({"DLRHUB_ALERT_BACKLOG_AGE_S": "0"}, "more than 0"),
        ({"DLRHUB_ALERT_QUOTA_LOW_PERCENT": "150"}, "0 to 100"),
    ):
        with pytest.raises(errors.ConfigError, match=says) as caught:
            settings.load(env)
        assert "c2hvcnQ" not in str(caught.value)


@pytest.mark.parametrize(
    ("name", "value", "ok"),
    [
        ("retain_request_ids_days", "0", True),  # 0: kept for ever
        ("retain_request_ids_days", "1", True),  # the 24 h window
        ("retain_messages_days", "6", False),  # GetSendStatus answers for 7 days
        ("retain_messages_days", "7", True),
        ("retain_orphans_days", "-1", False),
        ("retain_audit_days", "1", True),
    ],
)
def test_retention_keeps_what_the_dialects_promise(name: str, value: str, ok: bool) -> None:
    env = {f"DLRHUB_{name.upper()}": value}
    if ok:
        assert getattr(settings.load(env), name) == int(value)
    else:
        with pytest.raises(errors.ConfigError, match=name):
            settings.load(env)


#: Each eSMS pull API's per-account requests a second: eSMS's own limits, and dlrhub's bound where it has none.
ESMS_TPS = {
    "esms_getcallback_tps": 20,
    "esms_zns_status_tps": 100,
    "esms_zalo_status_tps": 30,
    "esms_send_status_tps": 100,
    "esms_balance_tps": 100,
}


@pytest.mark.parametrize(("name", "default"), list(ESMS_TPS.items()))
def test_each_esms_pull_limit_has_its_default_its_variable_and_is_at_least_one(
    name: str, default: int
) -> None:
    assert getattr(settings.Settings(), name) == default
    variable = f"DLRHUB_{name.upper()}"
    assert getattr(settings.load({variable: "7"}), name) == 7
    with pytest.raises(errors.ConfigError) as caught:
        settings.load({variable: "0"})
    assert f"setting {name} ({variable}): bad value 0 (1 or more)" in str(caught.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://dlrhub:s3cret@db:5432/dlrhub", "postgresql://dlrhub:…@db:5432/dlrhub"),
        (
            "postgresql://dlrhub@db/dlrhub?password=s3cret&sslmode=require",
            "postgresql://dlrhub@db/dlrhub?password=…&sslmode=require",
        ),
        ("redis://:s3cret@cache:6379/0", "redis://:…@cache:6379/0"),
        ("postgresql://db/dlrhub?sslpassword=s3cret", "postgresql://db/dlrhub?sslpassword=…"),
        ("sqlite:///var/lib/dlrhub/a@b:c.sqlite3", "sqlite:///var/lib/dlrhub/a@b:c.sqlite3"),
        ("postgresql://dlrhub@db/dlrhub", "postgresql://dlrhub@db/dlrhub"),
    ],
)
def test_a_store_url_is_shown_without_its_password(url: str, shown: str) -> None:
    assert urls.shown_url(url) == shown
