"""The fair claim's bounds and its turn over the accounts, shared by both backends' `claim_due_callbacks`.

A claim of `limit` callbacks looks at up to `accounts(limit)` accounts with pending callbacks (a loose scan of
`callbacks_account_due`), starting after the one the last claim began with, so each account leads in turn; when
there are more, the next claim carries on after the last one looked at. Within an account it walks its
destinations in the index's order, skipping the excluded ones, until they hold `limit` due callbacks (at most
`quota` counted of each) or `steps(limit, exclude)` were looked at (some may hold nothing due yet).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

#: Accounts with pending callbacks looked at per claim, at most.
ACCOUNTS = 256
#: Destinations with nothing due looked at per account and claim, at most.
IDLE_STEPS = 64


def accounts(limit: int) -> int:
    """How many accounts a claim of `limit` callbacks looks at: no more than can each have one."""
    return min(ACCOUNTS, limit)


def steps(limit: int, exclude: Collection[str]) -> int:
    """How many of an account's destinations a claim of `limit` skipping `exclude` may look at."""
    return limit + IDLE_STEPS + len(exclude)


class Turns:
    """Where the next claim starts in the accounts' order."""

    def __init__(self) -> None:
        self.after = ""

    def wraps(self, first: list[str], n: int) -> bool:
        """Whether, having found `first` of `n` after `after`, the claim goes on from the first account (`n -
        len(first)` more)."""
        return bool(self.after) and len(first) < n

    def take(self, n: int, first: list[str], wrapped: Sequence[str] = ()) -> list[str]:
        """The (up to `n`) accounts of this claim, in turn order, from the scan after `after` (`first`) and the one from the
        first account (`wrapped`, up to where `first` began); moves `after` on for the next claim."""
        seen = set(first)
        found = list(first)
        for account in wrapped:
            if account in seen:
                break
            found.append(account)
        if not found:
            self.after = ""
        elif len(found) >= n:
            self.after = found[-1]  # more than one claim looks at: the next carries on
        else:
            self.after = found[0]  # all of them: the next begins with the one after this one's first
        return found
