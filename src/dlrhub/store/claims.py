"""The fair claim's bounds and its turn over the accounts, shared by both backends' `claim_due_callbacks`.

A claim looks at up to `ACCOUNTS` accounts with pending callbacks (a loose scan of `callbacks_account_due`),
starting after the one the last claim began with, so each account leads in turn; when there are more, the next
claim carries on after the last one looked at. Within an account it walks its destinations, skipping the excluded
ones, until `PAIRS` have due callbacks or `STEPS` (plus the excluded) were looked at.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

#: Accounts with pending callbacks looked at per claim.
ACCOUNTS = 256
#: Destinations with due callbacks taken from per account and claim.
PAIRS = 8
#: Destinations looked at per account and claim, besides the excluded ones (some may have nothing due yet).
STEPS = 64


def steps(exclude: Collection[str]) -> int:
    """How many of an account's destinations a claim skipping `exclude` may look at."""
    return STEPS + len(exclude)


class Turns:
    """Where the next claim starts in the accounts' order."""

    def __init__(self) -> None:
        self.after = ""

    def wraps(self, first: list[str]) -> bool:
        """Whether, having found `first` after `after`, the claim goes on from the first account (`ACCOUNTS -
        len(first)` more)."""
        return bool(self.after) and len(first) < ACCOUNTS

    def take(self, first: list[str], wrapped: Sequence[str] = ()) -> list[str]:
        """The accounts of this claim, in turn order, from the scan after `after` (`first`) and the one from the
        first account (`wrapped`, up to where `first` began); moves `after` on for the next claim."""
        seen = set(first)
        found = list(first)
        for account in wrapped:
            if account in seen:
                break
            found.append(account)
        if not found:
            self.after = ""
        elif len(found) >= ACCOUNTS:
            self.after = found[-1]  # more than one claim looks at: the next carries on
        else:
            self.after = found[0]  # all of them: the next begins with the one after this one's first
        return found
