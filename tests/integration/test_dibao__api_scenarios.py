"""低保 scenarios driven only through the HTTP API (/api/v1, bearer tokens), each step by the user who holds it.

The real diagram (bpmn/dibao_approval.bpmn) with the real services (standards table, delegation registry in the
database, case record listener). Every task is found in the acting user's own `GET /tasks?mine=true` list, so the
routing (role + org unit) is checked at each step. Timers are moved on by the app's own scheduler sweep
(`web.app.scheduler_loop`) after the fake clock is advanced. Runs on SQLite and PostgreSQL (the `db` fixture).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from engine.clock import FakeClock
from engine.models import HumanTask, OrgUnit, User
from engine.runtime import Engine
from tests.bpmn.test_dibao__paths import (
    ACCEPT,
    APPROVE,
    CHECK_PASS,
    HOME,
    OBJECTION,
    POST,
    PRELIM,
    REFUSAL_NOTICE,
    REFUSE,
)
from tests.conftest import browser_login, deploy_dir
from web.app import scheduler_loop
from web.security import issue_token
from workflows.dibao.models import DibaoCase
from workflows.dibao.registry import seed_plan_standards
from workflows.dibao.services import install

API = "/api/v1"
BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
TONGHUI, DASHIQIAO, WENLIN = "511402001", "511402002", "511421001"
VILLAGE = "511402001001"  # 幸福社区, under 通惠街道
SHANGHAI_DAY = 8  # hours: UTC → Asia/Shanghai
VISIT = {"investigators": ["赵刚", "孙丽"], "visit_date": "2026-03-12", "consistent": True,
         "findings": "与乡镇调查一致", "opinion": "属实"}
# Users on top of tests.conftest.WEB_USERS (same password hash): the 公示 is run by a village clerk; a case filed at
# a township has its village steps at the township.
EXTRA_USERS = [("th_village", "幸福社区经办", VILLAGE, ["village_clerk"]),
               ("dsq_village", "大石桥公示员", DASHIQIAO, ["village_clerk"]),
               ("dsq_reviewer", "大石桥审核", DASHIQIAO, ["township_reviewer"]),
               ("wl_village", "文林公示员", WENLIN, ["village_clerk"])]


@dataclass(frozen=True)
class Office:
    """Who works each role for a case filed at `org_unit`."""

    org_unit: str
    clerk: str
    village: str
    county: str
    reviewer: str


TH = Office(VILLAGE, "th_clerk", "th_village", "dp_county", "th_reviewer")
DSQ = Office(DASHIQIAO, "dsq_clerk", "dsq_village", "dp_county", "dsq_reviewer")
WL = Office(WENLIN, "wl_clerk", "wl_village", "rs_county", "")


class Api:
    def __init__(self, client: Any, engine: Engine, refresh: Any) -> None:
        self.client, self.engine, self.refresh = client, engine, refresh
        self.headers: dict[str, dict[str, str]] = {}

    @property
    def clock(self) -> FakeClock:
        assert isinstance(self.engine.clock, FakeClock)
        return self.engine.clock

    async def auth(self, username: str) -> dict[str, str]:
        if username not in self.headers:
            token, _ = await issue_token(await User.get(username=username))
            self.headers[username] = {"Authorization": f"Bearer {token}"}
        return self.headers[username]

    async def get(self, username: str, path: str, status: int = 200) -> Any:
        r = await self.client.get(f"{API}{path}", headers=await self.auth(username))
        assert r.status_code == status, r.text
        return r.json()

    async def post(self, username: str, path: str, body: dict[str, Any], status: int = 200) -> Any:
        r = await self.client.post(f"{API}{path}", json=body, headers=await self.auth(username))
        assert r.status_code == status, r.text
        return r.json()

    async def start(self, office: Office, key: str) -> str:
        body = await self.post(office.clerk, "/instances", {"process_key": "dibao_approval", "business_key": key,
                                                            "org_unit": office.org_unit}, 201)
        return str(body["id"])

    async def ready(self, instance_id: str, username: str) -> list[str]:
        body = await self.get(username, f"/instances/{instance_id}")
        return sorted(t["bpmn_id"] for t in body["ready_tasks"])

    async def my_task(self, username: str, instance_id: str, bpmn_id: str) -> dict[str, Any]:
        """The task as it appears in the user's own actionable list (role and org unit match)."""
        body = await self.get(username, "/tasks?mine=true&process_key=dibao_approval&page_size=200")
        found = [t for t in body["items"] if t["instance_id"] == instance_id and t["bpmn_id"] == bpmn_id]
        assert len(found) == 1, f"{bpmn_id} not actionable by {username}: {await self.ready(instance_id, username)}"
        return found[0]

    async def complete(self, username: str, instance_id: str, bpmn_id: str, data: dict[str, Any]) -> dict[str, Any]:
        task = await self.my_task(username, instance_id, bpmn_id)
        result: dict[str, Any] = await self.post(username, f"/tasks/{task['id']}/complete", {"data": data})
        return result

    async def to_publicity(self, office: Office, instance_id: str, accept: dict[str, Any] | None = None) -> None:
        await self.complete(office.clerk, instance_id, "Task_accept", {**ACCEPT, **(accept or {})})
        await self.complete(office.clerk, instance_id, "Task_home_investigation", HOME)
        await self.complete(office.county, instance_id, "Task_info_check", CHECK_PASS)
        await self.complete(office.clerk, instance_id, "Task_prelim", PRELIM)
        await self.complete(office.village, instance_id, "Task_post_publicity", POST)
        assert await self.ready(instance_id, office.clerk) == ["Task_publicity"]

    async def sweep(self) -> None:
        """One pass of the app's scheduler loop (refresh, wake due timers, escalate), then it stops."""
        stop = asyncio.Event()
        calls = 0

        async def stop_on_second_pass() -> None:
            nonlocal calls
            calls += 1
            if calls == 2:
                stop.set()

        await asyncio.wait_for(scheduler_loop(self.engine, 0.01, [self.refresh, stop_on_second_pass], stop), 60)

    async def end_publicity(self) -> None:
        self.clock.advance(timedelta(days=7, minutes=1))
        await self.sweep()


