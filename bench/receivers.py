"""The benchmarks' receivers: nginx from Debian's package (one worker, keep-alive, `return 200 "ok"`), or, where
nginx is missing, an aiohttp low-level server in its own process; and free loopback ports.

`python bench/receivers.py PORT...` runs the aiohttp sink (the benches start it so).
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

#: How long the aiohttp sink holds a request to `/slow` (a neighbour that holds every request).
SLOW_S = 3.0
#: nginx's configuration: `{dir}` its prefix, `{servers}` its server blocks.
NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log crit;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    keepalive_requests 1000000;
{servers}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def free_ports(count: int) -> list[int]:
    """`count` distinct free loopback ports."""
    ports: list[int] = []
    while len(ports) < count:
        if (port := free_port()) not in ports:
            ports.append(port)
    return ports


def wait_for(port: int, what: str = "the receiver") -> None:
    """Return once 127.0.0.1:`port` accepts connections (RuntimeError after 5 s)."""
    for _ in range(100):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not start")


def nginx_binary() -> str | None:
    return shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def answering_200(ports: list[int]) -> str:
    """One server block answering 200 "ok" on each of `ports`."""
    listen = " ".join(f"listen 127.0.0.1:{p};" for p in ports)
    return f'    server {{ {listen} location / {{ return 200 "ok"; }} }}'


def start_nginx(workdir: Path, servers: str, port: int, nginx: str | None = None) -> subprocess.Popen[bytes]:
    """nginx in `workdir` with the `servers` blocks; returns once `port` accepts connections."""
    conf = workdir / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=workdir, servers=servers))
    proc = subprocess.Popen([nginx or nginx_binary() or "nginx", "-c", str(conf), "-p", str(workdir)])
    wait_for(port, "nginx")
    return proc


def serve_sink(ports: list[int]) -> None:
    """The aiohttp sink (run in its own process): one server answering on every port."""
    from aiohttp import web

    async def handle(request: Any) -> Any:
        await request.read()
        if request.path == "/slow":
            await asyncio.sleep(SLOW_S)
        return web.Response(text="ok")

    async def main() -> None:
        server = web.Server(handle, access_log=None)
        loop = asyncio.get_running_loop()
        for port in ports:
            await loop.create_server(server, "127.0.0.1", port, backlog=4096)
        print("ready", flush=True)
        await asyncio.Event().wait()

    try:
        import uvloop
    except ImportError:
        asyncio.run(main())
        return
    uvloop.run(main())


def start_sink(workdir: Path, ports: list[int], nginx_ok: bool = True) -> tuple[subprocess.Popen[bytes], str]:
    """The receiver on `ports` (each a destination of its own to the dispatcher), and what it is."""
    nginx = nginx_binary()
    if nginx and nginx_ok:
        return start_nginx(workdir, answering_200(ports), ports[0], nginx), "nginx"
    proc = subprocess.Popen([sys.executable, __file__, *map(str, ports)], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.readline()
    wait_for(ports[0])
    return proc, "aiohttp low-level server"


if __name__ == "__main__":
    serve_sink([int(p) for p in sys.argv[1:]])
