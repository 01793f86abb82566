"""The Zalo simulator's deterministic failure modes, chosen by the recipient's last digits (pure).

`MODES` is the one source of truth: `docs/reference/simulator.md` holds `modes_table()` verbatim, and a unit
test checks that it does.
"""

from __future__ import annotations

import dataclasses
import enum


class Mode(enum.StrEnum):
    """How the simulator treats a send."""

    #: Success; one signed receipt after the receipt delay.
    OK = "ok"
    #: Zalo error -118: the Zalo account does not exist.
    ERROR_118 = "error_-118"
    #: Zalo error -114: user inactive or rejected the message.
    ERROR_114 = "error_-114"
    #: Zalo error -124 on a message's first try; after a refresh the retry succeeds.
    ERROR_124 = "error_-124"
    #: Zalo error -108: phone number invalid.
    ERROR_108 = "error_-108"
    #: Zalo error -115: out of quota, with `data.quota` showing nothing left.
    OUT_OF_QUOTA = "out_of_quota"
    #: Zalo error -144: the OA's daily limit is reached, with `data.quota`.
    DAILY_LIMIT = "daily_limit"
    #: No answer: the request hangs until the client gives up (or `hang_seconds`).
    NO_ANSWER = "no_answer"
    #: Success, but the receipt never comes.
    NO_RECEIPT = "no_receipt"
    #: Success, and the same receipt is posted twice.
    RECEIPT_TWICE = "receipt_twice"
    #: The receipt is posted (and answered) before the send result is returned.
    RECEIPT_FIRST = "receipt_first"


@dataclasses.dataclass(frozen=True, slots=True)
class Rule:
    """One row of the table: numbers ending in `suffix` get `mode`."""

    suffix: str
    mode: Mode
    zalo: str
    dlrhub: str


#: Numbers ending in these digits (the last three of the phone) get the mode. Anything else is `OK`.
#: Sends by hash phone cannot be read back to digits, so they are always `OK`.
MODES: tuple[Rule, ...] = (
    Rule("118", Mode.ERROR_118, '`{"error":-118,"message":"Zalo account not existed"}`', "failed 17004"),
    Rule("114", Mode.ERROR_114, "`error` -114, the seeds' message", "failed 17004"),
    Rule(
        "124",
        Mode.ERROR_124,
        "-124 on the first try of each `tracking_id` (the token stays valid)",
        "refresh, retry once, success 0",
    ),
    Rule("108", Mode.ERROR_108, "`error` -108 (also for any number that is not 8-15 digits)", "failed 17004"),
    Rule("115", Mode.OUT_OF_QUOTA, "`error` -115, `data.quota` with `remainingQuota` 0", "failed 17004"),
    Rule("144", Mode.DAILY_LIMIT, "`error` -144, `data.quota` with `remainingQuota` 0", "failed 17004"),
    Rule("005", Mode.NO_ANSWER, "no answer until the client hangs up", "failed 17005"),
    Rule("201", Mode.NO_RECEIPT, "success, no receipt ever", "success 0, never delivered"),
    Rule(
        "202", Mode.RECEIPT_TWICE, "success, the same receipt posted twice", "success 0, delivered 17003 once"
    ),
    Rule(
        "203",
        Mode.RECEIPT_FIRST,
        "the receipt is posted before the send answer",
        "orphan receipt, then success 0 and delivered 17003",
    ),
)

_BY_SUFFIX = {rule.suffix: rule.mode for rule in MODES}


def mode_for(phone: str) -> Mode:
    """The mode of a send to `phone` (its last three digits); `OK` for anything not in `MODES`."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    return _BY_SUFFIX.get(digits[-3:], Mode.OK)


def phone_with(mode: Mode, stem: str = "84900000") -> str:
    """A phone number that gets `mode` (stem + a suffix); `OK` gets suffix `300`."""
    for rule in MODES:
        if rule.mode is mode:
            return stem + rule.suffix
    return stem + "300"


def modes_table() -> str:
    """The Markdown table of `MODES`, as it appears in `docs/reference/simulator.md`."""
    lines = [
        "| number ends in | mode | the simulator answers | dlrhub reports |",
        "|---|---|---|---|",
    ]
    lines += [f"| `{r.suffix}` | `{r.mode.value}` | {r.zalo} | {r.dlrhub} |" for r in MODES]
    lines.append(
        "| anything else | `ok` | success, one receipt after the delay | success 0, delivered 17003 |"
    )
    return "\n".join(lines) + "\n"
