"""TLS benchmark: dispatch to an HTTPS receiver against the same over HTTP, each against a bare client, in one run.

The receiver is nginx (one worker) with two server blocks answering 200: plain HTTP on one port, HTTPS on
another with a certificate for `sink.test` signed by a throwaway CA (made with the `openssl` command). dlrhub
trusts that CA the way an operator would, through `callback_ca_file`; the name resolves to 127.0.0.1 through a
fixed resolver inside the URL guard (which still checks the address against `callback_allow`), so the handshake
names `sink.test` (SNI) and the certificate is checked against it while the connection goes to 127.0.0.1.

Four sides, alternated over `--rounds` rounds (the order reversed every other round), N requests each:

1. bare HTTP: a bare aiohttp client (one `ClientSession`, keep-alive, as many connections and workers as the
   default pool) POSTs the body N times to the HTTP port;
2. bare HTTPS: the same client to the HTTPS port (the same CA trusted, the same resolver);
3. dispatch HTTP: N callbacks pre-queued in a fresh SQLite store, claimed, sent and recorded by the dispatcher,
   default settings (`callback_allow` and `callback_ca_file` aside);
4. dispatch HTTPS: the same to `https://sink.test:PORT/hook`.

nginx's `stub_status` counts the connections it accepted and the requests it served during each side, which
shows whether connections are kept alive and reused. Target: HTTPS dispatch >= 80 % of HTTP dispatch.

    python bench/tls.py [--callbacks 20000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import ssl
import statistics
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import aiohttp
import aiohttp.abc

import dispatch as base
import receivers
from dlrhub import settings

NAME = "sink.test"
#: nginx's server blocks (`receivers.NGINX_CONF`): plain HTTP, HTTPS for `NAME`, and `stub_status`.
SERVERS = """
    server {{
        listen 127.0.0.1:{http};
        location / {{ return 200 "ok"; }}
    }}
    server {{
        listen 127.0.0.1:{https} ssl;
        server_name {name};
        ssl_certificate {cert};
        ssl_certificate_key {key};
        location / {{ return 200 "ok"; }}
    }}
    server {{
        listen 127.0.0.1:{status};
        location / {{ stub_status; }}
    }}
"""


class FixedResolver(aiohttp.abc.AbstractResolver):
    """Answers `sink.test` with 127.0.0.1, as a DNS record would (the guard still checks the address)."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[aiohttp.abc.ResolveResult]:
        if host != NAME:
            raise OSError(socket.EAI_NONAME, "Name or service not known")
        return [
            {
                "hostname": host,
                "host": "127.0.0.1",
                "port": port,
                "family": socket.AF_INET,
                "proto": 0,
                "flags": 0,
            }
        ]

    async def close(self) -> None:
        return None


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_certs(workdir: Path) -> tuple[Path, Path, Path]:
    """(CA certificate, server certificate for `sink.test`, its key), made with the `openssl` command."""
    ca, ca_key = workdir / "ca.pem", workdir / "ca.key"
    cert, key, csr, ext = (workdir / f"sink.{s}" for s in ("pem", "key", "csr", "ext"))
    openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", str(ca_key), "-out", str(ca), "-days", "2", "-subj", "/CN=dlrhub bench CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    ext.write_text(f"subjectAltName=DNS:{NAME}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    openssl(
        "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={NAME}",
    )  # fmt: skip
    openssl(
        "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
        "-out", str(cert), "-days", "2", "-extfile", str(ext),
    )  # fmt: skip
    return ca, cert, key


def start_nginx(workdir: Path, cert: Path, key: Path) -> tuple[subprocess.Popen[bytes], dict[str, int]]:
    http, https, status = receivers.free_ports(3)
    ports = {"http": http, "https": https, "status": status}
    servers = SERVERS.format(name=NAME, cert=cert, key=key, **ports)
    return receivers.start_nginx(workdir, servers, status), ports


