"""`dlrhub demo` end to end, in-process on loopback, with a small count."""

from __future__ import annotations

import io

from rich.console import Console

from dlrhub.commands import demo
from dlrhub.core import models


async def test_demo_settles_everything_and_reports():
    out = io.StringIO()
    console = Console(file=out, width=120)
    summary = await demo.run_demo(40, 60, console)
    demo.print_summary(summary, console)
    assert summary.finished
    assert summary.sent == 40
    # Per dialect, one cycle of 20: -118, -114, 17005 and -115 fail; `no_receipt` stays success; the rest
    # (-124 after a refresh, the receipt twice, the receipt first, and 12 plain sends) are delivered.
    assert summary.states == {
        ("esms", "delivered"): 15,
        ("esms", "failed"): 4,
        ("esms", "success"): 1,
        ("nxcloud", "delivered"): 15,
        ("nxcloud", "failed"): 4,
        ("nxcloud", "success"): 1,
    }
    assert summary.callbacks.get(models.CallbackState.PENDING, 0) == 0
    assert summary.received == summary.callbacks[models.CallbackState.SUCCEEDED]
    assert len(summary.first_latencies) == 40
    assert "p50 / p99" in out.getvalue()
