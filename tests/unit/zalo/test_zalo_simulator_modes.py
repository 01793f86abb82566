"""The simulator's mode table: one source of truth, and the doc holds it verbatim."""

from __future__ import annotations

import pathlib

import pytest

from dlrhub.simulator import modes

DOC = pathlib.Path(__file__).resolve().parents[3] / "docs" / "reference" / "simulator.md"


def test_doc_holds_the_table_from_the_code():
    text = DOC.read_text(encoding="utf-8")
    assert modes.modes_table() in text


def test_every_mode_has_exactly_one_suffix():
    assert {r.mode for r in modes.MODES} | {modes.Mode.OK} == set(modes.Mode)
    suffixes = [r.suffix for r in modes.MODES]
    assert len(suffixes) == len(set(suffixes))
    assert all(len(s) == 3 and s.isdigit() for s in suffixes)


@pytest.mark.parametrize("mode", list(modes.Mode))
def test_phone_with_round_trips(mode):
    assert modes.mode_for(modes.phone_with(mode)) is mode


@pytest.mark.parametrize(
    ("phone", "mode"),
    [
        ("84900000118", modes.Mode.ERROR_118),
        ("+84 900 000 124", modes.Mode.ERROR_124),
        ("0900000005", modes.Mode.NO_ANSWER),
        ("84900000001", modes.Mode.OK),
        ("", modes.Mode.OK),
    ],
)
def test_mode_for(phone, mode):
    assert modes.mode_for(phone) is mode