@pytest.fixture(name="api")
async def api_fixture(engine: Engine, client: Any, web_app: Any) -> Api:
    from tests.conftest import TEST_PASSWORD
    from web.security import hash_password

    await seed_plan_standards()
    refresh = await install(engine)
    web_app.state.ctx.refreshers = [refresh]  # what the lifespan does in production
    await deploy_dir(engine, BPMN_DIR, "dibao_approval.bpmn")
    await OrgUnit.create(code=VILLAGE, name="幸福社区", level="village", parent_id=TONGHUI,
                         path=f"/511400/511402/{TONGHUI}/{VILLAGE}/")
    password = (await User.get(username="th_clerk")).password_hash or hash_password(TEST_PASSWORD)
    for username, name, org, roles in EXTRA_USERS:
        await User.create(username=username, display_name=name, org_unit_id=org, roles=roles, password_hash=password)
    harness = Api(client, engine, refresh)
    # 东坡区 delegates 低保 审核确认 to 通惠街道 from 2026-01-01 (registered through the API by the administrator).
    await harness.post("admin", "/dibao/delegations", {
        "county_code": "511402", "township_code": TONGHUI, "benefit_type": "dibao", "effective_from": "2026-01-01",
        "document_no": "眉东民发〔2025〕12号"}, 201)
    return harness


async def test_delegated_township_approves(api: Api) -> None:
    case = await api.start(TH, "DB-API-1")
    await api.to_publicity(TH, case)
    await api.end_publicity()
    confirm = await api.my_task("th_reviewer", case, "Task_confirm")
    assert (confirm["candidate_role"], confirm["org_unit"]) == ("township_reviewer", TONGHUI)
    await api.post("dp_county", f"/tasks/{confirm['id']}/complete", {"data": APPROVE}, 403)  # not the county's
    done = await api.complete("th_reviewer", case, "Task_confirm", APPROVE)
    assert done["status"] == "completed" and done["ready_tasks"] == []
    assert done["data"]["monthly_amount"] == 990.0  # urban S 630; (630 − 900 / 3) × 3
    record = await api.get("th_reviewer", f"/dibao/cases/{case}")
    assert (record["delegated"], record["decision"], record["monthly_amount"]) == (True, "approve", "990.00")
    accepted = datetime.fromisoformat(record["accepted_at"])
    assert datetime.fromisoformat(record["deadline_at"]) == api.engine.calendar.add_working_days(accepted, 20)


async def test_non_delegated_township_goes_to_the_county(api: Api) -> None:
    case = await api.start(WL, "DB-API-2")
    await api.to_publicity(WL, case)
    await api.end_publicity()
    confirm = await api.my_task("rs_county", case, "Task_confirm")
    assert (confirm["candidate_role"], confirm["org_unit"]) == ("county_reviewer", "511421")
    await api.post("wl_clerk", f"/tasks/{confirm['id']}/complete", {"data": APPROVE}, 403)
    done = await api.complete("rs_county", case, "Task_confirm", APPROVE)
    assert done["status"] == "completed"
    record = await api.get("rs_county", f"/dibao/cases/{case}")
    assert (record["delegated"], record["decided_at"] is not None) == (False, True)
    accepted = datetime.fromisoformat(record["accepted_at"])
    assert datetime.fromisoformat(record["deadline_at"]) == api.engine.calendar.add_working_days(accepted, 30)


