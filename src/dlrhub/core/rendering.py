"""The one small interface through which each dialect turns a StatusEvent into callback requests."""

from __future__ import annotations

import dataclasses
from typing import Protocol

from dlrhub.core import models


@dataclasses.dataclass(frozen=True, slots=True)
class RenderContext:
    """Everything a dialect may read to render one event; `message` is None for journey events."""

    event: models.StatusEvent
    account: models.Account
    message: models.Message | None = None
    journey: models.Journey | None = None
    app: models.App | None = None


class Renderer(Protocol):
    """Renders an event into zero or more callback requests (zero when there is no URL to call)."""

    def __call__(self, ctx: RenderContext, /) -> list[models.CallbackRequest]: ...
