"""Notification centre and its htmx badge; optional e-mail through a real local SMTP server (aiosmtpd), sent after
the transaction commits — a failing SMTP server is logged and never breaks the operation."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from engine.clock import FakeClock
from engine.models import HumanTask, Notification, User
from engine.runtime import Engine
from tests.collab_helpers import TOWNSHIP, add_user, start_review
from tests.conftest import FIXTURES, Database, browser_login, seed_web_users


async def test_badge_fragment_for_htmx_and_full_page_without(client: Any, engine: Engine) -> None:
    _, task = await start_review(engine)
    await engine.reassign(task.id, actor="dp_county", to="th_clerk")
    await browser_login(client, "th_clerk")
    inbox = await client.get("/inbox")
    assert 'id="notif-badge"' in inbox.text and 'hx-get="/notifications/badge"' in inbox.text
    assert 'hx-trigger="every 60s"' in inbox.text and 'aria-label="1 条未读"' in inbox.text

    fragment = await client.get("/notifications/badge", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "HX-Request" in fragment.headers["vary"]
    assert fragment.text.strip().startswith('<a id="notif-badge"') and "<html" not in fragment.text
    assert ">1</span>" in fragment.text

    full = await client.get("/notifications/badge")
    assert full.status_code == 200 and full.text.startswith("<!doctype html>")
    assert "<h1>通知中心</h1>" in full.text and "分派给您:乡镇审查 · CR-1" in full.text
    assert "HX-Request" in full.headers["vary"]


async def test_mark_read_mark_all_and_open(client: Any, engine: Engine) -> None:
    _, one = await start_review(engine, business_key="CR-1")
    _, two = await start_review(engine, business_key="CR-2")
    _, three = await start_review(engine, business_key="CR-3")
    for task in (one, two, three):
        await engine.reassign(task.id, actor="dp_county", to="th_clerk")
    csrf = await browser_login(client, "th_clerk")
    first, second, third = await Notification.filter(recipient="th_clerk").order_by("id")
    r = await client.post(f"/notifications/{first.id}/read", data={"csrf_token": csrf})
    assert r.status_code == 303 and r.headers["location"] == "/notifications"
    r = await client.post(f"/notifications/{second.id}/read", data={"csrf_token": csrf, "go": "1"})
    assert r.status_code == 303 and r.headers["location"] == f"/tasks/{two.id}"
    badge = await client.get("/notifications/badge", headers={"HX-Request": "true"})
    assert ">1</span>" in badge.text
    unread = await client.get("/notifications?show=unread")
    assert "CR-3" in unread.text and "CR-1" not in unread.text
    # Someone else's notification cannot be touched.
    other_csrf = await browser_login(client, "dsq_clerk")
    r = await client.post(f"/notifications/{third.id}/read", data={"csrf_token": other_csrf})
    assert r.status_code == 404
    assert (await Notification.get(id=third.id)).read_at is None
    csrf = await browser_login(client, "th_clerk")
    assert (await client.post("/notifications/read-all", data={"csrf_token": "wrong"})).status_code == 403
    r = await client.post("/notifications/read-all", data={"csrf_token": csrf})
    assert r.status_code == 303
    assert await Notification.filter(recipient="th_clerk", read_at=None).count() == 0
    badge = await client.get("/notifications/badge", headers={"HX-Request": "true"})
    assert "badge-danger" not in badge.text


async def test_user_sets_own_email_address(client: Any) -> None:
    csrf = await browser_login(client, "th_clerk")
    r = await client.post("/notifications/email", data={"csrf_token": csrf, "email": "not an address"})
    assert r.status_code == 422 and "邮箱地址格式不正确" in r.text
    r = await client.post("/notifications/email", data={"csrf_token": csrf, "email": "clerk@example.gov.cn"})
    assert r.status_code == 303
    assert (await User.get(username="th_clerk")).email == "clerk@example.gov.cn"
    r = await client.post("/notifications/email", data={"csrf_token": csrf, "email": ""})
    assert (await User.get(username="th_clerk")).email is None


# -- e-mail through a real SMTP server ----------------------------------------------------------------------------

class Collector:
    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's API
        self.envelopes.append(envelope)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[Collector, int]]:
    collector = Collector()
    port = free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield collector, port
    finally:
        controller.stop()


async def mail_client(monkeypatch: pytest.MonkeyPatch, engine: Engine, db: Database, password_hash: str,
                      tmp_path: Path, port: int) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    from engine.config import Settings
    from web.app import create_app

    monkeypatch.setenv("CIVICFLOW_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CIVICFLOW_SMTP_PORT", str(port))
    monkeypatch.setenv("CIVICFLOW_SMTP_FROM", "civicflow@minzheng.example")
    monkeypatch.setenv("CIVICFLOW_BASE_URL", "https://civicflow.example")
    await seed_web_users(password_hash)
    settings = Settings(data_dir=tmp_path, database_url=db.url, bpmn_dir=FIXTURES / "bpmn" / "showcase",
                        secret_key_value="test-secret-key")
    app = create_app(settings, engine=engine, db_config=db.config, scheduler_interval=None, manage_db=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        yield c, app


@pytest.fixture
async def mailing(monkeypatch: pytest.MonkeyPatch, engine: Engine, db: Database, password_hash: str,
                  tmp_path: Path, smtp_server: tuple[Collector, int]) -> AsyncIterator[tuple[Any, Any, Collector]]:
    collector, port = smtp_server
    async for c, app in mail_client(monkeypatch, engine, db, password_hash, tmp_path, port):
        yield c, app, collector


@pytest.fixture
async def broken_mailing(monkeypatch: pytest.MonkeyPatch, engine: Engine, db: Database, password_hash: str,
                         tmp_path: Path) -> AsyncIterator[tuple[Any, Any]]:
    async for c, app in mail_client(monkeypatch, engine, db, password_hash, tmp_path, free_port()):  # nobody there
        yield c, app


def subject(envelope: Any) -> str:
    return str(make_header(decode_header(message_from_bytes(envelope.content)["Subject"])))


async def test_reassignment_is_emailed_after_commit(mailing: tuple[Any, Any, Collector], engine: Engine) -> None:
    client, app, collector = mailing
    await add_user("th_clerk2", "通惠经办二", TOWNSHIP, ["township_clerk"], email="clerk2@example.gov.cn")
    await User.filter(username="th_clerk").update(email=None)  # no address: in-app only
    _, task = await start_review(engine)
    csrf = await browser_login(client, "dp_county")
    r = await client.post(f"/tasks/{task.id}/reassign", data={"csrf_token": csrf, "to": "th_clerk2"})
    assert r.status_code == 303
    await app.state.ctx.mailer.flush()
    assert len(collector.envelopes) == 1
    envelope = collector.envelopes[0]
    assert envelope.rcpt_tos == ["clerk2@example.gov.cn"] and envelope.mail_from == "civicflow@minzheng.example"
    assert subject(envelope) == "[民政业务流程平台] 分派给您:乡镇审查 · CR-1"
    body = message_from_bytes(envelope.content).get_payload(decode=True).decode()
    assert f"https://civicflow.example/tasks/{task.id}" in body and "东坡区审核" in body
    # Escalation mails the county reviewer once they have an address; users without one get nothing.
    await User.filter(username="dp_county").update(email="county@example.gov.cn")
    _, late = await start_review(engine, business_key="CR-9")
    assert isinstance(engine.clock, FakeClock)
    engine.clock.advance(timedelta(days=7))
    assert await engine.escalate_overdue() == 2
    await app.state.ctx.mailer.flush()
    assert sorted(e.rcpt_tos[0] for e in collector.envelopes) == ["clerk2@example.gov.cn", "county@example.gov.cn",
                                                                    "county@example.gov.cn"]


async def test_smtp_failure_is_logged_and_the_operation_stands(broken_mailing: tuple[Any, Any], engine: Engine,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    client, app = broken_mailing
    await add_user("th_clerk2", "通惠经办二", TOWNSHIP, ["township_clerk"], email="clerk2@example.gov.cn")
    _, task = await start_review(engine)
    csrf = await browser_login(client, "dp_county")
    with caplog.at_level(logging.ERROR, logger="civicflow.mail"):
        r = await client.post(f"/tasks/{task.id}/reassign", data={"csrf_token": csrf, "to": "th_clerk2"})
        assert r.status_code == 303
        await app.state.ctx.mailer.flush()
    assert (await HumanTask.get(id=task.id)).assignee == "th_clerk2"
    assert await Notification.filter(recipient="th_clerk2", kind="task.assigned").count() == 1
    failures = [rec for rec in caplog.records if rec.name == "civicflow.mail"]
    assert len(failures) == 1 and "failed" in failures[0].getMessage() and failures[0].exc_info is not None
