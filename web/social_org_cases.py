"""社会组织 follow-up pages: checklist findings tracked to closure, 异议 against credit-list entries (filed on a
public page by the organization, decided by the authority), and 撤销登记 cases.

    GET  /social-org/findings?status=open|overdue|closed|all    findings in the actor's scope, overdue marked
    POST /social-org/findings/{id}/close                        closure note + optional evidence file
    POST /social-org/findings/{id}/progress                     the owner unit reports progress: note + optional
                                                                evidence file (closing stays with the authority)
    GET  /social-org/findings/{id}/evidence/{attachment_id}     a progress or closure file, for whoever sees it
    POST /social-org/findings/{id}/edit                         owner (the organization, its 业务主管单位 or an
                                                                org unit in scope), corrective action, due date
    GET  /social-org/objections                                 objections in scope
    POST /social-org/objections/{id}/decide                     upheld (entry removed) / rejected
    GET  /social-org/revocations/{id}, POST …/step              the case, its history and the next step
    GET|POST /public/social-org/credit/{entry_id}/objection     no login: the organization files an objection
"""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from engine import authz, collab
from engine.authz import Actor
from engine.forms import FormValidationError
from engine.models import Attachment, OrgUnit, ProcessInstance
from web.auth import ctx_of, login_required
from web.collab import display_names, file_response, message_zh, store_of
from web.render import flash, page
from web.security import csrf_ok
from web.social_org import LABELS, MANAGE_ROLES, VIEW_ROLES, _int, _require, _today
from workflows.common import findings as finding_rules
from workflows.common.models import ChecklistRecord, FindingRecord
from workflows.social_org import credit, revocation
from workflows.social_org.models import (
    OBJECTION_STATUSES,
    REVOCATION_STAGES,
    CreditListEntry,
    CreditObjection,
    RevocationCase,
    RevocationEvent,
    SpotCheckTarget,
)
from workflows.social_org.register import parse_date
from workflows.social_org.spot_check import SUBJECT_TYPE

FINDING_FILTERS = {"open": "待整改", "overdue": "已逾期", "closed": "已关闭", "all": "全部"}
CLOSE_ROLES = MANAGE_ROLES | {"inspector"}
# Staff of an org unit that owns a corrective action (a township, a county or city department): they see the
# findings their unit owns and report progress on them.
OWNER_ROLES = frozenset({"township_clerk", "township_reviewer", "county_reviewer", "city_manager", "so_supervisor"})
CASE_LABELS = {"OBJECTION_STATUSES": OBJECTION_STATUSES, "REVOCATION_STAGES": REVOCATION_STAGES,
               "FINDING_STATUSES": finding_rules.FINDING_STATUSES, "ACTIONS": revocation.ACTIONS}


# -- findings -------------------------------------------------------------------------------------------------------

OWNER_LEVELS = finding_rules.OWNER_LEVELS


async def owner_scope(actor: Actor) -> list[str]:
    """The owner units whose findings this actor sees and reports progress on (none without an owner role)."""
    return await finding_rules.owner_codes(actor.org_path) if actor.roles & OWNER_ROLES else []


def may_close(actor: Actor, row: FindingRecord) -> bool:
    return bool(actor.roles & CLOSE_ROLES) and authz.can_see_path(actor, row.scope_path)


def may_edit(actor: Actor, row: FindingRecord) -> bool:
    return bool(actor.roles & MANAGE_ROLES) and authz.can_see_path(actor, row.scope_path)


async def _owner_units(actor: Actor) -> dict[str, OrgUnit]:
    rows = await OrgUnit.filter(path__startswith=actor.org_path, level__in=OWNER_LEVELS).order_by("path")
    return {o.code: o for o in rows}


async def _owner_choices(rows: list[FindingRecord], units: dict[str, OrgUnit]) -> dict[int, dict[str, str]]:
    """Per finding: choice key → owner name. The organization itself, its 业务主管单位 where it has one, and the
    org units of the actor's scope (e.g. a township that must act, or another department)."""
    target_ids = [_int(r.subject_id) for r in rows if r.subject_type == SUBJECT_TYPE]
    targets = {str(t.id): t for t in await SpotCheckTarget.filter(id__in=target_ids).prefetch_related(
        "organization")} if target_ids else {}
    choices: dict[int, dict[str, str]] = {}
    for r in rows:
        target = targets.get(r.subject_id) if r.subject_type == SUBJECT_TYPE else None
        own: dict[str, str] = {}
        if target is not None:
            own["organization"] = target.organization.name
            if target.organization.supervisor_unit:
                own["supervisor"] = target.organization.supervisor_unit
        elif not r.owner_unit_code:
            own["current"] = r.owner
        choices[r.id] = {**own, **{f"unit:{code}": u.name for code, u in units.items()}}
    return choices


