"""Moving a project through `fund_project_lifecycle`: each action writes the domain rows and completes the
matching user task through the Engine, in one transaction (the engine's own transaction nests as a savepoint).

    submit → county_review ⇄ revise → score + decide_entry → assess (re-assessable) → confirm_batch (出库)
      → fund → [report milestones / execution] → finish_implementation ∥ monitor → accept ⇄ rectify_implementation
      → self_evaluate → evaluate_performance → (差: rectify) → 结项

`Project.stage` is derived from the instance's open tasks after every step, so the board never disagrees with
the workflow; `Project.version` is bumped on every change, which is what release-batch confirmation checks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from tortoise.transactions import in_transaction

from engine import authz
from engine.authz import Actor
from engine.calendar import local_date
from engine.collab import notify
from engine.errors import ConflictError, EngineError
from engine.models import HumanTask, OrgUnit
from engine.runtime import Engine
from projects_registry import rules
from projects_registry.models import (
    STAGES,
    BudgetExecution,
    BudgetLine,
    Evaluation,
    FundingLine,
    MaturityAssessment,
    Milestone,
    PerformanceIndicator,
    Project,
    ProjectEvent,
    ReleaseBatch,
    ReleaseBatchItem,
    ReviewScore,
)
from projects_registry.params import load_parameters
from projects_registry.queries import committed_amount

PROCESS_KEY = "fund_project_lifecycle"
OPEN = ("READY", "CLAIMED")
STAGE_OF_TASK = {
    "Task_county_review": "county_review", "Task_revise": "revision", "Task_city_review": "city_review",
    "Task_maturity": "reserve", "Task_release": "mature", "Task_funding": "released",
    "Task_implement": "implementing", "Task_monitor": "implementing", "Task_acceptance": "acceptance",
    "Task_rectify_impl": "acceptance", "Task_self_eval": "self_evaluation", "Task_performance": "evaluation",
    "Task_rectify": "evaluation",
}


FIELD_LABELS = {
    "name": "项目名称", "applicant_unit": "申报单位名称", "contact": "联系人", "category": "项目类别",
    "total_budget": "总预算", "scope": "实施内容", "beneficiaries": "受益对象", "beneficiary_count": "受益人数",
    "period_start": "开始日期", "period_end": "结束日期", "location": "实施地点", "is_construction": "是否建设类",
    "has_land": "用地", "has_planning": "规划", "has_eia": "环评",
}


class ProjectError(EngineError):
    """A refused project action; the message is Chinese and meant for the user."""


class NotAllowed(ProjectError):
    pass


class BatchConflict(ProjectError):
    pass


# -- submission ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Submission:
    name: str
    applicant_org: str
    applicant_unit: str
    contact: str
    category: str
    scope: str
    beneficiaries: str
    beneficiary_count: int
    period_start: date
    period_end: date
    location: str
    is_construction: bool
    has_land: bool
    has_planning: bool
    has_eia: bool
    funding: Mapping[str, Decimal]  # source → amount
    budget_lines: Sequence[rules.BudgetItem]
    indicators: Sequence[rules.Indicator]
    units: Sequence[str] = ()


def check_submission(s: Submission) -> dict[str, str]:
    """Field → Chinese error, for what the form cannot check alone (sums, preconditions, banned uses)."""
    errors: dict[str, str] = {}
    total = sum(s.funding.values(), Decimal(0))
    if total <= 0:
        errors["funding"] = "请至少填写一个资金来源的金额。"
    lines_total = sum((b.amount for b in s.budget_lines), Decimal(0))
    if not s.budget_lines:
        errors["budget_lines"] = "请填写预算明细(至少一行)。"
    elif lines_total != total:
        errors["budget_lines"] = (f"预算明细合计 {rules.money(lines_total)} 元与资金来源合计 {rules.money(total)} 元"
                                  "不一致。")
    else:
        for source, amount in s.funding.items():
            by_source = sum((b.amount for b in s.budget_lines if b.source == source), Decimal(0))
            if by_source != amount:
                errors["budget_lines"] = (f"预算明细中{rules.FUNDING_SOURCES.get(source, source)}合计 "
                                          f"{rules.money(by_source)} 元,与申报金额 {rules.money(amount)} 元不一致。")
                break
    blocking = [h.message for h in rules.check_banned_uses(s.budget_lines) if h.blocking]
    if blocking:
        errors["banned"] = " ".join(blocking)
    if s.period_end <= s.period_start:
        errors["period_end"] = "实施结束日期须晚于开始日期。"
    if s.is_construction:
        missing = [label for flag, label in ((s.has_land, "用地"), (s.has_planning, "规划"), (s.has_eia, "环评"))
                   if not flag]
        if missing:
            errors["preconditions"] = f"建设类项目须先落实{'、'.join(missing)}等前置条件。"
    kinds = {i.kind for i in s.indicators}
    if not any(k.startswith("output_") for k in kinds) or "outcome" not in kinds or "satisfaction" not in kinds:
        errors["indicators"] = "绩效目标须至少包含一项产出指标、一项效益指标和一项满意度指标。"
    return errors


async def next_code(year: int) -> str:
    prefix = f"XM-{year}-"
    last = await Project.filter(code__startswith=prefix).order_by("-code").values_list("code", flat=True)
    n = int(str(last[0])[len(prefix):]) + 1 if last else 1
    return f"{prefix}{n:04d}"


def _declared_fields(s: Submission) -> dict[str, Any]:
    """The Project columns a declaration sets (on 申报, and again on an edit after 退回)."""
    return dict(
        name=s.name, applicant_unit=s.applicant_unit, contact=s.contact, category=s.category,
        total_budget=sum(s.funding.values(), Decimal(0)), scope=s.scope, beneficiaries=s.beneficiaries,
        beneficiary_count=s.beneficiary_count, period_start=s.period_start, period_end=s.period_end,
        location=s.location, is_construction=s.is_construction, has_land=s.has_land, has_planning=s.has_planning,
        has_eia=s.has_eia)


def _units(s: Submission) -> list[str]:
    """One unit per indicator (missing ones empty), cut to the column width."""
    return [(s.units[n] if n < len(s.units) else "")[:20] for n in range(len(s.indicators))]


async def _write_lines(project_id: int, s: Submission) -> None:
    """Funding lines, budget lines and indicators of a declaration (the caller deletes the old ones first)."""
    units = _units(s)
    await FundingLine.bulk_create([FundingLine(project_id=project_id, source=k, amount=v)
                                   for k, v in s.funding.items() if v > 0])
    await BudgetLine.bulk_create([BudgetLine(project_id=project_id, item=b.item, category=b.category,
                                             source=b.source, amount=b.amount) for b in s.budget_lines])
    await PerformanceIndicator.bulk_create([
        PerformanceIndicator(project_id=project_id, kind=i.kind, name=i.name, target_value=i.target,
                             higher_is_better=i.higher_is_better, unit=units[n])
        for n, i in enumerate(s.indicators)])


async def submit(engine: Engine, actor: Actor, s: Submission) -> Project:
    """申报: store the project and start its lifecycle instance at the applicant's org unit."""
    if "project_manager" not in actor.roles:
        raise NotAllowed("只有项目管理人员可以申报项目。")
    org = await authz.visible_org_units(actor).filter(code=s.applicant_org).first()
    if org is None:
        raise NotAllowed("申报单位不在您的管理范围内。")
    errors = check_submission(s)
    if errors:
        raise ProjectError(" ".join(errors.values()))
    now = engine.clock.now()
    async with in_transaction():
        project = await Project.create(
            code=await next_code(local_date(now).year), applicant_org=org.code, org_path=org.path,
            **_declared_fields(s), created_by=actor.username, created_at=now, updated_at=now)
        await _write_lines(project.id, s)
        instance = await engine.start(PROCESS_KEY, org_unit=org.code, actor=actor.username, business_key=project.code,
                                      data={"project_id": project.id, "project_code": project.code})
        project.instance_id = str(instance.id)
        await project.save(update_fields=["instance_id"])
        warnings = [h.message for h in rules.check_banned_uses(s.budget_lines)]
        await _event(project, actor.username, "申报", "提交项目申报" + (";" + " ".join(warnings) if warnings else ""),
                     engine)
        await _sync_stage(engine, project)
    return project


