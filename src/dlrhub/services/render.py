"""Picks each dialect's renderer and closes it over an account and app for the store's planner."""

from __future__ import annotations

from dlrhub import settings
from dlrhub.core import models, rendering
from dlrhub.dialects.esms import callback as esms_callback
from dlrhub.dialects.native import render as native
from dlrhub.dialects.nxcloud import dr as nxcloud_dr
from dlrhub.planning import events as planning

RENDERERS: dict[models.Dialect, rendering.Renderer] = {
    models.Dialect.NATIVE: native.render,
    models.Dialect.ESMS: esms_callback.render,
    models.Dialect.NXCLOUD: nxcloud_dr.render,
}


def render_fn(
    account: models.Account, app: models.App | None, config: settings.Settings
) -> planning.RenderFn:
    """A RenderFn for the store: renders with the message's own dialect (NXCloud for journey-only events)."""

    def render(
        message: models.Message | None, journey: models.Journey | None, event: models.StatusEvent
    ) -> list[models.CallbackRequest]:
        dialect = message.dialect if message is not None else models.Dialect.NXCLOUD
        ctx = rendering.RenderContext(
            event=event,
            account=account,
            message=message,
            journey=journey,
            app=app,
            esms_delivered_callback=config.esms_delivered_callback,
        )
        return RENDERERS[dialect](ctx)

    return render
