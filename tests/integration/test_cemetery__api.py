"""公墓年检 through the HTTP API only (bearer tokens): every outcome path, the freeze rule, scope and errors.

The campaign is opened, tasks are found, the checklist is submitted and tasks are completed with /api/v1 calls;
time moves with the engine's fake clock and the scheduler's own loop does the sweep. SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from engine.clock import FakeClock
from engine.models import User
from tests.cemetery_helpers import install_cemetery, make_cemetery
from tests.conftest import api_token
from tests.integration.test_api__endpoints import assert_error
from web.app import scheduler_loop
from workflows.cemetery.checklist import CHECK_ITEMS
from workflows.cemetery.models import Cemetery, CemeteryInspection, Rectification

API = "/api/v1"
OK_PLOTS = [{"label": "A-1", "kind": "single", "area": "0.48"}, {"label": "A-2", "kind": "double", "area": 0.75},
            {"label": "A-3", "kind": "single", "area": "0.5"}]
OVER_PLOTS = [{"label": "B-1", "kind": "single", "area": "0.62"}, *OK_PLOTS[1:]]
SELF_REPORT = {"submitted_on": "2026-03-05", "burials_this_year": 12, "plots_sold_this_year": 10,
               "report_summary": "对照年检内容逐项自查,未发现问题。"}


def _checklist(plots: list[dict[str, Any]], failed: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    checks = {code: {"ok": code not in (failed or {}), "note": (failed or {}).get(code, "")} for code in CHECK_ITEMS}
    return {"checks": checks, "plots": plots, "eco_plots": 120, "total_plots": 800, "notes": "",
            "opinion": "现场检查完毕。", **extra}


class Api:
    """The calls a client system makes, one token per user."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.tokens: dict[str, dict[str, str]] = {}

    async def as_(self, username: str) -> dict[str, str]:
        if username not in self.tokens:
            self.tokens[username] = await api_token(self.client, username)
        return self.tokens[username]

    async def get(self, user: str, path: str, status: int = 200) -> Any:
        r = await self.client.get(f"{API}{path}", headers=await self.as_(user))
        assert r.status_code == status, r.text
        return r

    async def post(self, user: str, path: str, body: dict[str, Any], status: int = 200) -> Any:
        r = await self.client.post(f"{API}{path}", json=body, headers=await self.as_(user))
        assert r.status_code == status, r.text
        return r

    async def task(self, user: str, bpmn_id: str) -> dict[str, Any]:
        items = (await self.get(user, "/tasks?mine=true&process_key=cemetery_annual_inspection")).json()["items"]
        found = [t for t in items if t["bpmn_id"] == bpmn_id]
        assert len(found) == 1, [t["bpmn_id"] for t in items]
        return dict(found[0])

    async def complete(self, user: str, bpmn_id: str, data: dict[str, Any]) -> dict[str, Any]:
        task = await self.task(user, bpmn_id)
        return dict((await self.post(user, f"/tasks/{task['id']}/complete", {"data": data})).json())

    async def submit(self, bpmn_id: str, body: dict[str, Any], status: int = 201) -> Any:
        task = await self.task("dp_inspector", bpmn_id)
        return (await self.post("dp_inspector", f"/cemetery/tasks/{task['id']}/checklist", body, status)).json()

    async def cemetery(self, user: str = "dp_county") -> dict[str, Any]:
        return dict((await self.get(user, f"/cemetery/cemeteries/{self.cemetery_id}")).json())

    cemetery_id = 0


async def _setup(client: Any, engine: Any, password_hash: str) -> Api:
    await install_cemetery(engine)
    await User.create(username="dp_inspector", display_name="东坡检查员", org_unit_id="511402", roles=["inspector"],
                      password_hash=password_hash)
    own = await make_cemetery()
    await make_cemetery("RS1", county="511421", township="511421001", name="仁寿演示公墓")
    api = Api(client)
    api.cemetery_id = own.id
    # The city opens the campaign for its whole scope: both cemeteries get an inspection.
    started = (await api.post("city_mgr", "/cemetery/campaigns", {"year": 2026}, 201)).json()["started"]
    assert len(started) == 2 and {s["stage"] for s in started} == {"self_report"}
    await api.complete("th_clerk", "Task_self_report", SELF_REPORT)
    return api


async def _sweep(engine: Any, until: Callable[[], Awaitable[bool]]) -> None:
    """Run the real scheduler loop (timers, escalations, the cemetery refresh) until `until()` holds (at most
    10 s), then stop it the way the app does."""
    from workflows.cemetery.inspection import sync_open_inspections

    async def refresh() -> None:
        await sync_open_inspections(engine.clock.now())

    stop = asyncio.Event()
    loop = asyncio.create_task(scheduler_loop(engine, 0.01, [refresh], stop))
    try:
        for _ in range(1000):
            if await until():
                break
            await asyncio.sleep(0.01)
    finally:
        stop.set()
        await asyncio.wait_for(loop, 30)


