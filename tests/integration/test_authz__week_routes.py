"""Security review of the routes added this week (projects, cemetery, 低保, social organizations, inbox jobs,
collaboration): scope, CSRF, bad ids, public pages.

- every route with an id in its path, HTML and API, refuses a user of another county (404/403, nothing of the
  object in the body) and a user without the role (403);
- state-changing routes refuse a missing or wrong CSRF token (HTML) and a missing bearer token (API);
- an id that cannot name a row (non-numeric, above the 32-bit range, NUL, UUID garbage) is a 404, never a 500.
Every test runs on SQLite and on PostgreSQL (the `client` fixture).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.routing import Mount, Route

from tests.conftest import api_token, browser_login, csrf_from
from tests.integration.test_dibao__api_scenarios import api_fixture  # noqa: F401 - the `api` fixture

API = "/api/v1"

# -- bad ids --------------------------------------------------------------------------------------------------------

BAD_IDS = ["abc", "%00", "1%00", "-1", "2147483648", "99999999999999999999", "9" * 40,
           "00000000-0000-0000-0000-00000000000g", "%E4%BD%A0"]


def path_routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, list[str]]]:
    """Every route of the app with a parameter in its path, and its methods (HEAD left out)."""
    for r in routes:
        if isinstance(r, Mount):
            yield from path_routes(list(r.routes), prefix + r.path)
        elif isinstance(r, Route) and "{" in r.path:
            yield prefix + r.path, sorted((r.methods or {"GET", "POST", "PUT"}) - {"HEAD"})


async def test_bad_ids_in_every_path_are_404_never_500(client: Any, web_app: Any) -> None:
    """Every page and API route with an id in its path, each method, each bad value, as the logged-in city admin:
    never a 500 and never a found object. Before the fix, 60 page routes answered 500 on SQLite or PostgreSQL
    (ids above 2**31-1 in `{id:int}` routes, NUL in 低保 case ids, non-UUIDs in the cemetery checklist)."""
    csrf = await browser_login(client, "admin")
    bearer = await api_token(client, "admin")
    routes = list(path_routes(list(web_app.router.routes)))
    assert len(routes) > 60  # the enumeration found the app's routes
    seen: list[tuple[str, str, int]] = []
    for path, methods in routes:
        for bad in BAD_IDS:
            url = re.sub(r"\{[^}]+\}", bad, path)
            for method in methods:
                if path.startswith(API):
                    r = await client.request(method, url, json={}, headers=bearer)
                    assert r.status_code == 405 or r.json()["error"]["code"], (method, url)
                else:
                    r = await client.request(method, url, data={"csrf_token": csrf} if method != "GET" else None)
                    assert r.status_code != 404 or "页面不存在" in r.text, (method, url)
                seen.append((method, url, r.status_code))
    # pages: the ordinary 404 page; the API: its error envelope (a body or role check may come first)
    wrong = [s for s in seen if s[2] != 404 and not (s[1].startswith(API) and s[2] in (400, 403, 405, 422))]
    assert not wrong, wrong
    assert any(url.endswith("/population.txt") for _, url, _ in seen)  # the public routes were tried too


# -- every state-changing page route is guarded ----------------------------------------------------------------------

# Page routes that take a POST without login: each checks the session's CSRF token itself (tested below and in
# tests/integration/test_web__csrf_login.py and test_social_org__objections.py).
PUBLIC_FORMS = {"/login", "/public/social-org/credit/{entry_id:int}/objection"}


def _guarded(fn: Any, depth: int = 0) -> bool:
    """Whether `fn` is `login_required`'s wrapper or wraps it (e.g. collab's upload size check)."""
    if getattr(fn, "__qualname__", "").startswith("login_required."):
        return True
    cells = getattr(fn, "__closure__", None) or ()
    return depth < 3 and any(callable(c.cell_contents) and _guarded(c.cell_contents, depth + 1) for c in cells)


def test_every_state_changing_page_route_goes_through_login_required(web_app: Any) -> None:
    """login_required checks the CSRF token of every unsafe method: a new POST route outside it is a hole."""
    unsafe = [(r.path, r.endpoint) for r in web_app.router.routes
              if isinstance(r, Route) and (r.methods or set()) - {"GET", "HEAD"}]
    assert len(unsafe) > 40
    unguarded = sorted(path for path, endpoint in unsafe if not _guarded(endpoint))
    assert unguarded == sorted(PUBLIC_FORMS)


async def test_public_objection_form_refuses_missing_wrong_token_and_nul(client: Any, engine: Any,
                                                                          password_hash: str) -> None:
    from datetime import date

    from tests.social_org_helpers import make_org
    from workflows.social_org import credit
    from workflows.social_org.models import CreditListEntry, CreditObjection

    org = await make_org("511402", name="眉山市东坡区异议测试协会", legal_representative="王建国")
    await credit.list_abnormal(org.id, "未按规定报送 2025 年度工作报告", "annual_report:2025", date(2026, 6, 1))
    entry = await CreditListEntry.get()
    url = f"/public/social-org/credit/{entry.id}/objection"
    page = await client.get(url)
    assert page.status_code == 200 and "王建国" not in page.text
    good = {"uscc": org.uscc, "representative": "王建国", "applicant": "李秘书", "contact": "13800002222",
            "reason": "我会已按时报送年度报告,附邮件回执,请核查。"}
    for token in (None, "", "forged"):
        r = await client.post(url, data={**good, **({} if token is None else {"csrf_token": token})})
        assert r.status_code == 403 and "表单已过期" in r.text
    csrf = csrf_from(page.text)
    r = await client.post(url, data={**good, "csrf_token": csrf, "reason": "理由\x00含空字符的异议理由"})
    assert r.status_code == 422 and "NUL" in r.text  # before the fix: a 500 on PostgreSQL
    assert not await CreditObjection.exists()


# -- query parameters of the pages ------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "/dibao/publication?county=%00", "/dibao/publication?county=" + "x" * 40, "/projects/public?year=" + "9" * 20,
    "/public/social-org/credit?q=%00", "/public/social-org/credit?q=" + "9" * 30, "/public/social-org/results?q=a%00",
])
async def test_public_pages_refuse_bad_query_values_without_500(client: Any, url: str) -> None:
    """No login needed: before the fix each of these was a 500 (NUL on PostgreSQL; values longer than the column
    or beyond a 32-bit integer on both databases)."""
    r = await client.get(url)
    assert r.status_code in (200, 400), (url, r.status_code)
    assert ("请求参数包含非法字符" in r.text) if r.status_code == 400 else "<html" in r.text


@pytest.mark.parametrize("url", [
    "/cemetery?year=" + "9" * 20, "/cemetery?county=" + "x" * 40, "/cemetery/progress?year=" + "9" * 20,
    "/cemetery/progress.xlsx?year=" + "9" * 20, "/projects?category=" + "x" * 30, "/projects?source=" + "x" * 30,
    "/social-org/orgs?q=" + "9" * 30, "/inbox?org=" + "x" * 40, "/inbox/export.xlsx?org=" + "x" * 40,
    "/notifications?page=" + "9" * 30, "/dibao/views?viewer=a%00", "/inbox?q=%00", "/cemetery?q=%00",
    "/instances?process=" + "x" * 120,
])
async def test_pages_refuse_bad_query_values_without_500(client: Any, url: str) -> None:
    await browser_login(client, "dp_county")
    r = await client.get(url)
    assert r.status_code in (200, 400, 403), (url, r.status_code)


# -- the matrix: another county, no role ------------------------------------------------------------------------------

REFUSED = (403, 404)


async def rows(*querysets: Any) -> list[Any]:
    """The full rows behind the objects under test: a refused request must leave them exactly as they were."""
    return [await qs.values() for qs in querysets]


async def assert_pages_refused(client: Any, username: str, gets: list[str], posts: list[tuple[str, dict[str, Any]]],
                               markers: list[str], before: Any, snapshot: Any, expect: tuple[int, ...] = REFUSED,
                               ) -> None:
    """`username` (logged in, valid CSRF token) gets `expect` on every page and form of the object, never one of
    the object's `markers` in the body, and the object's rows are unchanged."""
    client.cookies.clear()
    csrf = await browser_login(client, username)
    for url in gets:
        r = await client.get(url)
        assert r.status_code in expect, (username, url, r.status_code)
        assert not [m for m in markers if m in r.text], (username, url)
    for url, form in posts:
        r = await client.post(url, data={**form, "csrf_token": csrf})
        assert r.status_code in expect, (username, url, r.status_code)
        assert not [m for m in markers if m in r.text], (username, url)
    assert await snapshot() == before, username


async def assert_api_refused(client: Any, username: str | None, calls: list[tuple[str, str, dict[str, Any] | None]],
                             markers: list[str], before: Any, snapshot: Any, expect: tuple[int, ...] = REFUSED,
                             ) -> None:
    """The same through the API; `username=None`: no bearer token at all (every call is a 401)."""
    headers = await api_token(client, username) if username else {}
    for method, url, body in calls:
        r = await client.request(method, url, json=body, headers=headers)
        assert r.status_code in ((401,) if username is None else expect), (username, method, url, r.status_code)
        assert r.json()["error"]["code"] in ("unauthenticated", "forbidden", "not_found"), r.text
        assert not [m for m in markers if m in r.text], (username, url)
    assert await snapshot() == before, username


async def assert_pages_need_csrf(client: Any, username: str, posts: list[tuple[str, dict[str, Any]]],
                                 before: Any, snapshot: Any) -> None:
    """A user who may do it still gets 403 without the session's token (none, forged, another session's)."""
    client.cookies.clear()
    csrf = await browser_login(client, username)
    for url, form in posts:
        for extra in ({}, {"csrf_token": "forged"}, {"csrf_token": csrf[:-2] + "xx"}):
            r = await client.post(url, data={**form, **extra})
            assert r.status_code == 403 and "CSRF" in r.text, (url, extra, r.status_code)
    assert await snapshot() == before


async def assert_sees(client: Any, username: str, url: str, marker: str) -> None:
    """Control: a user in scope does get the object (so the refusals above are not a route that fails for all)."""
    client.cookies.clear()
    if url.startswith(API):
        r = await client.get(url, headers=await api_token(client, username))
    else:
        await browser_login(client, username)
        r = await client.get(url)
    assert r.status_code == 200 and marker in r.text, (username, url, r.status_code)


async def test_projects_routes_refuse_another_county_and_no_role(client: Any, engine: Any,
                                                                 password_hash: str) -> None:
    from engine.models import Attachment
    from projects_registry import lifecycle
    from projects_registry.models import Project
    from tests.integration.projects_helpers import PM, deploy, submission
    from tests.integration.test_projects__pages import add_project_managers

    await deploy(engine)
    await add_project_managers(password_hash)
    p = await lifecycle.submit(engine, PM, submission("东坡区保密养老助餐项目", contact="张科长13700001234"))
    markers = ["东坡区保密养老助餐项目", "13700001234"]

    async def snapshot() -> Any:
        return await rows(Project.filter(id=p.id), Attachment.all())

    before = await snapshot()
    gets = [f"/projects/{p.id}", f"/projects/{p.id}/edit", f"/projects/{p.id}/evaluation"]
    posts = [(f"/projects/{p.id}/action", {"action": "county_review", "decision": "pass", "opinion": "越权审核"}),
             (f"/projects/{p.id}/edit", {"name": "越权改名"}),
             (f"/projects/{p.id}/attachments", {})]
    api = [("GET", f"{API}/projects/{p.id}", None), ("PUT", f"{API}/projects/{p.id}", {"name": "越权改名"}),
           ("POST", f"{API}/projects/{p.id}/actions",
            {"action": "county_review", "decision": "pass", "opinion": "越权审核"})]
    for outsider in ("rs_county", "rs_pm", "wl_clerk"):
        await assert_pages_refused(client, outsider, gets, posts, markers, before, snapshot)
        await assert_api_refused(client, outsider, api, markers, before, snapshot)
    await assert_api_refused(client, None, api, markers, before, snapshot)
    # in scope, without the role: the unit's project manager may not do the county's review, a county reviewer
    # may not build or confirm release batches
    await assert_pages_refused(client, "dp_pm", [], posts[:1], [], before, snapshot, expect=(403,))
    await assert_pages_refused(client, "dp_county", ["/projects/batches/1", "/projects/batches/1/export.xlsx"],
                               [("/projects/batches/1/confirm", {})], [], before, snapshot, expect=(403,))
    await assert_pages_need_csrf(client, "dp_county", posts[:1], before, snapshot)
    await assert_sees(client, "dp_county", gets[0], markers[0])
    await assert_sees(client, "dp_county", api[0][1], markers[0])


async def test_cemetery_routes_refuse_another_county_and_no_role(client: Any, engine: Any) -> None:
    from tests.integration.test_cemetery__rectification_api import _frozen
    from workflows.cemetery.models import Cemetery, CemeteryInspection, Rectification

    inspection = await _frozen(engine)  # 通惠街道's cemetery GM001, inspected, one rectification open
    rect = await Rectification.get(inspection_id=inspection.id)
    c = await Cemetery.get(id=inspection.cemetery_id)  # type: ignore[attr-defined]
    markers = [c.name, "通惠街道办事处"]

    async def snapshot() -> Any:
        return await rows(Cemetery.filter(id=c.id), CemeteryInspection.filter(id=inspection.id),
                          Rectification.filter(id=rect.id))

    before = await snapshot()
    gets = [f"/cemetery/{c.id}", f"/cemetery/{c.id}/edit", f"/cemetery/records/{inspection.checklist_record_id}",
            f"/cemetery/inspections/{inspection.id}/report"]
    posts = [(f"/cemetery/{c.id}/edit", {"name": "越权改名"}), (f"/cemetery/{c.id}/status", {"status": "closed"}),
             (f"/cemetery/{c.id}/documents", {}), (f"/cemetery/{c.id}/documents/1/delete", {}),
             (f"/cemetery/rectifications/{rect.id}", {"progress": "越权填报"})]
    api = [("GET", f"{API}/cemetery/cemeteries/{c.id}", None),
           ("POST", f"{API}/cemetery/cemeteries/{c.id}/status", {"status": "suspended", "reason": "越权"}),
           ("GET", f"{API}/cemetery/rectifications/{rect.id}", None),
           ("POST", f"{API}/cemetery/rectifications/{rect.id}/progress", {"progress": "越权填报"})]
    for outsider in ("rs_county", "wl_clerk"):
        await assert_pages_refused(client, outsider, gets, posts, markers, before, snapshot)
        await assert_api_refused(client, outsider, api, markers, before, snapshot)
    await assert_api_refused(client, None, api, markers, before, snapshot)
    # in scope, without the role: the township clerk sees the cemetery but may not edit the register
    await assert_pages_refused(client, "th_clerk", [], posts[:2], [], before, snapshot, expect=(403,))
    await assert_pages_need_csrf(client, "dp_county", posts[:2], before, snapshot)
    await assert_sees(client, "dp_county", gets[0], markers[0])
    await assert_sees(client, "dp_county", api[0][1], markers[0])


async def test_dibao_case_routes_refuse_another_county_and_no_role(api: Any) -> None:
    from tests.integration.test_dibao__privacy import APPLICANT_ID, MEMBER_ID, _accepted_case
    from workflows.dibao.models import CaseFileView, DibaoCase

    case = await _accepted_case(api, "DB-SEC-1")
    row = await DibaoCase.get(instance_id=case)
    row.decision, row.closed_at, row.decided_at, row.monthly_amount = "approve", api.clock.now(), api.clock.now(), 990
    await row.save()
    markers = [APPLICANT_ID, MEMBER_ID, "张秀英", "李建国"]

    async def snapshot() -> Any:
        return await rows(DibaoCase.filter(instance_id=case), CaseFileView.all())

    before = await snapshot()
    gets = [f"/dibao/cases/{case}", f"/dibao/cases/{case}/notice", f"/dibao/cases/{case}/notice/accept",
            f"/dibao/cases/{case}/changes/1/notice"]
    posts = [(f"/dibao/cases/{case}/extend", {"reason": "越权延长办理期限"})]
    calls = [("GET", f"{API}/dibao/cases/{case}", None)]
    for outsider in ("rs_county", "wl_clerk"):
        await assert_pages_refused(api.client, outsider, gets, posts, markers, before, snapshot)
        await assert_api_refused(api.client, outsider, calls, markers, before, snapshot)
    await assert_api_refused(api.client, None, calls, markers, before, snapshot)
    # in scope, without the role: a township reviewer with no task on the case; a clerk may not extend
    await assert_pages_refused(api.client, "th_reviewer", gets[:1], [], markers, before, snapshot, expect=(403,))
    await assert_api_refused(api.client, "th_reviewer", calls, markers, before, snapshot, expect=(403,))
    await assert_pages_refused(api.client, "th_clerk", [], posts, [], before, snapshot, expect=(403,))
    await assert_pages_need_csrf(api.client, "dp_county", posts, before, snapshot)
    await assert_sees(api.client, "dp_county", gets[0], APPLICANT_ID)


async def test_social_org_routes_refuse_another_county_and_no_role(client: Any, engine: Any,
                                                                   password_hash: str) -> None:
    from datetime import date

    from tests.integration.test_social_org__revocation import _two_bad_years
    from tests.social_org_helpers import make_org, seed_so_users
    from workflows.social_org import credit
    from workflows.social_org.models import CreditListEntry, CreditObjection, RevocationCase, SocialOrganization

    await seed_so_users(password_hash)
    org = await make_org("511402", name="眉山市东坡区保密测试协会", legal_representative="赵秘密",
                         contact_phone="13912345678")
    await credit.list_abnormal(org.id, "未按规定报送 2025 年度工作报告", "annual_report:2025", date(2026, 6, 1))
    entry = await CreditListEntry.get(organization_id=org.id)
    await credit.file_objection(entry.id, uscc=org.uscc, representative="赵秘密", applicant="钱申请",
                                contact="13811112222", reason="我会已按时报送年度报告,附邮件回执,请核查。",
                                day=date(2026, 6, 5))
    objection = await CreditObjection.get(entry_id=entry.id)
    bad, case = await _two_bad_years("眉山市东坡区撤销测试研究会")
    markers = [org.name, "赵秘密", "13912345678", "钱申请", "13811112222", bad.name]

    async def snapshot() -> Any:
        return await rows(SocialOrganization.filter(id__in=[org.id, bad.id]), CreditListEntry.all(),
                          CreditObjection.all(), RevocationCase.filter(id=case.id))

    before = await snapshot()
    gets = [f"/social-org/orgs/{org.id}", f"/social-org/revocations/{case.id}"]
    posts = [(f"/social-org/objections/{objection.id}/decide", {"decision": "upheld", "note": "越权处理意见"}),
             (f"/social-org/credit/{entry.id}/remove", {"reason": "越权移出名录"}),
             (f"/social-org/revocations/{case.id}", {"action": "drop", "note": "越权撤案"})]
    await assert_pages_refused(client, "so_rs", gets, posts, markers, before, snapshot)
    await assert_pages_refused(client, "rs_county", gets, posts, markers, before, snapshot)
    # in scope, without the role: 东坡区's 低保 county reviewer has no social-organization role
    await assert_pages_refused(client, "dp_county", gets, posts, markers, before, snapshot, expect=(403,))
    await assert_pages_need_csrf(client, "so_dp", posts, before, snapshot)
    await assert_sees(client, "so_dp", gets[0], org.name)
    await assert_sees(client, "so_dp", gets[1], bad.name)


async def test_collaboration_api_and_bulk_jobs_refuse_another_county(client: Any, engine: Any) -> None:
    import re as _re

    from engine.models import Comment, HumanTask
    from tests.collab_helpers import start_review
    from web.models import BulkJob

    instance, task = await start_review(engine, business_key="SEC-COLLAB-1")
    clerk = await api_token(client, "th_clerk")
    r = await client.post(f"{API}/tasks/{task.id}/comments", json={"body": "内部意见:申请人邻居反映情况"},
                          headers=clerk)
    assert r.status_code == 201, r.text
    csrf = await browser_login(client, "th_clerk")
    r = await client.post("/inbox/bulk", data={"csrf_token": csrf, "action": "claim", "all_matching": "1",
                                               "filter_view": "scope", "filter_q": "SEC-", "filter_sort": "due"})
    assert r.status_code == 303 and _re.fullmatch(r"/inbox/bulk/\d+", r.headers["location"]), r.text
    job_url = r.headers["location"]
    markers = ["内部意见", "SEC-COLLAB-1"]

    async def snapshot() -> Any:
        return await rows(HumanTask.filter(id=task.id), Comment.all(), BulkJob.all())

    await asyncio.sleep(0.2)  # let the one-item job finish before the snapshot
    before = await snapshot()
    calls = [("POST", f"{API}/tasks/{task.id}/reassign", {"to": "wl_clerk"}),
             ("POST", f"{API}/tasks/{task.id}/delegate", {"to": "wl_clerk", "note": "越权委托"}),
             ("GET", f"{API}/tasks/{task.id}/comments", None),
             ("POST", f"{API}/tasks/{task.id}/comments", {"body": "越权评论"}),
             ("GET", f"{API}/instances/{instance.id}/comments", None),
             ("POST", f"{API}/instances/{instance.id}/comments", {"body": "越权评论"})]
    for outsider in ("wl_clerk", "rs_county", "dsq_clerk"):
        await assert_api_refused(client, outsider, calls, markers, before, snapshot)
        await assert_pages_refused(client, outsider, [job_url], [(f"{job_url}/resume", {})], markers, before,
                                   snapshot, expect=(404,))
    await assert_api_refused(client, None, calls, markers, before, snapshot)
    await assert_sees(client, "th_clerk", calls[2][1], "内部意见")
    await assert_sees(client, "th_clerk", job_url, "SEC-COLLAB-1")


def xlsx_text(content: bytes) -> str:
    import io

    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(content), read_only=True)
    return "\n".join(str(v) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
                     for v in row if v is not None)


async def test_xlsx_exports_hold_only_the_users_scope_and_are_attachments(client: Any, engine: Any,
                                                                         password_hash: str) -> None:
    from tests.integration.test_cemetery__rectification_api import _frozen
    from tests.social_org_helpers import make_org, seed_so_users
    from workflows.cemetery.models import Cemetery

    inspection = await _frozen(engine)
    cemetery = await Cemetery.get(id=inspection.cemetery_id)  # type: ignore[attr-defined]
    await seed_so_users(password_hash)
    org = await make_org("511402", name="眉山市东坡区导出测试协会")
    exports = [("/cemetery/progress.xlsx?year=2026", cemetery.name, "dp_county", "rs_county"),
               ("/social-org/orgs/export.xlsx", org.name, "so_dp", "so_rs")]
    for url, marker, insider, outsider in exports:
        client.cookies.clear()
        await browser_login(client, insider)
        r = await client.get(url)
        assert r.status_code == 200 and marker in xlsx_text(r.content), url
        assert r.headers["content-disposition"].startswith("attachment;")
        assert r.headers["x-content-type-options"] == "nosniff"
        client.cookies.clear()
        await browser_login(client, outsider)
        r = await client.get(url)
        assert r.status_code == 200 and marker not in xlsx_text(r.content), (url, outsider)


@pytest.mark.parametrize("audit_id", ["9" * 25, "2147483648", "abc", "-3", ""])
async def test_post_audit_form_with_an_impossible_audit_id_is_422_not_500(client: Any, audit_id: str) -> None:
    """The audit id comes from a form field; before the fix an id beyond the 32-bit range was a 500 and a
    non-number echoed Python's ValueError text."""
    csrf = await browser_login(client, "dp_county")
    r = await client.post("/dibao/post-audit", data={"csrf_token": csrf, "action": "outcome", "audit_id": audit_id,
                                                     "outcome": "confirmed", "opinion": "越界编号"})
    assert r.status_code == 422 and "审计记录不存在" in r.text and "invalid literal" not in r.text


async def test_batch_adjust_with_an_impossible_project_id_changes_nothing(client: Any, engine: Any) -> None:
    """`add` / `remove` come from form fields; before the fix a `remove` beyond the 32-bit range was a 500."""
    from projects_registry.models import ReleaseBatch, ReleaseBatchItem
    from tests.integration.projects_helpers import deploy, submission, to_mature

    await deploy(engine)
    await to_mature(engine, submission("甲项目", lottery="300000"), score=90)
    csrf = await browser_login(client, "city_mgr")
    r = await client.post("/projects/batches", data={"csrf_token": csrf, "year": "2026", "source": "lottery",
                                                     "budget": "500000"})
    assert r.status_code == 303
    batch = await ReleaseBatch.get()
    before = await rows(ReleaseBatchItem.filter(batch_id=batch.id))
    assert before[0]  # the suggested project is in the batch
    for field in ("add", "remove"):
        for value in ("9" * 25, "2147483648"):
            r = await client.post(f"/projects/batches/{batch.id}/adjust", data={"csrf_token": csrf, field: value})
            assert r.status_code == 303, (field, value, r.status_code)
    assert await rows(ReleaseBatchItem.filter(batch_id=batch.id)) == before
