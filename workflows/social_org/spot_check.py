"""双随机、一公开: spot-check plans, the verifiable draws of targets and inspectors, the checklist.

    plan (year, authority, random | joint, ratio)
      └─ target draw      workflows.common.draw.draw_targets over the authority's own active registrations
                          (population = USCC codes, recorded in a DrawRecord with its hash)
      └─ inspector draw   draw_inspectors: ≥ 2 per target, declared conflicts recused and redrawn
                          (a second DrawRecord; each target keeps its recused inspectors, so the redraw
                          can be re-run too)
      └─ one social_org_spot_check instance per target

The draw itself lives in workflows/common/draw.py, shared with the 低保 post-audit: never copied here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tortoise.transactions import in_transaction

from engine.calendar import local_date
from engine.models import Attachment, OrgUnit
from engine.runtime import Engine
from workflows.common.checklist import ChecklistError, Finding, evaluate, evidence_ids, evidence_required
from workflows.common.draw import TargetDraw, draw_inspectors, draw_targets, new_seed, population_hash
from workflows.common.findings import open_findings
from workflows.common.models import ChecklistRecord, ChecklistTemplate, DrawRecord
from workflows.social_org.models import Inspector, InspectorConflict, SocialOrganization, SpotCheckPlan, SpotCheckTarget

PROCESS_KEY = "social_org_spot_check"
TARGET_PURPOSE = "social_org_spot_check"
INSPECTOR_PURPOSE = "social_org_spot_check_inspectors"
PUBLIC_PURPOSES = (TARGET_PURPOSE, INSPECTOR_PURPOSE)  # draws over public registers only: safe to publish
MIN_INSPECTORS = 2
# Minimum ratios: 社会组织抽查暂行办法 5 and the plan (city 4%), counties 3%, joint inspections 6%.
DEFAULT_RATIOS = {("random", "city"): 0.04, ("random", "county"): 0.03, ("joint", "city"): 0.06,
                  ("joint", "county"): 0.06}

CHECKLIST_CODE = "social_org_spot_check"
SUBJECT_TYPE = "social_org_spot_check_target"  # ChecklistRecord / FindingRecord subject_type
CHECKLIST_V1: dict[str, Any] = {
    "code": CHECKLIST_CODE, "version": 1, "title": "社会组织抽查检查表",
    "parameters": {"admin_cost_ratio_max": 10},
    "items": [
        {"code": "annual_report", "kind": "check", "label": "年度工作报告按时报送,内容真实完整",
         "legal_basis": "社会组织抽查暂行办法 6(一)"},
        {"code": "disclosure", "kind": "check", "label": "按规定公开信息(章程、负责人、年报、收费、捐赠使用等)",
         "legal_basis": "社会组织抽查暂行办法 6(二)"},
        {"code": "governance", "kind": "check", "label": "内部治理:按章程召开会议、按期换届、负责人任职合规",
         "legal_basis": "社会组织抽查暂行办法 6(三)"},
        {"code": "finance", "kind": "check", "label": "财务管理:账目规范、票据合法、资产管理与使用合规",
         "legal_basis": "社会组织抽查暂行办法 6(四)"},
        {"code": "activities", "kind": "check", "label": "业务活动在登记的宗旨和业务范围内,无违规收费、评比表彰",
         "legal_basis": "社会组织抽查暂行办法 6(五)"},
        {"code": "admin_cost_ratio", "kind": "number", "label": "基金会:工作人员工资福利和行政办公支出占总支出比例(%)",
         "max": "admin_cost_ratio_max", "legal_basis": "基金会管理条例 29", "severity": "major"},
        {"code": "remarks", "kind": "text", "label": "其他情况说明"},
    ],
}
# Version 2 adds the evidence item (photos on site, scans of the books for a desk check). Records made with
# version 1 keep pointing at it; new checklists use the newest version.
EVIDENCE_ACCEPT = ["jpg", "jpeg", "png", "pdf"]
CHECKLIST_V2: dict[str, Any] = {
    **CHECKLIST_V1, "version": 2,
    "items": [*CHECKLIST_V1["items"][:-1],
              {"code": "evidence", "kind": "evidence", "required": True, "accept": EVIDENCE_ACCEPT, "max_files": 10,
               "label": "检查佐证材料:现场照片,或查阅的账簿、会议记录等的照片或扫描件",
               "legal_basis": "社会组织抽查暂行办法 9"},
              CHECKLIST_V1["items"][-1]],
}
CHECKLIST_CURRENT = CHECKLIST_V2


class SpotCheckError(ValueError):
    """Why a plan cannot be drawn; the message is Chinese, for the page."""


async def checklist_template() -> ChecklistTemplate:
    """The current template: the newest stored version, CHECKLIST_CURRENT seeded on first use (older versions
    stay, with the records made with them)."""
    row = await ChecklistTemplate.filter(code=CHECKLIST_CODE).order_by("-version").first()
    if row is None or row.version < CHECKLIST_CURRENT["version"]:
        row, _ = await ChecklistTemplate.get_or_create(code=CHECKLIST_CODE, version=CHECKLIST_CURRENT["version"],
                                                       defaults={"title": CHECKLIST_CURRENT["title"],
                                                                 "body": CHECKLIST_CURRENT})
    return row


def default_ratio(plan_type: str, level: str) -> float:
    return DEFAULT_RATIOS.get((plan_type, level), 0.04)


async def population(authority_code: str) -> list[str]:
    """The object register of one authority: its own active registrations, by USCC."""
    codes = await SocialOrganization.filter(authority_code=authority_code, status="active").values_list(
        "uscc", flat=True)
    return [str(c) for c in codes]


@dataclass(frozen=True)
class PlanResult:
    plan: SpotCheckPlan
    targets: list[SpotCheckTarget]


async def create_plan(engine: Engine, *, year: int, authority: OrgUnit, plan_type: str, ratio: float, actor: str,
                      seed: str | None = None, per_target: int = MIN_INSPECTORS, check_mode: str = "site",
                      departments: str = "") -> PlanResult:
    """Draw targets and inspectors, record both draws, start one instance per target: all in one transaction."""
    if plan_type not in ("random", "joint"):
        raise SpotCheckError("抽查类型无效")
    if not 0 < ratio <= 1:
        raise SpotCheckError("抽查比例应大于 0 且不超过 100%")
    if per_target < MIN_INSPECTORS:
        raise SpotCheckError(f"每个检查对象至少抽取 {MIN_INSPECTORS} 名检查人员")
    seed = seed or new_seed()
    codes = await population(authority.code)
    if not codes:
        raise SpotCheckError("本机关登记的社会组织为空,无法抽取")
    draw = draw_targets(seed, codes, ratio)
    orgs = {o.uscc: o for o in await SocialOrganization.filter(uscc__in=draw.selected)}
    inspectors = {i.code: i for i in await Inspector.filter(authority_code=authority.code, active=True)}
    conflicts: dict[str, set[str]] = {}
    for c in await InspectorConflict.filter(organization_id__in=[o.id for o in orgs.values()],
                                            inspector_id__in=[i.id for i in inspectors.values()]):
        org_code = next(o.uscc for o in orgs.values() if o.id == c.organization_id)
        conflicts.setdefault(org_code, set()).add(next(k for k, i in inspectors.items() if i.id == c.inspector_id))
    try:
        assignments = draw_inspectors(seed, draw.selected, sorted(inspectors), per_target, conflicts)
    except ValueError as exc:
        raise SpotCheckError(f"检查人员不足:每个对象需要 {per_target} 名无利害关系的检查人员,"
                             f"本机关在册 {len(inspectors)} 名") from exc
    now = engine.clock.now()
    scope = f"{authority.code}:{year}:{plan_type}"
    async with in_transaction() as conn:
        target_record = await DrawRecord.create(
            purpose=TARGET_PURPOSE, scope=scope, seed=seed, population_hash=draw.population_hash,
            population=sorted(set(codes)), ratio=ratio, k=draw.k, selected=draw.selected, drawn_at=now,
            drawn_by=actor, using_db=conn)
        inspector_record = await DrawRecord.create(
            purpose=INSPECTOR_PURPOSE, scope=scope, seed=seed, population_hash=population_hash(list(inspectors)),
            population=sorted(inspectors), ratio=1.0, k=per_target,
            selected=[f"{a.target}:{','.join(a.inspectors)}" for a in assignments], drawn_at=now, drawn_by=actor,
            using_db=conn)
        plan = await SpotCheckPlan.create(
            year=year, authority_code=authority.code, authority_path=authority.path, plan_type=plan_type,
            ratio=ratio, departments=departments[:300], inspectors_per_target=per_target,
            target_draw_id=target_record.id, inspector_draw_id=inspector_record.id, population_size=len(set(codes)),
            k=draw.k, created_by=actor, using_db=conn)
        targets = []
        for rank, a in enumerate(assignments, start=1):
            org = orgs[a.target]
            target = await SpotCheckTarget.create(
                plan=plan, organization_id=org.id, rank=rank, authority_path=org.authority_path,
                inspectors=[inspectors[c].id for c in a.inspectors], recused=[inspectors[c].id for c in a.recused],
                check_mode=check_mode, using_db=conn)
            instance = await engine.start(PROCESS_KEY, org_unit=authority.code, actor=actor,
                                          business_key=f"CC{year}-{plan.id}-{rank:03d}",
                                          data={"target_id": target.id, "org_id": org.id, "org_name": org.name,
                                                "plan_id": plan.id, "check_mode": check_mode,
                                                "inspector_codes": ",".join(a.inspectors)})
            await SpotCheckTarget.filter(id=target.id).using_db(conn).update(instance_id=str(instance.id))
            target.instance_id = str(instance.id)
            targets.append(target)
    return PlanResult(plan, targets)


@dataclass(frozen=True)
class Verification:
    record: DrawRecord
    stored_hash_ok: bool  # the stored population still hashes to the recorded hash
    rerun: list[str]  # the selection recomputed now
    matches: bool

    @property
    def ok(self) -> bool:
        return self.stored_hash_ok and self.matches


def verify_target_record(record: DrawRecord, population_override: Sequence[str] | None = None) -> Verification:
    """Re-run a target draw from its record (or from a population someone else holds)."""
    pop = list(population_override) if population_override is not None else list(record.population)
    hash_ok = population_hash(pop) == record.population_hash
    again = draw_targets(record.seed, pop, record.ratio)
    result = TargetDraw(record.seed, record.population_hash, len(set(pop)), record.ratio, record.k,
                        list(record.selected))
    return Verification(record, hash_ok, again.selected, hash_ok and again.k == result.k
                        and again.selected == result.selected)


def verify_inspector_record(record: DrawRecord, recused: Mapping[str, Sequence[str]]) -> Verification:
    """Re-run an inspector draw: each target's recorded recusals are the conflicts that mattered."""
    targets = [entry.split(":", 1)[0] for entry in record.selected]
    hash_ok = population_hash(record.population) == record.population_hash
    again = draw_inspectors(record.seed, targets, record.population, record.k, recused)
    rerun = [f"{a.target}:{','.join(a.inspectors)}" for a in again]
    return Verification(record, hash_ok, rerun, hash_ok and rerun == list(record.selected))


