"""Small charts drawn on the server as inline SVG: the pages need no chart library and no script."""

from __future__ import annotations

from collections.abc import Sequence

#: The sparkline's drawing box (the `viewBox`; CSS stretches it to the card's width).
WIDTH = 240
HEIGHT = 48
#: Room kept above the peak and below zero, so the line's stroke is not cut off.
PAD = 2


def sparkline(counts: Sequence[int], width: int = WIDTH, height: int = HEIGHT, pad: int = PAD) -> str:
    """The `points` of an SVG `<polyline>` drawing `counts` left to right across a `width` x `height` box: zero
    (and a negative count) on the bottom line less `pad`, the largest count on the top line plus `pad`. All zero
    is a flat line along the bottom; one count, a flat line across; no counts, "" (nothing drawn)."""
    if not counts:
        return ""
    values = [max(0, c) for c in counts]
    if len(values) == 1:
        values = values * 2
    peak = max(values) or 1
    step = width / (len(values) - 1)
    span = height - 2 * pad
    return " ".join(f"{_num(i * step)},{_num(height - pad - span * v / peak)}" for i, v in enumerate(values))


def _num(value: float) -> str:
    """A coordinate to a tenth of a unit, without a trailing `.0`."""
    text = f"{value:.1f}"
    return text.removesuffix(".0")
