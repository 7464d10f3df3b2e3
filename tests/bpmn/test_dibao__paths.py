"""The real 低保审核确认 diagram (bpmn/dibao_approval.bpmn) driven through the Engine, path by path.

Every test that touches the database runs on SQLite and PostgreSQL (the `db` fixture). Delegation is an in-memory
registry (township → first day the county's delegation is in force) behind the router from
workflows/dibao/routing.py; the 低保 standard comes from a registered service, never from a form.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import combinations
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from lxml import etree

from engine.clock import FakeClock
from engine.forms import FormValidationError
from engine.models import HumanTask, OrgUnit, ProcessInstance
from engine.runtime import Engine, ProcessScriptError
from engine.specs import read_directory, validate_bundle
from tests.conftest import Database, deploy_dir, seed_orgs
from web.diagram import render_svg
from workflows.dibao.routing import CONFIRM_TASK, PROCESS_KEY, make_confirm_router
from workflows.dibao.services import allowance_service

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
BPMN_FILE = "dibao_approval.bpmn"
SHANGHAI = ZoneInfo("Asia/Shanghai")
NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "spiff": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}
ROLES = {"township_clerk", "township_reviewer", "county_reviewer", "village_clerk"}

CITY, DONGPO, RENSHOU = "511400", "511402", "511421"
TONGHUI, DASHIQIAO, WENLIN = "511402001", "511402002", "511421001"  # townships (东坡区 ×2, 仁寿县)
VILLAGE = "511402001001"  # a community under 通惠街道, added by these tests
STANDARDS = {"urban": 630.0, "rural": 450.0}  # yuan / person / month, served by the fake standards service

ACCEPT = {
    "applicant_name": "张秀英", "applicant_id_number": "511402196503120024", "application_channel": "window",
    "hukou_type": "urban", "household_size": 3,
    "members": [{"name": "张秀英", "relation": "applicant"}, {"name": "李建国", "relation": "spouse"},
                {"name": "李小明", "relation": "child"}],
    "declared_monthly_income": 900, "single_person_application": False, "materials_complete": True,
    "close_relative_of_staff": False, "opinion": "材料齐全，予以受理",
}
HOME = {"investigators": ["王敏", "刘强"], "visit_date": "2026-03-03", "cooperated": True, "form_signed": True,
        "findings": "一家三口租住，配偶长期患病，无机动车", "opinion": "情况属实"}
CHECK_PASS = {"check_result": "pass", "verified_monthly_income": 900, "sources_checked": ["hukou", "tax", "deposit"],
              "opinion": "核对无异常"}
PRELIM = {"prelim_recommend": True, "complaint_received": False, "opinion": "符合条件，拟同意纳入"}
POST = {"posted_on": "2026-03-04", "posting_location": "社区公示栏", "content_checked": True}
OBJECTION = {"received_on": "2026-03-06", "objector_type": "villager",
             "objection_content": "反映其家庭有经营收入未申报", "evidence_provided": True}
APPROVE = {"decision": "approve", "opinion": "符合条件，予以确认"}
REFUSE = {"decision": "refuse", "opinion": "家庭财产超过规定，不予确认"}
REFUSAL_NOTICE = {"reasons": "家庭存款超过当地规定的财产限额", "review_rights_informed": True,
                  "litigation_rights_informed": True, "served_on": "2026-03-20", "service_method": "direct"}
PUBLICITY = timedelta(days=7)


@dataclass
class DelegationRegistry:
    """In-memory stand-in for the delegation registry: township → first local date the delegation is in force."""

    effective_from: dict[str, date] = field(default_factory=dict)
    asked: list[tuple[str, datetime]] = field(default_factory=list)

    async def is_delegated(self, township: str, when: datetime) -> bool:
        self.asked.append((township, when))
        start = self.effective_from.get(township)
        return start is not None and when.astimezone(SHANGHAI).date() >= start


@dataclass
class Harness:
    engine: Engine
    clock: FakeClock
    registry: DelegationRegistry
    standard_calls: list[str]

    async def start(self, org_unit: str = TONGHUI, key: str = "DB-1") -> ProcessInstance:
        return await self.engine.start(PROCESS_KEY, org_unit=org_unit, actor="clerk", business_key=key)

    async def open_tasks(self, inst: ProcessInstance) -> list[HumanTask]:
        return await HumanTask.filter(instance_id=inst.id, state__in=("READY", "CLAIMED")).order_by("bpmn_id")

    async def open_ids(self, inst: ProcessInstance) -> list[str]:
        return [t.bpmn_id for t in await self.open_tasks(inst)]

    async def task(self, inst: ProcessInstance, bpmn_id: str) -> HumanTask:
        found = [t for t in await self.open_tasks(inst) if t.bpmn_id == bpmn_id]
        assert len(found) == 1, f"expected one open {bpmn_id}, open: {await self.open_ids(inst)}"
        return found[0]

    async def complete(self, inst: ProcessInstance, bpmn_id: str, data: Mapping[str, Any]) -> ProcessInstance:
        task = await self.task(inst, bpmn_id)
        await self.engine.complete_task(task.id, data, actor=f"user-{bpmn_id}")
        return await ProcessInstance.get(id=inst.id)

    async def rows(self, inst: ProcessInstance, bpmn_id: str) -> list[HumanTask]:
        return await HumanTask.filter(instance_id=inst.id, bpmn_id=bpmn_id).order_by("created_at")

    async def to_prelim(self, inst: ProcessInstance, accept: Mapping[str, Any] | None = None,
                        check: Mapping[str, Any] | None = None) -> None:
        await self.complete(inst, "Task_accept", {**ACCEPT, **(accept or {})})
        await self.complete(inst, "Task_home_investigation", HOME)
        await self.complete(inst, "Task_info_check", {**CHECK_PASS, **(check or {})})
        assert await self.open_ids(inst) == ["Task_prelim"]

    async def to_publicity(self, inst: ProcessInstance, **kwargs: Any) -> None:
        await self.to_prelim(inst, **kwargs)
        await self.complete(inst, "Task_prelim", PRELIM)
        await self.complete(inst, "Task_post_publicity", POST)
        assert await self.open_ids(inst) == ["Task_publicity"]

    async def expire_publicity(self) -> int:
        self.clock.advance(PUBLICITY + timedelta(minutes=1))
        return await self.engine.wake_due_timers()

    async def to_confirm(self, inst: ProcessInstance, **kwargs: Any) -> HumanTask:
        await self.to_publicity(inst, **kwargs)
        assert await self.expire_publicity() == 1
        return await self.task(inst, CONFIRM_TASK)


@pytest.fixture
async def h(db: Database) -> Harness:
    await seed_orgs()
    await OrgUnit.create(code=VILLAGE, name="通惠街道某社区", level="village", parent_id=TONGHUI,
                         path=f"/{CITY}/{DONGPO}/{TONGHUI}/{VILLAGE}/")
    clock = FakeClock()  # Monday 2026-03-02 09:00 in Shanghai
    engine = Engine(clock=clock)
    calls: list[str] = []

    def dibao_standard(area_type: str, org_unit: str = "") -> float:
        calls.append(area_type)
        return STANDARDS[area_type]

    engine.register_services({"dibao_standard": dibao_standard, "dibao_allowance": allowance_service,
                              "dibao_method": lambda org_unit="": "gap"})
    registry = DelegationRegistry({TONGHUI: date(2026, 1, 1)})  # 东坡区 delegated 通惠街道 only
    engine.register_router(PROCESS_KEY, make_confirm_router(registry.is_delegated))
    await deploy_dir(engine, BPMN_DIR, BPMN_FILE)
    return Harness(engine, clock, registry, calls)


def due(h: Harness, start: datetime, days: int) -> datetime:
    return h.engine.calendar.add_working_days(start, days)


# ------------------------------------------------------------------------------------------------ routing


async def test_happy_path_delegated_township_confirms_and_amount_is_fixed(h: Harness) -> None:
    inst = await h.start()
    accept = await h.task(inst, "Task_accept")
    assert (accept.candidate_role, accept.org_unit) == ("township_clerk", TONGHUI)

    await h.complete(inst, "Task_accept", ACCEPT)
    started = h.clock.now()
    home, check = await h.task(inst, "Task_home_investigation"), await h.task(inst, "Task_info_check")
    assert (home.candidate_role, home.org_unit, home.due_at) == ("township_clerk", TONGHUI, due(h, started, 3))
    assert (check.candidate_role, check.org_unit, check.due_at) == ("county_reviewer", DONGPO, due(h, started, 3))

    await h.complete(inst, "Task_home_investigation", HOME)
    assert await h.open_ids(inst) == ["Task_info_check"]  # the join waits for the county's 核对
    await h.complete(inst, "Task_info_check", CHECK_PASS)
    await h.complete(inst, "Task_prelim", PRELIM)
    post = await h.task(inst, "Task_post_publicity")
    assert post.candidate_role == "village_clerk"
    await h.complete(inst, "Task_post_publicity", POST)

    assert h.registry.asked == []  # nobody asked about delegation before the file reaches 审核确认
    assert await h.expire_publicity() == 1
    confirm = await h.task(inst, CONFIRM_TASK)
    assert (confirm.candidate_role, confirm.org_unit, confirm.org_path) == (
        "township_reviewer", TONGHUI, f"/{CITY}/{DONGPO}/{TONGHUI}/")
    assert confirm.due_at == due(h, h.clock.now(), 10)
    assert h.registry.asked == [(TONGHUI, h.clock.now())]
    assert await h.rows(inst, "Task_county_visit") == []  # no 备案/complaint: no county home visit

    inst = await h.complete(inst, CONFIRM_TASK, APPROVE)
    assert inst.status == "completed" and await h.open_tasks(inst) == []
    # gap method: per capita 900 / 3 = 300; (630 - 300) × 3 members = 990
    assert h.standard_calls == ["urban"]
    assert (inst.data["standard"], inst.data["per_capita_income"], inst.data["covered_members"]) == (630.0, 300.0, 3)
    assert inst.data["monthly_amount"] == 990.0
    assert "990" in inst.data["amount_explanation"] and "630" in inst.data["amount_explanation"]


async def test_not_delegated_confirm_lands_on_county_reviewer(h: Harness) -> None:
    inst = await h.start(WENLIN)
    confirm = await h.to_confirm(inst)
    assert (confirm.candidate_role, confirm.org_unit, confirm.org_path) == (
        "county_reviewer", RENSHOU, f"/{CITY}/{RENSHOU}/")
    assert h.registry.asked == [(WENLIN, h.clock.now())]


async def test_delegation_effective_date_between_two_cases(h: Harness) -> None:
    h.registry.effective_from[DASHIQIAO] = date(2026, 3, 20)
    first = await h.start(DASHIQIAO, key="DB-A")
    confirm_a = await h.to_confirm(first)  # reaches 审核确认 on 2026-03-09, before the delegation
    assert h.clock.now().astimezone(SHANGHAI).date() < date(2026, 3, 20)
    assert (confirm_a.candidate_role, confirm_a.org_unit) == ("county_reviewer", DONGPO)

    h.clock.set(datetime(2026, 3, 13, 1, 0, tzinfo=UTC))
    second = await h.start(DASHIQIAO, key="DB-B")
    confirm_b = await h.to_confirm(second)  # reaches 审核确认 on 2026-03-20, the first delegated day
    assert h.clock.now().astimezone(SHANGHAI).date() == date(2026, 3, 20)
    assert (confirm_b.candidate_role, confirm_b.org_unit) == ("township_reviewer", DASHIQIAO)
    # the earlier case stays where it was routed
    assert (await h.task(first, CONFIRM_TASK)).candidate_role == "county_reviewer"


async def test_case_filed_at_village_routes_by_its_township(h: Harness) -> None:
    inst = await h.start(VILLAGE)
    assert ((await h.task(inst, "Task_accept")).org_unit) == TONGHUI  # orgLevel township
    await h.to_prelim(inst)
    await h.complete(inst, "Task_prelim", PRELIM)
    assert (await h.task(inst, "Task_post_publicity")).org_unit == VILLAGE  # 公示 in the village
    await h.complete(inst, "Task_post_publicity", POST)
    assert (await h.task(inst, "Task_publicity")).org_unit == VILLAGE
    assert await h.expire_publicity() == 1
    confirm = await h.task(inst, CONFIRM_TASK)
    assert (confirm.candidate_role, confirm.org_unit) == ("township_reviewer", TONGHUI)
    assert h.registry.asked == [(TONGHUI, h.clock.now())]


# ------------------------------------------------------------------------------------------------ 受理


async def test_incomplete_materials_loop_through_one_time_notice(h: Harness) -> None:
    inst = await h.start()
    await h.complete(inst, "Task_accept", {**ACCEPT, "materials_complete": False, "opinion": "缺户口簿复印件"})
    notice = await h.task(inst, "Task_notify_missing")
    assert (notice.candidate_role, notice.org_unit) == ("township_clerk", TONGHUI)
    assert await h.open_ids(inst) == ["Task_notify_missing"]  # no investigation yet

    with pytest.raises(FormValidationError) as err:  # must list at least one missing item
        await h.engine.complete_task(notice.id, {"missing_items": [], "notified_on": "2026-03-02",
                                                 "notice_method": "in_person"}, actor="clerk")
    assert [e.field for e in err.value.errors] == ["missing_items"]
    await h.complete(inst, "Task_notify_missing", {"missing_items": ["残疾证", "医疗费用票据"],
                                                   "notified_on": "2026-03-02", "notice_method": "in_person"})
    assert await h.open_ids(inst) == ["Task_accept"]
    assert [r.state for r in await h.rows(inst, "Task_accept")] == ["DONE", "READY"]

    await h.complete(inst, "Task_accept", ACCEPT)
    assert await h.open_ids(inst) == ["Task_home_investigation", "Task_info_check"]


async def test_close_relative_needs_registration_note_and_a_county_home_visit(h: Harness) -> None:
    inst = await h.start()
    with pytest.raises(FormValidationError) as err:
        await h.engine.complete_task((await h.task(inst, "Task_accept")).id,
                                     {**ACCEPT, "close_relative_of_staff": True}, actor="clerk")
    assert [(e.field, e.code) for e in err.value.errors] == [("close_relative_note", "required")]

    note = {"close_relative_of_staff": True, "close_relative_note": "配偶系社区低保专干之兄"}
    await h.to_publicity(inst, accept=note)
    assert await h.expire_publicity() == 1
    visit = await h.task(inst, "Task_county_visit")
    assert (visit.candidate_role, visit.org_unit) == ("county_reviewer", DONGPO)  # even though 通惠 is delegated
    assert await h.open_ids(inst) == ["Task_county_visit"]  # confirmation waits for the visit

    await h.complete(inst, "Task_county_visit", {"investigators": ["赵刚", "孙丽"], "visit_date": "2026-03-12",
                                                 "consistent": True, "findings": "与乡镇调查一致", "opinion": "属实"})
    confirm = await h.task(inst, CONFIRM_TASK)
    assert (confirm.candidate_role, confirm.org_unit) == ("township_reviewer", TONGHUI)


async def test_complaint_recorded_at_prelim_also_forces_county_visit(h: Harness) -> None:
    inst = await h.start()
    await h.to_prelim(inst)
    await h.complete(inst, "Task_prelim", {**PRELIM, "complaint_received": True})
    await h.complete(inst, "Task_post_publicity", POST)
    assert await h.expire_publicity() == 1
    assert await h.open_ids(inst) == ["Task_county_visit"]


# ------------------------------------------------------------------------------------------------ investigation


async def test_refusal_to_cooperate_terminates_and_cancels_the_check(h: Harness) -> None:
    inst = await h.start()
    await h.complete(inst, "Task_accept", ACCEPT)
    with pytest.raises(FormValidationError) as err:  # ≥ 2 investigators
        await h.engine.complete_task((await h.task(inst, "Task_home_investigation")).id,
                                     {**HOME, "investigators": ["王敏"]}, actor="clerk")
    assert [e.field for e in err.value.errors] == ["investigators"]

    inst = await h.complete(inst, "Task_home_investigation", {**HOME, "cooperated": False, "form_signed": False,
                                                              "opinion": "申请人拒绝入户"})
    assert inst.status == "completed" and inst.next_timer_at is None
    assert [r.state for r in await h.rows(inst, "Task_info_check")] == ["CANCELED"]
    assert await h.rows(inst, "Task_prelim") == []
    assert inst.data["cooperated"] is False and "monthly_amount" not in inst.data


async def test_check_fails_objection_recheck_loop_then_prelim(h: Harness) -> None:
    inst = await h.start()
    await h.complete(inst, "Task_accept", ACCEPT)
    await h.complete(inst, "Task_home_investigation", HOME)
    await h.complete(inst, "Task_info_check", {**CHECK_PASS, "check_result": "fail", "verified_monthly_income": 2400,
                                               "opinion": "发现未申报工资收入"})
    assert await h.open_ids(inst) == ["Task_check_notice"]

    objects = {"notified_on": "2026-03-05", "applicant_objects": True, "objection_evidence": "该工资已于去年停发"}
    await h.complete(inst, "Task_check_notice", objects)
    recheck = await h.task(inst, "Task_recheck")
    assert (recheck.candidate_role, recheck.org_unit) == ("township_reviewer", TONGHUI)
    await h.complete(inst, "Task_recheck", {"recheck_result": "fail", "verified_monthly_income": 2400,
                                            "opinion": "停发证明不足"})
    assert await h.open_ids(inst) == ["Task_check_notice"]  # told again, may object again
    assert len(await h.rows(inst, "Task_check_notice")) == 2

    await h.complete(inst, "Task_check_notice", objects)
    await h.complete(inst, "Task_recheck", {"recheck_result": "pass", "verified_monthly_income": 600,
                                            "opinion": "补充停发证明，核实属实"})
    assert await h.open_ids(inst) == ["Task_prelim"]
    await h.complete(inst, "Task_prelim", PRELIM)
    await h.complete(inst, "Task_post_publicity", POST)
    assert await h.expire_publicity() == 1
    inst = await h.complete(inst, CONFIRM_TASK, APPROVE)
    assert inst.data["monthly_amount"] == 1290.0  # the 复查 income counts: (630 - 200) × 3


async def test_check_fails_without_objection_ends_as_not_eligible(h: Harness) -> None:
    inst = await h.start()
    await h.complete(inst, "Task_accept", ACCEPT)
    await h.complete(inst, "Task_home_investigation", HOME)
    await h.complete(inst, "Task_info_check", {**CHECK_PASS, "check_result": "fail", "opinion": "名下有两套住房"})
    inst = await h.complete(inst, "Task_check_notice", {"notified_on": "2026-03-05", "applicant_objects": False})
    assert inst.status == "completed"
    assert await h.rows(inst, "Task_prelim") == [] and await h.rows(inst, CONFIRM_TASK) == []


# ------------------------------------------------------------------------------------------------ 公示


async def test_publicity_timer_fires_after_seven_days_and_not_before(h: Harness) -> None:
    inst = await h.start()
    await h.to_prelim(inst)
    await h.complete(inst, "Task_prelim", PRELIM)
    inst = await h.complete(inst, "Task_post_publicity", POST)
    posted = h.clock.now()
    assert inst.next_timer_at == posted + PUBLICITY

    h.clock.advance(PUBLICITY - timedelta(minutes=1))
    assert await h.engine.wake_due_timers() == 0
    assert await h.open_ids(inst) == ["Task_publicity"]
    assert await h.rows(inst, CONFIRM_TASK) == []

    h.clock.advance(timedelta(minutes=2))
    assert await h.engine.wake_due_timers() == 1
    assert [r.state for r in await h.rows(inst, "Task_publicity")] == ["CANCELED"]
    assert await h.open_ids(inst) == [CONFIRM_TASK]
    assert (await ProcessInstance.get(id=inst.id)).next_timer_at is None


async def test_objection_reinvestigation_new_prelim_without_second_publicity(h: Harness) -> None:
    inst = await h.start()
    await h.to_publicity(inst)
    h.clock.advance(timedelta(days=2))
    inst = await h.complete(inst, "Task_publicity", OBJECTION)
    assert inst.next_timer_at is None  # the interrupted 公示 has no timer left
    review = await h.task(inst, "Task_objection_review")
    assert (review.candidate_role, review.org_unit) == ("township_clerk", TONGHUI)

    await h.complete(inst, "Task_objection_review", {"handling": "reinvestigate", "opinion": "重新入户核实"})
    await h.complete(inst, "Task_reinvestigate", {
        "investigators": ["王敏", "陈静"], "visit_date": "2026-03-09", "objection_substantiated": True,
        "verified_monthly_income": 1200, "findings": "有小卖部经营收入每月约 300 元", "opinion": "异议部分属实"})
    assert await h.open_ids(inst) == ["Task_prelim"]
    await h.complete(inst, "Task_prelim", PRELIM)

    assert len(await h.rows(inst, "Task_post_publicity")) == 1  # no second 公示
    assert await h.open_ids(inst) == ["Task_county_visit"]  # an objected case gets the county home visit
    await h.complete(inst, "Task_county_visit", {"investigators": ["赵刚", "孙丽"], "visit_date": "2026-03-12",
                                                 "consistent": True, "findings": "经营收入属实", "opinion": "属实"})
    assert await h.open_ids(inst) == [CONFIRM_TASK]
    assert await h.expire_publicity() == 0  # nothing waits on the old 公示 any more

    inst = await h.complete(inst, CONFIRM_TASK, APPROVE)
    assert inst.data["publicity_objection"] is True
    assert inst.data["monthly_amount"] == 690.0  # (630 - 1200 / 3) × 3


async def test_objection_democratic_review_goes_back_to_prelim(h: Harness) -> None:
    inst = await h.start()
    await h.to_publicity(inst)
    await h.complete(inst, "Task_publicity", OBJECTION)
    await h.complete(inst, "Task_objection_review", {"handling": "democratic_review", "opinion": "组织民主评议"})
    review = await h.task(inst, "Task_democratic_review")
    assert review.candidate_role == "village_clerk"
    await h.complete(inst, "Task_democratic_review", {"review_date": "2026-03-10", "participants": 15,
                                                      "review_result": "support", "opinion": "多数同意"})
    await h.complete(inst, "Task_prelim", PRELIM)
    assert len(await h.rows(inst, "Task_post_publicity")) == 1
    assert await h.open_ids(inst) == ["Task_county_visit"]


# ------------------------------------------------------------------------------------------------ decision


async def test_refusal_goes_through_the_written_notice_then_ends(h: Harness) -> None:
    inst = await h.start()
    await h.to_confirm(inst)
    inst = await h.complete(inst, CONFIRM_TASK, REFUSE)
    notice = await h.task(inst, "Task_refusal_notice")
    assert (notice.candidate_role, notice.org_unit) == ("township_clerk", TONGHUI)
    assert notice.due_at == due(h, h.clock.now(), 3)

    with pytest.raises(FormValidationError) as err:  # appeal rights must be stated
        await h.engine.complete_task(notice.id, {**REFUSAL_NOTICE, "litigation_rights_informed": False}, actor="c")
    assert [e.field for e in err.value.errors] == ["litigation_rights_informed"]

    inst = await h.complete(inst, "Task_refusal_notice", REFUSAL_NOTICE)
    assert inst.status == "completed" and await h.open_tasks(inst) == []
    assert inst.data["decision"] == "refuse" and "monthly_amount" not in inst.data
    assert h.standard_calls == []  # no standard looked up, no amount fixed


async def test_single_person_household_covers_one_member(h: Harness) -> None:
    inst = await h.start()
    await h.to_confirm(inst, accept={"single_person_application": True, "hukou_type": "rural"},
                       check={"verified_monthly_income": 600})
    inst = await h.complete(inst, CONFIRM_TASK, APPROVE)
    # rural standard 450; per capita 600 / 3 = 200; only the applicant is covered: (450 - 200) × 1
    assert (inst.data["standard"], inst.data["covered_members"], inst.data["monthly_amount"]) == (450.0, 1, 250.0)


async def test_approval_is_refused_by_the_engine_when_income_is_not_below_standard(h: Harness) -> None:
    inst = await h.start()
    confirm = await h.to_confirm(inst, check={"verified_monthly_income": 1890})  # 630 per capita = the standard
    before = (await ProcessInstance.get(id=inst.id)).version
    with pytest.raises(ProcessScriptError, match="不低于当地低保标准"):
        await h.engine.complete_task(confirm.id, APPROVE, actor="reviewer")
    after = await ProcessInstance.get(id=inst.id)
    assert after.version == before and after.status == "running"
    assert (await h.task(inst, CONFIRM_TASK)).state == "READY"  # nothing was saved; the decider can refuse
    await h.complete(inst, CONFIRM_TASK, REFUSE)
    assert await h.open_ids(inst) == ["Task_refusal_notice"]


async def test_forms_guard_opinion_and_undeclared_fields(h: Harness) -> None:
    inst = await h.start()
    confirm = await h.to_confirm(inst)
    with pytest.raises(FormValidationError) as err:
        await h.engine.complete_task(confirm.id, {**APPROVE, "opinion": "好"}, actor="reviewer")
    assert [(e.field, e.code) for e in err.value.errors] == [("opinion", "minLength")]
    with pytest.raises(FormValidationError) as err:  # the standard can never come from a form
        await h.engine.complete_task(confirm.id, {**APPROVE, "standard": 99999}, actor="reviewer")
    assert [(e.field, e.code) for e in err.value.errors] == [("standard", "undeclared")]
    inst = await h.complete(inst, CONFIRM_TASK, APPROVE)
    assert inst.data["standard"] == 630.0


# ------------------------------------------------------------------------------------------------ the diagram itself


def _tree() -> etree._Element:
    return etree.fromstring((BPMN_DIR / BPMN_FILE).read_bytes())


def test_bundle_validates_and_every_user_task_is_routable_with_a_form() -> None:
    bpmn, dmn, forms = read_directory(BPMN_DIR)
    bundle = validate_bundle(BPMN_FILE, bpmn[BPMN_FILE], dmn, forms)
    assert bundle.process_ids == [PROCESS_KEY] and bundle.names[PROCESS_KEY] == "低保审核确认"
    root = _tree()
    lanes = {lane.get("name") for lane in root.iterfind(".//bpmn:lane", NS)}
    assert lanes == ROLES
    user_tasks = root.findall(".//bpmn:userTask", NS)
    assert len(user_tasks) == 15
    for task in user_tasks:
        props = {p.get("name"): p.get("value") for p in task.iterfind(".//spiff:property", NS)}
        assert props.get("candidateRole") in ROLES, task.get("id")
        assert props.get("orgLevel") in {"village", "township", "county"}, task.get("id")
        schema = bundle.forms[props["formJsonSchemaFilename"]]
        assert schema["type"] == "object" and re.search(r"[\u4e00-\u9fff]", schema["title"]), task.get("id")
        if "opinion" in schema["properties"]:
            assert "opinion" in schema["required"] and schema["properties"]["opinion"]["minLength"] >= 2
    decisions = {"Task_accept", "Task_home_investigation", "Task_info_check", "Task_recheck", "Task_prelim",
                 "Task_objection_review", "Task_reinvestigate", "Task_democratic_review", "Task_county_visit",
                 CONFIRM_TASK}
    for task in user_tasks:
        if task.get("id") in decisions:
            form = task.find(".//spiff:property[@name='formJsonSchemaFilename']", NS).get("value")
            assert "opinion" in bundle.forms[form]["required"], task.get("id")
    confirm = root.find(f".//bpmn:userTask[@id='{CONFIRM_TASK}']", NS)
    props = {p.get("name"): p.get("value") for p in confirm.iterfind(".//spiff:property", NS)}
    assert (props["candidateRole"], props["dueWorkingDays"]) == ("county_reviewer", "10")
    timer = root.find(".//bpmn:boundaryEvent[@attachedToRef='Task_publicity']//bpmn:timeDuration", NS)
    assert timer.text == '"P7D"'
    # no form may set the standard or the computed amount
    for name, schema in bundle.forms.items():
        assert not {"standard", "monthly_amount", "per_capita_income", "publicity_objection"} & set(
            schema["properties"]), name
        json.dumps(schema)


def _bounds(el: etree._Element) -> tuple[float, float, float, float]:
    b = el.find("dc:Bounds", NS)
    return float(b.get("x")), float(b.get("y")), float(b.get("width")), float(b.get("height"))


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def test_diagram_interchange_is_complete_and_shapes_do_not_overlap() -> None:
    root = _tree()
    process = root.find("bpmn:process", NS)
    flow_nodes = {el.get("id"): el for el in process if el.get("id") and etree.QName(el).localname not in (
        "laneSet", "sequenceFlow", "documentation")}
    flows = {el.get("id") for el in process.iterfind("bpmn:sequenceFlow", NS)}
    shapes = {s.get("bpmnElement"): s for s in root.iterfind(".//bpmndi:BPMNShape", NS)}
    edges = {e.get("bpmnElement"): e for e in root.iterfind(".//bpmndi:BPMNEdge", NS)}
    assert set(flow_nodes) <= set(shapes) and flows == set(edges)

    pool = _bounds(shapes["Participant_dibao_approval"])
    lanes = {lane.get("id"): _bounds(shapes[lane.get("id")]) for lane in process.iterfind(".//bpmn:lane", NS)}
    lane_of = {ref.text: lane.get("id") for lane in process.iterfind(".//bpmn:lane", NS)
               for ref in lane.iterfind("bpmn:flowNodeRef", NS)}
    assert set(lane_of) == set(flow_nodes)
    boxes = {}
    for node_id in flow_nodes:
        x, y, w, hgt = _bounds(shapes[node_id])
        lx, ly, lw, lh = lanes[lane_of[node_id]]
        assert lx + 30 <= x and x + w <= lx + lw, node_id
        if etree.QName(flow_nodes[node_id]).localname != "boundaryEvent":  # boundary events straddle the edge
            assert ly <= y and y + hgt <= ly + lh, f"{node_id} outside its lane"
            boxes[node_id] = (x, y, w, hgt)
        label = shapes[node_id].find("bpmndi:BPMNLabel", NS)
        if label is not None:
            boxes[f"{node_id}/label"] = _bounds(label)
    for edge_id, edge in edges.items():
        label = edge.find("bpmndi:BPMNLabel", NS)
        if label is not None:
            boxes[f"{edge_id}/label"] = _bounds(label)
    for box in boxes.values():
        assert pool[0] + 30 <= box[0] and box[0] + box[2] <= pool[0] + pool[2]
        assert pool[1] <= box[1] and box[1] + box[3] <= pool[1] + pool[3]
    clashes = [(a, b) for (a, ba), (b, bb) in combinations(boxes.items(), 2) if _overlap(ba, bb)]
    assert clashes == []

    # flows start and end on their shapes' borders (orthogonal segments only)
    for flow in process.iterfind("bpmn:sequenceFlow", NS):
        points = [(float(p.get("x")), float(p.get("y"))) for p in edges[flow.get("id")].iterfind("di:waypoint", NS)]
        for (x1, y1), (x2, y2) in zip(points, points[1:], strict=False):
            assert x1 == x2 or y1 == y2, flow.get("id")
        for end, ref in ((points[0], flow.get("sourceRef")), (points[-1], flow.get("targetRef"))):
            x, y, w, hgt = _bounds(shapes[ref])
            assert x <= end[0] <= x + w and y <= end[1] <= y + hgt, (flow.get("id"), ref)


def test_render_svg_draws_every_element() -> None:
    xml = (BPMN_DIR / BPMN_FILE).read_text(encoding="utf-8")
    svg = etree.fromstring(render_svg(xml, {"Task_confirm": "active", "Task_accept": "completed"}).encode())
    drawn = {g.get("data-element-id") for g in svg.iter("{http://www.w3.org/2000/svg}g") if g.get("data-element-id")}
    root = _tree()
    expected = {el.get("id") for el in root.find("bpmn:process", NS) if el.get("id")} - {"LaneSet_dibao"}
    assert expected <= drawn
    active = next(g for g in svg.iter("{http://www.w3.org/2000/svg}g") if g.get("data-element-id") == CONFIRM_TASK)
    assert "state-active" in active.get("class")


async def test_longest_path_still_reports_the_amount_in_instance_data(h: Harness) -> None:
    """Every optional step at once; the engine keeps at most 40 scalar variables in instance.data."""
    inst = await h.start()
    await h.complete(inst, "Task_accept", {**ACCEPT, "materials_complete": False})
    await h.complete(inst, "Task_notify_missing", {"missing_items": ["残疾证"], "notified_on": "2026-03-02",
                                                   "notice_method": "in_person"})
    await h.complete(inst, "Task_accept", {**ACCEPT, "close_relative_of_staff": True, "close_relative_note": "近亲属"})
    await h.complete(inst, "Task_home_investigation", HOME)
    await h.complete(inst, "Task_info_check", {**CHECK_PASS, "check_result": "fail"})
    await h.complete(inst, "Task_check_notice", {"notified_on": "2026-03-05", "applicant_objects": True,
                                                 "objection_evidence": "收入证明有误"})
    await h.complete(inst, "Task_recheck", {"recheck_result": "pass", "verified_monthly_income": 900,
                                            "opinion": "复查属实"})
    await h.complete(inst, "Task_prelim", {**PRELIM, "complaint_received": True})
    await h.complete(inst, "Task_post_publicity", POST)
    await h.complete(inst, "Task_publicity", OBJECTION)
    await h.complete(inst, "Task_objection_review", {"handling": "democratic_review", "opinion": "组织民主评议"})
    await h.complete(inst, "Task_democratic_review", {"review_date": "2026-03-10", "participants": 15,
                                                      "review_result": "support", "opinion": "多数同意"})
    await h.complete(inst, "Task_prelim", PRELIM)
    await h.complete(inst, "Task_county_visit", {"investigators": ["赵刚", "孙丽"], "visit_date": "2026-03-12",
                                                 "consistent": True, "findings": "属实", "opinion": "属实"})
    inst = await h.complete(inst, CONFIRM_TASK, APPROVE)
    assert inst.status == "completed"
    assert (inst.data.get("decision"), inst.data.get("monthly_amount"), inst.data.get("standard")) == (
        "approve", 990.0, 630.0)
    assert "990" in inst.data.get("amount_explanation", "")
