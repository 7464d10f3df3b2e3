"""项目库 pages: pipeline board, submission, project page with its actions, release batches, evaluation report,
XLSX exports and the public yearly summary of 公益金 use (the only page without login).

Every query goes through the actor's org path (`queries.visible_projects`, `lifecycle.batch_for`); every action
is a POST through `login_required` (CSRF) and ends in `projects_registry.lifecycle`, which checks the task's role
and org unit with `engine.authz` and completes it through the Engine.
"""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from markupsafe import Markup
from openpyxl import Workbook
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from engine import authz
from engine.authz import Actor
from engine.calendar import local_date
from engine.collab import AttachmentStore, add_attachment, clean_filename
from engine.errors import ConflictError
from engine.forms import FormValidationError
from engine.models import Attachment, HumanTask, OrgUnit, ProcessInstance
from projects_registry import lifecycle, queries, rules
from projects_registry.models import (
    BUDGET_CATEGORIES,
    CATEGORIES,
    FUNDING_SOURCES,
    INDICATOR_KINDS,
    STAGES,
    BudgetExecution,
    BudgetLine,
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
from projects_registry.params import PARAMETER_LABELS, load_parameters, save_parameter
from web.auth import login_required
from web.collab import ACCEPT, FILE_KINDS, display_names, message_zh, store_of
from web.diagram import render_svg
from web.render import flash, page
from web.roles import ROLES, role_label

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BUDGET_ROWS = 5
INDICATOR_ROWS = 6
# Which materials a project takes at which stage (申报 / 验收 / 绩效评价); none at the others.
ATTACHMENT_PHASES = {"county_review": "申报材料", "revision": "申报材料", "city_review": "申报材料",
                     "implementing": "验收材料", "acceptance": "验收材料",
                     "self_evaluation": "绩效评价材料", "evaluation": "绩效评价材料"}
ATTACH_ROLES = frozenset({"project_manager", "county_reviewer", "city_manager"})
LABELS = {"categories": CATEGORIES, "sources": FUNDING_SOURCES, "stages": STAGES,
          "budget_categories": BUDGET_CATEGORIES, "kinds": INDICATOR_KINDS, "rubric": rules.RUBRIC_LABELS,
          "maturity_items": rules.MATURITY_ITEMS, "money": rules.money}


def _dec(value: object) -> Decimal | None:
    try:
        d = Decimal(str(value).replace(",", "").strip())
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


def _day(value: object) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def _text(form: FormData, key: str) -> str:
    return str(form.get(key, "")).strip()


async def _project(actor: Actor, project_id: int) -> Project:
    project = await queries.project_for(actor, project_id)
    if project is None:  # another county's project looks exactly like a missing one
        raise HTTPException(404, "项目不存在或不在您的管理范围内。")
    return project


async def _counties(actor: Actor) -> list[OrgUnit]:
    return await authz.visible_org_units(actor).filter(level="county").order_by("code")


# -- board ---------------------------------------------------------------------------------------------------


@login_required
async def board(request: Request, actor: Actor) -> Response:
    q = request.query_params
    filters = {k: q.get(k, "") for k in ("county", "category", "source", "stage")}
    for key, known in (("category", CATEGORIES), ("source", FUNDING_SOURCES)):
        if filters[key] not in known:  # an unknown value filters nothing (and a long one the column refuses)
            filters[key] = ""
    columns = await queries.board(actor, county=filters["county"], category=filters["category"],
                                  source=filters["source"])
    today = local_date(request.app.state.ctx.engine.clock.now())
    params = await load_parameters()
    stale = {p.id for c in columns for p in c.projects
             if p.stage in ("reserve", "mature") and rules.is_stale(p.reserve_entered_on, today, params)}
    shown = [c for c in columns if c.projects and (not filters["stage"] or c.stage == filters["stage"])]
    orgs = {o.code: o.name for o in await authz.visible_org_units(actor).filter(level__in=["city", "county"])}
    return page(request, "projects_board.html", {
        "columns": columns, "shown": shown, "filters": filters, "counties": await _counties(actor), "stale": stale,
        "stale_years": params.stale_years, "orgs": orgs,
        "total": sum(len(c.projects) for c in columns), "amount": sum((c.amount for c in columns), Decimal(0)),
        **LABELS}, block="board")


# -- submission ----------------------------------------------------------------------------------------------


def _parse_submission(form: FormData) -> tuple[lifecycle.Submission | None, dict[str, str]]:
    errors: dict[str, str] = {}
    required = {"name": "项目名称", "applicant_unit": "申报单位名称", "scope": "建设(实施)内容",
                "beneficiaries": "受益对象", "location": "实施地点"}
    for key, label in required.items():
        if len(_text(form, key)) < 2:
            errors[key] = f"请填写{label}。"
    if _text(form, "category") not in CATEGORIES:
        errors["category"] = "请选择项目类别。"
    start, end = _day(form.get("period_start")), _day(form.get("period_end"))
    if start is None:
        errors["period_start"] = "请填写有效的开始日期(YYYY-MM-DD)。"
    if end is None:
        errors["period_end"] = "请填写有效的结束日期(YYYY-MM-DD)。"
    count = _dec(form.get("beneficiary_count") or "0")
    if count is None or count < 0 or count != count.to_integral():
        errors["beneficiary_count"] = "受益人数须为非负整数。"
    funding: dict[str, Decimal] = {}
    for source, label in FUNDING_SOURCES.items():
        raw = _text(form, f"fund_{source}")
        if raw:
            amount = _dec(raw)
            if amount is None or amount < 0:
                errors["funding"] = f"{label}金额须为不小于 0 的数字。"
            elif amount > 0:
                funding[source] = amount
    lines: list[rules.BudgetItem] = []
    for n in range(BUDGET_ROWS):
        item, raw = _text(form, f"line{n}_item"), _text(form, f"line{n}_amount")
        if not item and not raw:
            continue
        amount = _dec(raw)
        category, source = _text(form, f"line{n}_category"), _text(form, f"line{n}_source")
        if not item or amount is None or amount <= 0 or category not in BUDGET_CATEGORIES or source not in funding:
            errors["budget_lines"] = (f"预算明细第 {n + 1} 行不完整:须填写支出内容、类别、大于 0 的金额,"
                                      "资金来源须是上方已填金额的来源。")
            continue
        lines.append(rules.BudgetItem(item, category, source, amount))
    indicators: list[rules.Indicator] = []
    units: list[str] = []
    for n in range(INDICATOR_ROWS):
        name, raw = _text(form, f"ind{n}_name"), _text(form, f"ind{n}_target")
        if not name and not raw:
            continue
        target, kind = _dec(raw), _text(form, f"ind{n}_kind")
        if not name or target is None or target <= 0 or kind not in INDICATOR_KINDS:
            errors["indicators"] = f"绩效指标第 {n + 1} 行不完整:须填写指标名称、类型和大于 0 的目标值。"
            continue
        indicators.append(rules.Indicator(kind, name, target, None, higher_is_better=kind != "output_cost"))
        units.append(_text(form, f"ind{n}_unit")[:20])
    if start is None or end is None or count is None:
        return None, errors
    s = lifecycle.Submission(
        name=_text(form, "name")[:200], applicant_org=_text(form, "applicant_org"),
        applicant_unit=_text(form, "applicant_unit")[:200], contact=_text(form, "contact")[:100],
        category=_text(form, "category"), scope=_text(form, "scope")[:4000],
        beneficiaries=_text(form, "beneficiaries")[:300], beneficiary_count=int(count), period_start=start,
        period_end=end, location=_text(form, "location")[:200], is_construction=bool(form.get("is_construction")),
        has_land=bool(form.get("has_land")), has_planning=bool(form.get("has_planning")),
        has_eia=bool(form.get("has_eia")), funding=funding, budget_lines=lines, indicators=indicators, units=units)
    return s, {**lifecycle.check_submission(s), **errors}  # the form's own messages win on the same key


@login_required
async def new_project(request: Request, actor: Actor) -> Response:
    if "project_manager" not in actor.roles:
        raise HTTPException(403, "只有项目管理人员可以申报项目。")
    orgs = await lifecycle.applicant_orgs(actor)
    errors: dict[str, str] = {}
    values: dict[str, str] = {"applicant_org": actor.org_code}
    warnings: list[str] = []
    status = 200
    if request.method == "POST":
        form = await request.form()
        values = {k: str(v) for k, v in form.items() if k not in ("csrf_token", "file")}
        submission, errors = _parse_submission(form)
        store = store_of(request)
        upload = None
        if _too_big(request):
            errors["file"] = f"文件过大,单个附件不能超过 {store.max_bytes // (1024 * 1024)} MB。"
        else:
            upload = await _upload(form, store)
            try:
                if upload is not None:
                    store.check(upload[0], upload[1])
            except FormValidationError as exc:
                errors["file"] = message_zh(exc.errors[0], store, upload[2] if upload else None) + "请重新选择文件。"
        if submission is not None:
            warnings = [h.message for h in rules.check_banned_uses(submission.budget_lines) if not h.blocking]
        if submission is not None and not errors:
            try:
                project = await lifecycle.submit(request.app.state.ctx.engine, actor, submission)
            except lifecycle.ProjectError as exc:
                errors["applicant_org"] = str(exc)
            else:
                attached = await _attach(request, actor, project, upload) if upload is not None else None
                flash(request, f"已提交申报:{project.code}「{project.name}」,等待县级初审。"
                      + (f"已上传申报材料:{attached.filename}。" if attached else ""))
                return RedirectResponse(f"/projects/{project.id}", status_code=303)
        status = 422
    return page(request, "projects_new.html", {
        "accept": ACCEPT, "file_kinds": FILE_KINDS, "max_mb": store_of(request).max_bytes // (1024 * 1024),
        "orgs": orgs, "errors": errors, "values": values, "warnings": warnings, "budget_rows": range(BUDGET_ROWS),
        "indicator_rows": range(INDICATOR_ROWS), "default_kinds": list(INDICATOR_KINDS), **LABELS},
        status_code=status)


def _form_values(project: Project, funding: list[FundingLine], lines: list[BudgetLine],
                 indicators: list[PerformanceIndicator]) -> dict[str, str]:
    """The submission form's fields filled from a stored project (edit after 退回)."""
    values: dict[str, str] = {k: str(getattr(project, k)) for k in (
        "name", "applicant_org", "applicant_unit", "contact", "category", "scope", "beneficiaries",
        "beneficiary_count", "period_start", "period_end", "location")}
    values.update({k: "1" for k in ("is_construction", "has_land", "has_planning", "has_eia") if getattr(project, k)})
    values.update({f"fund_{f.source}": str(f.amount) for f in funding})
    for n, b in enumerate(lines):
        values.update({f"line{n}_item": b.item, f"line{n}_category": b.category, f"line{n}_source": b.source,
                       f"line{n}_amount": str(b.amount)})
    for n, i in enumerate(indicators):
        values.update({f"ind{n}_kind": i.kind, f"ind{n}_name": i.name, f"ind{n}_target": str(i.target_value),
                       f"ind{n}_unit": i.unit})
    return values


@login_required
async def edit_project(request: Request, actor: Actor) -> Response:
    """退回修改: the applicant corrects fields, budget and indicators; the change goes on the timeline."""
    project = await _project(actor, int(request.path_params["project_id"]))
    task = await lifecycle.open_task(project, "Task_revise")
    if task is None:
        flash(request, "项目不在退回修改环节,不能修改申报内容。", "error")
        return RedirectResponse(f"/projects/{project.id}", status_code=303)
    if not authz.can_act(actor, task):
        raise HTTPException(403, "只有申报单位的项目管理人员可以修改退回的申报。")
    funding = await FundingLine.filter(project_id=project.id).order_by("id")
    lines = await BudgetLine.filter(project_id=project.id).order_by("id")
    indicators = await PerformanceIndicator.filter(project_id=project.id).order_by("id")
    errors: dict[str, str] = {}
    values = _form_values(project, funding, lines, indicators)
    warnings: list[str] = []
    status = 200
    if request.method == "POST":
        raw = await request.form()
        form = FormData([(k, v) for k, v in raw.multi_items() if k != "applicant_org"]
                        + [("applicant_org", project.applicant_org)])  # the applicant org unit cannot change
        values = {k: str(v) for k, v in form.items() if k != "csrf_token"}
        submission, errors = _parse_submission(form)
        if submission is not None:
            warnings = [h.message for h in rules.check_banned_uses(submission.budget_lines) if not h.blocking]
        if submission is not None and not errors:
            try:
                changed = await lifecycle.update_submission(request.app.state.ctx.engine, actor, project, submission)
            except lifecycle.NotAllowed as exc:
                raise HTTPException(403, str(exc)) from exc
            except (lifecycle.ProjectError, ConflictError) as exc:
                errors["applicant_org"] = str(exc)
            else:
                flash(request, ("已保存修改:" + "、".join(changed) if changed else "内容未改变。")
                      + "请填写修改说明并重新提交县级初审。")
                return RedirectResponse(f"/projects/{project.id}#revise", status_code=303)
        status = 422
    orgs = [o for o in await lifecycle.applicant_orgs(actor) if o.code == project.applicant_org]
    return page(request, "projects_new.html", {
        "edit": project, "orgs": orgs, "errors": errors, "values": values, "warnings": warnings,
        "budget_rows": range(max(BUDGET_ROWS, len(lines) + 1)),
        "indicator_rows": range(max(INDICATOR_ROWS, len(indicators) + 1)),
        "default_kinds": list(INDICATOR_KINDS) * 10, **LABELS}, status_code=status)


async def _upload(form: FormData, store: AttachmentStore) -> tuple[str, bytes, int] | None:
    """(clean filename, content, declared size) of the form's `file`, or None when no file was chosen."""
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    content = await upload.read(store.max_bytes + 1)  # never more than one byte over the limit in memory
    return clean_filename(upload.filename), content, upload.size if upload.size is not None else len(content)


def _too_big(request: Request) -> bool:
    length = request.headers.get("content-length", "")
    return length.isdecimal() and int(length) > store_of(request).max_bytes + 1024 * 1024


async def _attach(request: Request, actor: Actor, project: Project, upload: tuple[str, bytes, int]) -> Attachment:
    """Store the file on the project's case, linked to its open step; on the timeline if it is new."""
    store = store_of(request)
    filename, content, _ = upload
    tasks = await lifecycle.open_tasks(project)
    instance = await ProcessInstance.get(id=project.instance_id)
    engine = request.app.state.ctx.engine
    row, created = await add_attachment(store, instance=instance, task=tasks[0] if tasks else None,
                                        filename=filename, content=content, actor=actor.username,
                                        now=engine.clock.now())
    if created:
        await lifecycle.record_attachment(engine, actor, project, row.filename,
                                          ATTACHMENT_PHASES.get(project.stage, "申报材料"))
    return row


@login_required
async def project_upload(request: Request, actor: Actor) -> Response:
    project = await _project(actor, int(request.path_params["project_id"]))
    if not ATTACH_ROLES & actor.roles:
        raise HTTPException(403, "您无权为该项目上传附件。")
    back = RedirectResponse(f"/projects/{project.id}#attachments", status_code=303)
    if project.stage not in ATTACHMENT_PHASES or not project.instance_id:
        flash(request, f"项目当前环节「{STAGES.get(project.stage, project.stage)}」不接收附件:申报、验收和绩效评价"
                       "阶段可上传材料。", "error")
        return back
    store = store_of(request)
    if _too_big(request):
        flash(request, f"文件过大,单个附件不能超过 {store.max_bytes // (1024 * 1024)} MB,未保存。", "error")
        return back
    upload = await _upload(await request.form(), store)
    try:
        store.check(*(upload[:2] if upload else ("", b"")))
        assert upload is not None
        row = await _attach(request, actor, project, upload)
    except FormValidationError as exc:
        flash(request, message_zh(exc.errors[0], store, upload[2] if upload else None), "error")
    else:
        flash(request, f"已上传附件:{row.filename}({ATTACHMENT_PHASES[project.stage]})。")
    return back


# -- project page --------------------------------------------------------------------------------------------


def execution_chart(project: Project, reports: list[BudgetExecution]) -> Markup:
    """Cumulative spending as % of budget over the period, against the straight line of time elapsed."""
    w, h, left, top, right, bottom = 560, 220, 44, 12, 12, 28
    pw, ph = w - left - right, h - top - bottom
    days = max(1, (project.period_end - project.period_start).days)
    budget = Decimal(str(project.total_budget)) or Decimal(1)

    def xy(day: date, pct: float) -> tuple[float, float]:
        x = left + pw * min(max((day - project.period_start).days, 0), days) / days
        return round(x, 1), round(top + ph * (1 - min(pct, 120) / 120), 1)

    parts = [f'<svg class="exec-chart" viewBox="0 0 {w} {h}" role="img" aria-label="预算执行进度图" '
             f'xmlns="http://www.w3.org/2000/svg">']
    for pct in (0, 25, 50, 75, 100):
        _, y = xy(project.period_start, pct)
        parts.append(f'<line x1="{left}" y1="{y}" x2="{w - right}" y2="{y}" stroke="#e4e7eb"/>'
                     f'<text x="{left - 6}" y="{y + 4}" font-size="11" text-anchor="end" fill="#66788a">{pct}%</text>')
    (x0, y0), (x1, y1) = xy(project.period_start, 0), xy(project.period_end, 100)
    parts.append(f'<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y1}" stroke="#9aa5b1" stroke-dasharray="5 4"/>')
    parts.append(f'<text x="{left}" y="{h - 8}" font-size="11" fill="#66788a">{project.period_start}</text>'
                 f'<text x="{w - right}" y="{h - 8}" font-size="11" text-anchor="end" fill="#66788a">'
                 f'{project.period_end}</text>')
    points = [xy(project.period_start, 0)] + [
        xy(r.reported_on, float(Decimal(str(r.spent_total)) / budget * 100)) for r in reports]
    if len(points) > 1:
        parts.append('<polyline fill="none" stroke="#1d4ed8" stroke-width="2" points="'
                     + " ".join(f"{x},{y}" for x, y in points) + '"/>')
        for (x, y), r in zip(points[1:], reports, strict=True):
            share = (Decimal(str(r.spent_total)) / budget * 100).quantize(Decimal("0.1"))
            parts.append(f'<circle cx="{x}" cy="{y}" r="3.5" fill="#1d4ed8"><title>{r.reported_on}:'
                         f'累计支出 {rules.money(Decimal(str(r.spent_total)))} 元({share}%)</title></circle>')
    parts.append(f'<text x="{w - right}" y="{top + 12}" font-size="11" text-anchor="end" fill="#66788a">'
                 '实线:累计执行率 · 虚线:时间进度</text></svg>')
    return Markup("".join(parts))


@login_required
async def project_page(request: Request, actor: Actor) -> Response:
    project = await _project(actor, int(request.path_params["project_id"]))
    engine = request.app.state.ctx.engine
    tasks = await lifecycle.open_tasks(project)
    actionable = {t.bpmn_id for t in tasks if authz.can_act(actor, t)}
    scores = await ReviewScore.filter(project_id=project.id).order_by("reviewer", "criterion")
    by_reviewer: dict[str, dict[str, Any]] = {}
    for s in scores:
        by_reviewer.setdefault(s.reviewer, {})[s.criterion] = s.score
    try:
        review = await lifecycle.review_result(project)
    except ValueError:
        review = None
    reports = await BudgetExecution.filter(project_id=project.id).order_by("reported_on", "id")
    diagram = None
    if project.instance_id:
        instance = await ProcessInstance.get_or_none(id=project.instance_id)
        if instance is not None:
            deployed = await engine.specs.get(instance.definition_id)
            diagram = Markup(render_svg(deployed.bpmn_xml, await engine.diagram_states(instance),
                                        lane_labels=ROLES, natural_size=True))
    today = local_date(engine.clock.now())
    params = await load_parameters()
    events = await ProjectEvent.filter(project_id=project.id).order_by("at", "id")
    attachments = await Attachment.filter(instance_id=project.instance_id).order_by("created_at", "id") \
        if project.instance_id else []
    step_of = {str(k): str(v) for k, v in await HumanTask.filter(instance_id=project.instance_id).values_list(
        "id", "bpmn_id")} if project.instance_id else {}
    phases = {a.id: ATTACHMENT_PHASES.get(lifecycle.STAGE_OF_TASK.get(step_of.get(str(a.task_id), ""), ""),
                                          "申报材料") for a in attachments}
    return page(request, "projects_detail.html", {
        "attachments": attachments, "phases": phases, "accept": ACCEPT, "file_kinds": FILE_KINDS,
        "max_mb": store_of(request).max_bytes // (1024 * 1024), "collab_errors": {},
        "upload_action": f"/projects/{project.id}/attachments",
        "can_attach": project.stage in ATTACHMENT_PHASES and bool(ATTACH_ROLES & actor.roles),
        "p": project, "tasks": tasks, "actionable": actionable,
        "funding": await FundingLine.filter(project_id=project.id).order_by("id"),
        "lines": await BudgetLine.filter(project_id=project.id).order_by("id"),
        "indicators": await PerformanceIndicator.filter(project_id=project.id).order_by("id"),
        "by_reviewer": by_reviewer, "review": review,
        "people": await display_names(set(by_reviewer)), "my_scores": by_reviewer.get(actor.username, {}),
        "can_score": "Task_city_review" in {t.bpmn_id for t in tasks} and "city_manager" in actor.roles,
        "can_report": bool({"project_manager", "city_manager"} & actor.roles)
        and project.stage in ("implementing", "acceptance"),
        "maturity": await MaturityAssessment.filter(project_id=project.id).order_by("-assessed_at").first(),
        "milestones": await Milestone.filter(project_id=project.id).order_by("due_on"),
        "reports": reports, "chart": execution_chart(project, reports),
        "monitor": await lifecycle.latest_monitor(engine, project),
        "events": events,
        "names": await display_names({e.actor for e in events} | {a.uploaded_by for a in attachments}),
        "evaluations": await queries.evaluations(project), "diagram": diagram, "today": today,
        "stale": project.stage in ("reserve", "mature") and rules.is_stale(project.reserve_entered_on, today, params),
        "warnings": [h.message for h in rules.check_banned_uses([
            rules.BudgetItem(b.item, b.category, b.source, Decimal(str(b.amount)))
            for b in await BudgetLine.filter(project_id=project.id).order_by("id")])],
        "role_label": role_label, **LABELS})


Action = Callable[[Request, Actor, Project, FormData], Awaitable[str]]


def _opinion(form: FormData, key: str = "opinion", label: str = "意见") -> str:
    text = _text(form, key)
    if len(text) < 2:
        raise lifecycle.ProjectError(f"请填写{label}(至少 2 个字)。")
    return text[:1000]


def _decimal(form: FormData, key: str, label: str, *, low: Decimal = Decimal(0),
             high: Decimal | None = None) -> Decimal:
    value = _dec(form.get(key, ""))
    if value is None or value < low or (high is not None and value > high):
        bound = f"{low} 到 {high} 之间" if high is not None else f"不小于 {low}"
        raise lifecycle.ProjectError(f"{label}须为{bound}的数字。")
    return value


def _date(form: FormData, key: str, label: str) -> date:
    value = _day(form.get(key, ""))
    if value is None:
        raise lifecycle.ProjectError(f"请填写有效的{label}(YYYY-MM-DD)。")
    return value


async def _act(request: Request, actor: Actor, p: Project, form: FormData) -> str:
    engine = request.app.state.ctx.engine
    action = _text(form, "action")
    if action == "county_review":
        decision = _text(form, "decision")
        await lifecycle.county_review(engine, actor, p, decision, _opinion(form, label="初审意见"))
        return "已办理县级初审。"
    if action == "revise":
        await lifecycle.revise(engine, actor, p, _opinion(form, label="修改说明"))
        return "已重新提交县级初审。"
    if action == "score":
        params = await load_parameters()
        scores = {c: _decimal(form, f"score_{c}", rules.RUBRIC_LABELS[c], high=Decimal(100))
                  for c in params.rubric_weights}
        try:
            await lifecycle.record_scores(engine, actor, p, scores, _text(form, "comment"))
        except ValueError as exc:
            raise lifecycle.ProjectError(str(exc)) from exc
        return "评分已保存。"
    if action == "decide_entry":
        result = await lifecycle.decide_entry(engine, actor, p, _opinion(form, label="评审意见"))
        return f"平均分 {result.mean}:" + ("已入库。" if result.admitted else "未达入库分数线,已退回。")
    if action == "assess":
        checklist = {k: bool(form.get(f"check_{k}")) for k in rules.MATURITY_ITEMS}
        maturity = await lifecycle.assess(engine, actor, p, checklist, _opinion(form, label="评估意见"),
                                        remove=form.get("remove") == "1")
        return f"成熟度 {maturity.score} 分:" + ("已成熟,可纳入出库批次。" if maturity.mature else "继续储备。")
    if action == "remove":
        await lifecycle.remove_from_reserve(engine, actor, p, _opinion(form, label="移出理由"))
        return "已移出项目库。"
    if action == "fund":
        await lifecycle.fund(engine, actor, p, _opinion(form, "agreement_no", "协议编号"),
                             _date(form, "agreement_date", "协议签订日期"),
                             _decimal(form, "amount", "下达金额", low=Decimal("0.01")))
        return "已下达资金,项目进入实施。"
    if action == "milestone":
        done = _text(form, "done_on")
        await lifecycle.add_milestone(engine, actor, p, _opinion(form, "name", "里程碑名称"),
                                      _date(form, "due_on", "计划日期"),
                                      _date(form, "done_on", "完成日期") if done else None)
        return "已登记里程碑。"
    if action == "execution":
        monitored = await lifecycle.report_execution(
            engine, actor, p, _date(form, "reported_on", "填报日期"), _decimal(form, "spent_total", "累计支出"),
            _decimal(form, "target_progress", "目标完成进度", high=Decimal(100)), _text(form, "note")[:500])
        return "已填报预算执行。" + ("预警:" + ";".join(monitored.warnings) if monitored.warnings else "")
    if action == "finish":
        await lifecycle.finish_implementation(engine, actor, p, _opinion(form, label="实施情况"))
        return "已提交实施完成。"
    if action == "monitor":
        await lifecycle.monitor_review(engine, actor, p, _opinion(form, label="监控意见"))
        return "已完成运行监控。"
    if action == "accept":
        if form.get("passed") not in ("1", "0"):
            raise lifecycle.ProjectError("请选择验收结论。")
        await lifecycle.accept(engine, actor, p, form.get("passed") == "1", _opinion(form, label="验收意见"))
        return "已办理验收。"
    if action == "rectify_impl":
        await lifecycle.rectify_implementation(engine, actor, p, _opinion(form, label="整改情况"))
        return "已提交整改,重新验收。"
    if action == "self_eval":
        inds = await PerformanceIndicator.filter(project_id=p.id)
        actuals = {i.id: _decimal(form, f"actual_{i.id}", f"「{i.name}」实际值") for i in inds}
        own = await lifecycle.self_evaluate(engine, actor, p, actuals, _opinion(form, label="自评报告"))
        return f"自评 {own.total} 分({own.grade})。"
    if action == "evaluate":
        final = await lifecycle.evaluate_performance(engine, actor, p, _opinion(form, label="评价意见"))
        return f"绩效评价 {final.total} 分,等级「{final.grade}」。"
    if action == "rectify":
        await lifecycle.rectify(engine, actor, p, _opinion(form, label="整改措施"))
        return "已提交整改措施,项目结项。"
    raise lifecycle.ProjectError("未知的操作。")


@login_required
async def project_action(request: Request, actor: Actor) -> Response:
    project = await _project(actor, int(request.path_params["project_id"]))
    form = await request.form()
    try:
        message = await _act(request, actor, project, form)
    except lifecycle.NotAllowed as exc:
        raise HTTPException(403, str(exc)) from exc
    except (lifecycle.ProjectError, ConflictError) as exc:
        flash(request, str(exc), "error")
    except FormValidationError as exc:
        flash(request, "填写的内容不符合要求:" + ";".join(e.field for e in exc.errors), "error")
    else:
        flash(request, message)
    return RedirectResponse(f"/projects/{project.id}", status_code=303)


@login_required
async def evaluation_page(request: Request, actor: Actor) -> Response:
    project = await _project(actor, int(request.path_params["project_id"]))
    return page(request, "projects_evaluation.html", {
        "p": project, "evaluations": await queries.evaluations(project),
        "indicators": await PerformanceIndicator.filter(project_id=project.id).order_by("id"),
        "params": await load_parameters(), **LABELS})


# -- release batches -----------------------------------------------------------------------------------------


def _require_city(actor: Actor) -> None:
    if "city_manager" not in actor.roles:
        raise HTTPException(403, "只有市级管理人员可以编制出库批次。")


@login_required
async def batches(request: Request, actor: Actor) -> Response:
    _require_city(actor)
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    status = 200
    engine = request.app.state.ctx.engine
    if request.method == "POST":
        form = await request.form()
        values = {k: _text(form, k) for k in ("year", "source", "budget")}
        year = int(values["year"]) if values["year"].isdecimal() else 0
        budget = _dec(values["budget"])
        if not 2000 <= year <= 2100:
            errors["year"] = "请填写有效的资金年度。"
        if values["source"] not in FUNDING_SOURCES:
            errors["source"] = "请选择资金来源。"
        if budget is None or budget <= 0:
            errors["budget"] = "请填写大于 0 的年度可用额度(元)。"
        if not errors and budget is not None:
            committed = await queries.committed_amount(year, values["source"])
            if budget <= committed:
                errors["budget"] = (f"该年度该资金来源已出库 {rules.money(committed)} 元,年度可用额度须大于此数,"
                                    "否则没有可安排的额度。")
        if not errors and budget is not None:
            batch = await lifecycle.create_batch(engine, actor, year, values["source"], budget)
            flash(request, f"已生成批次 {batch.code} 的建议名单,请核对后确认出库。")
            return RedirectResponse(f"/projects/batches/{batch.id}", status_code=303)
        status = 422
    rows = await ReleaseBatch.filter(org_path__startswith=actor.org_path).order_by("-created_at")
    totals = {}
    for b in rows:
        amounts = await ReleaseBatchItem.filter(batch_id=b.id).values_list("amount", flat=True)
        totals[b.id] = (len(amounts), sum((Decimal(str(a)) for a in amounts), Decimal(0)))
    return page(request, "projects_batches.html", {
        "rows": rows, "totals": totals, "errors": errors, "values": values,
        "this_year": local_date(engine.clock.now()).year, **LABELS}, status_code=status)


async def _batch(actor: Actor, batch_id: int) -> ReleaseBatch:
    _require_city(actor)
    batch = await lifecycle.batch_for(actor, batch_id)
    if batch is None:
        raise HTTPException(404, "批次不存在或不在您的管理范围内。")
    return batch


@login_required
async def batch_page(request: Request, actor: Actor) -> Response:
    batch = await _batch(actor, int(request.path_params["batch_id"]))
    items = await ReleaseBatchItem.filter(batch_id=batch.id).order_by("rank").select_related("project")
    total = sum((Decimal(str(i.amount)) for i in items), Decimal(0))
    committed = await queries.committed_amount(batch.year, batch.source, exclude=batch.id)
    proposal = rules.propose_batch(await lifecycle.candidates(actor, batch.source), Decimal(str(batch.budget)),
                                   committed, batch.source) if batch.status == "draft" else None
    in_batch = {i.project_id for i in items}
    others = [c for c in (await lifecycle.candidates(actor, batch.source)) if c.project_id not in in_batch]
    return page(request, "projects_batch.html", {
        "batch": batch, "items": items, "total": total, "committed": committed,
        "left": Decimal(str(batch.budget)) - committed - total, "proposal": proposal,
        "others": rules.rank(others), "people": await display_names({batch.confirmed_by or ""}),
        **LABELS})


@login_required
async def batch_adjust(request: Request, actor: Actor) -> Response:
    batch = await _batch(actor, int(request.path_params["batch_id"]))
    form = await request.form()
    add, remove = _text(form, "add"), _text(form, "remove")
    try:
        await lifecycle.adjust_batch(actor, batch, add=int(add) if add.isdecimal() and len(add) <= 9 else None,
                                     remove=int(remove) if remove.isdecimal() and len(remove) <= 9 else None)
    except lifecycle.ProjectError as exc:
        flash(request, str(exc), "error")
    else:
        flash(request, "已调整批次名单。")
    return RedirectResponse(f"/projects/batches/{batch.id}", status_code=303)


@login_required
async def batch_confirm(request: Request, actor: Actor) -> Response:
    batch = await _batch(actor, int(request.path_params["batch_id"]))
    try:
        n = await lifecycle.confirm_batch(request.app.state.ctx.engine, actor, batch)
    except (lifecycle.ProjectError, ConflictError) as exc:
        flash(request, str(exc), "error")
    else:
        flash(request, f"批次 {batch.code} 已确认:{n} 个项目出库,进入资金下达。")
    return RedirectResponse(f"/projects/batches/{batch.id}", status_code=303)


# -- exports and publication ---------------------------------------------------------------------------------


def _xlsx(title: str, header: list[str], rows: list[list[Any]], filename: str) -> Response:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = title
    ws.append(header)
    for row in rows:
        ws.append(row)
    for col, name in zip("ABCDEFGHIJKLMNOP", header, strict=False):
        ws.column_dimensions[col].width = max(10, len(name) * 2 + 4)
    buf = io.BytesIO()
    wb.save(buf)
    return Response(buf.getvalue(), media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@login_required
async def export_library(request: Request, actor: Actor) -> Response:
    projects = await queries.visible_projects(actor).order_by("code")
    orgs = {o.code: o.name for o in await authz.visible_org_units(actor).filter(level__in=["city", "county"])}
    funding: dict[int, dict[str, Decimal]] = {}
    for f in await FundingLine.filter(project_id__in=[p.id for p in projects]):
        funding.setdefault(f.project_id, {})[f.source] = Decimal(str(f.amount))
    header = ["项目代码", "项目名称", "申报地区", "申报单位", "类别", "阶段", "总预算(元)",
              *[f"{v}(元)" for v in FUNDING_SOURCES.values()], "评审得分", "入库日期", "资金年度", "绩效得分", "等级"]
    rows = [[p.code, p.name, orgs.get(p.applicant_org, p.applicant_org), p.applicant_unit,
             CATEGORIES.get(p.category, p.category), STAGES.get(p.stage, p.stage), float(p.total_budget),
             *[float(funding.get(p.id, {}).get(s, 0)) for s in FUNDING_SOURCES],
             float(p.review_score) if p.review_score is not None else None, p.reserve_entered_on, p.plan_year,
             float(p.evaluation_score) if p.evaluation_score is not None else None, p.grade] for p in projects]
    return _xlsx("项目库", header, rows, "project-library.xlsx")


@login_required
async def export_batch(request: Request, actor: Actor) -> Response:
    batch = await _batch(actor, int(request.path_params["batch_id"]))
    items = await ReleaseBatchItem.filter(batch_id=batch.id).order_by("rank").select_related("project")
    rows = [[i.rank, i.project.code, i.project.name, i.project.applicant_unit,
             CATEGORIES.get(i.project.category, i.project.category),
             float(i.project.review_score) if i.project.review_score is not None else None, float(i.amount)]
            for i in items]
    rows.append(["合计", "", "", "", "", None, float(sum((Decimal(str(i.amount)) for i in items), Decimal(0)))])
    return _xlsx("出库批次", ["序号", "项目代码", "项目名称", "申报单位", "类别", "评审得分",
                          f"{FUNDING_SOURCES.get(batch.source, batch.source)}(元)"], rows, f"{batch.code}.xlsx")


async def public_summary(request: Request) -> Response:
    """No login: what 福彩公益金 funded in a year, by unit and category, with grades. No personal data."""
    years = await queries.public_years()
    raw = request.query_params.get("year", "")
    year = int(raw) if raw.isdecimal() and len(raw) <= 4 else (years[0] if years else local_date(
        request.app.state.ctx.engine.clock.now()).year)
    summary = await queries.public_summary(year)
    return page(request, "projects_public.html", {"s": summary, "years": years, **LABELS})


# -- parameters ----------------------------------------------------------------------------------------------


@login_required
async def parameters(request: Request, actor: Actor) -> Response:
    import json

    if not (actor.is_admin or ("city_manager" in actor.roles and actor.org_path.count("/") == 2)):
        raise HTTPException(403, "只有系统管理员或市级管理人员可以修改项目库参数。")
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        form = await request.form()
        key = _text(form, "key")
        try:
            await save_parameter(key, json.loads(_text(form, "value")), actor=actor.username,
                                 now=request.app.state.ctx.engine.clock.now())
        except json.JSONDecodeError:
            errors[key] = "格式无效:请填写数字,或 JSON 对象(如 {\"优\": 90, \"良\": 80, \"中\": 60})。"
        except ValueError as exc:
            errors[key] = str(exc)
        else:
            flash(request, f"已更新参数「{PARAMETER_LABELS.get(key, key)}」。")
            return RedirectResponse("/projects/parameters", status_code=303)
        status = 422
    current = (await load_parameters()).to_json()
    return page(request, "projects_parameters.html", {
        "current": {k: json.dumps(v, ensure_ascii=False) for k, v in current.items()}, "labels": PARAMETER_LABELS,
        "errors": errors}, status_code=status)


routes = [
    Route("/projects", board),
    Route("/projects/new", new_project, methods=["GET", "POST"]),
    Route("/projects/export.xlsx", export_library),
    Route("/projects/public", public_summary),
    Route("/projects/parameters", parameters, methods=["GET", "POST"]),
    Route("/projects/batches", batches, methods=["GET", "POST"]),
    Route("/projects/batches/{batch_id:int}", batch_page),
    Route("/projects/batches/{batch_id:int}/adjust", batch_adjust, methods=["POST"]),
    Route("/projects/batches/{batch_id:int}/confirm", batch_confirm, methods=["POST"]),
    Route("/projects/batches/{batch_id:int}/export.xlsx", export_batch),
    Route("/projects/{project_id:int}", project_page),
    Route("/projects/{project_id:int}/action", project_action, methods=["POST"]),
    Route("/projects/{project_id:int}/edit", edit_project, methods=["GET", "POST"]),
    Route("/projects/{project_id:int}/attachments", project_upload, methods=["POST"]),
    Route("/projects/{project_id:int}/evaluation", evaluation_page),
]