async def _stage_is(stage: str) -> bool:
    return await CemeteryInspection.filter(stage=stage).exists()


async def test_pass_path_through_the_api(client: Any, engine: Any, password_hash: str) -> None:
    api = await _setup(client, engine, password_hash)
    form = (await api.get("dp_inspector", f"/cemetery/tasks/{(await api.task('dp_inspector', 'Task_onsite'))['id']}"
                                          "/checklist")).json()
    assert form["plot_limits_m2"] == {"single": "0.5", "double": "0.8", "body": "4.0"} and form["actionable"]
    assert "no_outsider_sales" in {i["code"] for i in form["check_items"]}
    result = await api.submit("Task_onsite", _checklist(OK_PLOTS))
    assert result["passed"] and result["findings"] == [] and result["template_version"] == 1
    assert result["inspection"]["stage"] == "city_review"
    await api.complete("city_mgr", "Task_city_review", {"outcome": "pass", "review_opinion": "同意,合格。"})
    detail = await api.cemetery()
    # The instance ends with the 合格 step: published at once, no sweep needed.
    assert [(i["outcome"], i["stage"]) for i in detail["inspections"]] == [("pass", "done")]
    assert detail["inspections"][0]["published_at"] and detail["status"] == "open"
    assert detail["rectifications"] == []


async def test_rectify_freezes_then_acceptance_reopens_through_the_api(client: Any, engine: Any,
                                                                        password_hash: str) -> None:
    api = await _setup(client, engine, password_hash)
    result = await api.submit("Task_onsite", _checklist(OVER_PLOTS, {"prices_posted": "未公示收费标准"}))
    assert not result["passed"]
    assert sorted(f["item"] for f in result["findings"]) == ["plot_area_pw_single", "prices_posted"]
    over = next(f for f in result["findings"] if f["item"] == "plot_area_pw_single")
    assert "B-1" in over["message"] and "第十九条" in over["legal_basis"]
    await api.complete("city_mgr", "Task_city_review", {"outcome": "rectify", "rectification_days": 30,
                                                        "review_opinion": "墓位超标,限期整改。"})
    detail = await api.cemetery()
    assert detail["status"] == "sales_frozen" and "限期整改" in detail["status_reason"]
    assert {(r["item"], r["status"]) for r in detail["rectifications"]} == {("plot_area_pw_single", "open"),
                                                                            ("prices_posted", "open")}
    # Reopening by hand before the acceptance has passed is refused, and nothing changes.
    refused = await api.post("dp_county", f"/cemetery/cemeteries/{api.cemetery_id}/status",
                             {"status": "open", "reason": "已整改完毕"}, 409)
    assert_error(refused, 409, "acceptance_required")
    assert (await Cemetery.get(id=api.cemetery_id)).status == "sales_frozen"
    await api.complete("th_clerk", "Task_rectify", {"actions_taken": "拆除超标墓基,张贴收费标准。",
                                                    "completed_on": "2026-03-20"})
    accepted = await api.submit("Task_acceptance", _checklist(OK_PLOTS))
    assert accepted["passed"] and accepted["cemetery_status"] == "open"
    detail = await api.cemetery()
    assert (detail["status"], detail["frozen_inspection_id"]) == ("open", None)
    assert {r["status"] for r in detail["rectifications"]} == {"verified"}
    assert detail["inspections"][0]["stage"] == "done"


async def test_missed_rectification_deadline_escalates_after_the_clock_moves(client: Any, engine: Any,
                                                                              password_hash: str) -> None:
    api = await _setup(client, engine, password_hash)
    await api.submit("Task_onsite", _checklist(OVER_PLOTS))
    await api.complete("city_mgr", "Task_city_review", {"outcome": "rectify", "rectification_days": 20,
                                                        "review_opinion": "墓位超标,限期整改。"})
    assert isinstance(engine.clock, FakeClock)
    engine.clock.advance(timedelta(days=19))
    assert await engine.wake_due_timers() == 0  # the deadline has not come
    engine.clock.advance(timedelta(days=2))
    await _sweep(engine, lambda: _stage_is("escalated"))
    escalation = await api.task("city_mgr", "Task_city_escalation")
    assert escalation["org_unit"] == "511400"
    detail = await api.cemetery()
    assert detail["inspections"][0]["stage"] == "escalated" and detail["inspections"][0]["escalated_at"]
    assert detail["status"] == "sales_frozen"
    overdue = await Rectification.filter(status="open").count()
    assert overdue == 1
    # The township's rectification task was closed by the deadline: it cannot complete it any more.
    assert (await api.get("th_clerk", "/tasks?mine=true&process_key=cemetery_annual_inspection")).json()["items"] \
        == []


