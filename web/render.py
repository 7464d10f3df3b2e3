"""Templates, the htmx helper and flash messages: how every page response is made."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2_fragments.starlette import Jinja2Blocks
from starlette.requests import Request
from starlette.responses import Response

from engine.calendar import SHANGHAI
from web.roles import INSTANCE_STATES, LEVELS, ROLES, TASK_STATES, role_label
from web.security import csrf_token

templates = Jinja2Blocks(directory=str(Path(__file__).parent / "templates"))


def _local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return value.astimezone(SHANGHAI).strftime(fmt) if value else ""


templates.env.filters["local"] = _local
templates.env.filters["role"] = role_label
templates.env.globals.update(ROLES=ROLES, LEVELS=LEVELS, TASK_STATES=TASK_STATES, INSTANCE_STATES=INSTANCE_STATES)


def is_htmx(request: Request) -> bool:
    """True for htmx requests that want a fragment (history restores want the full page)."""
    return request.headers.get("hx-request") == "true" and request.headers.get("hx-history-restore-request") != "true"


def flash(request: Request, message: str, kind: str = "success") -> None:
    # Assign, never mutate in place: the session middleware only saves what was set (a second flash was lost).
    request.session["flash"] = [*request.session.get("flash", []), {"message": message, "kind": kind}]


def pop_flashes(request: Request) -> list[dict[str, str]]:
    return list(request.session.pop("flash", []))


def page(request: Request, name: str, context: dict[str, Any], *, block: str | None = None,
         status_code: int = 200) -> Response:
    """Render `name`; for an htmx request with `block`, only that block. Always `Vary: HX-Request`."""
    ctx = {"actor": getattr(request.state, "actor", None), "csrf_token": csrf_token(request), **context}
    if block and is_htmx(request):
        response = templates.TemplateResponse(request, name, ctx, block_name=block, status_code=status_code)
    else:
        ctx.setdefault("flashes", pop_flashes(request))
        response = templates.TemplateResponse(request, name, ctx, status_code=status_code)
    response.headers["Vary"] = "HX-Request"
    return response
