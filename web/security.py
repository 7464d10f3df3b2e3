"""Passwords, sessions, CSRF, login throttling, API tokens and security headers."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Mapping
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.models import ApiToken, User

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not-a-real-password")
IDLE_TIMEOUT_SECONDS = 30 * 60
SESSION_MAX_AGE = 8 * 3600
MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def authenticate(username: str, password: str) -> User | None:
    # Usernames are at most 64 characters and never hold NUL: such input cannot name a user (and would make the
    # lookup itself fail: Tortoise checks the column size, PostgreSQL rejects NUL).
    ok = len(username) <= 64 and "\x00" not in username
    user = await User.get_or_none(username=username, is_active=True) if ok else None
    if user is None:
        verify_password(_DUMMY_HASH, password)  # same cost either way: no user enumeration by timing
        return None
    return user if verify_password(user.password_hash, password) else None


class LoginThrottle:
    """At most `limit` failed logins per username and per client address within `window` seconds."""

    def __init__(self, limit: int = 5, window: float = 900.0) -> None:
        self.limit, self.window = limit, window
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._failures[key]
        while q and q[0] < now - self.window:
            q.popleft()
        return q

    def blocked(self, username: str, client: str) -> bool:
        now = time.monotonic()
        return any(len(self._recent(k, now)) >= self.limit for k in (f"u:{username}", f"c:{client}"))

    def failed(self, username: str, client: str) -> None:
        now = time.monotonic()
        for key in (f"u:{username}", f"c:{client}"):
            self._recent(key, now).append(now)

    def succeeded(self, username: str) -> None:
        self._failures.pop(f"u:{username}", None)


# -- sessions ----------------------------------------------------------------------------------

def start_session(request: Request, user: User) -> None:
    request.session.clear()
    request.session.update({"uid": user.id, "csrf": secrets.token_urlsafe(32), "seen": int(time.time())})


def session_user_id(request: Request) -> int | None:
    """The logged-in user id, or None when absent or idle too long (then the session is cleared)."""
    uid = request.session.get("uid")
    if uid is None:
        return None
    now = int(time.time())
    if now - int(request.session.get("seen", 0)) > IDLE_TIMEOUT_SECONDS:
        request.session.clear()
        return None
    if now - int(request.session.get("seen", 0)) > 60:  # refresh at most once a minute
        request.session["seen"] = now
    return int(uid)


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return str(token)


def csrf_ok(request: Request, form: Mapping[str, object]) -> bool:
    expected = request.session.get("csrf")
    given = form.get("csrf_token") or request.headers.get("x-csrf-token")
    return bool(expected) and isinstance(given, str) and hmac.compare_digest(given, str(expected))


# -- API tokens --------------------------------------------------------------------------------

def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_token(user: User) -> tuple[str, ApiToken]:
    token = "cf_" + secrets.token_urlsafe(32)
    row = await ApiToken.create(token_hash=_token_digest(token), user=user)
    return token, row


async def user_for_token(token: str) -> User | None:
    # One query: token, user and the user's org unit (the actor needs its path).
    row = await ApiToken.filter(token_hash=_token_digest(token), revoked_at=None).select_related(
        "user__org_unit").first()
    if row is None or not row.user.is_active:
        return None
    return row.user


async def revoke_token(token: str, now: datetime) -> bool:
    return await ApiToken.filter(token_hash=_token_digest(token), revoked_at=None).update(revoked_at=now) == 1


# -- URLs ------------------------------------------------------------------------------------

class RejectNulQueryMiddleware:
    """A page URL whose query string holds NUL is refused with 400 before any handler runs: no filter, search or
    page number contains it, and PostgreSQL refuses it in a query with an error (an HTTP 500). The JSON API
    validates its parameters itself (with precise error codes) and is left alone."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        query = scope.get("query_string", b"") if scope["type"] == "http" else b""
        if query and not scope["path"].startswith("/api/") and (b"%00" in query or b"\x00" in query):
            body = ("<!doctype html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><title>请求无效</title>"
                    "<p>请求参数包含非法字符(NUL),请返回上一页重试。</p></html>").encode()
            await send({"type": "http.response.start", "status": 400,
                        "headers": [(b"content-type", b"text/html; charset=utf-8"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


# -- headers -----------------------------------------------------------------------------------

SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
    "cross-origin-opener-policy": "same-origin",
}


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for k, v in SECURITY_HEADERS.items():
                    headers.setdefault(k, v)
                if scope["path"].startswith(("/api/", "/login")) or "text/html" in headers.get("content-type", ""):
                    headers.setdefault("cache-control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)
