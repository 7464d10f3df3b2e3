"""HTML side security: CSRF on every state-changing form, login and its throttle, session idle timeout, security
headers, open redirects, htmx fragments, and the task form's error round trip."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from engine.models import HumanTask, ProcessDefinition, ProcessInstance, User
from tests.conftest import FIXTURES, TEST_PASSWORD, browser_login, csrf_from
from web.security import issue_token

API = "/api/v1"
SHOWCASE_BPMN = FIXTURES / "bpmn" / "showcase" / "showcase.bpmn"


async def auth(username: str) -> dict[str, str]:
    token, _ = await issue_token(await User.get(username=username))
    return {"Authorization": f"Bearer {token}"}


def session_of(client: httpx.AsyncClient) -> dict[str, Any]:
    """The (signed, not encrypted) Starlette session cookie's content."""
    raw = client.cookies.get("civicflow_session")
    if not raw:
        return {}
    payload = raw.split(".")[0]
    return json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))


async def start_township_task(client: Any, business_key: str = "C-1") -> tuple[str, str]:
    r = await client.post(f"{API}/instances", json={"process_key": "showcase", "business_key": business_key},
                          headers=await auth("th_clerk"))
    assert r.status_code == 201, r.text
    return r.json()["id"], r.json()["ready_tasks"][0]["id"]


async def task_state(task_id: str) -> tuple[Any, ...]:
    task = await HumanTask.get(id=task_id)
    instance = await ProcessInstance.get(id=task.instance_id)
    return task.state, task.assignee, task.completed_by, instance.version


async def assert_logged_in(client: Any, username: str) -> None:
    r = await client.get("/inbox")
    assert r.status_code == 200, (r.status_code, r.headers.get("location"))
    user = await User.get(username=username)
    assert user.display_name in r.text
    assert session_of(client).get("uid") == user.id


async def assert_logged_out(client: Any) -> None:
    r = await client.get("/inbox")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert "uid" not in session_of(client)


# -- CSRF on every state-changing form route ------------------------------------------------------------------------


@dataclass
class FormRoute:
    """A POST route: how to prepare it, the form to send, and how to observe its effect on the database."""

    user: str
    prepare: Callable[[Any], Awaitable[str]]  # returns the URL
    form: dict[str, Any]
    files: dict[str, Any] | None = None


async def _task_url(client: Any, suffix: str = "", claim: bool = False) -> str:
    _, task_id = await start_township_task(client)
    if claim:
        r = await client.post(f"{API}/tasks/{task_id}/claim", headers=await auth("th_clerk"))
        assert r.status_code == 200
    return f"/tasks/{task_id}{suffix}"


async def _open_tasks() -> list[tuple[Any, ...]]:
    return [(t.state, t.assignee, t.completed_by) for t in await HumanTask.all().order_by("created_at", "id")]


async def _instance_versions() -> list[tuple[Any, ...]]:
    return [(i.business_key, i.version, i.status) for i in await ProcessInstance.all().order_by("business_key")]


async def observe(client: Any) -> tuple[Any, ...]:
    """Everything a form POST could change: tasks, instances, deployments, users, and who is logged in."""
    return (await _open_tasks(), await _instance_versions(), await ProcessDefinition.all().count(),
            sorted(await User.all().values_list("username", flat=True)), session_of(client).get("uid"))


async def _static(url: str) -> str:
    return url


MODIFIED_BPMN = SHOWCASE_BPMN.read_bytes().replace(b"</bpmn:definitions>", b"<!-- v2 -->\n</bpmn:definitions>")

ROUTES = {
    "complete": FormRoute("th_clerk", lambda c: _task_url(c),
                          {"applicant_name": "张三", "members.0.name": "张三", "members.0.monthly_income": "100"}),
    "claim": FormRoute("th_clerk", lambda c: _task_url(c, "/claim"), {}),
    "unclaim": FormRoute("th_clerk", lambda c: _task_url(c, "/unclaim", claim=True), {}),
    "start": FormRoute("th_clerk", lambda c: _static("/start/showcase"), {"business_key": "CSRF-NEW"}),
    "deploy": FormRoute("admin", lambda c: _static("/admin/processes"), {},
                        files={"file": ("showcase.bpmn", MODIFIED_BPMN, "application/xml")}),
    "create_user": FormRoute("admin", lambda c: _static("/admin/users"),
                             {"username": "csrf_victim", "display_name": "新用户", "password": "long-password-1",
                              "org_unit": "511402001", "roles": "township_clerk"}),
    "logout": FormRoute("th_clerk", lambda c: _static("/logout"), {}),
}