async def test_objection_during_publicity_reinvestigates_without_second_publicity(api: Api) -> None:
    case = await api.start(TH, "DB-API-3")
    await api.to_publicity(TH, case)
    api.clock.advance(timedelta(days=2))
    interrupted = await api.complete("th_village", case, "Task_publicity", OBJECTION)
    assert interrupted["next_timer_at"] is None
    await api.complete("th_clerk", case, "Task_objection_review", {"handling": "reinvestigate",
                                                                  "opinion": "重新入户核实"})
    await api.complete("th_clerk", case, "Task_reinvestigate", {
        "investigators": ["王敏", "陈静"], "visit_date": "2026-03-05", "objection_substantiated": True,
        "verified_monthly_income": 1200, "findings": "有小卖部经营收入每月约 300 元", "opinion": "异议部分属实"})
    await api.complete("th_clerk", case, "Task_prelim", PRELIM)
    assert await api.ready(case, "th_clerk") == ["Task_county_visit"]  # objected: county home visit, no 公示
    await api.complete("dp_county", case, "Task_county_visit", VISIT)
    assert await api.ready(case, "th_clerk") == ["Task_confirm"]
    posts = await HumanTask.filter(instance_id=case, bpmn_id="Task_post_publicity").count()
    publicity = await HumanTask.filter(instance_id=case, bpmn_id="Task_publicity").count()
    assert (posts, publicity) == (1, 1)  # one 公示, never a second one
    done = await api.complete("th_reviewer", case, "Task_confirm", APPROVE)
    assert done["data"]["monthly_amount"] == 690.0  # (630 − 1200 / 3) × 3
    assert (await api.get("dp_county", f"/dibao/cases/{case}"))["complaint"] is False


async def test_nobody_acts_during_publicity_and_the_sweep_moves_it_on_after_7_days(api: Api) -> None:
    case = await api.start(TH, "DB-API-4")
    await api.to_publicity(TH, case)
    posted = api.clock.now()
    api.clock.advance(timedelta(days=7) - timedelta(minutes=1))
    await api.sweep()
    assert await api.ready(case, "th_clerk") == ["Task_publicity"]  # 7 calendar days not over yet
    api.clock.advance(timedelta(minutes=2))
    await api.sweep()
    assert await api.ready(case, "th_clerk") == ["Task_confirm"]
    publicity = await HumanTask.get(instance_id=case, bpmn_id="Task_publicity")
    assert publicity.state == "CANCELED" and publicity.completed_by is None  # nobody acted
    confirm = await api.my_task("th_reviewer", case, "Task_confirm")
    assert datetime.fromisoformat(confirm["created_at"]) >= posted + timedelta(days=7)
    assert datetime.fromisoformat(confirm["due_at"]) == api.engine.calendar.add_working_days(api.clock.now(), 10)


async def test_check_fails_and_the_applicant_objects(api: Api) -> None:
    case = await api.start(TH, "DB-API-5")
    await api.complete("th_clerk", case, "Task_accept", ACCEPT)
    await api.complete("th_clerk", case, "Task_home_investigation", HOME)
    await api.complete("dp_county", case, "Task_info_check", {
        **CHECK_PASS, "check_result": "fail", "verified_monthly_income": 2400, "opinion": "发现未申报工资收入"})
    objects = {"notified_on": "2026-03-05", "applicant_objects": True, "objection_evidence": "该工资已于去年停发"}
    await api.complete("th_clerk", case, "Task_check_notice", objects)
    recheck = await api.my_task("th_reviewer", case, "Task_recheck")
    assert (recheck["candidate_role"], recheck["org_unit"]) == ("township_reviewer", TONGHUI)
    await api.complete("th_reviewer", case, "Task_recheck", {"recheck_result": "pass", "verified_monthly_income": 600,
                                                             "opinion": "补充停发证明，核实属实"})
    assert await api.ready(case, "th_clerk") == ["Task_prelim"]
    await api.complete("th_clerk", case, "Task_prelim", PRELIM)
    await api.complete("th_village", case, "Task_post_publicity", POST)
    await api.end_publicity()
    done = await api.complete("th_reviewer", case, "Task_confirm", APPROVE)
    assert done["data"]["monthly_amount"] == 1290.0  # (630 − 600 / 3) × 3: the re-checked income counts


async def test_check_fails_and_the_applicant_accepts_it_ends_not_eligible(api: Api) -> None:
    case = await api.start(TH, "DB-API-5b")
    await api.complete("th_clerk", case, "Task_accept", ACCEPT)
    await api.complete("th_clerk", case, "Task_home_investigation", HOME)
    await api.complete("dp_county", case, "Task_info_check", {
        **CHECK_PASS, "check_result": "fail", "verified_monthly_income": 2400, "opinion": "发现未申报工资收入"})
    done = await api.complete("th_clerk", case, "Task_check_notice", {"notified_on": "2026-03-05",
                                                                     "applicant_objects": False})
    assert done["status"] == "completed"
    assert (await api.get("th_clerk", f"/dibao/cases/{case}"))["decision"] == "not_eligible"


