"""`core.frozen.replace`: what `dataclasses.replace` answers, for every model, at a fraction of its cost."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from dlrhub.core import frozen, models

NOW = dt.datetime(2026, 12, 5, tzinfo=dt.UTC)


def _message() -> models.Message:
    return models.Message(
        id="m1", account_id="a1", dialect=models.Dialect.NXCLOUD, type_id=25, recipient="84901888484",
        state=models.MessageState.ACCEPTED, seq=0, created_at=NOW, updated_at=NOW, price=Decimal("0.0125"),
        template_data={"name": "An"},
    )  # fmt: skip


def test_a_copy_with_changes_equals_dataclasses_replace() -> None:
    message = _message()
    changes: dict[str, Any] = {"state": models.MessageState.SUCCESS, "seq": 1, "updated_at": NOW, "code": 0}
    copied = frozen.replace(message, **changes)
    assert copied == dataclasses.replace(message, **changes)
    assert type(copied) is models.Message
    assert copied is not message and message.seq == 0  # the original is left as it was
    assert copied.template_data is message.template_data  # a shallow copy, as dataclasses.replace makes
    with pytest.raises(dataclasses.FrozenInstanceError):
        copied.seq = 2  # type: ignore[misc]


def test_every_field_is_copied() -> None:
    event = models.StatusEvent(
        id="m1:accepted", kind=models.EventKind.ACCEPTED, occurred_at=NOW, message_id="m1", code=7, text="t"
    )
    copied = frozen.replace(event, applied=True)
    for field in dataclasses.fields(event):
        expected = True if field.name == "applied" else getattr(event, field.name)
        assert getattr(copied, field.name) == expected, field.name


def test_an_unknown_field_is_refused() -> None:
    with pytest.raises(TypeError, match="nope"):
        frozen.replace(_message(), nope=1)


def test_a_class_with_post_init_goes_through_its_init() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        n: int

        def __post_init__(self) -> None:
            if self.n < 0:
                raise ValueError("negative")

    assert frozen.replace(Checked(1), n=2) == Checked(2)
    with pytest.raises(ValueError, match="negative"):
        frozen.replace(Checked(1), n=-1)


def test_a_field_left_out_of_init_goes_through_dataclasses_replace() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Derived:
        n: int
        twice: int = dataclasses.field(init=False, default=0)

    with pytest.raises(ValueError, match="init=False"):
        frozen.replace(Derived(1), twice=4)
    assert frozen.replace(Derived(1), n=3).n == 3