async def update_submission(engine: Engine, actor: Actor, project: Project, s: Submission) -> list[str]:
    """Edit after 退回: the applicant replaces the declared fields, funding, budget lines and indicators while the
    project waits at 修改完善 (Task_revise); the change list goes on the timeline. Resubmitting is `revise`."""
    task = await open_task(project, "Task_revise")
    if task is None:
        stage = STAGES.get(project.stage, project.stage)
        raise ProjectError(f"项目 {project.code} 不在退回修改环节(现为「{stage}」),不能修改申报内容。")
    if not authz.can_act(actor, task):
        raise NotAllowed("只有申报单位的项目管理人员可以修改退回的申报。")
    if s.applicant_org != project.applicant_org:
        raise ProjectError("退回修改时不能更换申报单位(地区)。")
    errors = check_submission(s)
    if errors:
        raise ProjectError(" ".join(errors.values()))
    old_lines = [(b.item, b.category, b.source, Decimal(str(b.amount)))
                 for b in await BudgetLine.filter(project_id=project.id).order_by("id")]
    old_inds = [(i.kind, i.name, Decimal(str(i.target_value)), i.unit)
                for i in await PerformanceIndicator.filter(project_id=project.id).order_by("id")]
    new_values = _declared_fields(s)
    total = new_values["total_budget"]
    changed = [FIELD_LABELS[k] for k, v in new_values.items()
               if (Decimal(str(getattr(project, k))) != v if k == "total_budget" else getattr(project, k) != v)]
    units = _units(s)
    if [(b.item, b.category, b.source, b.amount) for b in s.budget_lines] != old_lines:
        changed.append("预算明细")
    if [(i.kind, i.name, i.target, units[n]) for n, i in enumerate(s.indicators)] != old_inds:
        changed.append("绩效指标")
    if not changed:
        return []
    now = engine.clock.now()
    async with in_transaction():
        n = await Project.filter(id=project.id, version=project.version).update(
            **new_values, version=project.version + 1, updated_at=now)
        if n != 1:
            raise ConflictError(f"项目 {project.code} 已被他人修改,请刷新后重试。")
        for k, v in new_values.items():
            setattr(project, k, v)
        project.version += 1
        await FundingLine.filter(project_id=project.id).delete()
        await BudgetLine.filter(project_id=project.id).delete()
        await PerformanceIndicator.filter(project_id=project.id).delete()
        await _write_lines(project.id, s)
        await _event(project, actor.username, "退回后修改申报内容", "修改了:" + "、".join(changed)
                     + f"(总预算 {rules.money(total)} 元)", engine)
    return changed