@pytest.mark.parametrize("name", list(ROUTES))
async def test_form_route_rejects_missing_or_wrong_csrf(client: Any, web_app: Any, name: str) -> None:
    route = ROUTES[name]
    url = await route.prepare(client)
    csrf = await browser_login(client, route.user)
    # a token that is valid, but for somebody else's session
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web_app), base_url="http://testserver") as other:
        foreign = await browser_login(other, route.user)
    assert foreign != csrf
    before = await observe(client)

    attempts: list[tuple[dict[str, Any], dict[str, str]]] = [
        ({}, {}),                                      # no token at all
        ({"csrf_token": ""}, {}),                      # empty
        ({"csrf_token": csrf[:-2] + "xx"}, {}),        # tampered
        ({"csrf_token": foreign}, {}),                 # another session's token
        ({}, {"X-CSRF-Token": "nope"}),                # wrong header (htmx path)
        ({"csrf_token": "nope"}, {"X-CSRF-Token": "nope"}),
    ]
    for extra, headers in attempts:
        r = await client.post(url, data={**route.form, **extra}, files=route.files, headers=headers)
        assert r.status_code == 403, (name, extra, headers, r.status_code)
        assert "CSRF" in r.text and "无权访问" in r.text
        assert await observe(client) == before, (name, extra)
    await assert_logged_in(client, route.user)  # incl. /logout: still logged in

    # control: the same request with the session's token does change something
    r = await client.post(url, data={**route.form, "csrf_token": csrf}, files=route.files)
    assert r.status_code == 303, (name, r.text[:500])
    assert await observe(client) != before, name


async def test_csrf_header_is_accepted_for_htmx(client: Any) -> None:
    url = await _task_url(client, "/claim")
    csrf = await browser_login(client, "th_clerk")
    r = await client.post(url, headers={"X-CSRF-Token": csrf, "HX-Request": "true"})
    assert r.status_code == 200 and r.headers["hx-refresh"] == "true"
    assert (await HumanTask.get(id=url.split("/")[2])).assignee == "th_clerk"


async def test_logout_with_token_ends_the_session(client: Any) -> None:
    csrf = await browser_login(client, "th_clerk")
    r = await client.post("/logout", data={"csrf_token": csrf})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    await assert_logged_out(client)
    # the old token is useless now
    r = await client.post("/start/showcase", data={"csrf_token": csrf})
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert await ProcessInstance.all().count() == 0


# -- login ----------------------------------------------------------------------------------------------------------


async def _login(client: Any, username: str, password: str, next_url: str | None = None) -> httpx.Response:
    page = await client.get("/login")
    url = "/login" if next_url is None else "/login?" + httpx.QueryParams({"next": next_url}).__str__()
    return await client.post(url, data={"username": username, "password": password,
                                        "csrf_token": csrf_from(page.text)})


async def test_login_page_sets_no_session_user(client: Any) -> None:
    r = await client.get("/login")
    assert r.status_code == 200 and "登录" in r.text
    session = session_of(client)
    assert "uid" not in session and session.get("csrf")
    await assert_logged_out(client)


async def test_login_success_sets_session_and_rotates_csrf(client: Any) -> None:
    page = await client.get("/login")
    before = csrf_from(page.text)
    r = await client.post("/login", data={"username": "th_clerk", "password": TEST_PASSWORD, "csrf_token": before})
    assert r.status_code == 303 and r.headers["location"] == "/inbox"
    await assert_logged_in(client, "th_clerk")
    assert session_of(client)["csrf"] != before  # no session fixation of the pre-login token


async def test_login_bad_password_is_401_with_chinese_message(client: Any) -> None:
    r = await _login(client, "th_clerk", "wrong-password")
    assert r.status_code == 401
    assert "用户名或密码错误。" in r.text and 'value="th_clerk"' in r.text
    assert "wrong-password" not in r.text
    await assert_logged_out(client)
    r = await _login(client, "no_such_user", TEST_PASSWORD)
    assert r.status_code == 401 and "用户名或密码错误。" in r.text
    await assert_logged_out(client)


@pytest.mark.parametrize("username", ["u" * 65, "th_clerk\x00", "通惠" * 40])
async def test_login_with_impossible_username_is_401_not_500(client: Any, username: str) -> None:
    r = await _login(client, username, TEST_PASSWORD)
    assert r.status_code == 401 and "用户名或密码错误。" in r.text
    await assert_logged_out(client)


async def test_login_without_csrf_is_refused(client: Any) -> None:
    await client.get("/login")
    r = await client.post("/login", data={"username": "th_clerk", "password": TEST_PASSWORD})
    assert r.status_code == 403 and "页面已过期" in r.text
    await assert_logged_out(client)


