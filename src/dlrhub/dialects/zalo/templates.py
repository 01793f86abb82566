"""Zalo's ZNS template API on the wire: the list and the detail answers, read into dlrhub's templates (pure).

PROTOCOLS §3.6b: `GET /template/all?offset=&limit=[&status=]` lists an OA's templates
(`data: [{templateId, templateName, createdTime, status, templateQuality}]`, `metadata: {total}`), and
`GET /template/info/v2?template_id=` details one (`data: {templateId, templateName, status, listParams, timeout,
previewUrl, templateQuality, templateTag, price}`). Both take the OA's `access_token` header.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from dlrhub.core import errors, models, templates
from dlrhub.dialects.zalo import wire

PATH_TEMPLATE_ALL = "/template/all"
PATH_TEMPLATE_INFO = "/template/info/v2"
#: Zalo's page size bound for the list.
PAGE_LIMIT = 100
#: The list's `status` filter values (Sec: SDKs); dlrhub lists every status, to mark the ones no longer enabled.
STATUS_FILTER = {"1": templates.ENABLE, "2": "PENDING_REVIEW", "3": "REJECT", "4": templates.DISABLE}
#: The keys of the detail answer kept as the template's `info`.
INFO_KEYS = ("timeout", "previewUrl", "templateQuality", "templateTag", "applyTemplateQuota")


@dataclasses.dataclass(frozen=True, slots=True)
class Listed:
    """One template as the list shows it."""

    template_id: str
    name: str
    status: str


@dataclasses.dataclass(frozen=True, slots=True)
class Page:
    """One page of the list, and how many templates the OA has in all."""

    templates: tuple[Listed, ...]
    total: int


@dataclasses.dataclass(frozen=True, slots=True)
class Detail:
    """One template's detail: its parameters and price."""

    template_id: str
    name: str
    status: str
    params: tuple[templates.Param, ...]
    price: Decimal | None
    info: models.JSON

    def template(self, oa_id: str, now: dt.datetime) -> templates.Template:
        """The template dlrhub keeps for `oa_id`, synced at `now`."""
        return templates.Template(
            oa_id=oa_id,
            template_id=self.template_id,
            name=self.name,
            status=self.status,
            source=templates.Source.ZALO,
            params=self.params,
            price=self.price,
            synced_at=now,
            info=self.info,
        )


def _template_id(raw: object, field: str) -> str:
    # Zalo writes template ids as numbers; the dialects carry them as text.
    if (
        isinstance(raw, bool)
        or not isinstance(raw, int | str)
        or not templates.TEMPLATE_ID.fullmatch(str(raw))
    ):
        raise errors.InvalidInput(field, "expected a template id")
    return str(raw)


def _text(d: Mapping[str, Any], key: str, limit: int = 500) -> str:
    value = d.get(key)
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limit:
        raise errors.InvalidInput(key, f"expected text of at most {limit} characters")
    return value


def _status(d: Mapping[str, Any]) -> str:
    status = _text(d, "status", 32).upper()
    if not status:
        raise errors.InvalidInput("status", "missing")
    return status


def _listed(raw: object, i: int) -> Listed:
    if not isinstance(raw, dict):
        raise errors.InvalidInput(f"data[{i}]", "expected an object")
    return Listed(
        _template_id(raw.get("templateId"), f"data[{i}].templateId"), _text(raw, "templateName"), _status(raw)
    )


def _page(body: models.JSON) -> Page:
    data = body.get("data")
    if data is None:
        data = []
    if not isinstance(data, list):
        raise errors.InvalidInput("data", "expected a list")
    meta = body.get("metadata")
    total = meta.get("total") if isinstance(meta, dict) else None
    if isinstance(total, bool) or not isinstance(total, int):
        total = len(data)
    return Page(tuple(_listed(t, i) for i, t in enumerate(data)), total)


def _price(raw: object) -> Decimal | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise errors.InvalidInput("price", "expected a number")
    try:
        price = Decimal(str(raw))
    except InvalidOperation as exc:
        raise errors.InvalidInput("price", "expected a number") from exc
    if not price.is_finite() or price < 0 or price > Decimal("1e12"):
        raise errors.InvalidInput("price", "out of range")
    return price


def _detail(body: models.JSON) -> Detail:
    d = body.get("data")
    if not isinstance(d, dict):
        raise errors.InvalidInput("data", "expected an object")
    params = d.get("listParams")
    return Detail(
        template_id=_template_id(d.get("templateId"), "data.templateId"),
        name=_text(d, "templateName"),
        status=_status(d),
        params=templates.params_from_json([] if params is None else params, "data.listParams"),
        price=_price(d.get("price")),
        info={k: d[k] for k in INFO_KEYS if k in d and isinstance(d[k], str | int | bool)},
    )


def page_answer(raw: bytes) -> wire.Answer[Page]:
    """Parse `/template/all`'s answer."""
    return wire.answer(raw, _page)


def detail_answer(raw: bytes) -> wire.Answer[Detail]:
    """Parse `/template/info/v2`'s answer."""
    return wire.answer(raw, _detail)


def detail_json(detail: Detail) -> dict[str, Any]:
    """A detail in Zalo's shape (the simulator's answer)."""
    return {
        "templateId": int(detail.template_id) if detail.template_id.isdigit() else detail.template_id,
        "templateName": detail.name,
        "status": detail.status,
        "listParams": [p.to_json() for p in detail.params],
        **detail.info,
        "price": None if detail.price is None else str(detail.price),
    }
