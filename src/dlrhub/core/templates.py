"""ZNS templates as dlrhub keeps them per OA, and the check of a send's template data against their parameters."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from dlrhub.core import errors, models

#: Zalo's status of a template that may send; every other status (PENDING_REVIEW, REJECT, DISABLE) may not.
ENABLE = "ENABLE"
#: The status dlrhub gives a synced template that Zalo no longer lists.
DISABLE = "DISABLE"
#: The statuses Zalo's template API uses (anything else it answers is kept as it is, and may not send).
STATUSES = (ENABLE, "PENDING_REVIEW", "REJECT", DISABLE)
#: Parameter types with a format check; any other type (Zalo may add some) gets the length checks only.
NUMBER = "NUMBER"
DATE = "DATE"
STRING = "STRING"
#: A template id as Zalo and the dialects write it.
TEMPLATE_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")
#: A parameter name as Zalo writes it (`customer_name`, `order_code`).
PARAM_NAME = re.compile(r"[0-9A-Za-z_.-]{1,100}")
MAX_PARAMS = 100

#: NUMBER: an optional sign, digits, and `.`/`,` between digit groups (`100000`, `-5`, `1.250.000`, `3,5`).
_NUMBER = re.compile(r"[+-]?[0-9]+(?:[.,][0-9]+)*")
#: DATE: Zalo's `dd/MM/yyyy`, optionally with a time before or after it (docs/reference/decisions.md).
_DATE_FORMATS = (
    "%d/%m/%Y",
    "%H:%M %d/%m/%Y",
    "%H:%M:%S %d/%m/%Y",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
)


class Source(enum.StrEnum):
    """Where dlrhub learnt a template."""

    #: Synced from Zalo's template API (`templates sync`).
    ZALO = "zalo"
    #: Registered by hand (`templates add`), or an id the OA had before templates were stored.
    MANUAL = "manual"


@dataclasses.dataclass(frozen=True, slots=True)
class Param:
    """One parameter of a template, as Zalo's `listParams` describes it."""

    name: str
    type: str = STRING
    require: bool = True
    max_length: int | None = None
    min_length: int | None = None
    #: Whether an empty value (`""` or null) is allowed.
    accept_null: bool = False

    def to_json(self) -> dict[str, Any]:
        """The parameter in Zalo's spelling (the stored and shown form)."""
        return {
            "name": self.name,
            "type": self.type,
            "require": self.require,
            "maxLength": self.max_length,
            "minLength": self.min_length,
            "acceptNull": self.accept_null,
        }

    @classmethod
    def from_json(cls, raw: object, field: str = "params") -> Param:
        """A parameter from Zalo's spelling; raises errors.InvalidInput naming `field`."""
        if not isinstance(raw, Mapping):
            raise errors.InvalidInput(field, "expected an object")
        name = raw.get("name")
        if not isinstance(name, str) or not PARAM_NAME.fullmatch(name):
            raise errors.InvalidInput(f"{field}.name", "expected 1-100 letters, digits, _ . or -")
        kind = raw.get("type", STRING)
        if not isinstance(kind, str) or not 0 < len(kind) <= 32:
            raise errors.InvalidInput(f"{field}.type", "expected a type name")
        return cls(
            name=name,
            type=kind.upper(),
            require=_flag(raw.get("require", True), f"{field}.require"),
            max_length=_length(raw.get("maxLength"), f"{field}.maxLength"),
            min_length=_length(raw.get("minLength"), f"{field}.minLength"),
            accept_null=_flag(raw.get("acceptNull", False), f"{field}.acceptNull"),
        )


