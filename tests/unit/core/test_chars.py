"""`core.chars`: which characters an id, free text and a JSON value may hold."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dlrhub.core import chars

CONTROLS = {chr(c) for c in range(0x20)}
SURROGATES = ["\ud800", "\udbff", "\udc00", "\udfff"]
# `st.text` never yields a lone surrogate, so strings are joined from characters.
any_text = st.lists(st.characters() | st.sampled_from([*SURROGATES, "\x7f", "\x00"]), max_size=20).map(
    "".join
)


@given(any_text)
def test_an_id_holds_no_control_character_and_no_surrogate(value: str) -> None:
    bad = any(c in CONTROLS or c == "\x7f" or "\ud800" <= c <= "\udfff" for c in value)
    assert (chars.id_fault(value) is not None) == bad


@given(any_text)
def test_text_holds_tab_lf_cr_but_no_other_c0_control_and_no_surrogate(value: str) -> None:
    bad = any(c in CONTROLS - {"\t", "\n", "\r"} or "\ud800" <= c <= "\udfff" for c in value)
    assert (chars.text_fault(value) is not None) == bad


def test_problems_name_the_character() -> None:
    assert chars.id_fault("a\x00") == "contains NUL"
    assert chars.text_fault("\udc00") == "contains a lone surrogate"
    assert chars.id_fault("a\tb") == "contains the control character U+0009"
    assert chars.text_fault("a\tb\r\n") is None
    assert chars.id_fault("Đinh Thái Hà") is None


def test_json_faults_are_found_at_any_depth_in_keys_and_strings() -> None:
    assert chars.json_fault({"a": [1, True, None, {"b": "ok\n"}]}) is None
    assert chars.json_fault({"a": [1, {"b": "x\x00"}]}) == ("a[1].b", "contains NUL")
    assert chars.json_fault({"a": {"k\x01": 1}}) == ("a", "a key contains the control character U+0001")
    assert chars.json_fault(["\ud800"], "data") == ("data[0]", "contains a lone surrogate")
    assert chars.json_fault("\x02") == ("value", "contains the control character U+0002")


def test_json_numbers_no_store_can_write_back_are_faults() -> None:
    """orjson (which writes every stored JSON) refuses integers outside 64 bits; NaN and infinities are not JSON."""
    assert chars.json_fault({"a": [2**64 - 1, -(2**63), 1.5, True]}) is None
    assert chars.json_fault({"a": [1, 2**64]}) == ("a[1]", "an integer outside 64 bits")
    assert chars.json_fault({"a": -(2**63) - 1}) == ("a", "an integer outside 64 bits")
    assert chars.json_fault({"b": float("nan")}) == ("b", "not a JSON number (NaN or infinite)")
    assert chars.json_fault([float("-inf")]) == ("[0]", "not a JSON number (NaN or infinite)")


def test_json_faults_are_found_in_document_order() -> None:
    assert chars.json_fault({"a": "\x01", "b": "\x00"}) == ("a", "contains the control character U+0001")
    assert chars.json_fault([["\x00"], "\x01"]) == ("[0][0]", "contains NUL")


def test_json_deeper_than_the_limit_is_refused_without_recursion() -> None:
    deep: object = "ok"
    for _ in range(chars.MAX_DEPTH + 1):
        deep = [deep]
    assert chars.json_fault(deep) == ("[0]" * chars.MAX_DEPTH, f"nested deeper than {chars.MAX_DEPTH} levels")
    shallow: object = "ok"
    for _ in range(chars.MAX_DEPTH):
        shallow = [shallow]
    assert chars.json_fault(shallow) is None


@given(st.sampled_from(sorted(CONTROLS - {"\t", "\n", "\r"}) + SURROGATES), st.integers(0, 3))
def test_one_bad_string_anywhere_is_found(bad: str, depth: int) -> None:
    value: object = {"ok": "fine", "bad": "x" + bad}
    for _ in range(depth):
        value = {"list": [1, value]}
    found = chars.json_fault(value)
    assert found is not None and found[0].endswith("bad")
