"""Ingest benchmark: signed NXCloud `mt` requests per second through the full path, against a bare baseline.

The full path is dlrhub's own app: verify the signature, validate the body, route and price it, and store the
message with its `accepted` event (SQLite by default, or `--database-url`). The baseline, in the same run with
the same uvicorn settings, is a bare FastAPI endpoint that only parses the same JSON. Each server runs alone in
its own process while one client process drives it over loopback with `--concurrency` keep-alive connections.
`--door esms` measures eSMS `SendZaloMessage_V6` sends the same way (ApiKey/SecretKey instead of a signature).

    python bench/ingest.py [--seconds 5] [--concurrency 32] [--database-url sqlite:///...] [--door esms]

Prints the two rates and their ratio (target: full path >= 50 % of the bare rate).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import fastapi
import orjson

from dlrhub.dialects.nxcloud import signing

BODY_TEMPLATE: dict[str, Any] = {
    "phone": "84901888484",
    "functionType": "template",
    "messageData": {"templateId": "100001", "templateData": {"name": "Nguyen Van An", "order": "A-10023"}},
    "ext": "bench",
}
ESMS_BODY_TEMPLATE: dict[str, Any] = {
    "TempID": "100001",
    "Phone": "0901888484",
    "TempData": {"name": "Nguyen Van An", "order": "A-10023"},
}
#: The path each door is measured at (the bare server answers both).
PATHS = {"nxcloud": "/v1/zalo/mt", "esms": "/MainService.svc/json/SendZaloMessage_V6/"}
UVICORN = {
    "host": "127.0.0.1",
    "log_level": "warning",
    "access_log": False,
    "loop": "uvloop",
    "http": "httptools",
}


# -- the two servers (each started as `python bench/ingest.py _serve ...`) --------------------------------------


def _bare_app() -> Any:
    app = fastapi.FastAPI()

    @app.post(PATHS["nxcloud"])
    async def mt(request: fastapi.Request) -> fastapi.Response:
        body = orjson.loads(await request.body())
        return fastapi.Response(
            orjson.dumps({"code": 0, "message": "Success", "data": {"requestId": str(len(body))}}),
            media_type="application/json",
        )

    @app.post(PATHS["esms"])
    async def send(request: fastapi.Request) -> fastapi.Response:
        body = orjson.loads(await request.body())
        return fastapi.Response(
            orjson.dumps({"CodeResult": "100", "CountRegenerate": 0, "SMSID": str(len(body))}),
            media_type="application/json",
        )

    return app


def _dlrhub_app(database_url: str) -> Any:
    from dlrhub import settings
    from dlrhub.api import app as app_
    from dlrhub.services import hub as hub_

    config = settings.Settings(database_url=database_url)
    return app_.create_app(hub_.Hub.open(config), manage_store=True)


def _serve(kind: str, port: int, database_url: str) -> None:
    import uvicorn

    from dlrhub.adapters import collector

    app = _bare_app() if kind == "bare" else _dlrhub_app(database_url)
    if kind == "dlrhub":
        # As `dlrhub api` starts (`runtime.start(server=True)`): the collector tuned once the app is built.
        collector.tune()
    uvicorn.run(app, port=port, **UVICORN)  # type: ignore[arg-type]


# -- setup and load ---------------------------------------------------------------------------------------------


async def _setup(database_url: str) -> dict[str, str]:
    from decimal import Decimal

    from dlrhub import settings
    from dlrhub.services import accounts
    from dlrhub.services import hub as hub_

    hub = hub_.Hub.open(settings.Settings(database_url=database_url))
    try:
        await hub.store.migrate()
        new = await accounts.create(hub, "bench", balance=Decimal("1e12"))
    finally:
        await hub.close()
    a = new.account
    return {
        "access_key": a.nx_access_key,
        "secret": a.nx_access_secret,
        "appkey": new.app.appkey,
        "api_key": a.esms_api_key,
        "secret_key": a.esms_secret_key,
        "oa_id": new.oa.oa_id,
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` so far (Linux `/proc`; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    url: str
    pid: int


@contextlib.contextmanager
def _server(kind: str, database_url: str) -> Iterator[Server]:
    port = _free_port()
    cmd = [sys.executable, __file__, "_serve", kind, str(port), database_url]
    proc = subprocess.Popen(cmd, env=os.environ | {"PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{kind} server did not start")
            time.sleep(0.05)
        yield Server(f"http://127.0.0.1:{port}", proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Result:
    ok: int = 0
    refused: int = 0
    seconds: float = 0.0
    #: Server CPU seconds used while measuring.
    cpu: float = 0.0

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    @property
    def cpu_us(self) -> float:
        """Server CPU microseconds per accepted request."""
        return self.cpu / self.ok * 1e6 if self.ok else 0.0


def _request(door: str, creds: dict[str, str]) -> Callable[[], tuple[bytes, dict[str, str]]]:
    """Each request's body and headers. NXCloud requests differ in `ext` and are each signed: a signature is taken
    once (a repeat of the same signed bytes is a replay, refused with 1003), as a real client's requests are."""
    if door == "esms":
        keys = {"ApiKey": creds["api_key"], "SecretKey": creds["secret_key"], "OAID": creds["oa_id"]}
        raw = orjson.dumps(keys | ESMS_BODY_TEMPLATE)
        return lambda: (raw, {"Content-Type": "application/json"})
    count = itertools.count()

    def signed() -> tuple[bytes, dict[str, str]]:
        raw = orjson.dumps({"appkey": creds["appkey"]} | BODY_TEMPLATE | {"ext": f"bench-{next(count)}"})
        headers = signing.sign_headers(creds["access_key"], creds["secret"], raw)
        return raw, headers | {"Content-Type": "application/json"}

    return signed