def _owner_choice_of(row: FindingRecord, choices: dict[str, str]) -> str:
    if row.owner_unit_code:
        return f"unit:{row.owner_unit_code}"
    return next((k for k, v in choices.items() if not k.startswith("unit:") and v == row.owner), "")


async def _finding_page(request: Request, actor: Actor, status: str, *,
                        edit_errors: dict[int, str] | None = None, edit_values: dict[int, dict[str, str]] | None = None,
                        status_code: int = 200) -> Response:
    status = status if status in FINDING_FILTERS else "open"
    today = _today(request)
    codes = await owner_scope(actor)
    base = finding_rules.visible(actor.org_path, codes)
    qs = base
    if status == "overdue":
        qs = finding_rules.overdue(qs, today)
    elif status in ("open", "closed"):
        qs = qs.filter(status=status)
    rows = await qs.order_by("status", "due_date", "id").limit(500)
    counts = {"open": await base.filter(status="open").count(),
              "overdue": await finding_rules.overdue(base, today).count()}
    editable = [r for r in rows if r.status == "open" and may_edit(actor, r)]
    choices = await _owner_choices(editable, await _owner_units(actor)) if editable else {}
    values = {r.id: {"owner_choice": _owner_choice_of(r, choices.get(r.id, {})),
                     "corrective_action": r.corrective_action, "due_date": str(r.due_date)}
              for r in rows if r.id in choices}
    values.update(edit_values or {})
    owner_set = set(codes)
    progress = await finding_rules.progress_of([r.id for r in rows])
    names = await display_names({p.reported_by for ps in progress.values() for p in ps}
                                | {r.closed_by or "" for r in rows} | {r.updated_by or "" for r in rows})
    return page(request, "social_org_findings.html", {
        "rows": rows, "status": status, "filters": FINDING_FILTERS, "counts": counts, "today": today,
        "closable": {r.id for r in rows if r.status == "open" and may_close(actor, r)},
        "reportable": {r.id for r in rows if r.status == "open" and finding_rules.owned_by(r, owner_set)},
        "progress": progress, "names": names,
        "can_edit": bool(choices), "choices": choices, "show_nav": bool(actor.roles & VIEW_ROLES),
        "edit_values": values, "edit_errors": edit_errors or {}, **CASE_LABELS}, status_code=status_code)


@login_required
async def finding_list(request: Request, actor: Actor) -> Response:
    _require(actor, VIEW_ROLES | OWNER_ROLES)
    return await _finding_page(request, actor, request.query_params.get("status", "open"))


async def _visible_finding(actor: Actor, finding_id: int) -> FindingRecord:
    row = await FindingRecord.get_or_none(id=finding_id)
    if row is None or not (authz.can_see_path(actor, row.scope_path)
                           or finding_rules.owned_by(row, await owner_scope(actor))):
        raise HTTPException(404, "问题记录不存在或不在您的管理范围内。")
    return row


def _back(form: object) -> str:
    back = str(getattr(form, "get")("back", "")) or "/social-org/findings"
    return back if back.startswith("/social-org/") else "/social-org/findings"


async def _store_evidence(request: Request, actor: Actor, row: FindingRecord, upload: object) -> int | str | None:
    """An uploaded evidence file stored as an attachment of the checklist's instance: its id, None when no file
    was sent, or the Chinese reason it was not stored."""
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    store = store_of(request)
    content = await upload.read(store.max_bytes + 1)
    record = await ChecklistRecord.get(id=row.record_id)
    instance = await ProcessInstance.get_or_none(id=record.instance_id) if record.instance_id else None
    if instance is None:
        return "该检查没有关联的办理流程,无法保存佐证材料。"
    try:
        attachment, _ = await collab.add_attachment(store, instance=instance, task=None, filename=upload.filename,
                                                    content=content, actor=actor.username,
                                                    now=ctx_of(request).engine.clock.now())
    except FormValidationError as exc:
        return "佐证材料未保存:" + message_zh(exc.errors[0], store, len(content))
    return attachment.id