def nginx_counts(port: int) -> tuple[int, int]:
    """(connections accepted, requests served) so far, this read's own connection and request included."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/") as resp:
        lines = resp.read().decode().splitlines()
    accepts, _, requests = (int(x) for x in lines[2].split())
    return accepts, requests


async def bare(url: str, n: int, concurrency: int, ca: Path) -> float:
    """Requests/s of a bare aiohttp client: keep-alive, `concurrency` connections and workers, no storage."""
    context = ssl.create_default_context(cafile=str(ca))
    connector = aiohttp.TCPConnector(
        limit=concurrency, limit_per_host=concurrency, resolver=FixedResolver(), ssl=context
    )
    headers = {"Content-Type": "application/json"}
    async with aiohttp.ClientSession(connector=connector) as session:
        left = n
        failures = 0

        async def worker() -> None:
            nonlocal left, failures
            while left > 0:
                left -= 1
                async with session.post(url, data=base.BODY, headers=headers) as resp:
                    await resp.read()
                    failures += resp.status != 200

        async def one() -> None:
            async with session.post(url, data=base.BODY, headers=headers) as resp:
                await resp.read()

        await asyncio.gather(*(one() for _ in range(min(n, 200))))  # warm the pool, as bench/dispatch.py does
        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    if failures:
        raise RuntimeError(f"bare client: {failures} requests failed")
    return n / elapsed


async def amain(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="dlrhub-bench-tls-") as tmp:
        workdir = Path(tmp)
        ca, cert, key = make_certs(workdir)
        proc, ports = start_nginx(workdir, cert, key)
        config = settings.Settings(
            database_url="sqlite:///unused", callback_allow=base.LOOPBACK, callback_ca_file=str(ca)
        )
        pool = config.dispatch_concurrency
        urls = {
            "http": f"http://{NAME}:{ports['http']}/hook",
            "https": f"https://{NAME}:{ports['https']}/hook",
        }
        sides = ["bare http", "bare https", "dispatch http", "dispatch https"]
        rates: dict[str, list[float]] = {side: [] for side in sides}
        conns: dict[str, list[tuple[int, int]]] = {side: [] for side in sides}
        cpus: dict[str, list[float]] = {side: [] for side in sides}
        n = args.callbacks
        try:
            for r in range(args.rounds):
                for side in sides if r % 2 == 0 else reversed(sides):
                    kind, scheme = side.split()
                    before = nginx_counts(ports["status"])
                    cpu = time.process_time()
                    if kind == "bare":
                        rate = await bare(urls[scheme], n, pool, ca)
                    else:
                        run = await base.dispatch(workdir, urls[scheme], n, config, resolver=FixedResolver())
                        rate = run.rate
                    cpus[side].append((time.process_time() - cpu) / n * 1e6)
                    after = nginx_counts(ports["status"])
                    rates[side].append(rate)
                    # Less the `before` read's own connection and request.
                    conns[side].append((after[0] - before[0] - 1, after[1] - before[1] - 1))
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        print(
            f"receiver: nginx, 1 worker, HTTP and HTTPS (TLS 1.3, ECDSA P-256 certificate for {NAME}); default settings"
            f" (pool {pool}, per destination {config.endpoint_concurrency}, callback_ca_file set); {n} requests a"
            f" side, {args.rounds} rounds, alternated"
        )
        med = {side: statistics.median(got) for side, got in rates.items()}
        for side in sides:
            got = rates[side]
            c = [a for a, _ in conns[side]]
            q = [b for _, b in conns[side]]
            unit = "req/s" if side.startswith("bare") else "callbacks/s"
            print(
                f"  {side:15s} median {med[side]:7.0f} {unit:11s} (range {min(got):.0f}-{max(got):.0f});"
                f" connections opened per side {statistics.median(c):.0f} (range {min(c)}-{max(c)}),"
                f" requests per connection {statistics.median(q) / max(1, statistics.median(c)):.0f};"
                f" this process's CPU {statistics.median(cpus[side]):.0f} µs a request"
                + (" (queueing them included)" if unit != "req/s" else "")
            )
        print(f"  bare:     HTTPS / HTTP {med['bare https'] / med['bare http']:.0%}")
        print(f"  dispatch: HTTPS / HTTP {med['dispatch https'] / med['dispatch http']:.0%} (target >= 80 %)")
        for scheme in ("http", "https"):
            print(
                f"  dispatch / bare client over {scheme.upper()}: "
                f"{med['dispatch ' + scheme] / med['bare ' + scheme]:.0%}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--callbacks", type=int, default=20_000, help="requests (callbacks) per side and round"
    )
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    base._run(amain(args))


if __name__ == "__main__":
    main()
