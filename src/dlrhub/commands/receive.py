"""`dlrhub receive`: a local callback receiver that prints every callback it gets, for trying dlrhub out."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated

import typer
from aiohttp import web
from rich.console import Console
from rich.markup import escape

from dlrhub import runtime

console = Console(soft_wrap=True, highlight=False)

#: The most of a body printed per callback.
SHOWN_BODY = 1024


def _handler(status: int) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        body = await request.content.read(SHOWN_BODY + 1)
        cb_id = request.headers.get("webhook-id")
        line = f"[bold]{request.method}[/bold] {escape(request.path_qs)}"
        if cb_id:
            line += f"  [dim]webhook-id={escape(cb_id)}[/dim]"
        console.print(line)
        if body:
            shown = body[:SHOWN_BODY].decode("utf-8", "replace")
            console.print("  " + escape(shown) + (" …" if len(body) > SHOWN_BODY else ""))
        return web.Response(status=status, text="ok")

    return handle


async def _serve(host: str, port: int, status: int) -> None:
    app = web.Application(client_max_size=SHOWN_BODY * 64)
    app.router.add_route("*", "/{tail:.*}", _handler(status))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    console.print(f"receiving callbacks on http://{host}:{port}/ (answering {status}); Ctrl+C to stop")
    stop = runtime.stop_on_signals()
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def receive(
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 9000,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    status: Annotated[int, typer.Option(help="HTTP status to answer with.", min=100, max=599)] = 200,
) -> None:
    """Print every callback that arrives (GET query strings, POST bodies, webhook ids) and answer STATUS."""
    asyncio.run(_serve(host, port, status))
