"""The sparkline: counts drawn left to right inside the box, the peak at the top, zero at the bottom."""

from __future__ import annotations

import pytest

from dlrhub.web import charts


def points(text: str) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in (p.split(",") for p in text.split())]


def test_no_counts_draw_nothing():
    assert charts.sparkline([]) == ""


def test_the_peak_touches_the_top_and_zero_the_bottom_across_the_whole_width():
    drawn = points(charts.sparkline([0, 5, 10], width=100, height=50, pad=2))
    assert drawn == [(0, 48), (50, 25), (100, 2)]


def test_all_zero_is_a_flat_line_along_the_bottom():
    assert charts.sparkline([0, 0, 0, 0], width=30, height=10, pad=1) == "0,9 10,9 20,9 30,9"


def test_one_count_is_a_flat_line_across():
    assert charts.sparkline([7], width=60, height=20, pad=0) == "0,0 60,0"


def test_a_negative_count_is_drawn_as_zero():
    assert charts.sparkline([-3, 3], width=10, height=10, pad=0) == "0,10 10,0"


@pytest.mark.parametrize("counts", [[1] * 60, list(range(60)), [0, 10**9, 0, 1, 2], [3, 1, 4, 1, 5, 9, 2, 6]])
def test_every_point_lies_in_the_box_and_x_only_grows(counts: list[int]):
    drawn = points(charts.sparkline(counts))
    assert len(drawn) == len(counts)
    assert all(0 <= x <= charts.WIDTH and 0 <= y <= charts.HEIGHT for x, y in drawn)
    xs = [x for x, _ in drawn]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)
    peak = max(range(len(counts)), key=counts.__getitem__)
    assert drawn[peak][1] == min(y for _, y in drawn)
