"""Browser tests: the real app under uvicorn on a fresh SQLite file, driven by Debian's headless Chromium.

One live server for the whole browser run (migrated, seeded with `tests.conftest` org units and users, the
showcase diagram deployed). It runs in a daemon thread; the app's own lifespan opens the database with Tortoise's
global fallback. Only one global fallback may exist per process, and Playwright's sync API leaves its event loop
marked as running in the main thread while it is open (pytest-asyncio then cannot run async tests), so the server and
the browser are shut down as soon as the last browser test of the session has run, not at session end.

Chromium is /usr/bin/chromium (never `playwright install`). When it is missing the tests are skipped, unless
CIVICFLOW_REQUIRE_BROWSER=1 (CI), where they fail.
"""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES, TEST_PASSWORD, deploy_dir, seed_orgs, seed_web_users

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
SHOTS_DIR = Path("/tmp/civicflow-shots")
SHOWCASE = FIXTURES / "bpmn" / "showcase"


_closers: list[Callable[[], None]] = []  # session resources, closed LIFO after the last browser test


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_in_own_loop(coro: Any) -> Any:
    """asyncio.run in a fresh thread: safe whether or not the caller's thread has an event loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _prepare_database(url: str, password_hash: str) -> None:
    from engine.db import close_database, init_database, migrate_database
    from engine.runtime import Engine
    from web.composition import db_config

    config = db_config(url)  # every package's tables: the app's lifespan installs the workflow packages
    await migrate_database(config)
    await init_database(config)
    try:
        await seed_orgs()
        await seed_web_users(password_hash)
        await deploy_dir(Engine(), SHOWCASE, "showcase.bpmn")
    finally:
        await close_database()


def _close_all() -> None:
    while _closers:
        _closers.pop()()


_LAST_BROWSER_ITEM = pytest.StashKey[str]()


@pytest.hookimpl(trylast=True)  # after -k/-m deselection
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    browser_items = [item for item in items if item.get_closest_marker("browser")]
    if browser_items:
        config.stash[_LAST_BROWSER_ITEM] = browser_items[-1].nodeid


@pytest.hookimpl(trylast=True)  # after the item's own fixtures (the page's browser context) are torn down
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    if item.nodeid == item.config.stash.get(_LAST_BROWSER_ITEM, None):
        _close_all()  # free the Tortoise global fallback and the main thread's event loop for what runs next


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} not installed (apt-get install chromium fonts-noto-cjk; CI installs it)"
    if os.environ.get("CIVICFLOW_REQUIRE_BROWSER") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def live_server(password_hash: str) -> Iterator[str]:
    """Base URL of the app served by uvicorn in a daemon thread, on a fresh, seeded SQLite file."""
    _require_chromium()
    import uvicorn

    from engine.config import Settings
    from web.app import create_app

    tmp = Path(tempfile.mkdtemp(prefix="civicflow-browser-"))
    # Tests that must move time (due dates) edit the file directly. An environment variable, because pytest may
    # import this conftest twice under different module names.
    os.environ["CIVICFLOW_LIVE_DB"] = str(tmp / "browser.db")
    url = f"sqlite://{tmp / 'browser.db'}"
    _run_in_own_loop(_prepare_database(url, password_hash))
    settings = Settings(data_dir=tmp, database_url=url, bpmn_dir=SHOWCASE, secret_key_value="browser-test-secret")
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, scheduler_interval=None), host="127.0.0.1",
                                           port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="civicflow-live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            pytest.fail("live server did not start (see the captured log)")
        time.sleep(0.02)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)

    _closers.append(stop)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        _close_all()


@pytest.fixture(scope="session")
def browser(live_server: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
    except BaseException:
        pw.stop()
        raise

    def close() -> None:
        chromium.close()
        pw.stop()

    _closers.append(close)
    try:
        yield chromium
    finally:
        _close_all()


PHONE = {"width": 390, "height": 844}  # an inspector on site


def _open_page(browser: Any, live_server: str, timeout_ms: int = 5000, **context_options: Any) -> Iterator[Any]:
    """A fresh browser context (own cookies) with console errors and CSP violations collected on `page.errors`
    and responses >= 400 on `page.failed`."""
    context = browser.new_context(base_url=live_server, locale="zh-CN", timezone_id="Asia/Shanghai",
                                  **context_options)
    context.set_default_timeout(timeout_ms)
    pg = context.new_page()
    errors: list[str] = []
    failed: list[str] = []
    pg.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    pg.errors, pg.failed = errors, failed
    try:
        yield pg
    finally:
        context.close()


@pytest.fixture
def page(browser: Any, live_server: str) -> Iterator[Any]:
    """A desktop page (1366×900)."""
    yield from _open_page(browser, live_server, viewport={"width": 1366, "height": 900})


@pytest.fixture
def phone(browser: Any, live_server: str) -> Iterator[Any]:
    """A phone-sized touch page (390×844)."""
    yield from _open_page(browser, live_server, timeout_ms=8000, viewport=PHONE, is_mobile=True, has_touch=True,
                          device_scale_factor=2)


def login(page: Any, username: str, password: str = TEST_PASSWORD) -> None:
    """Log in through the Chinese login page; ends on the inbox."""
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/inbox")


def screenshot(page: Any, name: str) -> Path:
    SHOTS_DIR.mkdir(parents=True, exist_ok=True)
    path = SHOTS_DIR / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
