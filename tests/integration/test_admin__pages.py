from __future__ import annotations

from typing import Any

from engine.models import ApiToken, ProcessDefinition, User
from tests.conftest import FIXTURES, TEST_PASSWORD, api_token, browser_login


async def test_admin_creates_user_with_chinese_errors_then_success(client: Any) -> None:
    csrf = await browser_login(client, "admin")
    bad = await client.post("/admin/users", data={"csrf_token": csrf, "username": "th_clerk", "display_name": "",
                                                  "password": "short", "org_unit": "511402001"})
    assert bad.status_code == 422
    for message in ("该用户名已存在", "请填写姓名", "密码至少 8 位", "请至少选择一个有效角色"):
        assert message in bad.text
    ok = await client.post("/admin/users", data={"csrf_token": csrf, "username": "new_clerk", "display_name": "新人",
                                                 "password": "long-enough-1", "org_unit": "511402002",
                                                 "roles": ["township_clerk"]})
    assert ok.status_code == 303
    user = await User.get(username="new_clerk")
    assert (user.org_unit_id, user.roles) == ("511402002", ["township_clerk"])


async def test_deactivating_a_user_revokes_tokens_and_blocks_login(client: Any) -> None:
    headers = await api_token(client, "dsq_clerk")
    csrf = await browser_login(client, "admin")
    user = await User.get(username="dsq_clerk")
    r = await client.post(f"/admin/users/{user.id}", data={"csrf_token": csrf, "display_name": "大石桥经办",
                                                           "org_unit": "511402002", "roles": ["township_clerk"]})
    assert r.status_code == 303
    assert not (await User.get(id=user.id)).is_active
    assert await ApiToken.filter(user_id=user.id, revoked_at=None).count() == 0
    assert (await client.get("/api/v1/tasks", headers=headers)).status_code == 401
    r = await client.post("/api/v1/auth/token", json={"username": "dsq_clerk", "password": TEST_PASSWORD})
    assert r.status_code == 401


async def test_admin_cannot_remove_own_admin_role(client: Any) -> None:
    csrf = await browser_login(client, "admin")
    me = await User.get(username="admin")
    r = await client.post(f"/admin/users/{me.id}", data={"csrf_token": csrf, "display_name": "x", "is_active": "on",
                                                         "org_unit": "511400", "roles": ["city_manager"]})
    assert r.status_code == 422 and "不能停用自己" in r.text
    assert (await User.get(id=me.id)).roles == ["admin"]


async def test_non_admin_gets_403_on_admin_pages(client: Any) -> None:
    await browser_login(client, "city_mgr")
    for path in ("/admin/users", "/admin/processes"):
        r = await client.get(path)
        assert r.status_code == 403 and "仅系统管理员" in r.text


async def test_upload_invalid_bpmn_shows_message_and_deploys_nothing(client: Any) -> None:
    csrf = await browser_login(client, "admin")
    before = await ProcessDefinition.all().count()
    r = await client.post("/admin/processes", data={"csrf_token": csrf},
                          files={"file": ("broken.bpmn", b"<bpmn:definitions", "application/xml")})
    assert r.status_code == 422
    assert "部署失败,未做任何更改" in r.text and "broken.bpmn" in r.text
    assert await ProcessDefinition.all().count() == before


async def test_upload_changed_bpmn_creates_next_version_same_content_does_not(client: Any) -> None:
    csrf = await browser_login(client, "admin")
    source = (FIXTURES / "bpmn" / "showcase" / "showcase.bpmn").read_bytes()
    same = await client.post("/admin/processes", data={"csrf_token": csrf},
                             files={"file": ("showcase.bpmn", source, "application/xml")})
    assert same.status_code == 303
    assert await ProcessDefinition.filter(key="showcase").count() == 1
    changed = source.replace("引擎演示流程".encode(), "引擎演示流程(修订)".encode())
    r = await client.post("/admin/processes", data={"csrf_token": csrf},
                          files={"file": ("showcase.bpmn", changed, "application/xml")})
    assert r.status_code == 303
    versions = await ProcessDefinition.filter(key="showcase").order_by("version").values_list("version", "name")
    assert versions == [(1, "引擎演示流程"), (2, "引擎演示流程(修订)")]
    page = await client.get("/admin/processes")
    assert "第 2 版" in page.text


async def test_calendar_holiday_and_makeup_day_change_due_dates(client: Any, web_app: Any) -> None:
    from datetime import UTC, datetime

    csrf = await browser_login(client, "admin")
    engine = web_app.state.ctx.engine
    friday = datetime(2026, 10, 1, 2, tzinfo=UTC)  # Thursday 1 Oct 2026, 10:00 Shanghai
    before = engine.calendar.add_working_days(friday, 1)
    assert before.date().isoformat() == "2026-10-02"
    r = await client.post("/admin/calendar", data={"csrf_token": csrf, "day": "2026-10-02", "kind": "holiday",
                                                   "note": "国庆节"})
    assert r.status_code == 303
    assert engine.calendar.add_working_days(friday, 1).date().isoformat() == "2026-10-05"
    await client.post("/admin/calendar", data={"csrf_token": csrf, "day": "2026-10-03", "kind": "makeup"})
    assert engine.calendar.add_working_days(friday, 1).date().isoformat() == "2026-10-03"
    bad = await client.post("/admin/calendar", data={"csrf_token": csrf, "day": "10/03", "kind": "makeup"})
    assert bad.status_code == 422 and "请填写有效日期" in bad.text