async def record_attachment(engine: Engine, actor: Actor, project: Project, filename: str, phase: str) -> None:
    """An attachment (stored outside the workflow state by engine.collab) goes on the timeline."""
    await _event(project, actor.username, f"上传附件({phase})", filename, engine)


# -- steps ---------------------------------------------------------------------------------------------------


async def open_task(project: Project, bpmn_id: str) -> HumanTask | None:
    if not project.instance_id:
        return None
    return await HumanTask.filter(instance_id=project.instance_id, bpmn_id=bpmn_id, state__in=OPEN).first()


async def open_tasks(project: Project) -> list[HumanTask]:
    if not project.instance_id:
        return []
    return await HumanTask.filter(instance_id=project.instance_id, state__in=OPEN).order_by("created_at")


async def _event(project: Project, actor: str, action: str, detail: str, engine: Engine) -> None:
    await ProjectEvent.create(project_id=project.id, at=engine.clock.now(), actor=actor, stage=project.stage,
                              action=action, detail=detail)


async def _sync_stage(engine: Engine, project: Project, *, end_stage: str | None = None,
                      **changes: Any) -> None:
    """Stage from the open tasks (or `end_stage` when the instance has ended); version-checked update."""
    tasks = await open_tasks(project)
    stage = next((STAGE_OF_TASK[t.bpmn_id] for t in tasks if t.bpmn_id in STAGE_OF_TASK), None)
    stage = stage or end_stage or project.stage
    n = await Project.filter(id=project.id, version=project.version).update(
        stage=stage, version=project.version + 1, updated_at=engine.clock.now(), **changes)
    if n != 1:
        raise ConflictError(f"项目 {project.code} 已被他人修改,请刷新后重试。")
    project.stage, project.version = stage, project.version + 1
    for k, v in changes.items():
        setattr(project, k, v)