@login_required
async def finding_evidence(request: Request, actor: Actor) -> Response:
    """An evidence file of a finding (a progress report's or the closure's), for whoever sees the finding: the
    owner unit sees findings of a case outside its own scope, so the case's attachment link would refuse it."""
    row = await _visible_finding(actor, _int(request.path_params["finding_id"]))
    attachment_id = _int(request.path_params["attachment_id"])
    linked = {p.evidence_attachment_id for p in (await finding_rules.progress_of([row.id])).get(row.id, [])}
    attachment = await Attachment.get_or_none(id=attachment_id) \
        if attachment_id in linked | {row.evidence_attachment_id} else None
    if attachment is None:
        raise HTTPException(404, "佐证材料不存在。")
    return file_response(store_of(request), attachment)


@login_required
async def finding_progress(request: Request, actor: Actor) -> Response:
    """A user of the owner unit reports progress (note + optional evidence file); the finding stays open."""
    _require(actor, OWNER_ROLES)
    row = await _visible_finding(actor, _int(request.path_params["finding_id"]))
    if not finding_rules.owned_by(row, await owner_scope(actor)):
        raise HTTPException(403, "只有整改责任单位可以报送整改进展。")
    form = await request.form()
    back = _back(form)
    note = str(form.get("note", ""))
    if row.status != "open":
        flash(request, "该问题已关闭,不能再报送进展。", "error")
        return RedirectResponse(back, status_code=303)
    if len(note.strip()) < 2:  # checked before the file is stored: a refused report leaves no orphan file
        flash(request, "请填写整改进展说明(已采取的措施、完成情况等)。", "error")
        return RedirectResponse(back, status_code=303)
    evidence = await _store_evidence(request, actor, row, form.get("evidence"))
    if isinstance(evidence, str):
        flash(request, evidence, "error")
        return RedirectResponse(back, status_code=303)
    try:
        await finding_rules.report_progress(row.id, actor=actor.username, unit_code=actor.org_code, note=note,
                                            now=ctx_of(request).engine.clock.now(), evidence_attachment_id=evidence)
    except finding_rules.FindingError as exc:
        flash(request, str(exc), "error")
    else:
        flash(request, f"已报送整改进展:{row.label}")
    return RedirectResponse(back, status_code=303)


@login_required
async def finding_close(request: Request, actor: Actor) -> Response:
    _require(actor, CLOSE_ROLES)
    row = await _visible_finding(actor, _int(request.path_params["finding_id"]))
    if not may_close(actor, row):
        raise HTTPException(403, "问题由登记管理机关复查后关闭。")
    form = await request.form()
    note = str(form.get("note", ""))
    back = _back(form)
    if row.status != "open":
        flash(request, "该问题已关闭。", "error")
        return RedirectResponse(back, status_code=303)
    if len(note.strip()) < 2:
        flash(request, "关闭问题时请填写整改情况说明(整改措施、复查结论等)。", "error")
        return RedirectResponse(back, status_code=303)
    evidence = await _store_evidence(request, actor, row, form.get("evidence"))
    if isinstance(evidence, str):
        flash(request, evidence, "error")
        return RedirectResponse(back, status_code=303)
    evidence_id = evidence
    try:
        await finding_rules.close_finding(row.id, actor=actor.username, note=note,
                                          now=ctx_of(request).engine.clock.now(), evidence_attachment_id=evidence_id)
    except finding_rules.FindingError as exc:
        flash(request, str(exc), "error")
    else:
        flash(request, f"已关闭问题:{row.label}")
    return RedirectResponse(back, status_code=303)


