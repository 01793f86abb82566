"""The fair claim's bounds and its turn over the accounts, shared by both backends' `claim_due_callbacks`.

A claim of `limit` callbacks looks at up to `accounts(limit)` accounts with pending callbacks (a loose scan of
`callbacks_account_due`), starting after the one the last claim began with, so each account leads in turn; when
there are more, the next claim carries on after the last one looked at. Within an account it walks its
destinations in the index's order, skipping the excluded ones, until they hold `limit` due callbacks (at most
`share(limit)` counted of each) or `steps(limit, exclude)` were looked at (some may hold nothing due yet). It takes
`share` of each, or, when the walk found fewer than `limit`, more of those that had `share` (up to the quota),
spreading what is missing over them; where that still leaves the claim short, another `Pass` takes more.

Counting a share rather than the quota spreads a claim over many destinations, as due order would: claiming a
fleet of 200 destinations a quota (64) at a time kept a few of them at their cap, and each in turn opened 64
connections (12,645 instead of 2,447 for 20,000 callbacks in `bench/fleet.py`, at 1.5 times the CPU a callback).
"""

from __future__ import annotations

import collections
import dataclasses
import operator
from collections.abc import Collection, Iterable, Sequence
from typing import Any

#: Accounts with pending callbacks looked at per claim, at most.
ACCOUNTS = 256
#: Destinations with nothing due looked at per account and claim, at most.
IDLE_STEPS = 64
#: Destinations a claim spreads over, at least (when there are that many): it counts `share(limit)` of each.
SPREAD = 256
#: Statements a claim makes at most: another only when one came back short of a destination that may hold more.
PASSES = 3


def accounts(limit: int) -> int:
    """How many accounts a claim of `limit` callbacks looks at: no more than can each have one."""
    return min(ACCOUNTS, limit)


def share(limit: int) -> int:
    """How many claimable callbacks of each destination a claim of `limit` counts while walking them."""
    return max(1, -(-limit // SPREAD))


def steps(limit: int, exclude: Collection[str]) -> int:
    """How many of an account's destinations a claim of `limit` skipping `exclude` may look at."""
    return limit + IDLE_STEPS + len(exclude)


@dataclasses.dataclass(frozen=True, slots=True)
class Pass:
    """One statement of a claim: how many it may take, of each destination at most, skipping which."""

    limit: int
    quota: int
    exclude: frozenset[str]

    @property
    def share(self) -> int:
        return share(self.limit)

    @property
    def steps(self) -> int:
        return steps(self.limit, self.exclude)

    def then(self, taken: Iterable[str]) -> Pass | None:
        """The next pass, after this one took callbacks of the destinations `taken` (one entry each); None when it
        came back full, or short with every destination either spent (it gave no more than its share, or fewer
        than the walk's wider take, which `then` cannot tell apart from spent: one more pass finds out) or at its
        quota (the dispatcher refills those on its own)."""
        per = collections.Counter(taken)
        got = sum(per.values())
        deeper = [n for n in per.values() if self.share < n < self.quota]
        if got >= self.limit or not deeper:
            return None
        full = {e for e, n in per.items() if n >= self.quota}
        return Pass(self.limit - got, self.quota - max(deeper), self.exclude | full)


def rounds(candidates: Iterable[Sequence[Any]], quota: int, limit: int) -> list[Any]:
    """Which of a claim's `candidates` (`(key, destination, account's turn position, due time, id)`) it takes:
    round-robin over the accounts (each account's first in due order, then each one's second, ...), at most
    `quota` of a destination and `limit` in all; their keys, in that order."""
    if limit <= 0:
        return []
    by_account: dict[Any, list[Sequence[Any]]] = collections.defaultdict(list)
    for c in candidates:
        by_account[c[2]].append(c)
    ranked: list[tuple[int, Any, Any, Any]] = []
    for pos, found in by_account.items():
        found.sort(key=operator.itemgetter(3, 4))
        ranked += [(turn, pos, c[1], c[0]) for turn, c in enumerate(found, 1)]
    ranked.sort(key=operator.itemgetter(0, 1))
    per: collections.Counter[Any] = collections.Counter()
    taken: list[Any] = []
    for _, _, destination, key in ranked:
        if per[destination] < quota:
            per[destination] += 1
            taken.append(key)
            if len(taken) >= limit:
                break
    return taken


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