async def _complete(engine: Engine, actor: Actor, project: Project, bpmn_id: str, data: Mapping[str, Any],
                    *, check_actor: bool = True) -> None:
    task = await open_task(project, bpmn_id)
    if task is None:
        raise ProjectError(f"项目 {project.code} 当前不在该环节(现为「{project.stage}」)。")
    if check_actor and not authz.can_act(actor, task):
        raise NotAllowed(f"您无权办理「{task.name}」:需要{task.candidate_role}角色且属于办理单位。")
    await engine.complete_task(task.id, data, actor=actor.username)


async def _step(engine: Engine, actor: Actor, project: Project, bpmn_id: str, data: Mapping[str, Any], action: str,
                detail: str, *, end_stage: str | None = None, **changes: Any) -> Project:
    async with in_transaction():
        await _complete(engine, actor, project, bpmn_id, data)
        await _sync_stage(engine, project, end_stage=end_stage, **changes)
        await _event(project, actor.username, action, detail, engine)
    return project


async def county_review(engine: Engine, actor: Actor, project: Project, decision: str, opinion: str) -> Project:
    labels = {"pass": "推荐市级评审", "return": "退回修改", "reject": "不予推荐"}
    if decision not in labels:
        raise ProjectError("请选择初审结论。")
    return await _step(engine, actor, project, "Task_county_review",
                       {"county_decision": decision, "county_opinion": opinion}, f"县级初审:{labels[decision]}",
                       opinion, end_stage="rejected")


async def revise(engine: Engine, actor: Actor, project: Project, note: str) -> Project:
    return await _step(engine, actor, project, "Task_revise", {"revision_note": note}, "修改后重新提交", note)


async def record_scores(engine: Engine, actor: Actor, project: Project, scores: Mapping[str, Decimal],
                        comment: str = "") -> None:
    """One reviewer's rubric scores (re-scoring replaces them) while the project is at 评审入库."""
    task = await open_task(project, "Task_city_review")
    if task is None:
        raise ProjectError("项目当前不在评审入库环节。")
    if "city_manager" not in actor.roles or not authz.can_see_path(actor, task.org_path):
        raise NotAllowed("只有市级评审人员可以评分。")
    params = await load_parameters()
    rules.weighted_score(scores, params.rubric_weights)  # raises ValueError with a Chinese message
    now = engine.clock.now()
    async with in_transaction():
        await ReviewScore.filter(project_id=project.id, reviewer=actor.username).delete()
        await ReviewScore.bulk_create([ReviewScore(project_id=project.id, reviewer=actor.username, criterion=c,
                                                   score=scores[c], comment=comment[:500], created_at=now)
                                       for c in params.rubric_weights])
        await _event(project, actor.username, "专家评分", comment, engine)


async def review_result(project: Project) -> rules.ReviewResult | None:
    rows = await ReviewScore.filter(project_id=project.id).order_by("reviewer", "criterion")
    by_reviewer: dict[str, dict[str, Decimal]] = {}
    for r in rows:
        by_reviewer.setdefault(r.reviewer, {})[r.criterion] = Decimal(str(r.score))
    if not by_reviewer:
        return None
    return rules.score_review(by_reviewer, await load_parameters())


