"""我的待办: the inbox with filters, saved filters (personal and shared per org unit) and bulk actions."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from engine import authz
from engine.authz import Actor
from engine.errors import ConflictError, InvalidTaskState, NotFound
from engine.forms import FormValidationError
from engine.models import HumanTask, OrgUnit, ProcessDefinition, ProcessInstance
from engine.runtime import Engine, ProcessScriptError, parse_uuid
from web import inbox_jobs as jobs
from web.auth import ctx_of, login_required
from web.forms import coerce_form, error_message_zh, render_form
from web.models import BulkJob, SavedFilter
from web.render import flash, page

PAGE_SIZE = 20
MAX_BULK = 200
VIEWS = {"todo": "我的待办", "mine": "我已签收", "done": "已办", "scope": "本级及下级"}
SORTS = {"due": ("due_at", "created_at"), "-created": ("-created_at",), "created": ("created_at",),
         "priority": ("-priority", "created_at")}
FILTER_KEYS = ("view", "process", "due", "sort", "q", "org")


async def process_names() -> dict[str, str]:
    rows = await ProcessDefinition.all().order_by("key", "version").values("key", "name")
    return {r["key"]: r["name"] for r in rows}


def clean_params(raw: Mapping[str, Any]) -> dict[str, str]:
    """Only known filter keys, with invalid values replaced by defaults (a saved filter stores this)."""
    params = {k: str(raw.get(k, "") or "")[:100] for k in FILTER_KEYS}
    params["view"] = params["view"] if params["view"] in VIEWS else "todo"
    params["sort"] = params["sort"] if params["sort"] in SORTS else "due"
    params["due"] = params["due"] if params["due"] in ("overdue", "soon") else ""
    return params


def task_query(actor: Actor, params: Mapping[str, str], now: datetime) -> QuerySet[HumanTask]:
    """The inbox query for these filters; scoped by `engine.authz`, never wider."""
    view = params["view"]
    if view == "todo":
        qs = authz.actionable_tasks(actor)
    elif view == "mine":
        qs = authz.actionable_tasks(actor).filter(assignee=actor.username)
    elif view == "done":
        qs = HumanTask.filter(completed_by=actor.username, state="DONE", org_path__startswith=actor.org_path)
    else:
        qs = authz.visible_tasks(actor).filter(state__in=authz.OPEN_STATES)
    if params.get("process"):
        qs = qs.filter(process_key=params["process"])
    if params.get("due") == "overdue":
        qs = qs.filter(due_at__lt=now)
    elif params.get("due") == "soon":
        qs = qs.filter(due_at__gte=now, due_at__lt=now + timedelta(days=3))
    if params.get("q"):
        qs = qs.filter(title__icontains=params["q"])
    if params.get("org") and len(params["org"]) <= 32:  # longer names no org unit (the column refuses it)
        qs = qs.filter(Q(org_unit=params["org"]) | Q(org_path__contains=f"/{params['org']}/"))
    return qs


async def visible_filters(actor: Actor) -> list[SavedFilter]:
    return await SavedFilter.filter(Q(owner=actor.username) | Q(shared_org=actor.org_code)).order_by("name")


@login_required
async def inbox(request: Request, actor: Actor) -> Response:
    saved_id = request.query_params.get("f")
    saved = None
    if saved_id and saved_id.isdecimal():
        saved = next((f for f in await visible_filters(actor) if f.id == int(saved_id)), None)
    params = clean_params(saved.params if saved else request.query_params)
    try:
        page_no = max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        page_no = 1
    now = ctx_of(request).engine.clock.now()
    qs = task_query(actor, params, now)
    sort = "-created" if params["view"] == "done" and params["sort"] == "due" else params["sort"]
    total = await qs.count()
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page_no = min(page_no, pages)
    tasks = await qs.order_by(*SORTS[sort]).offset((page_no - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    org_names = {o.code: o.name for o in await OrgUnit.filter(code__in={t.org_unit for t in tasks})}
    counts = {
        "todo": await authz.actionable_tasks(actor).count(),
        "mine": await authz.actionable_tasks(actor).filter(assignee=actor.username).count(),
        "overdue": await authz.actionable_tasks(actor).filter(due_at__lt=now).count(),
    }
    filters = await visible_filters(actor)
    filter_counts = {f.id: await task_query(actor, clean_params(f.params), now).count() for f in filters}
    scope_orgs = await authz.visible_org_units(actor).filter(level__in=["county", "township"]).order_by("path")
    active_jobs = await BulkJob.filter(owner=actor.username, status__in=["pending", "running"]).order_by(
        "-id").limit(3)
    return page(request, "inbox.html", {
        "active_jobs": active_jobs, "job_labels": jobs.ACTION_LABELS,
        "tasks": tasks, "total": total, "page": page_no, "pages": pages, "view": params["view"], "views": VIEWS,
        "counts": counts, "processes": await process_names(), "params": params, "now": now,
        "soon": now + timedelta(days=3), "org_names": org_names, "filters": filters,
        "filter_counts": filter_counts, "saved": saved, "scope_orgs": scope_orgs,
        "query": lambda **kw: urlencode({**params, **kw}),
    }, block="task_list")


@login_required
async def export(request: Request, actor: Actor) -> Response:
    """The current inbox list (same filters, same scope) as XLSX, up to 5,000 rows."""
    from web.render import SHANGHAI
    from web.xlsx import xlsx_response

    params = clean_params(request.query_params)
    now = ctx_of(request).engine.clock.now()
    tasks = await task_query(actor, params, now).order_by(*SORTS[params["sort"]]).limit(5000)
    names = await process_names()

    def local(value: datetime | None) -> str:
        return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if value else ""

    headers = ["事项", "流程", "单位代码", "角色", "状态", "签收人", "期限", "到达时间"]
    return xlsx_response("inbox.xlsx", VIEWS[params["view"]], headers,
                         [[t.title, names.get(t.process_key, t.process_key), t.org_unit, t.candidate_role, t.state,
                           t.assignee or "", local(t.due_at), local(t.created_at)] for t in tasks])


@login_required
async def save_filter(request: Request, actor: Actor) -> Response:
    form = await request.form()
    name = str(form.get("name", "")).strip()
    params = clean_params(form)
    if not name or len(name) > 50:
        flash(request, "请填写 1-50 字的筛选名称。", "error")
        return RedirectResponse("/inbox?" + urlencode(params), status_code=303)
    shared = form.get("shared") == "on"
    saved = await SavedFilter.create(name=name, params=params, created_by=actor.username,
                                     owner=None if shared else actor.username,
                                     shared_org=actor.org_code if shared else None)
    flash(request, f"已保存筛选「{name}」" + (f"(与{actor.org_name}共享)" if shared else ""))
    return RedirectResponse(f"/inbox?f={saved.id}", status_code=303)


@login_required
async def delete_filter(request: Request, actor: Actor) -> Response:
    saved = await SavedFilter.get_or_none(id=request.path_params["filter_id"])
    if saved is None or saved.created_by != actor.username:
        raise HTTPException(404, "筛选不存在或不是您创建的。")
    await saved.delete()
    flash(request, f"已删除筛选「{saved.name}」")
    return RedirectResponse("/inbox", status_code=303)


# -- bulk actions --------------------------------------------------------------------------------

@dataclass
class ItemResult:
    task: HumanTask | None
    task_id: str
    ok: bool
    message: str


async def _bulk_tasks(actor: Actor, ids: list[str]) -> list[tuple[str, HumanTask | None]]:
    keys = [k for k in (parse_uuid(i) for i in ids) if k is not None]  # a forged non-UUID id names no task
    found = {str(t.id): t for t in await authz.visible_tasks(actor).filter(id__in=keys)} if keys else {}
    return [(i, found.get(str(parse_uuid(i)))) for i in ids]


async def run_item(engine: Engine, actor: Actor, action: str, task: HumanTask, *, to: str = "",
                   data: dict[str, Any] | None = None, schema: dict[str, Any] | None = None) -> tuple[bool, str]:
    """One item of a bulk action, checked against `engine.authz` as a single action would be: (ok, message)."""
    try:
        if action == "claim":
            if not authz.can_claim(actor, task):
                raise PermissionError("角色、单位不符或已被签收")
            await engine.claim(task.id, actor=actor.username)
            return True, "已签收"
        if action == "reassign":
            if not authz.can_reassign(actor, task):
                raise PermissionError("您无权改派该事项")
            try:
                await engine.reassign(task.id, actor=actor.username, to=to, expected_assignee=task.assignee)
            except FormValidationError as exc:
                raise PermissionError(f"接收人 {to} 不能办理该事项(角色或单位不符)") from exc
            return True, f"已改派给 {to}"
        if action == "unclaim":
            if task.assignee != actor.username:
                raise PermissionError("不是您签收的事项")
            await engine.unclaim(task.id, actor=actor.username)
            return True, "已退回签收"
        if not authz.can_act(actor, task):
            raise PermissionError("您不能办理该事项")
        await engine.complete_task(task.id, data or {}, actor=actor.username)
        return True, "已办理"
    except PermissionError as exc:
        return False, str(exc)
    except FormValidationError as exc:
        reasons = ";".join(error_message_zh(e, schema or {}) for e in exc.errors)
        return False, f"表单校验未通过:{reasons}"
    except (ConflictError, InvalidTaskState, NotFound):
        return False, "事项状态已变化(可能已被他人处理)"
    except ProcessScriptError as exc:
        return False, f"流程执行出错:{exc}"


def _filter_params(form: Mapping[str, Any]) -> dict[str, str]:
    """The inbox filter a "select all matching" bulk form carries (as filter_<key> fields)."""
    return clean_params({k: form.get(f"filter_{k}", "") for k in FILTER_KEYS})


@login_required
async def bulk(request: Request, actor: Actor) -> Response:
    """Claim / unclaim / complete many tasks; each item succeeds or fails on its own, with a reason.
    Ticked rows (at most MAX_BULK) run at once; "all matching the filter" runs as a background job in chunks."""
    form = await request.form()
    all_matching = form.get("all_matching") == "1"
    engine = ctx_of(request).engine
    if all_matching:
        params = _filter_params(form)
        ids = [str(i) for i in await task_query(actor, params, engine.clock.now()).order_by(
            *SORTS[params["sort"]]).limit(jobs.MAX_JOB).values_list("id", flat=True)]
    else:
        ids = list(dict.fromkeys(str(i) for i in form.getlist("task_ids")))[:MAX_BULK]
    action = str(form.get("action", ""))
    if not ids:
        flash(request, "没有符合筛选条件的事项。" if all_matching else "请先勾选事项。", "error")
        return RedirectResponse("/inbox", status_code=303)
    if action not in ("claim", "unclaim", "complete", "reassign"):
        raise HTTPException(400, "不支持的批量操作。")
    reassign_to = str(form.get("to", "")).strip()
    if action == "reassign" and not reassign_to:
        flash(request, "批量改派请填写接收人的用户名。", "error")
        return RedirectResponse("/inbox", status_code=303)
    items = await _bulk_tasks(actor, ids)
    schema: dict[str, Any] | None = None
    data: dict[str, Any] = {}
    if action == "complete":
        forms = {t.form for _, t in items if t is not None}
        if len(forms) != 1:
            flash(request, "批量办理只能选择同一环节(同一表单)的事项。", "error")
            return RedirectResponse("/inbox", status_code=303)
        first = next(t for _, t in items if t is not None)
        instance = await ProcessInstance.get(id=first.instance_id)
        deployed = await engine.specs.get(instance.definition_id)
        schema = deployed.forms.get(first.form) if first.form else None
        if form.get("confirm") != "yes":  # first step: show the shared form once
            return page(request, "inbox_bulk.html", {
                "items": items[:PAGE_SIZE] if all_matching else items, "ids": ids, "task": first,
                "all_matching": all_matching, "filter": _filter_params(form) if all_matching else {},
                "form_html": render_form(schema, None, []) if schema else None})
        raw = {k: form.getlist(k) for k in set(form.keys()) if k not in ("task_ids", "action", "confirm",
                                                                           "csrf_token", "all_matching")
               and not k.startswith("filter_")}
        data = coerce_form(schema, raw) if schema else {}
    if all_matching:
        job = await jobs.create_job(actor, action, ids, now=engine.clock.now(), to=reassign_to or None, data=data)
        jobs.start(engine, actor, job.id, schema)
        return RedirectResponse(f"/inbox/bulk/{job.id}", status_code=303)
    results: list[ItemResult] = []
    for task_id, task in items:
        if task is None:
            results.append(ItemResult(None, task_id, False, "事项不存在或不在您的范围内"))
            continue
        ok, message = await run_item(engine, actor, action, task, to=reassign_to, data=data, schema=schema)
        results.append(ItemResult(task, task_id, ok, message))
    done = sum(r.ok for r in results)
    return page(request, "inbox_bulk_result.html", {"results": results, "done": done, "action": action,
                                                    "failed": len(results) - done})


routes = [
    Route("/inbox", inbox),
    Route("/inbox/export.xlsx", export),
    Route("/inbox/filters", save_filter, methods=["POST"]),
    Route("/inbox/filters/{filter_id:int}/delete", delete_filter, methods=["POST"]),
    Route("/inbox/bulk", bulk, methods=["POST"]),
    Route("/inbox/bulk/{job_id:int}", jobs.job_page),
    Route("/inbox/bulk/{job_id:int}/resume", jobs.resume, methods=["POST"]),
]