async def test_延期年检_schedules_a_reinspection_through_the_api(client: Any, engine: Any,
                                                                 password_hash: str) -> None:
    api = await _setup(client, engine, password_hash)
    first = await api.submit("Task_onsite", _checklist(OK_PLOTS))
    await api.complete("city_mgr", "Task_city_review", {"outcome": "defer", "reinspection_days": 60,
                                                        "review_opinion": "材料不全,延期年检。"})
    inspection = (await api.cemetery())["inspections"][0]
    assert (inspection["outcome"], inspection["stage"]) == ("defer", "reinspection")
    assert inspection["reinspection_due"]
    engine.clock.advance(timedelta(days=61))
    await _sweep(engine, lambda: _stage_is("onsite"))
    second = await api.submit("Task_onsite", _checklist(OK_PLOTS))
    assert second["id"] != first["id"] and second["inspection"]["checklist_record_id"] == second["id"]
    await api.complete("city_mgr", "Task_city_review", {"outcome": "pass", "review_opinion": "复检合格。"})
    assert [(i["outcome"], i["stage"]) for i in (await api.cemetery())["inspections"]] == [("pass", "done")]


async def test_checklist_validation_scope_and_refusals(client: Any, engine: Any, password_hash: str) -> None:
    api = await _setup(client, engine, password_hash)
    task = await api.task("dp_inspector", "Task_onsite")
    url = f"/cemetery/tasks/{task['id']}/checklist"
    # The page's rules: every check answered, a failed item explained, enough plots, an opinion.
    body = _checklist(OK_PLOTS[:2] + [{"label": "A-3", "kind": "tomb", "area": "x"}], {"prices_posted": ""},
                      opinion=" ")
    del body["checks"]["licences_valid"]
    err = assert_error(await api.post("dp_inspector", url, body, 422), 422, "validation_failed")
    assert {(f["field"], f["code"]) for f in err["fields"]} == {
        ("checks.licences_valid", "required"), ("checks.prices_posted", "blank"), ("plots", "invalid"),
        ("opinion", "blank")}
    err = assert_error(await api.post("dp_inspector", url, _checklist(OK_PLOTS[:2], eco_plots=900), 422), 422)
    assert {(f["field"], f["code"]) for f in err["fields"]} == {("plots", "too_few"), ("eco_plots", "order")}
    err = assert_error(await api.post("dp_inspector", url, {**_checklist(OK_PLOTS), "plots": "A-1"}, 422), 422)
    assert err["fields"][0]["field"] == "plots"
    assert await Rectification.all().count() == 0 and (await api.cemetery())["inspections"][0]["stage"] == "onsite"
    # Not the inspector's task; not a checklist task; outside the scope.
    assert_error(await api.post("th_clerk", url, _checklist(OK_PLOTS), 403), 403, "forbidden")
    assert_error(await api.post("rs_county", url, _checklist(OK_PLOTS), 403), 403, "forbidden")
    assert_error(await api.get("dp_inspector", "/cemetery/tasks/not-a-uuid/checklist", 404), 404, "not_found")
    other = await Cemetery.get(code="RS1")
    assert_error(await api.get("dp_county", f"/cemetery/cemeteries/{other.id}", 404), 404, "not_found")
    listed = (await api.get("dp_county", "/cemetery/cemeteries")).json()["items"]
    assert [c["code"] for c in listed] == ["GM001"]
    assert len((await api.get("city_mgr", "/cemetery/cemeteries?type=public_welfare")).json()["items"]) == 2
    assert_error(await api.get("city_mgr", "/cemetery/cemeteries?status=selling", 400), 400, "invalid_parameter")
    # A freeze only comes from a 限期整改 decision; township staff cannot change the status at all.
    assert_error(await api.post("dp_county", f"/cemetery/cemeteries/{api.cemetery_id}/status",
                                {"status": "sales_frozen", "reason": "手工冻结"}, 409), 409,
                 "freeze_by_inspection_only")
    assert_error(await api.post("th_clerk", f"/cemetery/cemeteries/{api.cemetery_id}/status",
                                {"status": "closed", "reason": "关闭"}, 403), 403, "forbidden")
    assert_error(await api.post("th_clerk", "/cemetery/campaigns", {"year": 2026}, 403), 403, "forbidden")
    # The generic task API cannot complete a checklist task with typed-in ids.
    r = await api.post("dp_inspector", f"/tasks/{task['id']}/complete",
                       {"data": {"checklist_record_id": 1, "checklist_passed": True, "finding_count": 0,
                                 "inspector_opinion": "无问题"}}, 422)
    assert_error(r, 422, "validation_failed")