async def decide_entry(engine: Engine, actor: Actor, project: Project, opinion: str) -> rules.ReviewResult:
    """评审入库: the mean of the reviewers' weighted scores against the threshold decides 入库 or 退回."""
    result = await review_result(project)
    if result is None:
        raise ProjectError("尚无专家评分,不能作出入库决定。")
    today = local_date(engine.clock.now())
    await _step(engine, actor, project, "Task_city_review",
                {"review_mean": float(result.mean), "admitted": result.admitted, "review_opinion": opinion},
                "评审入库:" + ("入库" if result.admitted else "未入库(退回)"), " ".join(result.explanation),
                end_stage="rejected", review_score=result.mean,
                reserve_entered_on=today if result.admitted else None)
    return result


async def assess(engine: Engine, actor: Actor, project: Project, checklist: Mapping[str, bool], opinion: str,
                 *, remove: bool = False) -> rules.MaturityResult:
    """储备 maturity assessment (readiness checklist); not mature stays in the reserve for re-assessment."""
    result = rules.assess_maturity(checklist, project.is_construction)
    decision = "remove" if remove else ("mature" if result.mature else "not_yet")
    labels = {"mature": "已成熟,待出库", "not_yet": "暂不成熟,继续储备", "remove": "移出项目库"}
    async with in_transaction():
        await _complete(engine, actor, project, "Task_maturity", {
            "maturity_decision": decision, "maturity_score": float(result.score), "maturity_opinion": opinion})
        await MaturityAssessment.create(project_id=project.id, checklist=dict(checklist), score=result.score,
                                        decision=decision, opinion=opinion, assessed_by=actor.username,
                                        assessed_at=engine.clock.now())
        await _sync_stage(engine, project, end_stage="removed", maturity_score=result.score)
        missing = ("未满足:" + "、".join(result.missing)) if result.missing else "准备事项已全部落实"
        await _event(project, actor.username, f"成熟度评估:{labels[decision]}",
                     f"得分 {result.score};{missing};{opinion}", engine)
    return result


async def remove_from_reserve(engine: Engine, actor: Actor, project: Project, reason: str) -> Project:
    """动态调整: a mature project waiting for release is removed (e.g. stale beyond N years)."""
    return await _step(engine, actor, project, "Task_release", {"release_decision": "remove"}, "移出项目库", reason,
                       end_stage="removed")


SYSTEM = Actor("scheduler", "定时任务", "", "/", "", frozenset())


async def remove_stale(engine: Engine) -> list[str]:
    """动态调整 (scheduler sweep): a project in the reserve (储备, mature or not) for `stale_years` whole years
    without release leaves the library, on the timeline, and its applicant is notified. Removed outright, not
    proposed: the limit is a published rule of the library and the board flags nothing a manager could still
    change; a project the manager has already put in a draft release batch is left alone (about to be released).
    Returns the codes of the removed projects."""
    params = await load_parameters()
    today = local_date(engine.clock.now())
    latest = date(today.year - params.stale_years, 12, 31)  # is_stale decides exactly; this only narrows the query
    rows = await Project.filter(stage__in=["reserve", "mature"], reserve_entered_on__lte=latest).order_by("id")
    in_draft = set(await ReleaseBatchItem.filter(batch__status="draft", project_id__in=[p.id for p in rows])
                   .values_list("project_id", flat=True))
    removed = []
    for project in rows:
        if project.id in in_draft or not rules.is_stale(project.reserve_entered_on, today, params):
            continue
        detail = (f"入库日期 {project.reserve_entered_on},储备已满 {params.stale_years} 年未出库,按动态调整规则"
                  "自动移出项目库;如仍需实施,请重新申报。")
        if project.stage == "reserve":
            bpmn_id, data = "Task_maturity", {"maturity_decision": "remove", "maturity_opinion": detail,
                                              "maturity_score": float(project.maturity_score or 0)}
        else:
            bpmn_id, data = "Task_release", {"release_decision": "remove"}
        try:
            async with in_transaction() as conn:
                await _complete(engine, SYSTEM, project, bpmn_id, data, check_actor=False)
                await _sync_stage(engine, project, end_stage="removed")
                await _event(project, SYSTEM.username, "动态调整:超期移出项目库", detail, engine)
                await notify(conn, engine.clock.now(), [project.created_by], "project.removed",
                             f"项目 {project.code} 已超期移出项目库", detail, f"/projects/{project.id}")
        except (ProjectError, ConflictError):
            continue  # changed meanwhile (e.g. released): the next sweep looks again
        removed.append(project.code)
    return removed


