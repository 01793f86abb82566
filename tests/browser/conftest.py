"""End-to-end tests in a real browser: Debian's `chromium` driven by Playwright, against a real `dlrhub serve`.

`served` is a `dlrhub serve` process on SQLite with the Zalo simulator and the bootstrap admin token `ADMIN`;
`browser` is a headless chromium (from PATH, or `DLRHUB_CHROMIUM`). Without chromium the tests skip, except in
CI, where they fail: `.ci/run` installs it. Set `DLRHUB_SCREENSHOTS=<dir>` to keep a screenshot of each page a
test names (`make screenshots` writes the ones in docs/).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.acceptance.engine import harness

ADMIN = "browser-test-admin-token"


def chromium() -> str:
    """The chromium binary; skips (fails in CI) without one."""
    found = os.environ.get("DLRHUB_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    reason = "no chromium on PATH (apt-get install chromium, or set DLRHUB_CHROMIUM)"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: CI runs the browser tests")
    pytest.skip(reason)


@dataclasses.dataclass
class Served:
    """A running `dlrhub serve`: its base URL, an admin API client, and its log."""

    url: str
    api: httpx.AsyncClient
    log: Path

    async def admin(self, method: str, path: str, **kw: object) -> httpx.Response:
        """An admin API call as the bootstrap admin."""
        answer = await self.api.request(method, path, headers={"authorization": f"Bearer {ADMIN}"}, **kw)  # type: ignore[arg-type]
        return answer


@pytest.fixture
async def served(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Served]:
    """A `dlrhub serve`; a test may add settings with `@pytest.mark.parametrize("served", [{"DLRHUB_X": "1"}],
    indirect=True)`."""
    port = harness.free_port()
    env = harness.worker_env(
        f"sqlite:///{tmp_path / 'dlrhub.sqlite3'}",
        DLRHUB_ADMIN_TOKEN=ADMIN,
        DLRHUB_HOST="127.0.0.1",
        DLRHUB_PORT=str(port),
        DLRHUB_DISPATCH_CONCURRENCY="8",
        **getattr(request, "param", {}),
    )
    log = tmp_path / "serve.log"
    proc = _start(env, log)
    url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=url, timeout=10) as api:

        async def up() -> bool:
            try:
                return (await api.get("/healthz")).status_code == 200
            except httpx.TransportError:
                return False

        try:
            await harness.wait_until(up, 30, proc)
            yield Served(url, api, log)
        finally:
            await harness.stop_worker_async(proc)


def _start(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([harness.DLRHUB, "serve"], env=env, stdout=out, stderr=subprocess.STDOUT)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    path = chromium()
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=path, headless=True, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            await launched.close()


async def login(browser: Browser, served: Served, token: str) -> Page:
    """A new browser context logged in with `token` through the login form."""
    context = await browser.new_context(base_url=served.url, viewport={"width": 1360, "height": 900})
    page = await context.new_page()
    await page.goto("/ui/login")
    await page.fill("input[name=token]", token)
    await page.click("button[type=submit]")
    await page.wait_for_load_state("networkidle")
    assert "/ui/login" not in page.url, await page.content()
    return page


async def screenshot(page: Page, name: str) -> None:
    """Keep a screenshot of `page` as `<DLRHUB_SCREENSHOTS>/<name>.png` when that is set."""
    folder = os.environ.get("DLRHUB_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)
