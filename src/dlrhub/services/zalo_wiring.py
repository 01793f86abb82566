"""Which Zalo this process talks to (the real API, another URL, or the built-in simulator), and its wiring."""

from __future__ import annotations

import fastapi

from dlrhub import settings, store
from dlrhub.adapters.zalo import client
from dlrhub.core import errors
from dlrhub.dialects.zalo import wire
from dlrhub.services import hub as hub_
from dlrhub.simulator import app as simulator
from dlrhub.simulator import config as simulator_config

#: Where `dlrhub serve` mounts the simulator, and where Zalo (or the simulator) posts its webhook events.
SIMULATOR_PATH = "/simulator/zalo"
WEBHOOK_PATH = "/zalo/webhook"


def uses_simulator(config: settings.Settings) -> bool:
    """`simulator` and `zalo` force a choice; `auto` uses the simulator unless `zalo_api_url` was changed.

    So a fresh install never reaches the real Zalo by accident. Raises errors.ConfigError on another value.
    """
    mode = config.zalo_mode.strip().lower()
    if mode == "simulator":
        return True
    if mode == "zalo":
        return False
    if mode == "auto":
        return config.zalo_api_url.rstrip("/") == wire.DEFAULT_API_BASE
    raise errors.ConfigError(f"setting zalo_mode: expected auto, simulator or zalo, not {config.zalo_mode!r}")


def local_base(config: settings.Settings) -> str:
    """This process's own HTTP base URL, as a local client reaches it."""
    host = config.host if config.host not in ("", "0.0.0.0", "::") else "127.0.0.1"
    return f"http://{host}:{config.port}"


def api_urls(config: settings.Settings) -> tuple[str, str]:
    """The business API and OAuth base URLs the Zalo client uses."""
    if uses_simulator(config):
        base = local_base(config) + SIMULATOR_PATH
        return base, base
    return config.zalo_api_url, config.zalo_oauth_url


def make_client(config: settings.Settings) -> client.ZaloClient:
    """A Zalo client (owning its session) for the configured Zalo."""
    api, oauth = api_urls(config)
    return client.ZaloClient(api_base=api, oauth_base=oauth, timeout=config.zalo_timeout_s)


def make_simulator(hub: hub_.Hub) -> simulator.Simulator:
    """The simulator `dlrhub serve` mounts: it knows every OA in the store and posts to this process's webhook."""

    async def directory() -> list[simulator_config.SimOA]:
        db: store.Accounts = hub.store
        found = []
        for account in await db.list_accounts():
            for oa in await db.list_oas(account.id):
                found.append(
                    simulator_config.SimOA(
                        oa_id=oa.oa_id,
                        oa_secret=oa.oa_secret,
                        app_id=oa.app_id,
                        app_secret=oa.app_secret,
                        access_token=oa.access_token,
                        refresh_token=oa.refresh_token,
                    )
                )
        return found

    config = simulator_config.SimulatorConfig(
        oas=(),
        webhook_url=local_base(hub.settings) + WEBHOOK_PATH,
        receipt_delay=hub.settings.simulator_receipt_delay_s,
        journey_lifetime=hub.settings.simulator_journey_lifetime_s,
    )
    return simulator.Simulator(config, directory=directory)


def install(app: fastapi.FastAPI, hub: hub_.Hub) -> None:
    """Give `app` its shared Zalo client (`app.state.zalo_client`) and, in simulator mode, mount the simulator."""
    if uses_simulator(hub.settings):
        sim = make_simulator(hub)
        app.mount(SIMULATOR_PATH, sim.app)
        app.state.zalo_simulator = sim
    app.state.zalo_client = make_client(hub.settings)


async def close(app: fastapi.FastAPI) -> None:
    """Close what `install` made (call from the app's lifespan: a mounted app gets no lifespan of its own)."""
    zalo = getattr(app.state, "zalo_client", None)
    if isinstance(zalo, client.ZaloClient):
        await zalo.aclose()
    sim = getattr(app.state, "zalo_simulator", None)
    if isinstance(sim, simulator.Simulator):
        await sim.aclose()
