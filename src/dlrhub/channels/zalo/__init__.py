"""The Zalo ZNS channel: wire shapes, webhook verification, the HTTP client, token upkeep and the simulator.

- `codes`: Zalo's error table and dlrhub's send codes and texts (pure).
- `wire`: request/response shapes and the mapping of a Zalo answer to a dlrhub outcome (pure).
- `webhook`: `X-ZEvent-Signature` checking and parsing of receipts and journey events (pure).
- `client`: `ZaloClient`, one aiohttp session, never raising on Zalo errors.
- `tokens`: `TokenKeeper`, OAuth v4 refresh before expiry and once more after -124.
- `simulator_modes`: the simulator's deterministic failure modes (pure, the one source of the doc table).
- `simulator_config`, `simulator_outbox`: the simulator's settings, and its bounded signed posts.
- `simulator_http`, `simulator_oauth`: its plumbing (bounded memory, Zalo-shaped answers) and its OAuth v4.
- `simulator`: an ASGI app that answers like Zalo and posts signed receipts.
"""

from __future__ import annotations