async def test_login_throttled_after_five_failures(client: Any) -> None:
    for _ in range(5):
        r = await _login(client, "th_clerk", "wrong-password")
        assert r.status_code == 401
    r = await _login(client, "th_clerk", "wrong-password")
    assert r.status_code == 429 and "登录失败次数过多" in r.text
    r = await _login(client, "th_clerk", TEST_PASSWORD)
    assert r.status_code == 429 and "登录失败次数过多" in r.text
    await assert_logged_out(client)
    # the API shares the throttle
    r = await client.post(f"{API}/auth/token", json={"username": "th_clerk", "password": TEST_PASSWORD})
    assert r.status_code == 429


async def test_session_idle_timeout(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    await browser_login(client, "th_clerk")
    real = time.time
    offset = 0.0

    def shifted() -> float:
        return real() + offset

    monkeypatch.setattr(time, "time", shifted)
    offset = 29 * 60  # active within the idle window: still logged in, and the window slides
    await assert_logged_in(client, "th_clerk")
    offset = 2 * 29 * 60
    await assert_logged_in(client, "th_clerk")
    offset = 2 * 29 * 60 + 31 * 60  # idle for 31 minutes
    r = await client.get("/inbox")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Finbox"
    assert "uid" not in session_of(client)
    offset = 2 * 29 * 60 + 32 * 60
    await assert_logged_out(client)  # the session was cleared, not just refused once
    r = await client.get("/inbox", headers={"HX-Request": "true"})
    assert r.status_code == 401 and r.headers["hx-redirect"] == "/login"


async def test_session_idle_timeout_setting(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import web.security

    await browser_login(client, "th_clerk")
    await assert_logged_in(client, "th_clerk")
    monkeypatch.setattr(web.security, "IDLE_TIMEOUT_SECONDS", -1)
    r = await client.get("/tasks/00000000-0000-0000-0000-000000000000")
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    monkeypatch.undo()
    await assert_logged_out(client)


@pytest.mark.parametrize("next_url, expected", [
    ("//evil.example", "/inbox"),
    ("//evil.example/inbox", "/inbox"),
    ("https://evil.example/", "/inbox"),
    ("http:/evil.example", "/inbox"),
    ("evil.example", "/inbox"),
    ("/\\evil.example", None),   # browsers read a raw `\` as `/`: it must not reach the header unescaped
    ("/\t/evil.example", None),
    ("/instances?status=running", "/instances?status=running"),
])
async def test_login_next_is_local_only(client: Any, next_url: str, expected: str | None) -> None:
    r = await _login(client, "th_clerk", TEST_PASSWORD, next_url)
    assert r.status_code == 303
    location = r.headers["location"]
    if expected is not None:
        assert location == expected
    assert location.startswith("/") and not location.startswith("//")
    assert "\\" not in location and "\t" not in location
    # whatever a browser makes of it, it stays on this origin
    assert httpx.URL("http://testserver/login").join(location).host == "testserver"


# -- headers, htmx --------------------------------------------------------------------------------------------------


def assert_security_headers(r: httpx.Response) -> None:
    csp = r.headers["content-security-policy"]
    for directive in ("default-src 'self'", "script-src 'self'", "object-src 'none'", "frame-ancestors 'none'",
                      "form-action 'self'"):
        assert directive in csp, (r.url, directive)
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"


async def test_security_headers_everywhere(client: Any) -> None:
    responses = [await client.get("/login"), await client.get("/inbox"), await client.get("/static/app.css"),
                 await client.get(f"{API}/processes"), await client.get("/healthz")]
    await browser_login(client, "th_clerk")
    responses += [await client.get("/inbox"), await client.get("/tasks/00000000-0000-0000-0000-000000000000"),
                  await client.post("/logout"), await client.get(f"{API}/openapi.json")]
    assert [r.status_code for r in responses] == [200, 303, 200, 401, 200, 200, 404, 403, 200]
    for r in responses:
        assert_security_headers(r)
    for r in (responses[0], responses[5], responses[3]):
        assert r.headers["cache-control"] == "no-store"  # login, pages with personal data and the API


async def test_html_non_uuid_ids_are_404(client: Any, db: Any, request: pytest.FixtureRequest) -> None:
    await browser_login(client, "admin")
    for url in ("/tasks/not-a-uuid", "/instances/not-a-uuid"):
        r = await client.get(url)
        assert r.status_code == 404 and "页面不存在" in r.text


@pytest.mark.parametrize("url, form", [
    ("/admin/users", {"username": "long_name", "display_name": "名" * 101, "password": "long-password-1",
                      "org_unit": "511400", "roles": "admin"}),
    ("/admin/users", {"username": "long_org", "display_name": "新用户", "password": "long-password-1",
                      "org_unit": "1" * 33, "roles": "admin"}),
    ("/start/showcase", {"business_key": "a\x00b"}),
])
async def test_html_forms_refuse_values_the_database_cannot_hold(client: Any, url: str, form: dict[str, str]) -> None:
    csrf = await browser_login(client, "admin")
    before = (await User.all().count(), await ProcessInstance.all().count())
    r = await client.post(url, data={**form, "csrf_token": csrf})
    assert r.status_code == 422 and "<html" in r.text
    assert (await User.all().count(), await ProcessInstance.all().count()) == before


async def test_htmx_request_gets_fragment_only(client: Any) -> None:
    await start_township_task(client, "HX-1")
    await browser_login(client, "th_clerk")
    full = await client.get("/inbox?view=todo")
    assert full.status_code == 200
    assert "<html" in full.text and "受理 · HX-1" in full.text and "<nav>" in full.text
    assert "HX-Request" in full.headers["vary"]
    fragment = await client.get("/inbox?view=todo", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and "<body" not in fragment.text and "<nav>" not in fragment.text
    assert "受理 · HX-1" in fragment.text and "共 1 项" in fragment.text
    assert "HX-Request" in fragment.headers["vary"]
    assert_security_headers(fragment)
    # a history restore wants the whole page again
    restore = await client.get("/inbox?view=todo", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in restore.text
    # instances list: same contract
    assert "<html" not in (await client.get("/instances", headers={"HX-Request": "true"})).text
    assert "<html" in (await client.get("/instances")).text


# -- task form round trip -------------------------------------------------------------------------------------------


async def test_task_form_invalid_post_rerenders_with_chinese_errors(client: Any) -> None:
    instance_id, task_id = await start_township_task(client, "F-1")
    csrf = await browser_login(client, "th_clerk")
    before = await task_state(task_id)
    form = {"csrf_token": csrf, "applicant_name": "", "members.0.name": "李四", "members.0.monthly_income": "abc",
            "members.1.name": "王五", "members.1.monthly_income": "-5"}
    r = await client.post(f"/tasks/{task_id}", data=form)
    assert r.status_code == 422
    html = r.text
    # messages name the field by its title and sit next to the field they belong to
    assert 'id="f-applicant_name-error">请填写「申请人姓名」</p>' in html
    assert 'id="f-members-0-monthly_income-error">「家庭成员」第 1 行的「月收入」必须是数字</p>' in html
    assert 'id="f-members-1-monthly_income-error">「家庭成员」第 2 行的「月收入」不能小于 0</p>' in html
    assert "请修改以下 3 处问题后再提交" in html
    # what was typed is still there
    assert 'name="members.0.name" aria-required="true" value="李四"' in html
    assert 'name="members.0.monthly_income"' in html and 'value="abc"' in html
    assert 'value="王五"' in html and 'value="-5"' in html
    assert csrf_from(html) == csrf
    assert await task_state(task_id) == before
    assert (await ProcessInstance.get(id=instance_id)).data.get("applicant_name") is None


async def test_task_form_undeclared_field_is_refused(client: Any) -> None:
    _, task_id = await start_township_task(client, "F-2")
    csrf = await browser_login(client, "th_clerk")
    before = await task_state(task_id)
    r = await client.post(f"/tasks/{task_id}", data={"csrf_token": csrf, "applicant_name": "张三",
                                                      "members.0.name": "张三", "members.0.monthly_income": "10",
                                                      "standard": "99999"})
    assert r.status_code == 422 and "表单中包含未声明的字段 standard" in r.text
    assert await task_state(task_id) == before


async def test_task_form_valid_post_redirects_with_flash(client: Any) -> None:
    instance_id, task_id = await start_township_task(client, "F-3")
    csrf = await browser_login(client, "th_clerk")
    form = {"csrf_token": csrf, "applicant_name": "张三", "members.0.name": "张三", "members.0.monthly_income": "100",
            "members.1.name": "", "members.1.monthly_income": "", "delegated": "on"}
    r = await client.post(f"/tasks/{task_id}", data=form)
    assert r.status_code == 303 and r.headers["location"] == "/inbox"
    state, _, completed_by, version = await task_state(task_id)
    assert (state, completed_by) == ("DONE", "th_clerk")
    instance = await ProcessInstance.get(id=instance_id)
    assert instance.data["applicant_name"] == "张三" and instance.data["delegated"] is True
    page = await client.get("/inbox")
    assert 'role="status">已办理:受理 · F-3</div>' in page.text
    assert "已办理:受理 · F-3" not in (await client.get("/inbox")).text  # shown once
    assert version == 2