async def test_separately_registered_case_in_delegated_county_gets_county_home_visit(api: Api) -> None:
    case = await api.start(TH, "DB-API-6")
    await api.to_publicity(TH, case, accept={"close_relative_of_staff": True,
                                             "close_relative_note": "配偶系社区低保专干之兄"})
    await api.end_publicity()
    assert await api.ready(case, "th_clerk") == ["Task_county_visit"]
    visit = await api.my_task("dp_county", case, "Task_county_visit")
    assert (visit["candidate_role"], visit["org_unit"]) == ("county_reviewer", "511402")
    await api.complete("dp_county", case, "Task_county_visit", VISIT)
    confirm = await api.my_task("th_reviewer", case, "Task_confirm")  # still confirmed by the delegated township
    assert confirm["candidate_role"] == "township_reviewer"
    await api.complete("th_reviewer", case, "Task_confirm", APPROVE)
    record = await api.get("dp_county", f"/dibao/cases/{case}")
    assert (record["separately_registered"], record["delegated"], record["decision"]) == (True, True, "approve")


async def test_refusal_produces_the_notice_with_appeal_rights(api: Api) -> None:
    case = await api.start(WL, "DB-API-7")
    await api.to_publicity(WL, case)
    await api.end_publicity()
    await api.complete("rs_county", case, "Task_confirm", REFUSE)
    notice_task = await api.my_task("wl_clerk", case, "Task_refusal_notice")
    assert datetime.fromisoformat(notice_task["due_at"]) == api.engine.calendar.add_working_days(api.clock.now(), 3)
    r = await api.client.post(f"{API}/tasks/{notice_task['id']}/complete", headers=await api.auth("wl_clerk"),
                              json={"data": {**REFUSAL_NOTICE, "review_rights_informed": False}})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "review_rights_informed"
    done = await api.complete("wl_clerk", case, "Task_refusal_notice", REFUSAL_NOTICE)
    assert done["status"] == "completed" and "monthly_amount" not in done["data"]
    assert (await api.get("rs_county", f"/dibao/cases/{case}"))["decision"] == "refuse"
    await browser_login(api.client, "wl_clerk")
    page = await api.client.get(f"/dibao/cases/{case}/notice")
    assert page.status_code == 200 and "不予确认" in page.text
    assert REFUSAL_NOTICE["reasons"] in page.text
    assert "行政复议" in page.text and "行政诉讼" in page.text and "仁寿县" in page.text


async def test_registry_change_date_routes_two_cases_differently(api: Api) -> None:
    # 东坡区 delegates to 大石桥街道 from 2026-03-20 (a later document).
    await api.post("admin", "/dibao/delegations", {
        "county_code": "511402", "township_code": DASHIQIAO, "benefit_type": "dibao",
        "effective_from": "2026-03-20", "document_no": "眉东民发〔2026〕3号"}, 201)
    first = await api.start(DSQ, "DB-API-8A")
    await api.to_publicity(DSQ, first)
    await api.end_publicity()  # reaches 审核确认 on 2026-03-09: before the change
    assert api.clock.now().astimezone(UTC).date() < date(2026, 3, 20)
    confirm_a = await api.my_task("dp_county", first, "Task_confirm")
    assert (confirm_a["candidate_role"], confirm_a["org_unit"]) == ("county_reviewer", "511402")

    api.clock.set(datetime(2026, 3, 13, 1, 0, tzinfo=UTC))
    second = await api.start(DSQ, "DB-API-8B")
    await api.to_publicity(DSQ, second)
    await api.end_publicity()  # reaches 审核确认 on 2026-03-20 (Shanghai): the first delegated day
    assert (api.clock.now() + timedelta(hours=SHANGHAI_DAY)).date() == date(2026, 3, 20)
    confirm_b = await api.my_task("dsq_reviewer", second, "Task_confirm")
    assert (confirm_b["candidate_role"], confirm_b["org_unit"]) == ("township_reviewer", DASHIQIAO)
    assert (await api.my_task("dp_county", first, "Task_confirm"))["id"] == confirm_a["id"]  # A stays put

    await api.complete("dp_county", first, "Task_confirm", APPROVE)
    await api.complete("dsq_reviewer", second, "Task_confirm", APPROVE)
    a, b = await DibaoCase.get(instance_id=first), await DibaoCase.get(instance_id=second)
    assert (a.delegated, a.decided_by, b.delegated, b.decided_by) == (False, "dp_county", True, "dsq_reviewer")