# -- release batches -----------------------------------------------------------------------------------------


async def candidates(actor: Actor, source: str) -> list[rules.Candidate]:
    """Mature projects in the actor's scope that ask for money from `source`."""
    rows = await FundingLine.filter(source=source, amount__gt=0, project__stage="mature",
                                    project__org_path__startswith=actor.org_path).select_related("project")
    return [rules.Candidate(r.project.id, r.project.code, r.project.name, Decimal(str(r.project.review_score or 0)),
                            Decimal(str(r.amount)), r.project.reserve_entered_on) for r in rows]


async def propose(actor: Actor, year: int, source: str, budget: Decimal) -> rules.Proposal:
    committed = await committed_amount(year, source)
    return rules.propose_batch(await candidates(actor, source), budget, committed, source)


async def create_batch(engine: Engine, actor: Actor, year: int, source: str, budget: Decimal) -> ReleaseBatch:
    """A draft batch holding the system's proposal; the manager then adjusts it and confirms."""
    if "city_manager" not in actor.roles:
        raise NotAllowed("只有市级管理人员可以编制出库批次。")
    proposal = await propose(actor, year, source, budget)
    now = engine.clock.now()
    async with in_transaction():
        count = await ReleaseBatch.filter(year=year).count()
        batch = await ReleaseBatch.create(code=f"CK-{year}-{source}-{count + 1:02d}", year=year, source=source,
                                          budget=budget, org_path=actor.org_path, created_by=actor.username,
                                          created_at=now)
        versions = dict(await Project.filter(id__in=[c.project_id for c in proposal.chosen]).values_list(
            "id", "version"))
        await ReleaseBatchItem.bulk_create([
            ReleaseBatchItem(batch_id=batch.id, project_id=c.project_id, amount=c.amount, rank=n,
                             project_version=versions[c.project_id]) for n, c in enumerate(proposal.chosen, 1)])
    return batch


async def batch_for(actor: Actor, batch_id: int) -> ReleaseBatch | None:
    return await ReleaseBatch.filter(id=batch_id, org_path__startswith=actor.org_path).first()


async def adjust_batch(actor: Actor, batch: ReleaseBatch, *, add: int | None = None, remove: int | None = None) -> None:
    """Add or drop a project; adding never lets the batch exceed what is left of the year's budget."""
    if batch.status != "draft":
        raise ProjectError("批次已确认,不能再调整。")
    if remove is not None:
        await ReleaseBatchItem.filter(batch_id=batch.id, project_id=remove).delete()
    if add is not None:
        found = {c.project_id: c for c in await candidates(actor, batch.source)}.get(add)
        if found is None:
            raise ProjectError("该项目不是本资金来源下已成熟的储备项目。")
        if await ReleaseBatchItem.exists(batch_id=batch.id, project_id=add):
            return
        items = await ReleaseBatchItem.filter(batch_id=batch.id)
        total = sum((Decimal(str(i.amount)) for i in items), Decimal(0)) + found.amount
        left = Decimal(str(batch.budget)) - await committed_amount(batch.year, batch.source)
        if total > left:
            raise ProjectError(f"加入后批次合计 {rules.money(total)} 元,超过可安排额度 {rules.money(left)} 元。")
        version = await Project.filter(id=add).values_list("version", flat=True)
        await ReleaseBatchItem.create(batch_id=batch.id, project_id=add, amount=found.amount,
                                      rank=len(items) + 1, project_version=int(str(version[0])))


