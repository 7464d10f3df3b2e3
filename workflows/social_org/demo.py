"""Generated DEMO register: about 1,650 social organizations over the city and its counties (Meishan had 1,650
at end-2020), inspectors per authority with a few declared conflicts, a few credit listings. Invented names and
well-formed (check-digit valid) but invented codes; every row is marked is_demo."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from engine.calendar import local_date
from engine.models import HumanTask, OrgUnit
from engine.runtime import Engine
from workflows.social_org.credit import list_abnormal
from workflows.social_org.models import (
    AnnualInspection,
    CreditListEntry,
    CreditObjection,
    Inspector,
    InspectorConflict,
    RevocationCase,
    SocialOrganization,
)
from workflows.social_org.uscc import CATEGORY_OF_TYPE, make_uscc

TOTAL = 1650
CITY_SHARE = 0.4
TYPE_WEIGHTS = [("social_group", 45), ("private_non_enterprise", 52), ("foundation", 3)]
SUPERVISORS = ["教育局", "卫生健康委员会", "文化广播电视和旅游局", "体育局", "科学技术局", "农业农村局", "民政局",
               "人力资源和社会保障局", "工商业联合会", "科学技术协会"]
PREFIXES = ["东坡", "苏祠", "岷江", "峨眉", "三苏", "青衣", "彭祖", "江乡", "瓦屋", "柳江", "湖滨", "竹林", "桂花",
            "长寿", "金象", "云华", "玉屏", "汇源", "嘉禾", "明德"]
GROUP_KINDS = ["书法家协会", "摄影家协会", "老年体育协会", "志愿者协会", "餐饮行业协会", "茶叶协会", "个体劳动者协会",
               "青年企业家商会", "钓鱼协会", "慈善会", "养蜂协会", "诗词学会", "围棋协会", "家庭教育研究会"]
NON_ENTERPRISE_KINDS = ["幼儿园", "培训学校", "养老院", "社会工作服务中心", "康复中心", "职业技能培训学校",
                        "社区服务中心", "艺术培训中心", "心理咨询服务中心", "民办医院"]
FOUNDATION_KINDS = ["教育基金会", "慈善基金会", "助学基金会"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何罗高林"
GIVEN = ["伟", "芳", "娜", "敏", "静", "强", "磊", "洋", "艳", "勇", "军", "杰", "涛", "明", "超", "秀英", "建国"]
OTHER_DEPARTMENTS = ["市场监督管理局", "财政局", "税务局"]


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


async def seed(engine: Engine) -> str:
    """Create the demo register once (skipped when demo organizations exist); returns a one-line report."""
    if await SocialOrganization.filter(is_demo=True).exists():
        return "social organizations: demo register already present"
    authorities = await OrgUnit.filter(level__in=("city", "county")).order_by("path")
    city = next((a for a in authorities if a.level == "city"), None)
    counties = [a for a in authorities if a.level == "county"]
    if city is None:
        return "social organizations: no city org unit, nothing seeded"
    rng = random.Random(2020)
    today = local_date(engine.clock.now())
    shares = [(city, round(TOTAL * CITY_SHARE) if counties else TOTAL)]
    rest = TOTAL - shares[0][1]
    for i, county in enumerate(counties):
        shares.append((county, rest // len(counties) + (1 if i < rest % len(counties) else 0)))
    kinds = [t for t, w in TYPE_WEIGHTS for _ in range(w)]
    orgs: list[SocialOrganization] = []
    serial = 0
    for authority, count in shares:
        place = authority.name.removesuffix("市").removesuffix("区").removesuffix("县")
        division = authority.code[:6].ljust(6, "0")
        for _ in range(count):
            serial += 1
            org_type = rng.choice(kinds)
            kind = rng.choice({"social_group": GROUP_KINDS, "private_non_enterprise": NON_ENTERPRISE_KINDS,
                               "foundation": FOUNDATION_KINDS}[org_type])
            name = f"{authority.name}{rng.choice(PREFIXES)}{kind}" if org_type != "private_non_enterprise" \
                else f"{place}{rng.choice(PREFIXES)}{kind}"
            registered = date(2001, 1, 1) + timedelta(days=rng.randrange((today - date(2001, 1, 1)).days))
            supervisor = None if org_type != "foundation" and rng.random() < 0.35 \
                else f"{authority.name}{rng.choice(SUPERVISORS)}"
            orgs.append(SocialOrganization(
                uscc=make_uscc(CATEGORY_OF_TYPE[org_type], division, 7_000_000 + serial),
                name=f"{name}(演示{serial:04d})", org_type=org_type, authority_level=authority.level,
                authority_code=authority.code, authority_path=authority.path, supervisor_unit=supervisor,
                registration_date=registered, legal_representative=_person(rng),
                contact_phone=f"028-3{rng.randrange(1000000, 9999999)}", address=f"{authority.name}演示路 {serial} 号",
                is_demo=True))
    await SocialOrganization.bulk_create(orgs, batch_size=500)
    inspectors: list[Inspector] = []
    for authority, _ in shares:
        for n in range(1, 13):
            inspectors.append(Inspector(code=f"JC{authority.code}{n:02d}", name=_person(rng), department="民政局",
                                        authority_code=authority.code, authority_path=authority.path, is_demo=True))
        for n, dept in enumerate(OTHER_DEPARTMENTS, start=13):
            inspectors.append(Inspector(code=f"JC{authority.code}{n:02d}", name=_person(rng), department=dept,
                                        authority_code=authority.code, authority_path=authority.path, is_demo=True))
    await Inspector.bulk_create(inspectors)
    saved = {i.code: i for i in await Inspector.filter(is_demo=True)}
    dongpo = next((i for c, i in saved.items() if c.startswith("JC51140201")), None)
    if dongpo is not None:  # the demo user dp_inspector (web/demo.py) is this inspector
        await Inspector.filter(id=dongpo.id).update(username="dp_inspector")
    stored = await SocialOrganization.filter(is_demo=True).order_by("id").values_list("id", "authority_code")
    conflicts = []
    for org_id, authority_code in rng.sample(stored, 40):
        candidates = [i for c, i in saved.items() if i.authority_code == authority_code]
        conflicts.append(InspectorConflict(inspector_id=rng.choice(candidates).id, organization_id=org_id,
                                           reason="曾在该组织兼职(演示)"))
    await InspectorConflict.bulk_create(conflicts, ignore_conflicts=True)
    listed = rng.sample(stored, 12)
    for org_id, _ in listed:
        listed_on = today - timedelta(days=rng.randrange(400))
        await list_abnormal(org_id, "通过登记的住所无法联系(演示)", "unreachable", listed_on)
    # one pending 异议 against a listing, and two 撤销登记 cases waiting for their 告知书
    entry = await CreditListEntry.filter(organization_id=listed[0][0]).first()
    if entry is not None:
        await CreditObjection.create(entry_id=entry.id, applicant=_person(rng), contact="028-38000000",
                                     reason="我会住所已迁至新址并已办理变更登记,请核查(演示)", filed_on=today)
    unlisted = [s for s in stored if s not in listed]
    for org_id, _ in rng.sample(unlisted, 2):
        reason = f"连续两年({today.year - 2}、{today.year - 1} 年度)未参加年检(演示,拟撤销登记)"
        await RevocationCase.create(organization_id=org_id, year=today.year - 1, opened_on=today, reason=reason)
    return (f"social organizations: {len(orgs)} demo organizations, {len(inspectors)} inspectors, "
            f"{len(conflicts)} declared conflicts, 12 on the 活动异常名录, 1 objection, 2 revocation cases")


DEMO_REPORT: dict[str, Any] = {"total_assets": 350000, "total_income": 180000, "total_expenditure": 165000,
               "activities_summary": "全年按章程开展会员服务、培训和公益活动,财务收支规范(演示)。", "meetings_held": 2,
               "audit_report_attached": False}


async def work_campaign(engine: Engine, campaign_id: int, *, share: float = 0.94, seed: int = 2025) -> dict[str, int]:
    """Demo: most organizations report on time and the authority concludes their inspection (a few 基本合格, which
    go on to rectification); the rest — and every 基金会, whose audit report the demo does not invent — have not
    reported when the deadline passes. Run with the clock in the spring of the campaign; returns counts."""
    rng = random.Random(seed)
    counts = {"concluded": 0, "basic": 0, "not_reported": 0}
    rows = await AnnualInspection.filter(campaign_id=campaign_id).select_related("organization").order_by("id")
    for row in rows:
        if row.instance_id is None or row.organization.org_type == "foundation" or rng.random() >= share:
            counts["not_reported"] += 1
            continue
        basic = rng.random() < 0.05
        answers: dict[str, dict[str, Any]] = {
            "Task_submit_report": DEMO_REPORT,
            "Task_supervisor_review": {"supervisor_agrees": True, "supervisor_opinion": "同意报送(演示)"},
            "Task_review": {"review_action": "conclude", "review_note": "材料齐全(演示)"},
            "Task_conclude": {"conclusion": "basic", "conclusion_opinion": "财务管理不够规范,限期整改(演示)"}
            if basic else {"conclusion": "qualified", "conclusion_opinion": "年检合格(演示)"},
        }
        for _ in range(len(answers)):
            task = await HumanTask.filter(instance_id=row.instance_id, state="READY",
                                          bpmn_id__in=list(answers)).first()
            if task is None:
                break
            await engine.complete_task(task.id, answers[task.bpmn_id], actor="so_report"
                                       if task.bpmn_id == "Task_submit_report" else "so_city")
        counts["concluded"] += 1
        counts["basic"] += basic
    return counts


def _demo_png() -> bytes:
    """A small, valid PNG (a grey 48x32 image) standing in for a site photo."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    width, height = 48, 32
    raw = b"".join(b"\x00" + bytes([200, 200, 190]) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


CHECK_CODES = ("annual_report", "disclosure", "governance", "finance", "activities")
DEMO_PROBLEMS = {"finance": "部分支出无合法票据,现金收支未及时入账(演示)",
                 "disclosure": "未按规定公开年度工作报告和收费标准(演示)",
                 "governance": "理事会逾期未换届(演示)"}


async def work_spot_checks(engine: Engine, clock: Any, plan_year: int, store: Any) -> dict[str, int]:
    """Demo 双随机 work: the city draws its 4% plan and every county its 3% plan; each authority also draws a 6%
    joint-inspection plan (with 市场监管、财政、税务). The city then serves notices and completes checklists for its
    first targets over the past weeks: most without problems (结论 未发现问题, published), some with findings (one
    handed to 通惠街道 to carry out, one 责令改正 with a deadline, published), one waiting for the registrar's
    conclusion; a few notices served with the checklist still open (the inspectors' to-do). Returns counts."""
    from engine.collab import add_attachment
    from engine.models import ProcessInstance
    from workflows.common.findings import update_finding
    from workflows.social_org.spot_check import SpotCheckError, create_plan, default_ratio, record_checklist

    today = clock.now()
    authorities = await OrgUnit.filter(level__in=("city", "county")).order_by("path")
    counts = {"random_targets": 0, "joint_targets": 0, "checked": 0, "findings": 0, "published": 0}
    clock.set(today - timedelta(days=60))
    city_plan = None
    for authority in authorities:
        for plan_type in ("random", "joint"):
            try:
                result = await create_plan(
                    engine, year=plan_year, authority=authority, plan_type=plan_type,
                    ratio=default_ratio(plan_type, authority.level), actor="so_city",
                    departments="、".join(OTHER_DEPARTMENTS) if plan_type == "joint" else "",
                    check_mode="desk" if plan_type == "random" and authority.level == "county" else "site")
            except SpotCheckError:  # an authority without registrations or inspectors draws nothing
                continue
            counts[f"{plan_type}_targets"] += len(result.targets)
            if plan_type == "random" and authority.level == "city":
                city_plan = result
    if city_plan is None:
        clock.set(today)
        return counts
    photo = _demo_png()
    for n, target in enumerate(city_plan.targets[:14]):
        clock.set(today - timedelta(days=55 - n))
        await _complete(engine, target.instance_id, "Task_notice", {
            "notice_no": f"眉民社检〔{plan_year}〕{n + 1}号", "notice_date": local_date(clock.now()).isoformat()})
        if n >= 11:  # notice served, the checklist is still the inspectors' to-do
            continue
        clock.set(today - timedelta(days=45 - n))
        task = await HumanTask.get(instance_id=target.instance_id, bpmn_id="Task_checklist", state="READY")
        instance = await ProcessInstance.get(id=target.instance_id)
        attachment, _ = await add_attachment(store, instance=instance, task=task, filename="现场检查照片.png",
                                             content=photo, actor="so_city", now=clock.now())
        problems = list(DEMO_PROBLEMS)[: (1 if n in (2, 5) else 2 if n == 8 else 0)]
        answers: dict[str, Any] = {c: {"ok": c not in problems, "note": DEMO_PROBLEMS.get(c, "") if c in problems
                                       else ""} for c in CHECK_CODES}
        answers["evidence"] = [attachment.id]
        record, findings = await record_checklist(engine, target, str(task.id), answers, "so_city")
        counts["checked"] += 1
        counts["findings"] += len(findings)
        check_day = local_date(clock.now())
        if n == 2:  # the finding's corrective action is handed to 通惠街道, which has started on it
            township = await OrgUnit.get_or_none(code="511402001")
            row = await record.finding_rows.all().first()  # type: ignore[attr-defined]
            if township is not None and row is not None:
                await update_finding(row.id, actor="so_city", owner=township.name, owner_unit_code=township.code,
                                     corrective_action="由通惠街道督促该组织补全票据、规范现金管理,报送整改情况",
                                     due_date=check_day + timedelta(days=60), today=check_day, now=clock.now())
            continue  # the registrar's conclusion is still to come
        outcome: dict[str, Any] = {"outcome": "no_problem", "check_date": check_day.isoformat(),
                                   "outcome_note": "检查未发现问题(演示)"}
        if n == 5:
            outcome = {"outcome": "rectify", "check_date": check_day.isoformat(),
                       "rectify_deadline": (local_date(today) + timedelta(days=30)).isoformat(),
                       "outcome_note": "责令限期改正信息公开问题(演示)"}
        elif findings:
            continue  # findings found, the conclusion waits for the registrar
        clock.set(today - timedelta(days=40 - n))
        await _complete(engine, target.instance_id, "Task_outcome", outcome)
        counts["published"] += 1
    clock.set(today)
    return counts


async def _complete(engine: Engine, instance_id: str | None, bpmn_id: str, data: dict[str, Any]) -> None:
    task = await HumanTask.get(instance_id=instance_id, bpmn_id=bpmn_id, state="READY")
    await engine.complete_task(task.id, data, actor="so_city")
