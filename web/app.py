"""The Starlette application: composed in one `create_app()` with a lifespan that opens the database."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from engine import reminders
from engine.calendar import load_calendar
from engine.collab import AttachmentStore
from engine.config import PROJECT_ROOT, Settings
from engine.db import close_database, init_database
from engine.runtime import Engine
from web import api, collab, dibao, pages, projects_api
from web.cemetery_api import api_routes as cemetery_api_routes
from web.composition import db_config as default_db_config
from web.composition import install_workflows
from web.notify import Mailer, SmtpSettings
from web.security import SESSION_MAX_AGE, LoginThrottle, RejectNulQueryMiddleware, SecurityHeadersMiddleware
from web.social_org_api import api_routes as social_org_api_routes

log = logging.getLogger("civicflow.web")
STATIC_DIR = Path(__file__).parent / "static"
HTMX_DIR = PROJECT_ROOT / "node_modules" / "htmx.org" / "dist"


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    db_config: dict[str, Any]
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    objection_throttle: LoginThrottle = field(default_factory=LoginThrottle)  # identity checks on the public form
    scheduler_interval: float | None = 5.0  # None: no in-process scheduler
    manage_db: bool = True
    refreshers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    attachments: AttachmentStore | None = None  # files under <data dir>/attachments
    mailer: Mailer | None = None  # set when CIVICFLOW_SMTP_HOST is configured


async def scheduler_loop(engine: Engine, interval: float,
                         refreshers: Sequence[Callable[[], Awaitable[None]]] = (),
                         stop: asyncio.Event | None = None) -> None:
    """Wake due timers and escalate overdue tasks until `stop` is set. Errors are logged, never fatal: the next
    sweep retries. Stopping waits for the current sweep: cancelling a task inside a database transaction can
    leave SQLite's connection lock held, so shutdown sets `stop` instead of cancelling."""
    stop = stop or asyncio.Event()
    while not stop.is_set():
        try:
            for refresh in refreshers:
                await refresh()
            while not stop.is_set() and await engine.wake_due_timers() > 0:
                pass
            while not stop.is_set() and await engine.escalate_overdue() > 0:
                pass
            if not stop.is_set():
                await reminders.sweep(engine)  # near-due reminders; one queue-arrival notice per user
        except Exception:  # noqa: BLE001 - a scheduler must survive a bad sweep
            log.exception("timer sweep failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)


def create_app(settings: Settings | None = None, *, engine: Engine | None = None,
               db_config: dict[str, Any] | None = None, scheduler_interval: float | None = 5.0,
               manage_db: bool = True, cookie_secure: bool = False) -> Starlette:
    settings = settings or Settings.from_env()
    ctx = AppContext(settings, engine or Engine(), db_config or default_db_config(settings.database_url),
                     scheduler_interval=scheduler_interval, manage_db=manage_db)
    ctx.attachments = AttachmentStore(settings.data_dir / "attachments", settings.attachment_max_bytes)
    smtp = SmtpSettings.from_env()
    ctx.mailer = Mailer(smtp) if smtp else None

    async def mail(notes: Any) -> None:
        if ctx.mailer is not None:
            await ctx.mailer.deliver(notes)

    ctx.engine.notification_sinks.append(mail)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if ctx.manage_db:
            await init_database(ctx.db_config, global_fallback=True)
        ctx.engine.calendar = await load_calendar(settings.timezone)
        ctx.refreshers = await install_workflows(ctx.engine)
        stop = asyncio.Event()
        task = asyncio.create_task(scheduler_loop(ctx.engine, ctx.scheduler_interval, ctx.refreshers, stop)) \
            if ctx.scheduler_interval else None
        try:
            yield
        finally:
            if task is not None:
                stop.set()
                try:
                    await asyncio.wait_for(asyncio.shield(task), 30)
                except TimeoutError:  # a sweep stuck for 30 s: cancel as the last resort
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            if ctx.mailer is not None:
                await ctx.mailer.flush()
            if ctx.manage_db:
                await close_database()

    routes = [
        Mount("/api/v1", routes=[*api.routes, *collab.api_routes, *dibao.api_routes,
                                 *projects_api.api_routes,
                                 *cemetery_api_routes,
                                 *social_org_api_routes]),
        *pages.routes,
        Mount("/static/vendor/htmx", StaticFiles(directory=HTMX_DIR, check_dir=False), name="htmx"),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    middleware = [
        Middleware(SecurityHeadersMiddleware),
        Middleware(RejectNulQueryMiddleware),
        Middleware(SessionMiddleware, secret_key=settings.secret_key, session_cookie="civicflow_session",
                   max_age=SESSION_MAX_AGE, same_site="lax", https_only=cookie_secure),
    ]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan,
                    exception_handlers=pages.exception_handlers)
    app.state.ctx = ctx
    return app