async def confirm_batch(engine: Engine, actor: Actor, batch: ReleaseBatch) -> int:
    """出库: every project of the batch moves on, or none does (one transaction; any change since → refused)."""
    if "city_manager" not in actor.roles:
        raise NotAllowed("只有市级管理人员可以确认出库批次。")
    async with in_transaction():
        n = await ReleaseBatch.filter(id=batch.id, status="draft").update(
            status="confirmed", confirmed_by=actor.username, confirmed_at=engine.clock.now())
        if n != 1:
            raise BatchConflict("批次已被确认或不存在。")
        items = await ReleaseBatchItem.filter(batch_id=batch.id).order_by("rank").select_related("project")
        if not items:
            raise BatchConflict("批次中没有项目。")
        total = sum((Decimal(str(i.amount)) for i in items), Decimal(0))
        left = Decimal(str(batch.budget)) - await committed_amount(batch.year, batch.source, exclude=batch.id)
        if total > left:
            raise BatchConflict(f"批次合计 {rules.money(total)} 元超过可安排额度 {rules.money(left)} 元,未出库。")
        for item in items:
            project = item.project
            if project.stage != "mature" or project.version != item.project_version:
                raise BatchConflict(f"项目 {project.code}「{project.name}」在编制批次后已发生变化(现为"
                                    f"「{project.stage}」),整个批次未出库,请重新生成批次。")
            await _complete(engine, actor, project, "Task_release",
                            {"release_decision": "released", "batch_code": batch.code, "plan_year": batch.year})
            await _sync_stage(engine, project, plan_year=batch.year)
            await _event(project, actor.username, "出库", f"纳入 {batch.code}({batch.year} 年度 "
                         f"{rules.FUNDING_SOURCES.get(batch.source, batch.source)} {rules.money(item.amount)} 元)",
                         engine)
    return len(items)


# -- implementation and evaluation ---------------------------------------------------------------------------


async def fund(engine: Engine, actor: Actor, project: Project, agreement_no: str, agreement_date: date,
               amount: Decimal) -> Project:
    return await _step(engine, actor, project, "Task_funding", {
        "agreement_no": agreement_no, "agreement_date": agreement_date.isoformat(), "funded_amount": float(amount)},
        "资金下达", f"协议 {agreement_no}({agreement_date}),下达 {rules.money(amount)} 元")


def _can_report(actor: Actor, project: Project) -> bool:
    return bool({"project_manager", "city_manager"} & actor.roles) and authz.can_see_path(actor, project.org_path)


async def add_milestone(engine: Engine, actor: Actor, project: Project, name: str, due_on: date,
                        done_on: date | None = None, note: str = "") -> Milestone:
    if not _can_report(actor, project):
        raise NotAllowed("您无权填报该项目的里程碑。")
    m = await Milestone.create(project_id=project.id, name=name, due_on=due_on, done_on=done_on, note=note)
    await _event(project, actor.username, "里程碑", f"{name}(计划 {due_on}" + (f",完成 {done_on})" if done_on else ")"),
                 engine)
    return m


async def report_execution(engine: Engine, actor: Actor, project: Project, reported_on: date, spent_total: Decimal,
                           target_progress: Decimal, note: str = "") -> rules.MonitorResult:
    if not _can_report(actor, project) or project.stage not in ("implementing", "acceptance"):
        raise NotAllowed("只有实施中的项目可以填报预算执行。")
    await BudgetExecution.create(project_id=project.id, reported_on=reported_on, spent_total=spent_total,
                                 target_progress=target_progress, note=note, reported_by=actor.username)
    result = rules.monitor(project.period_start, project.period_end, reported_on, Decimal(str(project.total_budget)),
                           spent_total, target_progress, await load_parameters())
    await _event(project, actor.username, "预算执行填报", f"累计支出 {rules.money(spent_total)} 元,执行率 "
                 f"{result.execution_rate}%,目标完成 {target_progress}%" + ("。" + ";".join(result.warnings)
                                                                          if result.warnings else ""), engine)
    return result


async def latest_monitor(engine: Engine, project: Project) -> rules.MonitorResult | None:
    last = await BudgetExecution.filter(project_id=project.id).order_by("-reported_on", "-id").first()
    if last is None:
        return None
    return rules.monitor(project.period_start, project.period_end, last.reported_on,
                         Decimal(str(project.total_budget)), Decimal(str(last.spent_total)),
                         Decimal(str(last.target_progress)), await load_parameters())


async def finish_implementation(engine: Engine, actor: Actor, project: Project, summary: str) -> Project:
    return await _step(engine, actor, project, "Task_implement", {"implementation_summary": summary}, "实施完成",
                       summary)