@login_required
async def finding_edit(request: Request, actor: Actor) -> Response:
    """The authority changes the owner, the corrective action or the due date of an open finding (audited). A
    refused change re-renders the list with the input kept and the reason next to the form (422)."""
    _require(actor, MANAGE_ROLES)
    row = await _visible_finding(actor, _int(request.path_params["finding_id"]))
    if not may_edit(actor, row):
        raise HTTPException(403, "整改要求由登记管理机关修改。")
    form = await request.form()
    values = {k: str(form.get(k, "")).strip()[:4000] for k in ("owner_choice", "corrective_action", "due_date")}
    back = str(form.get("back", "")) or "/social-org/findings"
    back = back if back.startswith("/social-org/") else "/social-org/findings"
    if row.status != "open":  # closed meanwhile: its form is gone from the list, say so on the list
        flash(request, "该问题已关闭,不能再修改整改要求。", "error")
        return RedirectResponse(back, status_code=303)
    units = await _owner_units(actor)
    choices = (await _owner_choices([row], units)).get(row.id, {})
    error = None
    due = parse_date(values["due_date"]) if values["due_date"] else None
    if values["owner_choice"] not in choices:
        error = "请选择整改责任方(本社会组织、业务主管单位或您管理范围内的单位)。"
    elif due is None:
        error = "请填写有效的整改期限(如 2026-05-01)。"
    else:
        unit_code = values["owner_choice"].removeprefix("unit:") if values["owner_choice"].startswith("unit:") \
            else None
        try:
            await finding_rules.update_finding(
                row.id, actor=actor.username, owner=choices[values["owner_choice"]], owner_unit_code=unit_code,
                corrective_action=values["corrective_action"], due_date=due, today=_today(request),
                now=ctx_of(request).engine.clock.now())
        except finding_rules.FindingError as exc:
            error = str(exc) + "。"
    if error is None:
        flash(request, f"已修改整改要求:{row.label}")
        return RedirectResponse(back, status_code=303)
    shown = back.partition("status=")[2].partition("&")[0] or "open"
    return await _finding_page(request, actor, shown, edit_errors={row.id: error}, edit_values={row.id: values},
                               status_code=422)


# -- objections -----------------------------------------------------------------------------------------------------

async def _public_entry(request: Request) -> CreditListEntry:
    entry = await CreditListEntry.get_or_none(id=_int(request.path_params["entry_id"])).prefetch_related(
        "organization")
    if entry is None:
        raise HTTPException(404, "名录记录不存在。")
    return entry


async def public_objection(request: Request) -> Response:
    """No login: an organization contests a listing. The form needs the session's CSRF token like every form."""
    entry = await _public_entry(request)
    values = {k: "" for k in ("uscc", "representative", "applicant", "contact", "reason")}
    error = None
    status = 200
    if request.method == "POST":
        form = await request.form()
        if not csrf_ok(request, form):
            raise HTTPException(403, "表单已过期,请刷新页面后重新提交。")
        values = {k: str(form.get(k, ""))[:4000] for k in values}
        if any("\x00" in v for v in values.values()):  # what login_required refuses on the other forms
            raise HTTPException(422, "提交的内容包含非法字符(NUL),未作任何更改。")
        throttle = ctx_of(request).objection_throttle
        key, client = f"entry:{entry.id}", request.client.host if request.client else "?"
        try:
            if throttle.blocked(key, client):
                raise credit.CreditRuleError("身份核对失败次数过多,请 15 分钟后再试。")
            await credit.file_objection(entry.id, uscc=values["uscc"], representative=values["representative"],
                                        applicant=values["applicant"], contact=values["contact"],
                                        reason=values["reason"], day=_today(request))
        except credit.IdentityMismatch as exc:
            throttle.failed(key, client)
            error, status = str(exc), 422
        except credit.CreditRuleError as exc:
            error, status = str(exc), 429 if throttle.blocked(key, client) else 422
        else:
            flash(request, "异议已提交,登记管理机关将核查并答复。")
            return RedirectResponse(f"/public/social-org/credit/{entry.id}/objection", status_code=303)
    objections = await CreditObjection.filter(entry_id=entry.id).order_by("-id")
    history = await CreditListEntry.filter(organization_id=entry.organization_id).order_by("-entered_on", "-id")
    return page(request, "social_org_public_objection.html", {
        "entry": entry, "org": entry.organization, "values": values, "error": error, "objections": objections,
        "history": history, **LABELS, **CASE_LABELS}, status_code=status)


@login_required
async def objection_list(request: Request, actor: Actor) -> Response:
    _require(actor, VIEW_ROLES)
    rows = await CreditObjection.filter(
        entry__organization__authority_path__startswith=actor.org_path).prefetch_related(
        "entry__organization").order_by("status", "-filed_on", "-id").limit(300)
    return page(request, "social_org_objections.html", {
        "rows": rows, "can_manage": bool(actor.roles & MANAGE_ROLES), **LABELS, **CASE_LABELS})


