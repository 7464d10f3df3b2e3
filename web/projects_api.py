"""JSON API of the project library (项目库) under /api/v1, bearer token as every other endpoint.

    GET  /projects                         projects in your scope (filters: stage, category, source, county; paged)
    POST /projects                         申报 (project_manager)
    GET  /projects/{id}                    a project with its lines, indicators, scores, milestones, timeline
                                           and attachments (upload: POST /tasks/{task_id}/attachments)
    PUT  /projects/{id}                    edit the declaration after 退回 (resubmit with action `revise`)
    POST /projects/{id}/actions            the lifecycle actions of the project page, one JSON body per action
    POST /project-batches                  build a release batch (the system's proposal, arithmetic included)
    GET  /project-batches/{id}             a batch with its items
    POST /project-batches/{id}/adjust      add / drop a project of a draft batch
    POST /project-batches/{id}/confirm     出库: every project of the batch, or none

Bodies are validated here into the same `lifecycle` calls the HTML pages make (org scope and task roles are checked
there with `engine.authz`). Errors: 422 with per-field codes for bad input, 403 outside your role or scope, 404 for
projects outside your scope (they look missing), 409 when the project is not at the step the action needs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from engine import authz
from engine.authz import Actor
from engine.errors import ConflictError
from engine.models import MAX_DB_INT, Attachment
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
from projects_registry.params import load_parameters
from web.api import MAX_PAGE_SIZE, ApiError, _int_param, endpoint, json_body, methods
from web.collab import attachment_json

MAX_ID = MAX_DB_INT
MAX_AMOUNT = Decimal("999999999999.99")  # DecimalField(max_digits=14, decimal_places=2)
MAX_TEXT = 1000
CENT_MIN = Decimal("0.01")  # amounts and targets: at least one cent after rounding
MAX_LINES = 50
# check_submission's keys → the code the API reports (the message is check_submission's Chinese text)
SUBMISSION_CODES = {"funding": "incomplete", "budget_lines": "mismatch", "banned": "banned_use",
                    "period_end": "order", "preconditions": "precondition", "indicators": "incomplete"}

Problems = list[dict[str, str]]


def _money(value: Any) -> str | None:
    return None if value is None else str(Decimal(str(value)).quantize(rules.CENT))


def _problem(problems: Problems, field: str, code: str, message: str) -> None:
    problems.append({"field": field, "code": code, "message": message})


def _refuse(problems: Problems, what: str = "invalid request") -> None:
    if problems:
        raise ApiError(422, "validation_failed", what, problems)


# -- typed readers of a JSON body: each appends a problem and returns None when the value is unusable ---------


def _text(body: dict[str, Any], key: str, problems: Problems, *, max_len: int = MAX_TEXT, required: bool = True,
          prefix: str = "") -> str | None:
    field, value = prefix + key, body.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        _problem(problems, field, "required" if value is None else "type", f"{field} must be a string")
        return None
    if len(value) > max_len:
        _problem(problems, field, "maxLength", f"{field} must be at most {max_len} characters")
        return None
    if required and not value.strip():
        _problem(problems, field, "blank", f"{field} must not be blank")
        return None
    return value.strip()


def _number(body: dict[str, Any], key: str, problems: Problems, *, low: Decimal = Decimal(0),
            high: Decimal = MAX_AMOUNT, prefix: str = "") -> Decimal | None:
    """A JSON number rounded to cents (the columns' precision), then checked against [low, high]."""
    field, value = prefix + key, body.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        _problem(problems, field, "required" if value is None else "type", f"{field} must be a number")
        return None
    try:
        d = Decimal(str(value)).quantize(rules.CENT, ROUND_HALF_UP)
    except InvalidOperation:
        d = Decimal("NaN")
    if not d.is_finite() or d < low or d > high:
        _problem(problems, field, "range", f"{field} must be from {low} to {high}")
        return None
    return d


def _integer(value: Any) -> int | None:
    """A JSON integer: JSON Schema counts 2081.0 as one too."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value if isinstance(value, int) else None


def _flag(body: dict[str, Any], key: str, problems: Problems, *, required: bool = False) -> bool:
    value = body.get(key)
    if value is None and not required:
        return False
    if not isinstance(value, bool):
        _problem(problems, key, "required" if value is None else "type", f"{key} must be a boolean")
        return False
    return value


def _day(body: dict[str, Any], key: str, problems: Problems, *, required: bool = True) -> date | None:
    value = body.get(key)
    if value is None and not required:
        return None
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        _problem(problems, key, "required" if value is None else "format", f"{key} must be a date (YYYY-MM-DD)")
        return None


def _objects(body: dict[str, Any], key: str, problems: Problems) -> list[dict[str, Any]]:
    value = body.get(key)
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_LINES or \
            not all(isinstance(v, dict) for v in value):
        _problem(problems, key, "required" if value is None else "type",
                 f"{key} must be a list of 1 to {MAX_LINES} objects")
        return []
    return value


def _choice(body: dict[str, Any], key: str, allowed: dict[str, str] | tuple[str, ...], problems: Problems,
            prefix: str = "") -> str | None:
    field, value = prefix + key, body.get(key)
    if not isinstance(value, str) or value not in allowed:
        _problem(problems, field, "required" if value is None else "enum", f"{field} must be one of {list(allowed)}")
        return None
    return value


# -- JSON of the rows ----------------------------------------------------------------------------------------


def project_summary(p: Project) -> dict[str, Any]:
    return {"id": p.id, "code": p.code, "name": p.name, "applicant_org": p.applicant_org,
            "applicant_unit": p.applicant_unit, "category": p.category, "stage": p.stage,
            "stage_label": STAGES.get(p.stage, p.stage), "total_budget": _money(p.total_budget),
            "review_score": _money(p.review_score), "maturity_score": _money(p.maturity_score),
            "reserve_entered_on": p.reserve_entered_on.isoformat() if p.reserve_entered_on else None,
            "plan_year": p.plan_year, "evaluation_score": _money(p.evaluation_score), "grade": p.grade,
            "version": p.version}


async def project_detail(actor: Actor, p: Project) -> dict[str, Any]:
    tasks = await lifecycle.open_tasks(p)
    scores = await ReviewScore.filter(project_id=p.id).order_by("reviewer", "criterion")
    by_reviewer: dict[str, dict[str, str | None]] = {}
    for s in scores:
        by_reviewer.setdefault(s.reviewer, {})[s.criterion] = _money(s.score)
    maturity = await MaturityAssessment.filter(project_id=p.id).order_by("-assessed_at", "-id").first()
    return {
        **project_summary(p), "contact": p.contact, "scope": p.scope, "beneficiaries": p.beneficiaries,
        "beneficiary_count": p.beneficiary_count, "period_start": p.period_start.isoformat(),
        "period_end": p.period_end.isoformat(), "location": p.location, "is_construction": p.is_construction,
        "has_land": p.has_land, "has_planning": p.has_planning, "has_eia": p.has_eia,
        "instance_id": p.instance_id,
        "funding": [{"source": f.source, "amount": _money(f.amount)}
                    for f in await FundingLine.filter(project_id=p.id).order_by("id")],
        "budget_lines": [{"item": b.item, "category": b.category, "source": b.source, "amount": _money(b.amount)}
                         for b in await BudgetLine.filter(project_id=p.id).order_by("id")],
        "indicators": [{"id": i.id, "kind": i.kind, "name": i.name, "unit": i.unit,
                        "target": _money(i.target_value), "actual": _money(i.actual_value),
                        "higher_is_better": i.higher_is_better}
                       for i in await PerformanceIndicator.filter(project_id=p.id).order_by("id")],
        "open_tasks": [{"bpmn_id": t.bpmn_id, "name": t.name, "candidate_role": t.candidate_role,
                        "org_unit": t.org_unit, "actionable": authz.can_act(actor, t)} for t in tasks],
        "review_scores": by_reviewer,
        "maturity": None if maturity is None else {
            "score": _money(maturity.score), "decision": maturity.decision, "checklist": maturity.checklist,
            "opinion": maturity.opinion, "assessed_by": maturity.assessed_by},
        "milestones": [{"name": m.name, "due_on": m.due_on.isoformat(),
                        "done_on": m.done_on.isoformat() if m.done_on else None, "note": m.note}
                       for m in await Milestone.filter(project_id=p.id).order_by("due_on", "id")],
        "executions": [{"reported_on": e.reported_on.isoformat(), "spent_total": _money(e.spent_total),
                        "target_progress": _money(e.target_progress), "note": e.note}
                       for e in await BudgetExecution.filter(project_id=p.id).order_by("reported_on", "id")],
        "evaluations": [{"kind": e.kind, "total": _money(e.total), "grade": e.grade, "details": e.details,
                         "budget_execution": _money(e.budget_execution_score), "outputs": _money(e.output_score),
                         "outcomes": _money(e.outcome_score), "satisfaction": _money(e.satisfaction_score),
                         "evaluator": e.evaluator} for e in await queries.evaluations(p)],
        "attachments": [attachment_json(a) for a in await Attachment.filter(instance_id=p.instance_id).order_by(
            "created_at", "id")] if p.instance_id else [],
        "timeline": [{"at": e.at.isoformat(), "actor": e.actor, "stage": e.stage, "action": e.action,
                      "detail": e.detail}
                     for e in await ProjectEvent.filter(project_id=p.id).order_by("at", "id")],
    }


def _project_id(request: Request) -> int:
    raw = str(request.path_params["project_id"])
    if not raw.isdecimal() or int(raw) > MAX_ID:  # isdigit: no sign, no spaces; anything else names nothing
        raise ApiError(404, "not_found", f"project {raw} does not exist")
    return int(raw)


async def _scoped_project(request: Request, actor: Actor) -> Project:
    pid = _project_id(request)
    project = await queries.project_for(actor, pid)
    if project is None:  # another county's project looks exactly like a missing one
        raise ApiError(404, "not_found", f"project {pid} does not exist or is outside your scope")
    return project


def _refused(exc: lifecycle.ProjectError) -> ApiError:
    if isinstance(exc, lifecycle.NotAllowed):
        return ApiError(403, "forbidden", str(exc))
    return ApiError(409, "invalid_state", str(exc))


# -- list, submit, detail, edit -------------------------------------------------------------------------------


async def list_projects(request: Request, actor: Actor) -> Response:
    q = request.query_params
    query = queries.visible_projects(actor)
    for key, allowed in (("stage", STAGES), ("category", CATEGORIES), ("source", FUNDING_SOURCES)):
        value = q.get(key)
        if value is not None and value not in allowed:
            raise ApiError(400, "invalid_parameter", f"{key} must be one of {list(allowed)}")
    if q.get("stage"):
        query = query.filter(stage=q["stage"])
    if q.get("category"):
        query = query.filter(category=q["category"])
    if q.get("source"):
        query = query.filter(funding__source=q["source"], funding__amount__gt=0)
    county = q.get("county")
    if county is not None:
        if not county.isdecimal() or len(county) > 32:
            raise ApiError(400, "invalid_parameter", "county must be an org unit code (digits)")
        query = query.filter(org_path__contains=f"/{county}/")
    page = _int_param(request, "page", 1, 1, 1_000_000)
    size = _int_param(request, "page_size", 50, 1, MAX_PAGE_SIZE)
    total = await query.count()
    rows = await query.order_by("code").offset((page - 1) * size).limit(size)
    return JSONResponse({"items": [project_summary(p) for p in rows], "total": total, "page": page,
                         "page_size": size})


def parse_submission(body: dict[str, Any], default_org: str) -> lifecycle.Submission:
    """A JSON declaration → `lifecycle.Submission`, or ApiError 422 listing every bad field."""
    problems: Problems = []
    texts = {k: _text(body, k, problems, max_len=n) for k, n in (
        ("name", 200), ("applicant_unit", 200), ("scope", 4000), ("beneficiaries", 300), ("location", 200))}
    contact = _text(body, "contact", problems, max_len=100, required=False)
    org = body.get("applicant_org", default_org)
    if not isinstance(org, str) or len(org) > 32:
        _problem(problems, "applicant_org", "type", "applicant_org must be an org unit code of at most 32 characters")
    category = _choice(body, "category", CATEGORIES, problems)
    count = _integer(body.get("beneficiary_count", 0))
    if count is None or not 0 <= count <= MAX_ID:
        _problem(problems, "beneficiary_count", "type", f"beneficiary_count must be an integer from 0 to {MAX_ID}")
    start, end = _day(body, "period_start", problems), _day(body, "period_end", problems)
    flags = {k: _flag(body, k, problems) for k in ("is_construction", "has_land", "has_planning", "has_eia")}
    funding: dict[str, Decimal] = {}
    raw_funding = body.get("funding")
    if not isinstance(raw_funding, dict) or not raw_funding:
        _problem(problems, "funding", "required" if raw_funding is None else "type",
                 f"funding must be an object of amounts by source ({', '.join(FUNDING_SOURCES)})")
    else:
        for source in raw_funding:
            if source not in FUNDING_SOURCES:
                _problem(problems, f"funding.{source}", "enum",
                         f"funding source must be one of {list(FUNDING_SOURCES)}")
                continue
            amount = _number(raw_funding, source, problems, prefix="funding.")
            if amount is not None and amount > 0:
                funding[source] = amount
    lines: list[rules.BudgetItem] = []
    for n, raw in enumerate(_objects(body, "budget_lines", problems)):
        prefix = f"budget_lines[{n}]."
        item = _text(raw, "item", problems, max_len=200, prefix=prefix)
        cat = _choice(raw, "category", BUDGET_CATEGORIES, problems, prefix)
        source = _choice(raw, "source", FUNDING_SOURCES, problems, prefix)
        amount = _number(raw, "amount", problems, low=CENT_MIN, prefix=prefix)
        if item is not None and cat is not None and source is not None and amount is not None:
            lines.append(rules.BudgetItem(item, cat, source, amount))
    indicators: list[rules.Indicator] = []
    units: list[str] = []
    for n, raw in enumerate(_objects(body, "indicators", problems)):
        prefix = f"indicators[{n}]."
        name = _text(raw, "name", problems, max_len=200, prefix=prefix)
        kind = _choice(raw, "kind", INDICATOR_KINDS, problems, prefix)
        target = _number(raw, "target", problems, low=CENT_MIN, prefix=prefix)
        unit = _text(raw, "unit", problems, max_len=20, required=False, prefix=prefix)
        if name is not None and kind is not None and target is not None:
            indicators.append(rules.Indicator(kind, name, target, None, higher_is_better=kind != "output_cost"))
            units.append(unit or "")
    _refuse(problems, "invalid project")
    assert start is not None and end is not None and category is not None
    s = lifecycle.Submission(
        name=str(texts["name"]), applicant_org=str(org), applicant_unit=str(texts["applicant_unit"]),
        contact=contact or "", category=category, scope=str(texts["scope"]),
        beneficiaries=str(texts["beneficiaries"]), beneficiary_count=int(count or 0), period_start=start,
        period_end=end,
        location=str(texts["location"]), funding=funding, budget_lines=lines, indicators=indicators, units=units,
        **flags)
    errors = lifecycle.check_submission(s)
    _refuse([{"field": k, "code": SUBMISSION_CODES.get(k, "invalid"), "message": v} for k, v in errors.items()],
            "the declaration breaks the project library rules")
    return s


async def _applicant_org_known(actor: Actor, code: str) -> None:
    if not await authz.visible_org_units(actor).filter(code=code, level__in=["city", "county"]).exists():
        raise ApiError(422, "validation_failed", "unknown org unit", [
            {"field": "applicant_org", "code": "unknown",
             "message": f"申报单位 {code!r} 不存在或不在您的管理范围内(须为市或县级单位)。"}])


async def submit_project(request: Request, actor: Actor) -> Response:
    body = await json_body(request)
    s = parse_submission(body, actor.org_code)
    if "project_manager" not in actor.roles:
        raise ApiError(403, "forbidden", "只有项目管理人员可以申报项目。")
    await _applicant_org_known(actor, s.applicant_org)
    try:
        project = await lifecycle.submit(request.app.state.ctx.engine, actor, s)
    except lifecycle.ProjectError as exc:
        raise _refused(exc) from exc
    warnings = [h.message for h in rules.check_banned_uses(s.budget_lines) if not h.blocking]
    return JSONResponse({**await project_detail(actor, project), "warnings": warnings}, status_code=201)


async def get_project(request: Request, actor: Actor) -> Response:
    project = await _scoped_project(request, actor)
    return JSONResponse(await project_detail(actor, project))


async def edit_project(request: Request, actor: Actor) -> Response:
    body = await json_body(request)
    project = await _scoped_project(request, actor)
    s = parse_submission(body, project.applicant_org)
    try:
        changed = await lifecycle.update_submission(request.app.state.ctx.engine, actor, project, s)
    except lifecycle.ProjectError as exc:
        raise _refused(exc) from exc
    return JSONResponse({**await project_detail(actor, project), "changed": changed})


# -- lifecycle actions ----------------------------------------------------------------------------------------

ActionFn = Callable[[Request, Actor, Project, dict[str, Any]], Awaitable[dict[str, Any]]]


def _opinion(body: dict[str, Any], key: str, problems: Problems) -> str:
    return _text(body, key, problems) or ""


async def _county_review(request: Request, actor: Actor, p: Project, body: dict[str, Any]) -> dict[str, Any]:
    problems: Problems = []
    decision = _choice(body, "decision", ("pass", "return", "reject"), problems)
    opinion = _opinion(body, "opinion", problems)
    _refuse(problems)
    await lifecycle.county_review(request.app.state.ctx.engine, actor, p, str(decision), opinion)
    return {}


async def _revise(request: Request, actor: Actor, p: Project, body: dict[str, Any]) -> dict[str, Any]:
    problems: Problems = []
    note = _opinion(body, "note", problems)
    _refuse(problems)
    await lifecycle.revise(request.app.state.ctx.engine, actor, p, note)
    return {}


async def _score(request: Request, actor: Actor, p: Project, body: dict[str, Any]) -> dict[str, Any]:
    problems: Problems = []
    raw = body.get("scores")
    weights = (await load_parameters()).rubric_weights
    scores: dict[str, Decimal] = {}
    if not isinstance(raw, dict):
        _problem(problems, "scores", "required" if raw is None else "type",
                 f"scores must be an object with {', '.join(weights)}")
    else:
        for c in raw:
            if c not in weights:
                _problem(problems, f"scores.{c}", "enum", f"unknown rubric criterion; use {list(weights)}")
        for c in weights:
            value = _number(raw, c, problems, high=Decimal(100), prefix="scores.")
            if value is not None:
                scores[c] = value
    comment = _text(body, "comment", problems, max_len=500, required=False)
    _refuse(problems)
    await lifecycle.record_scores(request.app.state.ctx.engine, actor, p, scores, comment or "")
    result = await lifecycle.review_result(p)
    return {"mean": _money(result.mean) if result else None}


async def _decide_entry(request: Request, actor: Actor, p: Project, body: dict[str, Any]) -> dict[str, Any]:
    problems: Problems = []
    opinion = _opinion(body, "opinion", problems)
    _refuse(problems)
    result = await lifecycle.decide_entry(request.app.state.ctx.engine, actor, p, opinion)
    return {"mean": _money(result.mean), "admitted": result.admitted, "explanation": result.explanation}


async def _assess(request: Request, actor: Actor, p: Project, body: dict[str, Any]) -> dict[str, Any]:
    problems: Problems = []
    raw = body.get("checklist")
    checklist: dict[str, bool] = {}
    if not isinstance(raw, dict):
        _problem(problems, "checklist", "required" if raw is None else "type",
                 f"checklist must be an object of booleans with keys from {list(rules.MATURITY_ITEMS)}")
    else:
        for k, v in raw.items():
            if k not in rules.MATURITY_ITEMS or not isinstance(v, bool):
                _problem(problems, f"checklist.{k}", "enum" if k not in rules.MATURITY_ITEMS else "type",
                         f"checklist keys are {list(rules.MATURITY_ITEMS)}, values booleans")
            else:
                checklist[k] = v
    remove = _flag(body, "remove", problems)
    opinion = _opinion(body, "opinion", problems)
    _refuse(problems)
    result = await lifecycle.assess(request.app.state.ctx.engine, actor, p, checklist, opinion, remove=remove)
    return {"score": _money(result.score), "mature": result.mature, "missing": result.missing}


async def _remove(request: Request, actor: Actor, p: Project, body: dict[str, Any]) -> dict[str, Any]:
    problems: Problems = []
    reason = _opinion(body, "reason", problems)
    _refuse(problems)
    await lifecycle.remove_from_reserve(request.app.state.ctx.engine, actor, p, reason)
    return {}


async def _fund(request: Request, actor: Actor, p: Project, body: dict[str, Any]) -> dict[str, Any]:
    problems: Problems = []
    no = _text(body, "agreement_no", problems, max_len=100)
    on = _day(body, "agreement_date", problems)
    amount = _number(body, "amount", problems, low=CENT_MIN)
    _refuse(problems)
    assert on is not None and amount is not None
    await lifecycle.fund(request.app.state.ctx.engine, actor, p, str(no), on, amount)
    return {}


async def _milestone(request: Request, actor: Actor, p: Project, body: dict[str, Any]) -> dict[str, Any]:
    problems: Problems = []
    name = _text(body, "name", problems, max_len=200)
    due = _day(body, "due_on", problems)
    done = _day(body, "done_on", problems, required=False)
    note = _text(body, "note", problems, max_len=500, required=False)
    _refuse(problems)
    assert due is not None
    if p.stage not in ("released", "implementing", "acceptance"):
        raise ApiError(409, "invalid_state", "只有已出库、实施中或验收中的项目可以登记里程碑。")
    await lifecycle.add_milestone(request.app.state.ctx.engine, actor, p, str(name), due, done, note or "")
    return {}


async def _execution(request: Request, actor: Actor, p: Project, body: dict[str, Any]) -> dict[str, Any]:
    problems: Problems = []
    on = _day(body, "reported_on", problems)
    spent = _number(body, "spent_total", problems)
    progress = _number(body, "target_progress", problems, high=Decimal(100))
    note = _text(body, "note", problems, max_len=500, required=False)
    _refuse(problems)
    assert on is not None and spent is not None and progress is not None
    if p.stage not in ("implementing", "acceptance"):
        raise ApiError(409, "invalid_state", "只有实施中的项目可以填报预算执行。")
    result = await lifecycle.report_execution(request.app.state.ctx.engine, actor, p, on, spent, progress,
                                              note or "")
    return {"execution_rate": _money(result.execution_rate), "time_elapsed": _money(result.time_elapsed),
            "warnings": result.warnings}


async def _finish(request: Request, actor: Actor, p: Project, body: dict[str, Any]) -> dict[str, Any]:
    problems: Problems = []
    summary = _opinion(body, "summary", problems)
    _refuse(problems)
    await lifecycle.finish_implementation(request.app.state.ctx.engine, actor, p, summary)
    return {}


async def _monitor(request: Request, actor: Actor, p: Project, body: dict[str, Any]) -> dict[str, Any]:
    problems: Problems = []
    opinion = _opinion(body, "opinion", problems)
    _refuse(problems)
    await lifecycle.monitor_review(request.app.state.ctx.engine, actor, p, opinion)
    return {}


async def _accept(request: Request, actor: Actor, p: Project, body: dict[str, Any]) -> dict[str, Any]:
    problems: Problems = []
    passed = _flag(body, "passed", problems, required=True)
    opinion = _opinion(body, "opinion", problems)
    _refuse(problems)
    await lifecycle.accept(request.app.state.ctx.engine, actor, p, passed, opinion)
    return {}


async def _rectify_impl(request: Request, actor: Actor, p: Project, body: dict[str, Any]) -> dict[str, Any]:
    problems: Problems = []
    note = _opinion(body, "note", problems)
    _refuse(problems)
    await lifecycle.rectify_implementation(request.app.state.ctx.engine, actor, p, note)
    return {}


async def _self_eval(request: Request, actor: Actor, p: Project, body: dict[str, Any]) -> dict[str, Any]:
    problems: Problems = []
    raw = body.get("actuals")
    ids = set(await PerformanceIndicator.filter(project_id=p.id).values_list("id", flat=True))
    actuals: dict[int, Decimal] = {}
    if not isinstance(raw, dict):
        _problem(problems, "actuals", "required" if raw is None else "type",
                 "actuals must be an object: indicator id → actual value")
    else:
        for key in raw:
            if not key.isdecimal() or int(key) not in ids:
                _problem(problems, f"actuals.{key}", "unknown", f"indicator {key} is not one of this project's")
                continue
            value = _number(raw, key, problems, prefix="actuals.")
            if value is not None:
                actuals[int(key)] = value
        missing = sorted(i for i in ids if str(i) not in raw)
        if missing:
            _problem(problems, "actuals", "incomplete", f"every indicator needs its actual value; missing {missing}")
    report = _opinion(body, "report", problems)
    _refuse(problems)
    result = await lifecycle.self_evaluate(request.app.state.ctx.engine, actor, p, actuals, report)
    return {"total": _money(result.total), "grade": result.grade}


async def _evaluate(request: Request, actor: Actor, p: Project, body: dict[str, Any]) -> dict[str, Any]:
    problems: Problems = []
    opinion = _opinion(body, "opinion", problems)
    _refuse(problems)
    result = await lifecycle.evaluate_performance(request.app.state.ctx.engine, actor, p, opinion)
    return {"total": _money(result.total), "grade": result.grade, "details": result.details}


async def _rectify(request: Request, actor: Actor, p: Project, body: dict[str, Any]) -> dict[str, Any]:
    problems: Problems = []
    plan = _opinion(body, "plan", problems)
    _refuse(problems)
    await lifecycle.rectify(request.app.state.ctx.engine, actor, p, plan)
    return {}


ACTIONS: dict[str, ActionFn] = {
    "county_review": _county_review, "revise": _revise, "score": _score, "decide_entry": _decide_entry,
    "assess": _assess, "remove": _remove, "fund": _fund, "milestone": _milestone, "execution": _execution,
    "finish": _finish, "monitor": _monitor, "accept": _accept, "rectify_impl": _rectify_impl,
    "self_eval": _self_eval, "evaluate": _evaluate, "rectify": _rectify,
}


async def project_action(request: Request, actor: Actor) -> Response:
    body = await json_body(request)
    problems: Problems = []
    action = _choice(body, "action", tuple(ACTIONS), problems)
    _refuse(problems)
    project = await _scoped_project(request, actor)
    try:
        result = await ACTIONS[str(action)](request, actor, project, body)
    except lifecycle.ProjectError as exc:
        raise _refused(exc) from exc
    fresh = await Project.get(id=project.id)
    return JSONResponse({"action": action, "result": result, "project": await project_detail(actor, fresh)})


# -- release batches ------------------------------------------------------------------------------------------


async def batch_json(batch: ReleaseBatch) -> dict[str, Any]:
    items = await ReleaseBatchItem.filter(batch_id=batch.id).order_by("rank").select_related("project")
    total = sum((Decimal(str(i.amount)) for i in items), Decimal(0))
    committed = await queries.committed_amount(batch.year, batch.source, exclude=batch.id)
    return {"id": batch.id, "code": batch.code, "year": batch.year, "source": batch.source,
            "budget": _money(batch.budget), "status": batch.status, "committed_before": _money(committed),
            "total": _money(total), "left": _money(Decimal(str(batch.budget)) - committed - total),
            "confirmed_by": batch.confirmed_by,
            "items": [{"rank": i.rank, "project_id": i.project_id, "code": i.project.code, "name": i.project.name,
                       "review_score": _money(i.project.review_score), "amount": _money(i.amount),
                       "stage": i.project.stage} for i in items]}


def _require_city(actor: Actor) -> None:
    if "city_manager" not in actor.roles:
        raise ApiError(403, "forbidden", "只有市级管理人员可以编制和确认出库批次。")


async def _scoped_batch(request: Request, actor: Actor) -> ReleaseBatch:
    raw = str(request.path_params["batch_id"])
    batch = await lifecycle.batch_for(actor, int(raw)) if raw.isdecimal() and int(raw) <= MAX_ID else None
    if batch is None:
        raise ApiError(404, "not_found", f"batch {raw} does not exist or is outside your scope")
    return batch


async def create_batch(request: Request, actor: Actor) -> Response:
    body = await json_body(request)
    problems: Problems = []
    year = _integer(body.get("year"))
    if year is None or not 2000 <= year <= 2100:
        _problem(problems, "year", "required" if body.get("year") is None else "range",
                 "year must be an integer 2000-2100")
    source = _choice(body, "source", FUNDING_SOURCES, problems)
    budget = _number(body, "budget", problems, low=CENT_MIN)
    _refuse(problems, "invalid batch")
    assert isinstance(year, int) and source is not None and budget is not None
    _require_city(actor)
    committed = await queries.committed_amount(year, source)
    if budget <= committed:
        raise ApiError(422, "validation_failed", "invalid batch", [{
            "field": "budget", "code": "exhausted",
            "message": f"该年度该资金来源已出库 {rules.money(committed)} 元,年度可用额度须大于此数。"}])
    proposal = await lifecycle.propose(actor, year, source, budget)
    batch = await lifecycle.create_batch(request.app.state.ctx.engine, actor, year, source, budget)
    return JSONResponse({**await batch_json(batch), "arithmetic": proposal.steps}, status_code=201)


async def get_batch(request: Request, actor: Actor) -> Response:
    _require_city(actor)
    return JSONResponse(await batch_json(await _scoped_batch(request, actor)))


async def adjust_batch(request: Request, actor: Actor) -> Response:
    body = await json_body(request)
    problems: Problems = []
    ids: dict[str, int | None] = {}
    for key in ("add", "remove"):
        value = _integer(body.get(key))
        if body.get(key) is not None and (value is None or not 1 <= value <= MAX_ID):
            _problem(problems, key, "type", f"{key} must be a project id")
        ids[key] = value if value is not None and 1 <= value <= MAX_ID else None
    if not problems and ids["add"] is None and ids["remove"] is None:
        _problem(problems, "add", "required", "give add or remove (a project id)")
    _refuse(problems, "invalid adjustment")
    _require_city(actor)
    batch = await _scoped_batch(request, actor)
    try:
        await lifecycle.adjust_batch(actor, batch, add=ids["add"], remove=ids["remove"])
    except lifecycle.ProjectError as exc:
        raise _refused(exc) from exc
    return JSONResponse(await batch_json(batch))


async def confirm_batch(request: Request, actor: Actor) -> Response:
    _require_city(actor)
    batch = await _scoped_batch(request, actor)
    try:
        n = await lifecycle.confirm_batch(request.app.state.ctx.engine, actor, batch)
    except (lifecycle.ProjectError, ConflictError) as exc:
        if isinstance(exc, lifecycle.NotAllowed):
            raise _refused(exc) from exc
        raise ApiError(409, "conflict", str(exc)) from exc
    fresh = await ReleaseBatch.get(id=batch.id)
    return JSONResponse({**await batch_json(fresh), "released": n})


api_routes = [
    Route("/projects", methods(GET=endpoint(list_projects), POST=endpoint(submit_project))),
    Route("/projects/{project_id}", methods(GET=endpoint(get_project), PUT=endpoint(edit_project))),
    Route("/projects/{project_id}/actions", methods(POST=endpoint(project_action))),
    Route("/project-batches", methods(POST=endpoint(create_batch))),
    Route("/project-batches/{batch_id}", methods(GET=endpoint(get_batch))),
    Route("/project-batches/{batch_id}/adjust", methods(POST=endpoint(adjust_batch))),
    Route("/project-batches/{batch_id}/confirm", methods(POST=endpoint(confirm_batch))),
]
