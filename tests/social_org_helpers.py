"""Shared set-up for the social_org tests: the real diagrams, a few organizations, inspectors, web users."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from engine.models import HumanTask, OrgUnit, User
from engine.runtime import Engine
from tests.conftest import deploy_dir
from workflows.social_org.models import Inspector, SocialOrganization
from workflows.social_org.uscc import CATEGORY_OF_TYPE, make_uscc

BPMN_DIR = Path(__file__).resolve().parents[1] / "bpmn"
AI_FILE = "social_org_annual_inspection.bpmn"
SC_FILE = "social_org_spot_check.bpmn"
OPEN = ("READY", "CLAIMED")
SO_USERS = [
    ("so_city", "市登记机关", "511400", ["so_registrar"]),
    ("so_dp", "东坡区登记机关", "511402", ["so_registrar"]),
    ("so_rs", "仁寿县登记机关", "511421", ["so_registrar"]),
    ("insp_dp", "东坡区检查员", "511402", ["inspector"]),
    ("so_sup_dp", "东坡区业务主管单位", "511402", ["so_supervisor"]),
]


async def deploy_social_org(engine: Engine) -> None:
    await deploy_dir(engine, BPMN_DIR, AI_FILE)
    await deploy_dir(engine, BPMN_DIR, SC_FILE)


_serial = [0]


async def make_org(authority: str = "511402", *, org_type: str = "social_group", supervisor: str | None = None,
                   registered: date = date(2018, 5, 1), name: str | None = None, **extra: Any) -> SocialOrganization:
    unit = await OrgUnit.get(code=authority)
    _serial[0] += 1
    return await SocialOrganization.create(
        uscc=make_uscc(CATEGORY_OF_TYPE[org_type], authority[:6], 900000 + _serial[0]),
        name=name or f"测试社会组织{_serial[0]}", org_type=org_type, authority_level=unit.level,
        authority_code=unit.code, authority_path=unit.path, supervisor_unit=supervisor,
        registration_date=registered, **extra)


async def make_inspectors(authority: str, n: int) -> list[Inspector]:
    unit = await OrgUnit.get(code=authority)
    return [await Inspector.create(code=f"JC{authority}{i:02d}", name=f"检查员{i}", authority_code=authority,
                                   authority_path=unit.path) for i in range(1, n + 1)]


async def seed_so_users(password_hash: str) -> None:
    for username, name, org, roles in SO_USERS:
        await User.create(username=username, display_name=name, org_unit_id=org, roles=roles,
                          password_hash=password_hash)


async def open_ids(instance_id: Any) -> list[str]:
    return sorted(t.bpmn_id for t in await HumanTask.filter(instance_id=instance_id, state__in=OPEN))


async def complete(engine: Engine, instance_id: Any, bpmn_id: str, data: dict[str, Any], actor: str = "tester") -> None:
    tasks = await HumanTask.filter(instance_id=instance_id, bpmn_id=bpmn_id, state__in=OPEN)
    assert len(tasks) == 1, f"expected one open {bpmn_id}, open: {await open_ids(instance_id)}"
    await engine.complete_task(tasks[0].id, data, actor=actor)


REPORT = {"total_assets": 120000.0, "total_income": 80000.0, "total_expenditure": 76000.0,
          "activities_summary": "全年开展公益讲座 12 场,服务群众 3000 余人次。", "meetings_held": 2,
          "audit_report_attached": False}


async def seed_live(url: str, password_hash: str, what: str) -> dict[str, Any]:
    """For the browser tests (run in a subprocess against the live server's SQLite file): each test seeds what it
    needs, so any one runs alone or in any order. The diagrams, the social-org users and 东坡区's 3 inspectors are
    added once; organizations get fresh codes and names each call.

      checklist   20 organizations and a drawn plan, the first target's notice served: its checklist is the
                  inspector's to fill → {"target_id"}
      findings    the same, and that checklist recorded with two failed items → {"target_id"}, plus an
                  organization with two bad years and its revocation case → {"revocation_org"}
      owned       like findings, and the finance finding handed to 通惠街道 (511402001) → {"target_id", "finding_id"}
      objection   an organization on the 活动异常名录 (legal representative 王建国) → {"listed_org"}
    """
    from engine.db import close_database, init_database
    from web.composition import db_config
    from workflows.social_org.spot_check import create_plan

    await init_database(db_config(url))
    try:
        engine = Engine()
        await deploy_social_org(engine)  # the same diagrams again are not a new version
        if not await User.exists(username=SO_USERS[0][0]):
            await seed_so_users(password_hash)
        if not await Inspector.exists(authority_code="511402"):
            await make_inspectors("511402", 3)
        _serial[0] = max(_serial[0], await SocialOrganization.all().count())
        run = _serial[0] + 1  # names unique per call
        unit = await OrgUnit.get(code="511402")
        out: dict[str, Any] = {}
        if what in ("checklist", "findings", "owned"):
            for i in range(20):
                await make_org("511402", name=f"眉山市东坡区手机检查测试协会{run}-{i + 1}")
            plan = await create_plan(engine, year=2026, authority=unit, plan_type="random", ratio=0.04,
                                     actor="so_dp", seed=f"{run:08d}" * 4)
            target = plan.targets[0]
            await complete(engine, target.instance_id, "Task_notice", {"notice_no": "眉东民社检〔2026〕7号",
                                                                       "notice_date": "2026-03-05"}, actor="so_dp")
            out["target_id"] = target.id
        if what in ("findings", "owned"):
            from engine import collab
            from engine.models import ProcessInstance
            from workflows.social_org.spot_check import record_checklist

            task = await HumanTask.get(instance_id=target.instance_id, bpmn_id="Task_checklist")
            store = collab.AttachmentStore(Path(url.removeprefix("sqlite://")).parent / "attachments")  # the app's
            photo, _ = await collab.add_attachment(store, instance=await ProcessInstance.get(id=target.instance_id),
                                                   task=task, filename="现场.jpg", content=JPEG, actor="insp_dp",
                                                   now=engine.clock.now())
            answers: dict[str, Any] = {c: {"ok": True, "note": ""} for c in (
                "annual_report", "disclosure", "governance", "activities")}
            answers.update(finance={"ok": False, "note": "现金收入 3 笔未入账"}, admin_cost_ratio=12.5,
                           evidence=[photo.id])
            record, _ = await record_checklist(engine, target, str(task.id), answers, "insp_dp")
            if what == "owned":
                from workflows.common.findings import update_finding
                from workflows.common.models import FindingRecord

                row = await FindingRecord.get(record_id=record.id, item="finance")
                today = engine.clock.now().date()
                await update_finding(row.id, actor="so_dp", owner="通惠街道", owner_unit_code="511402001",
                                     corrective_action="通惠街道督促该协会补记收入、规范现金管理",
                                     due_date=today + timedelta(days=40), today=today, now=engine.clock.now())
                out["finding_id"] = row.id
            from workflows.social_org.models import AnnualInspection
            from workflows.social_org.projection import open_revocation_if_due

            name = f"眉山市东坡区撤销登记测试研究会{run}"
            bad = await make_org("511402", name=name)
            for year, status, conclusion in ((2024, "absent", None), (2025, "closed", "unqualified")):
                await AnnualInspection.create(organization_id=bad.id, year=year, authority_path=unit.path,
                                              status=status, conclusion=conclusion, final_conclusion=conclusion)
            await open_revocation_if_due(bad.id, 2025, date(2026, 6, 1))
            out["revocation_org"] = name
        if what == "objection":
            from workflows.social_org.credit import list_abnormal

            name = f"眉山市东坡区信用异议测试协会{run}"
            listed = await make_org("511402", name=name, legal_representative="王建国")
            await list_abnormal(listed.id, "未按规定报送 2025 年度工作报告", "annual_report:2025", date(2026, 6, 1))
            out["listed_org"] = name
        return out
    finally:
        await close_database()

# a minimal JPEG (the attachment check looks at the magic bytes) for the spot-check checklist's evidence item
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(64) + b"\xff\xd9"
PHOTO = {"evidence": ("现场照片.jpg", JPEG, "image/jpeg")}
