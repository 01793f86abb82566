"""The health key: one account's endpoint (account, origin, path), its normal form, bounds, split and label."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlrhub.core import urls


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("HTTPS://Example.COM/dr?x=1", "https://example.com:443/dr"),
        ("http://127.0.0.1:9102/dr", "http://127.0.0.1:9102/dr"),
        ("http://127.0.0.1:9102", "http://127.0.0.1:9102/"),
        ("http://h.example?only=query", "http://h.example:80/"),
        ("http://h.example/a#frag", "http://h.example:80/a"),
        ("http://h.example/A/b/", "http://h.example:80/A/b/"),  # a path is as written: case and slashes count
        ("https://bücher.example./päth", "https://xn--bcher-kva.example:443/p%C3%A4th"),
        ("http://[0:0::1]:8080/x%2Fy", "http://[::1]:8080/x%2Fy"),
    ],
)
def test_health_target_normal_form(url: str, target: str) -> None:
    assert urls.health_target(url) == target
    assert urls.health_target(target) == target  # a target is its own target


def test_health_key_is_the_account_and_the_target() -> None:
    url = "http://127.0.0.1:9102/dr?SMSID=1"
    assert urls.health_key("acc_a", url) == "acc_a:http://127.0.0.1:9102/dr"
    # Two accounts on one URL, or one account on two paths of a host: four endpoints, one host.
    keys = {
        urls.health_key(a, f"http://127.0.0.1:9102{p}") for a in ("acc_a", "acc_b") for p in ("/dr", "/x")
    }
    assert len(keys) == 4
    assert {urls.endpoint_key(urls.split_health_key(k)[1]) for k in keys} == {"http://127.0.0.1:9102"}


@pytest.mark.parametrize(
    ("key", "parts"),
    [
        ("acc_a:https://h.example:443/dr", ("acc_a", "https://h.example:443/dr")),
        (
            "acc:odd:http://h.example:80/",
            ("acc:odd", "http://h.example:80/"),
        ),  # the last `:` before the scheme
        ("https://h.example:443/dr", ("", "https://h.example:443/dr")),  # a URL, no account
        ("http://h.example:80", ("", "http://h.example:80")),
        ("acc_a:https://h.example:443/a:https://x", ("acc_a", "https://h.example:443/a:https://x")),
    ],
)
def test_split_health_key(key: str, parts: tuple[str, str]) -> None:
    assert urls.split_health_key(key) == parts


def test_a_long_or_foreign_path_is_bounded_and_ascii() -> None:
    long = urls.health_target("https://h.example/" + "ä" * 3000)
    assert len(long) <= urls.MAX_HEALTH_TARGET and long.isascii()
    assert long != urls.health_target("https://h.example/" + "ä" * 2999 + "b")  # the digest keeps them apart
    assert urls.health_target(long) == long


def test_a_label_never_holds_a_path() -> None:
    key = urls.health_key("acc_a", "https://h.example/hooks/T0K3N?sig=1")
    label = urls.health_label(key)
    assert label.startswith("https://h.example:443/~") and "T0K3N" not in label
    assert label == urls.health_label(urls.health_key("acc_b", "https://h.example/hooks/T0K3N"))
    assert label != urls.health_label(urls.health_key("acc_a", "https://h.example/hooks/other"))
    assert urls.health_label("acc_a:https://h.example:443/") == "https://h.example:443/"


_PATHS = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters=" ?#"), max_size=80
)


@given(
    path=_PATHS,
    query=st.text(alphabet="abc=&%", max_size=10),
    account=st.from_regex(r"[!-.0-~]{1,20}", fullmatch=True),
)
def test_a_key_splits_back_and_ignores_the_query(path: str, query: str, account: str) -> None:
    url = f"https://h.example/{path}"
    key = urls.health_key(account, f"{url}?{query}")
    assert key == urls.health_key(account, url)
    assert urls.split_health_key(key) == (account, urls.health_target(url))
    assert key.isascii()
