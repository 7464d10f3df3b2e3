"""Shared helpers of the project-library tests: actors, a valid submission, the diagram deployed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from engine.authz import Actor
from engine.runtime import Engine
from projects_registry import lifecycle
from projects_registry.models import Project
from projects_registry.rules import BudgetItem, Indicator
from tests.conftest import deploy_dir

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
D = Decimal

PM = Actor("dp_pm", "东坡区项目管理", "511402", "/511400/511402/", "东坡区", frozenset({"project_manager"}))
RS_PM = Actor("rs_pm", "仁寿县项目管理", "511421", "/511400/511421/", "仁寿县", frozenset({"project_manager"}))
COUNTY = Actor("dp_county", "东坡区审核", "511402", "/511400/511402/", "东坡区", frozenset({"county_reviewer"}))
CITY = Actor("city_mgr", "市级管理", "511400", "/511400/", "眉山市", frozenset({"city_manager"}))
CITY2 = Actor("expert2", "评审专家二", "511400", "/511400/", "眉山市", frozenset({"city_manager"}))
ALL_MET = {k: True for k in ("plan_ready", "co_funding_ready", "site_ready", "team_ready", "procurement_ready")}


async def deploy(engine: Engine) -> None:
    await deploy_dir(engine, BPMN_DIR, "fund_project_lifecycle.bpmn")


def submission(name: str = "通惠街道老年助餐点建设", org: str = "511402", lottery: str = "300000",
               county: str = "100000", **overrides: object) -> lifecycle.Submission:
    values: dict[str, object] = dict(
        name=name, applicant_org=org, applicant_unit="东坡区民政局", contact="张科长", category="elderly",
        scope="新建老年助餐点 2 个,为辖区 60 岁以上老人提供助餐服务", beneficiaries="辖区老年人", beneficiary_count=800,
        period_start=date(2026, 1, 1), period_end=date(2026, 12, 31), location="东坡区通惠街道", is_construction=False,
        has_land=False, has_planning=False, has_eia=False,
        funding={"lottery": D(lottery), "county": D(county)},
        budget_lines=[BudgetItem("厨房设备", "equipment", "lottery", D(lottery)),
                      BudgetItem("助餐服务购买", "services", "county", D(county))],
        indicators=[Indicator("output_quantity", "助餐服务人次", D(20000), None),
                    Indicator("output_cost", "每餐补助成本", D(8), None, higher_is_better=False),
                    Indicator("outcome", "老人就餐便利度提升", D(80), None),
                    Indicator("satisfaction", "服务对象满意度", D(90), None)],
        units=["人次", "元", "%", "%"])
    values.update(overrides)
    return lifecycle.Submission(**values)  # type: ignore[arg-type]


def scores(value: int) -> dict[str, Decimal]:
    return {c: D(value) for c in ("policy_fit", "compliance", "feasibility", "readiness", "cost", "targets")}


async def to_reserve(engine: Engine, s: lifecycle.Submission | None = None, score: int = 85) -> Project:
    p = await lifecycle.submit(engine, PM, s or submission())
    await lifecycle.county_review(engine, COUNTY, p, "pass", "材料齐全,推荐。")
    await lifecycle.record_scores(engine, CITY, p, scores(score))
    await lifecycle.decide_entry(engine, CITY, p, "同意")
    return p


async def to_mature(engine: Engine, s: lifecycle.Submission | None = None, score: int = 85) -> Project:
    p = await to_reserve(engine, s, score)
    await lifecycle.assess(engine, CITY, p, ALL_MET, "准备就绪")
    return p
