"""OAs' ZNS templates: sync them from Zalo's template API, register one by hand, list and show them.

Sync reads the OA's whole list (every status), then the detail of each enabled template, and writes everything in
one transaction only once Zalo has answered every call: a Zalo error half way writes nothing. A template Zalo no
longer lists is kept, marked DISABLE. `OA.template_ids` (what the OA may send) follows in the same transaction.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from dlrhub import store
from dlrhub.adapters.zalo import client as zalo_client
from dlrhub.core import errors, models, templates
from dlrhub.dialects.zalo import templates as zalo_templates
from dlrhub.dialects.zalo import wire
from dlrhub.services import audit, lookups
from dlrhub.services import hub as hub_

#: Pages read at most (100 templates each): an OA has far fewer; a longer list is refused, not cut short.
MAX_PAGES = 50


class ZaloRefused(errors.DlrhubError):
    """Zalo refused a template call, or did not answer."""

    def __init__(self, call: str, answer: wire.Answer[Any]) -> None:
        code = "no answer" if answer.timed_out else f"error {answer.error}"
        super().__init__(f"Zalo {call}: {code}: {answer.message or 'failed'}")
        self.zalo_error = answer.error


@dataclasses.dataclass(frozen=True, slots=True)
class Synced:
    """What a sync did: the OA's templates now, and the ids it may send."""

    oa_id: str
    templates: list[templates.Template]
    template_ids: tuple[str, ...]
    #: Synced templates Zalo no longer lists (now DISABLE).
    delisted: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """The answer of `POST …/templates/sync` and `dlrhub templates sync --json`."""
        return {
            "oa_id": self.oa_id,
            "template_ids": list(self.template_ids),
            "delisted": list(self.delisted),
            "templates": [t.to_json() for t in self.templates],
        }


async def _oa(hub: hub_.Hub, oa_id: str) -> models.OA:
    db: store.Accounts = hub.store
    oa = await db.get_oa(oa_id)
    if oa is None:
        raise errors.NotFound(f"no OA {oa_id!r}")
    return oa


async def _listed(zalo: zalo_client.ZaloClient, token: str) -> list[zalo_templates.Listed]:
    found: list[zalo_templates.Listed] = []
    for _ in range(MAX_PAGES):
        answer = await zalo.list_templates(token, offset=len(found))
        if answer.value is None:
            raise ZaloRefused("template list", answer)
        found.extend(answer.value.templates)
        if not answer.value.templates or len(found) >= answer.value.total:
            return found
    raise ZaloRefused("template list", wire.Answer(None, message=f"more than {MAX_PAGES} pages"))


async def sync(hub: hub_.Hub, zalo: zalo_client.ZaloClient, oa_id: str, *, actor: str) -> Synced:
    """Read the OA's templates from Zalo (with its access token) and store them with `template_ids`.

    Raises errors.NotFound (no such OA), ZaloRefused (nothing written then).
    """
    oa = await _oa(hub, oa_id)
    now = hub.clock()
    db: store.Templates = hub.store
    stored = {t.template_id: t for t in await db.list_templates(oa_id)}
    found: dict[str, templates.Template] = {}
    for listed in await _listed(zalo, oa.access_token):
        if listed.status != templates.ENABLE:
            # Not read in detail: a template known before keeps its parameters.
            old = stored.get(listed.template_id)
            found[listed.template_id] = templates.Template(
                oa_id,
                listed.template_id,
                listed.name,
                listed.status,
                templates.Source.ZALO,
                old.params if old is not None else None,
                price=old.price if old is not None else None,
                synced_at=now,
                info=old.info if old is not None else {},
            )
            continue
        answer = await zalo.template_info(oa.access_token, listed.template_id)
        if answer.value is None:
            raise ZaloRefused(f"template info {listed.template_id}", answer)
        detail = answer.value.template(oa_id, now)
        found[listed.template_id] = dataclasses.replace(detail, template_id=listed.template_id)
    delisted = []
    for old in stored.values():
        if (
            old.template_id not in found
            and old.source is templates.Source.ZALO
            and old.status != templates.DISABLE
        ):
            delisted.append(old.template_id)
            found[old.template_id] = dataclasses.replace(old, status=templates.DISABLE, synced_at=now)
    ids = await db.save_templates(oa_id, list(found.values()))
    lookups.forget(hub)
    await audit.record(
        hub,
        actor,
        action="templates.sync",
        target=oa_id,
        details={"template_ids": list(ids), "synced": len(found) - len(delisted), "delisted": delisted},
    )
    return Synced(oa_id, await db.list_templates(oa_id), ids, tuple(delisted))


async def add(
    hub: hub_.Hub,
    oa_id: str,
    template_id: str,
    *,
    name: str,
    params: list[Any] | None,
    price: Decimal | None = None,
    actor: str,
) -> templates.Template:
    """Register a template by hand (enabled; `params` in Zalo's `listParams` spelling, or None: not checked).

    Raises errors.NotFound (no such OA), errors.InvalidInput (a malformed id or parameter), errors.Conflict (the
    template was synced from Zalo: sync again instead).
    """
    await _oa(hub, oa_id)
    if not templates.TEMPLATE_ID.fullmatch(template_id):
        raise errors.InvalidInput("template_id", "expected 1-64 letters, digits, _ or -")
    parsed = None if params is None else templates.params_from_json(params)
    if price is not None and (not price.is_finite() or not 0 <= price <= Decimal("1e12")):
        raise errors.InvalidInput("price", "expected a number from 0 to 1e12")
    db: store.Templates = hub.store
    old = await db.get_template(oa_id, template_id)
    if old is not None and old.source is templates.Source.ZALO:
        raise errors.Conflict(f"template {template_id} was synced from Zalo; sync the OA instead")
    made = templates.Template(
        oa_id, template_id, name, templates.ENABLE, templates.Source.MANUAL, parsed, price=price
    )
    ids = await db.save_templates(oa_id, [made])
    lookups.forget(hub)
    await audit.record(
        hub,
        actor,
        action="templates.add",
        target=f"{oa_id}/{template_id}",
        details={"name": name, "params": None if parsed is None else len(parsed), "template_ids": list(ids)},
    )
    return made


async def list_(hub: hub_.Hub, oa_id: str) -> list[templates.Template]:
    """The OA's templates, by id: those stored, and any id the OA holds without one (manual, not checked)."""
    oa = await _oa(hub, oa_id)
    db: store.Templates = hub.store
    found = {t.template_id: t for t in await db.list_templates(oa_id)}
    for template_id in oa.template_ids:
        if template_id not in found:
            found[template_id] = templates.Template(
                oa_id, template_id, "", templates.ENABLE, templates.Source.MANUAL, None
            )
    return [found[t] for t in sorted(found)]


async def show(hub: hub_.Hub, oa_id: str, template_id: str) -> templates.Template:
    """One of the OA's templates; raises errors.NotFound."""
    for template in await list_(hub, oa_id):
        if template.template_id == template_id:
            return template
    raise errors.NotFound(f"OA {oa_id} has no template {template_id!r}")