@login_required
async def objection_decide(request: Request, actor: Actor) -> Response:
    _require(actor, MANAGE_ROLES)
    row = await CreditObjection.get_or_none(id=_int(request.path_params["objection_id"])).prefetch_related(
        "entry__organization")
    if row is None or not authz.can_see_path(actor, row.entry.organization.authority_path):
        raise HTTPException(404, "异议不存在或不在您的管理范围内。")
    form = await request.form()
    decision = str(form.get("decision", ""))
    if decision not in ("upheld", "rejected"):
        flash(request, "请选择处理结论:异议成立 或 异议不成立。", "error")
        return RedirectResponse("/social-org/objections", status_code=303)
    try:
        await credit.decide_objection(row.id, upheld=decision == "upheld", note=str(form.get("note", "")),
                                      actor=actor.username, day=_today(request))
    except credit.CreditRuleError as exc:
        flash(request, str(exc), "error")
    else:
        flash(request, "已记录异议处理结论" + (",该记录已移出名录。" if decision == "upheld" else ",维持列入。"))
    return RedirectResponse("/social-org/objections", status_code=303)


# -- revocation cases -----------------------------------------------------------------------------------------------

async def _visible_case(actor: Actor, case_id: int) -> RevocationCase:
    case = await RevocationCase.get_or_none(id=case_id).prefetch_related("organization")
    if case is None or not authz.can_see_path(actor, case.organization.authority_path):
        raise HTTPException(404, "案件不存在或不在您的管理范围内。")
    return case


@login_required
async def revocation_list(request: Request, actor: Actor) -> Response:
    _require(actor, VIEW_ROLES)
    rows = await RevocationCase.filter(organization__authority_path__startswith=actor.org_path).prefetch_related(
        "organization").order_by("status", "-opened_on", "-id").limit(300)
    return page(request, "social_org_revocations.html", {"rows": rows, **LABELS, **CASE_LABELS})


@login_required
async def revocation_detail(request: Request, actor: Actor) -> Response:
    _require(actor, VIEW_ROLES)
    case = await _visible_case(actor, _int(request.path_params["case_id"]))
    error = None
    values: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        _require(actor, MANAGE_ROLES)
        form = await request.form()
        values = {k: str(form.get(k, "")).strip()[:4000] for k in ("action", "on", "number", "note", "decision",
                                                                    "hearing_on")}
        on = parse_date(values["on"]) if values["on"] else None
        hearing_on = parse_date(values["hearing_on"]) if values["hearing_on"] else None
        if on is None:
            error = "请填写有效的办理日期(如 2026-03-01)。"
        elif values["hearing_on"] and hearing_on is None:
            error = "听证日期格式不正确(如 2026-03-01)。"
        else:
            try:
                await revocation.advance(case.id, revocation.Step(
                    action=values["action"], on=on, note=values["note"], number=values["number"],
                    decision=values["decision"], hearing_on=hearing_on), actor=actor.username, today=_today(request))
            except revocation.RevocationError as exc:
                error = str(exc)
            else:
                flash(request, f"已办理:{revocation.ACTIONS.get(values['action'], '')}")
                return RedirectResponse(f"/social-org/revocations/{case.id}", status_code=303)
        status = 422
    events = await RevocationEvent.filter(case_id=case.id).order_by("on", "id")
    return page(request, "social_org_revocation.html", {
        "case": case, "events": events, "error": error, "values": values, "today": _today(request),
        "next_actions": [a for a, stages in revocation.FROM_STAGES.items() if case.stage in stages],
        "can_manage": bool(actor.roles & MANAGE_ROLES), **LABELS, **CASE_LABELS}, status_code=status)


routes = [
    Route("/social-org/findings", finding_list),
    Route("/social-org/findings/{finding_id:int}/close", finding_close, methods=["POST"]),
    Route("/social-org/findings/{finding_id:int}/edit", finding_edit, methods=["POST"]),
    Route("/social-org/findings/{finding_id:int}/progress", finding_progress, methods=["POST"]),
    Route("/social-org/findings/{finding_id:int}/evidence/{attachment_id:int}", finding_evidence),
    Route("/social-org/objections", objection_list),
    Route("/social-org/objections/{objection_id:int}/decide", objection_decide, methods=["POST"]),
    Route("/social-org/revocations", revocation_list),
    Route("/social-org/revocations/{case_id:int}", revocation_detail, methods=["GET", "POST"]),
    Route("/public/social-org/credit/{entry_id:int}/objection", public_objection, methods=["GET", "POST"]),
]
