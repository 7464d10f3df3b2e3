"""Who is asking: the session's user as an `Actor`, and the decorator every page handler uses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from engine import authz
from engine.authz import Actor
from engine.collab import unread_count
from engine.models import User
from web.render import is_htmx
from web.security import csrf_ok, session_user_id

Handler = Callable[[Request], Awaitable[Response]]


def ctx_of(request: Request) -> Any:
    return request.app.state.ctx


async def load_actor(request: Request) -> Actor | None:
    uid = session_user_id(request)
    if uid is None:
        return None
    user = await User.get_or_none(id=uid, is_active=True)
    if user is None:
        request.session.clear()
        return None
    actor = await authz.actor_for(user)
    request.state.actor = actor
    return actor


def login_required(handler: Callable[[Request, Actor], Awaitable[Response]]) -> Handler:
    """Resolve the session's user; unsafe methods also need a valid CSRF token (every form has one)."""

    async def wrapper(request: Request) -> Response:
        actor = await load_actor(request)
        if actor is None:
            if is_htmx(request):
                return Response(status_code=401, headers={"HX-Redirect": "/login"})
            return RedirectResponse(f"/login?{urlencode({'next': request.url.path})}", status_code=303)
        if request.method not in ("GET", "HEAD"):
            form = await request.form()
            if not csrf_ok(request, form):
                raise HTTPException(403, "页面已过期或请求来源无效(CSRF 校验失败),请刷新页面后重试。")
            if any("\x00" in value for value in form.values() if isinstance(value, str)):
                raise HTTPException(422, "提交的内容包含非法字符(NUL),未作任何更改。")
        if not is_htmx(request):  # a full page: its top bar shows the unread notification badge
            request.state.unread_notifications = await unread_count(actor.username)
        return await handler(request, actor)

    return wrapper