def _flag(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise errors.InvalidInput(field, "expected true or false")
    return value


def _length(value: object, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100_000:
        raise errors.InvalidInput(field, "expected a length")
    return value


def params_from_json(raw: object, field: str = "params") -> tuple[Param, ...]:
    """A template's parameters from a JSON list; raises errors.InvalidInput (a repeated name included)."""
    if not isinstance(raw, list | tuple) or len(raw) > MAX_PARAMS:
        raise errors.InvalidInput(field, f"expected a list of at most {MAX_PARAMS} parameters")
    params = tuple(Param.from_json(p, f"{field}[{i}]") for i, p in enumerate(raw))
    names = [p.name for p in params]
    if len(set(names)) != len(names):
        raise errors.InvalidInput(field, "a parameter name is repeated")
    return params


@dataclasses.dataclass(frozen=True, slots=True)
class Template:
    """A template an OA may know: synced from Zalo or registered by hand."""

    oa_id: str
    template_id: str
    name: str
    #: Zalo's status; only ENABLE may send.
    status: str
    source: Source
    #: None when not known (a manual template without parameters): sends with it are not checked.
    params: tuple[Param, ...] | None
    #: Zalo's price of one message, when known.
    price: Decimal | None = None
    #: When it was last read from Zalo (None for a manual template).
    synced_at: dt.datetime | None = None
    #: The rest of Zalo's answer worth showing: timeout, previewUrl, templateQuality, templateTag.
    info: models.JSON = dataclasses.field(default_factory=dict)

    @property
    def sendable(self) -> bool:
        """Whether sends may use it."""
        return self.status == ENABLE

    def to_json(self) -> dict[str, Any]:
        """The template as the admin API and the CLI show it."""
        return {
            "oa_id": self.oa_id,
            "template_id": self.template_id,
            "name": self.name,
            "status": self.status,
            "source": self.source.value,
            "params": None if self.params is None else [p.to_json() for p in self.params],
            "price": None if self.price is None else str(self.price),
            "synced_at": None if self.synced_at is None else self.synced_at.isoformat(),
            **({"info": self.info} if self.info else {}),
        }


@dataclasses.dataclass(frozen=True, slots=True)
class Checker:
    """A template's parameters, compiled once for the sends that use it (see `compile_checker`)."""

    template_id: str
    sendable: bool = True
    params: tuple[Param, ...] | None = None
    by_name: Mapping[str, Param] = dataclasses.field(default_factory=dict)

    def check(self, data: Mapping[str, object], field: str, *, positional: bool = False) -> None:
        """Raise errors.InvalidInput (naming `field` and the parameter) unless `data` fits the template.

        A template that may not send is refused; one without known parameters takes any data. With
        `positional` (eSMS V4 `Params`, keyed "1", "2", ...) the values are the parameters in template order.
        """
        if not self.sendable:
            raise errors.InvalidInput("template", f"template {self.template_id} is not enabled on Zalo")
        if self.params is None:
            return
        if positional:
            if len(data) > len(self.params):
                raise errors.InvalidInput(field, f"{len(data)} values for {len(self.params)} parameters")
            data = self.named(data)
        else:
            for key in data:
                if key not in self.by_name:
                    raise errors.InvalidInput(f"{field}.{key}", "not a parameter of the template")
        for param in self.params:
            _check_value(param, data.get(param.name, _MISSING), f"{field}.{param.name}")

    def named(self, data: Mapping[str, object]) -> dict[str, object]:
        """Positional values keyed by the parameters' names, in template order (unchanged without parameters)."""
        if self.params is None:
            return dict(data)
        return {p.name: v for p, v in zip(self.params, data.values(), strict=False)}


_MISSING = object()
#: The checker of a template dlrhub knows nothing of: any data passes.
NO_CHECK = Checker("")


def compile_checker(template: Template | None) -> Checker:
    """The checker of `template` (NO_CHECK when there is none)."""
    if template is None:
        return NO_CHECK
    by_name = {p.name: p for p in template.params or ()}
    return Checker(template.template_id, template.sendable, template.params, by_name)


def _check_value(param: Param, value: object, field: str) -> None:
    if value is _MISSING:
        if param.require:
            raise errors.InvalidInput(field, "required parameter missing")
        return
    if value is None or value == "":
        if param.require and not param.accept_null:
            raise errors.InvalidInput(field, "must not be empty")
        return
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise errors.InvalidInput(field, "expected text or a number")
    text = value if isinstance(value, str) else str(value)
    if param.max_length is not None and len(text) > param.max_length:
        raise errors.InvalidInput(field, f"longer than {param.max_length} characters")
    if param.min_length is not None and len(text) < param.min_length:
        raise errors.InvalidInput(field, f"shorter than {param.min_length} characters")
    if param.type == NUMBER and not _NUMBER.fullmatch(text):
        raise errors.InvalidInput(field, "expected a number")
    if param.type == DATE and not _is_date(text):
        raise errors.InvalidInput(field, "expected a date dd/MM/yyyy")


def _is_date(text: str) -> bool:
    for fmt in _DATE_FORMATS:
        try:
            dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
        return True
    return False