def _accepted(door: str, answer: bytes) -> bool:
    body = orjson.loads(answer)
    return bool(body.get("CodeResult") == "100") if door == "esms" else bool(body.get("code") == 0)


async def _load(
    server: Server, creds: dict[str, str], seconds: float, concurrency: int, warmup: float, door: str
) -> Result:
    request_for = _request(door, creds)
    url = server.url + PATHS[door]
    result = Result()
    measuring = False
    stop_at = time.monotonic() + warmup + seconds

    async def worker(session: aiohttp.ClientSession) -> None:
        while time.monotonic() < stop_at:
            raw, headers = request_for()
            async with session.post(url, data=raw, headers=headers) as resp:
                answer = await resp.read()
            if not measuring:
                continue
            if resp.status == 200 and _accepted(door, answer):
                result.ok += 1
            else:
                result.refused += 1

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        tasks = [asyncio.create_task(worker(session)) for _ in range(concurrency)]
        await asyncio.sleep(warmup)
        measuring = True
        started, cpu = time.monotonic(), _cpu_seconds(server.pid)
        await asyncio.gather(*tasks)
        result.seconds = time.monotonic() - started
        result.cpu = _cpu_seconds(server.pid) - cpu
    return result


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_serve":
        _serve(sys.argv[2], int(sys.argv[3]), sys.argv[4])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per server (default 5)")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds first (default 1)")
    parser.add_argument("--concurrency", type=int, default=32, help="keep-alive connections (default 32)")
    parser.add_argument("--database-url", default="", help="default: a fresh SQLite file in a temp dir")
    parser.add_argument(
        "--rounds", type=int, default=2, help="alternate the two servers this often; best kept"
    )
    parser.add_argument(
        "--door", choices=sorted(PATHS), default="nxcloud", help="the send door (default nxcloud)"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if not 0 < args.seconds <= 120 or not 0 < args.concurrency <= 1024 or not 0 < args.rounds <= 10:
        parser.error("--seconds must be in (0, 120], --concurrency in (0, 1024], --rounds in (0, 10]")
    with tempfile.TemporaryDirectory(prefix="dlrhub-bench-") as tmp:
        database_url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        creds = asyncio.run(_setup(database_url))
        # Alternate the servers and keep each one's best round: other load on the machine only ever lowers a
        # rate, so the best round is the least disturbed one.
        results: dict[str, Result] = {}
        for _ in range(args.rounds):
            for kind in ("bare", "dlrhub"):
                with _server(kind, database_url) as server:
                    got = asyncio.run(
                        _load(server, creds, args.seconds, args.concurrency, args.warmup, args.door)
                    )
                if kind not in results or got.rate > results[kind].rate:
                    results[kind] = got
                results[kind].refused = max(results[kind].refused, got.refused)
    bare, full = results["bare"], results["dlrhub"]
    ratio = full.rate / bare.rate if bare.rate else 0.0
    figures = {
        "door": args.door,
        "backend": database_url.split(":", 1)[0],
        "concurrency": args.concurrency,
        "seconds": args.seconds,
        "rounds": args.rounds,
        "bare_rps": round(bare.rate),
        "dlrhub_rps": round(full.rate),
        "dlrhub_refused": full.refused,
        "ratio": round(ratio, 3),
        "bare_cpu_us": round(bare.cpu_us),
        "dlrhub_cpu_us": round(full.cpu_us),
        "target": 0.5,
        "cpus": os.cpu_count(),
    }
    if args.json:
        print(json.dumps(figures))
    else:
        print(
            f"ingest ({args.door}, {figures['backend']}, {args.concurrency} connections, {args.seconds:g} s x {args.rounds}"
            " rounds each, best round kept)"
        )
        print(
            f"  bare FastAPI JSON parse : {bare.rate:8.0f} req/s  {bare.cpu_us:6.0f} us server CPU per request"
        )
        print(
            f"  dlrhub {args.door + ' send':17}: {full.rate:8.0f} req/s  {full.cpu_us:6.0f} us server CPU per request"
            f"  ({full.refused} refused)"
        )
        print(f"  ratio                   : {ratio:8.1%}  (target >= 50 %)")
    if full.refused:
        sys.exit(1)


if __name__ == "__main__":
    main()