async def monitor_review(engine: Engine, actor: Actor, project: Project, opinion: str) -> Project:
    result = await latest_monitor(engine, project)
    warnings = result.warnings if result else ["尚未填报预算执行"]
    return await _step(engine, actor, project, "Task_monitor",
                       {"monitor_warnings": len(warnings), "monitor_opinion": opinion}, "年中运行监控",
                       ";".join(warnings + [opinion]))


async def accept(engine: Engine, actor: Actor, project: Project, passed: bool, opinion: str) -> Project:
    return await _step(engine, actor, project, "Task_acceptance",
                       {"acceptance_passed": passed, "acceptance_opinion": opinion},
                       "验收:" + ("通过" if passed else "不通过,限期整改"), opinion)


async def rectify_implementation(engine: Engine, actor: Actor, project: Project, note: str) -> Project:
    return await _step(engine, actor, project, "Task_rectify_impl", {"rectification_note": note}, "验收整改完成",
                       note)


async def _spent(project: Project) -> Decimal:
    last = await BudgetExecution.filter(project_id=project.id).order_by("-reported_on", "-id").first()
    return Decimal(str(last.spent_total)) if last else Decimal(0)


async def _evaluate(project: Project) -> rules.EvaluationResult:
    inds = await PerformanceIndicator.filter(project_id=project.id).order_by("id")
    return rules.evaluate(Decimal(str(project.total_budget)), await _spent(project), [
        rules.Indicator(i.kind, i.name, Decimal(str(i.target_value)),
                        None if i.actual_value is None else Decimal(str(i.actual_value)), i.higher_is_better)
        for i in inds], await load_parameters())


async def self_evaluate(engine: Engine, actor: Actor, project: Project, actuals: Mapping[int, Decimal],
                        report: str) -> rules.EvaluationResult:
    """绩效自评: the applicant reports each indicator's actual value; the system scores it the same way."""
    async with in_transaction():
        for ind_id, value in actuals.items():
            await PerformanceIndicator.filter(id=ind_id, project_id=project.id).update(actual_value=value)
        result = await _evaluate(project)
        await _complete(engine, actor, project, "Task_self_eval", {"self_score": float(result.total),
                                                                   "self_report": report})
        await _store_evaluation(engine, project, "self", result, report, actor.username)
        await _sync_stage(engine, project)
        await _event(project, actor.username, "绩效自评", f"自评 {result.total} 分({result.grade})", engine)
    return result


async def _store_evaluation(engine: Engine, project: Project, kind: str, result: rules.EvaluationResult,
                            report: str, who: str) -> None:
    await Evaluation.create(project_id=project.id, kind=kind, budget_execution_score=result.budget_execution,
                            output_score=result.outputs, outcome_score=result.outcomes,
                            satisfaction_score=result.satisfaction, total=result.total, grade=result.grade,
                            details=result.details, report=report, evaluator=who, created_at=engine.clock.now())


async def evaluate_performance(engine: Engine, actor: Actor, project: Project, opinion: str) -> rules.EvaluationResult:
    """绩效评价 (100 points): the grade decides 结项 or 整改 then 结项."""
    result = await _evaluate(project)
    async with in_transaction():
        await _complete(engine, actor, project, "Task_performance", {
            "evaluation_score": float(result.total), "grade": result.grade, "evaluation_opinion": opinion})
        await _store_evaluation(engine, project, "performance", result, opinion, actor.username)
        await _sync_stage(engine, project, end_stage="closed", evaluation_score=result.total, grade=result.grade)
        await _event(project, actor.username, "绩效评价", f"{result.total} 分,等级「{result.grade}」", engine)
    return result


async def rectify(engine: Engine, actor: Actor, project: Project, plan: str) -> Project:
    return await _step(engine, actor, project, "Task_rectify", {"rectification_plan": plan}, "评价整改,结项", plan,
                       end_stage="closed")


async def applicant_orgs(actor: Actor) -> list[OrgUnit]:
    return await authz.visible_org_units(actor).filter(level__in=["city", "county"]).order_by("path")