def parse_answers(template: Mapping[str, Any], form: Mapping[str, str],
                  evidence: Mapping[str, Sequence[int]] | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """The mobile checklist form → checklist answers; a 不符合 needs a note, a required evidence item a file
    (errors in Chinese, by item code). `evidence` holds the attachment ids already stored per evidence item."""
    answers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for item in template["items"]:
        code, kind = item["code"], item["kind"]
        if kind == "evidence":
            ids = list((evidence or {}).get(code, []))
            if ids:
                answers[code] = ids
            elif evidence_required(item):
                errors[code] = "请拍照或上传至少 1 个佐证材料"
        elif kind == "check":
            verdict = form.get(f"{code}__ok", "")
            note = form.get(f"{code}__note", "").strip()
            if verdict not in ("yes", "no"):
                errors[code] = "请选择 符合 或 不符合"
            elif verdict == "no" and len(note) < 2:
                errors[code] = "不符合时请填写具体问题"
            else:
                answers[code] = {"ok": verdict == "yes", "note": note[:1000]}
        elif kind == "number":
            raw = form.get(code, "").strip()
            if raw:
                try:
                    value = float(raw)
                    if value < 0 or value > 100:
                        raise ValueError
                    answers[code] = value
                except ValueError:
                    errors[code] = "请填写 0-100 之间的数字"
        elif kind == "text":
            text = form.get(code, "").strip()
            if text:
                answers[code] = text[:2000]
    return answers, errors


async def record_checklist(engine: Engine, target: SpotCheckTarget, task_id: str, answers: Mapping[str, Any],
                           actor: str) -> tuple[ChecklistRecord, list[Finding]]:
    """Evaluate, store the ChecklistRecord and its findings (each with a corrective action, the organization as
    owner and a due date) and complete the checklist task, in one transaction."""
    template = await checklist_template()
    try:
        findings = evaluate(template.body, answers)
    except ChecklistError as exc:
        raise SpotCheckError(str(exc)) from exc
    ids = set(evidence_ids(template.body, answers))
    if ids and await Attachment.filter(id__in=sorted(ids), instance_id=target.instance_id).count() != len(ids):
        raise SpotCheckError("佐证材料须是本检查对象办理流程中上传的文件")
    org = await SocialOrganization.get(id=target.organization_id)
    now = engine.clock.now()
    async with in_transaction() as conn:
        record = await ChecklistRecord.create(
            template_id=template.id, subject_type=SUBJECT_TYPE, subject_id=str(target.id),
            instance_id=target.instance_id, inspector=actor, answers=dict(answers),
            findings=[f.as_dict() for f in findings], passed=not findings, using_db=conn)
        await open_findings(conn, record, findings, template.body, scope_path=target.authority_path,
                            owner=org.name, check_day=local_date(now), now=now, subject_name=org.name)
        await engine.complete_task(task_id, {"checklist_record_id": record.id, "findings_count": len(findings),
                                             "checklist_passed": not findings}, actor=actor)
    return record, findings
