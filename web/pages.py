"""HTML pages: login, inbox (我的待办 / 已办), task form, instances, start (新建申请)."""

from __future__ import annotations

import math
import secrets
from typing import Any
from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from engine import authz
from engine.authz import Actor
from engine.errors import ConflictError, InvalidTaskState, NotFound
from engine.forms import FieldError, FormValidationError
from engine.models import AuditEvent, HumanTask, OrgUnit, ProcessDefinition, ProcessInstance, User
from engine.runtime import ProcessScriptError, parse_uuid
from engine.specs import DeployedSpec
from web import admin, cemetery, collab, dashboard, dibao, inbox, projects, social_org
from web.auth import ctx_of, load_actor, login_required
from web.diagram import render_svg
from web.display import VALUE_LABELS, VARIABLE_TITLES, display_value
from web.forms import coerce_form, error_message_zh, render_form
from web.privacy import mask_id
from web.render import flash, is_htmx, page
from web.roles import ROLES
from web.security import authenticate, csrf_ok, start_session
from web.social_org_cases import routes as social_org_case_routes

PAGE_SIZE = 20


# -- login ---------------------------------------------------------------------------------------

async def login(request: Request) -> Response:
    next_url = request.query_params.get("next", "/inbox")
    if not next_url.startswith("/") or next_url.startswith("//"):
        next_url = "/inbox"
    if request.method == "GET":
        return page(request, "login.html", {"next": next_url, "username": ""})
    form = await request.form()
    if not csrf_ok(request, form):
        return page(request, "login.html", {"next": next_url, "username": "",
                                             "error": "页面已过期,请重新输入。"}, status_code=403)
    username, password = str(form.get("username", "")).strip(), str(form.get("password", ""))
    client = request.client.host if request.client else "?"
    throttle = ctx_of(request).throttle
    if throttle.blocked(username, client):
        return page(request, "login.html", {"next": next_url, "username": username,
                                             "error": "登录失败次数过多,请 15 分钟后再试。"}, status_code=429)
    user = await authenticate(username, password)
    if user is None:
        throttle.failed(username, client)
        return page(request, "login.html", {"next": next_url, "username": username,
                                             "error": "用户名或密码错误。"}, status_code=401)
    throttle.succeeded(username)
    start_session(request, user)
    return RedirectResponse(next_url, status_code=303)


@login_required
async def logout(request: Request, actor: Actor) -> Response:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


async def home(request: Request) -> Response:
    return RedirectResponse("/inbox", status_code=303)


# -- inbox: see web/inbox.py ----------------------------------------------------------------------

async def _visible_task(actor: Actor, task_id: str) -> HumanTask:
    key = parse_uuid(task_id)
    task = await HumanTask.get_or_none(id=key) if key is not None else None
    if task is None:
        raise HTTPException(404, "待办事项不存在。")
    if not authz.can_view_task(actor, task):
        raise HTTPException(403, "您无权查看该事项。")
    return task


@login_required
async def claim(request: Request, actor: Actor) -> Response:
    task = await _visible_task(actor, request.path_params["task_id"])
    if not authz.can_claim(actor, task):
        raise HTTPException(403, "您不能签收该事项(角色或单位不符,或已被他人签收)。")
    try:
        await ctx_of(request).engine.claim(task.id, actor=actor.username)
        flash(request, f"已签收:{task.title}")
    except (ConflictError, NotFound):
        flash(request, "该事项已被他人签收或已办结。", "error")
    return RedirectResponse(request.headers.get("referer") or "/inbox", status_code=303) \
        if not is_htmx(request) else Response(headers={"HX-Refresh": "true"})


@login_required
async def unclaim(request: Request, actor: Actor) -> Response:
    task = await _visible_task(actor, request.path_params["task_id"])
    if task.assignee != actor.username:
        raise HTTPException(403, "只有签收人可以退回签收。")
    try:
        await ctx_of(request).engine.unclaim(task.id, actor=actor.username)
        flash(request, f"已取消签收:{task.title}")
    except ConflictError:
        flash(request, "该事项状态已变化。", "error")
    return RedirectResponse("/inbox", status_code=303) \
        if not is_htmx(request) else Response(headers={"HX-Refresh": "true"})


# -- task page -----------------------------------------------------------------------------------

def summary_rows(data: dict[str, Any], deployed: DeployedSpec) -> list[tuple[str, str]]:
    """Business data as (Chinese label, display value); engine bookkeeping (case_*) is left out, and so are
    variables with no Chinese title (neither a form field nor in display.VARIABLE_TITLES, e.g. stage)."""
    rows = []
    for key, value in data.items():
        title = deployed.field_titles.get(key) or VARIABLE_TITLES.get(key)
        if key.startswith("case_") or value is None or title is None:
            continue
        if isinstance(value, bool):
            shown = "是" if value else "否"
        elif key.endswith("id_number") and isinstance(value, str):  # 公民身份号码: masked, full only in the case file
            shown = mask_id(value)
        else:
            labels = deployed.enum_labels.get(key) or VALUE_LABELS.get(key, {})
            shown = labels.get(str(value), display_value(str(value)))
        rows.append((title, shown))
    return rows


async def actor_names(usernames: set[str]) -> dict[str, str]:
    names = {"engine": "系统", "scheduler": "定时任务", "system": "系统"}
    for username, display in await User.filter(username__in=sorted(usernames)).values_list("username",
                                                                                           "display_name"):
        names[str(username)] = str(display)
    return names


async def _instance_facts(instance: ProcessInstance, process_name: str) -> list[tuple[str, Any]]:
    org = await OrgUnit.get_or_none(code=instance.org_unit)
    facts: list[tuple[str, Any]] = [
        ("业务编号", instance.business_key or "—"),
        ("流程", f"{process_name}(第 {instance.process_version} 版)"),
        ("受理单位", org.name if org else instance.org_unit),
        ("状态", instance.status),
    ]
    return facts


async def domain_task_url(task: HumanTask) -> str | None:
    """Tasks whose work needs a domain page (scores, batches…) are done there, not in the generic form."""
    if task.process_key == "fund_project_lifecycle":
        from projects_registry.models import Project

        project = await Project.filter(instance_id=str(task.instance_id)).first()
        return f"/projects/{project.id}" if project else None
    if task.process_key == "social_org_spot_check" and task.bpmn_id == "Task_checklist":  # the mobile checklist
        from workflows.social_org.models import SpotCheckTarget

        target = await SpotCheckTarget.filter(instance_id=str(task.instance_id)).first()
        return f"/social-org/spot-checks/targets/{target.id}/checklist" if target else None
    return None


@login_required
async def task_page(request: Request, actor: Actor) -> Response:
    task = await _visible_task(actor, request.path_params["task_id"])
    return await render_task(request, actor, task, submit=request.method == "POST")


async def render_task(request: Request, actor: Actor, task: HumanTask, *, submit: bool = False,
                      collab_errors: dict[str, str] | None = None, status: int = 200) -> Response:
    """The task page; with `submit`, first complete the task with the posted form. `collab_errors`: a failed
    collaboration action (web.collab) shown in its section."""
    domain_url = await domain_task_url(task)
    if domain_url is not None:
        if submit:
            raise HTTPException(409, "该事项须在业务页面中办理。")
        return page(request, "error.html", {"title": task.name, "status": 200,
                                            "detail": "该事项须在业务页面中办理(需要录入评分、批次等业务数据)。",
                                            "link": domain_url, "link_text": "前往办理页面"})
    engine = ctx_of(request).engine
    instance = await ProcessInstance.get(id=task.instance_id)
    deployed = await engine.specs.get(instance.definition_id)
    schema = deployed.forms.get(task.form) if task.form else None
    actionable = authz.can_act(actor, task)
    errors: list[FieldError] = []
    data: dict[str, Any] | None = None
    meta = deployed.human_tasks.get(task.bpmn_id)
    form_opinion = bool(schema and "opinion" in (schema.get("properties") or {}))  # else a separate 审批意见 box
    opinion = ""
    if submit:
        if not actionable:
            raise HTTPException(403, "您无权办理该事项。" if task.owner is None else
                                "该事项处于委托中:受托人提交处理意见、交回委托人后,由委托人办理。")
        form = await request.form()
        fields = {k: form.getlist(k) for k in dict.fromkeys(form.keys()) if k != "opinion" or form_opinion}
        opinion = "" if form_opinion else str(form.get("opinion", "")).strip()
        data = coerce_form(schema, fields) if schema else {k: v[-1] for k, v in fields.items() if k != "csrf_token"}
        try:
            await engine.complete_task(task.id, data, actor=actor.username, opinion=opinion or None)
        except FormValidationError as exc:
            errors, status = exc.errors, 422
        except (ConflictError, InvalidTaskState) as exc:
            flash(request, "该事项已被他人处理或流程状态已变化,请刷新后重试。", "error")
            errors, status = [FieldError("", "conflict", str(exc))], 409
        except ProcessScriptError as exc:
            errors, status = [FieldError("", "process", str(exc))], 422
        else:
            flash(request, f"已办理:{task.title}")
            return RedirectResponse("/inbox", status_code=303)
    context_item = None
    if task.state in authz.OPEN_STATES and instance.state:
        wf, _ = await engine.restore(instance)
        try:
            spiff_task = wf.get_task_from_id(task.id)
            item_name = getattr(spiff_task.task_spec, "input_item", None)
            if item_name is not None and hasattr(item_name, "bpmn_id"):
                context_item = spiff_task.data.get(item_name.bpmn_id)
        except Exception:  # noqa: BLE001 - context is a convenience, never a reason to fail the page
            context_item = None
    return page(request, "task.html", {
        "task": task, "instance": instance, "facts": await _instance_facts(instance, deployed.name),
        "form_html": render_form(schema, data, errors) if schema else None,
        "errors": [(e, error_message_zh(e, schema or {})) for e in errors if form_opinion or e.field != "opinion"],
        "actionable": actionable, "can_claim": authz.can_claim(actor, task), "context_item": context_item,
        "summary": summary_rows(instance.data, deployed),
        "require_opinion": bool(meta and meta.require_opinion), "form_opinion": form_opinion, "opinion": opinion,
        "opinion_error": not form_opinion and any(e.field == "opinion" for e in errors),
        "collab_errors": collab_errors or {}, **await collab.task_context(request, actor, task),
    }, status_code=status)


# -- instances -----------------------------------------------------------------------------------

@login_required
async def instances(request: Request, actor: Actor) -> Response:
    q = request.query_params
    qs = authz.visible_instances(actor)
    status = q.get("status", "")
    process = q.get("process", "")
    search = q.get("q", "").strip()
    if status in ("running", "completed", "cancelled", "error"):
        qs = qs.filter(status=status)
    if process and len(process) <= 100:  # a longer key names no process (and the column refuses it)
        qs = qs.filter(process_key=process)
    if search:
        qs = qs.filter(business_key__icontains=search)
    try:
        page_no = max(1, int(q.get("page", "1")))
    except ValueError:
        page_no = 1
    total = await qs.count()
    pages = max(1, math.ceil(total / PAGE_SIZE))
    rows = await qs.order_by("-updated_at").offset((min(page_no, pages) - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    org_names = {o.code: o.name for o in await OrgUnit.filter(code__in={r.org_unit for r in rows})}
    params = {"status": status, "process": process, "q": search}
    return page(request, "instances.html", {
        "rows": rows, "total": total, "page": min(page_no, pages), "pages": pages, "params": params,
        "processes": await inbox.process_names(), "org_names": org_names,
        "query": lambda **kw: urlencode({**params, **kw}),
    }, block="instance_list")


@login_required
async def instance_page(request: Request, actor: Actor) -> Response:
    engine = ctx_of(request).engine
    try:
        instance = await engine.get_instance(request.path_params["instance_id"])
    except NotFound as exc:
        raise HTTPException(404, "办件不存在。") from exc
    if not authz.can_see_path(actor, instance.org_path):
        raise HTTPException(403, "您无权查看该办件。")
    return await render_instance(request, actor, instance)


async def render_instance(request: Request, actor: Actor, instance: ProcessInstance, *,
                          collab_errors: dict[str, str] | None = None, status: int = 200) -> Response:
    engine = ctx_of(request).engine
    deployed = await engine.specs.get(instance.definition_id)
    states = await engine.diagram_states(instance)
    tasks = await HumanTask.filter(instance_id=instance.id).order_by("created_at")
    events = await AuditEvent.filter(instance_id=str(instance.id)).order_by("seq")
    org_names = {o.code: o.name for o in await OrgUnit.filter(code__in={t.org_unit for t in tasks})}
    return page(request, "instance.html", {
        "instance": instance, "facts": await _instance_facts(instance, deployed.name), "tasks": tasks,
        "events": events,
        "diagram": render_svg(deployed.bpmn_xml, states, process_id=instance.process_key, lane_labels=ROLES,
                              natural_size=True),
        "summary": summary_rows(instance.data, deployed), "org_names": org_names, "process_name": deployed.name,
        "names": await actor_names({e.actor for e in events} | {t.assignee for t in tasks if t.assignee}
                                   | {str(e.payload.get(k)) for e in events for k in ("to", "from", "owner")
                                      if isinstance(e.payload.get(k), str)}
                                   | {str(u) for e in events if isinstance(e.payload.get("to"), list)
                                      for u in e.payload["to"]}),
        "open_tasks": [t for t in tasks if t.state in authz.OPEN_STATES],
        "can_act": {str(t.id): authz.can_act(actor, t) for t in tasks},
        "can_view": {str(t.id): authz.can_view_task(actor, t) for t in tasks},
        "collab_errors": collab_errors or {}, **await collab.instance_context(request, actor, instance),
    }, status_code=status)


# -- start ---------------------------------------------------------------------------------------

def new_business_key(process_key: str, now: Any) -> str:
    prefix = "".join(part[:1] for part in process_key.split("_")).upper() or "CF"
    return f"{prefix}-{now:%Y%m%d}-{secrets.token_hex(3).upper()}"


@login_required
async def start_list(request: Request, actor: Actor) -> Response:
    latest: dict[str, ProcessDefinition] = {}
    for row in await ProcessDefinition.all().order_by("key", "version"):
        latest[row.key] = row
    return page(request, "start_list.html", {"definitions": list(latest.values())})


@login_required
async def start_form(request: Request, actor: Actor) -> Response:
    engine = ctx_of(request).engine
    key = request.path_params["key"]
    try:
        if "\x00" in key:  # names no process (PostgreSQL would refuse the NUL with an error)
            raise NotFound(key)
        deployed = await engine.specs.latest(key)
    except NotFound as exc:
        raise HTTPException(404, "流程不存在或尚未部署。") from exc
    schema = deployed.forms.get(deployed.start_form) if deployed.start_form else None
    errors: list[FieldError] = []
    data: dict[str, Any] | None = None
    business_key = ""
    status = 200
    if request.method == "POST":
        form = await request.form()
        business_key = str(form.get("business_key", "")).strip()[:100]
        raw = {k: form.getlist(k) for k in set(form.keys()) if k not in ("business_key", "csrf_token")}
        data = coerce_form(schema, raw) if schema else {k: v[0] if len(v) == 1 else v for k, v in raw.items()}
        try:
            instance = await engine.start(key, org_unit=actor.org_code, actor=actor.username,
                                          business_key=business_key or new_business_key(key, engine.clock.now()),
                                          data=data)
        except FormValidationError as exc:
            errors, status = exc.errors, 422
        except ProcessScriptError as exc:
            errors, status = [FieldError("", "process", str(exc))], 422
        else:
            flash(request, f"已发起:{instance.business_key}")
            return RedirectResponse(f"/instances/{instance.id}", status_code=303)
    return page(request, "start.html", {
        "deployed": deployed, "form_html": render_form(schema, data, errors) if schema else None,
        "errors": [(e, error_message_zh(e, schema or {})) for e in errors], "business_key": business_key,
    }, status_code=status)


async def healthz(request: Request) -> Response:
    return Response("ok", media_type="text/plain")


# -- errors --------------------------------------------------------------------------------------

async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if request.url.path.startswith("/api/"):
        from web.api import error_response

        return error_response(exc.status_code, "http_error", exc.detail or "error")
    titles = {401: "请先登录", 403: "无权访问", 404: "页面不存在", 405: "不支持的请求", 422: "提交的内容无效",
              429: "请求过于频繁"}
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail and not exc.detail.isascii() else None
    if request.state.__dict__.get("actor") is None:
        await load_actor(request)
    response = page(request, "error.html", {"title": titles.get(exc.status_code, "出错了"), "detail": detail,
                                            "status": exc.status_code}, status_code=exc.status_code)
    response.headers.update(exc.headers or {})
    return response


async def server_error(request: Request, exc: Exception) -> Response:
    if request.url.path.startswith("/api/"):
        from web.api import error_response

        return error_response(500, "internal", "internal error; it has been logged")
    return page(request, "error.html", {"title": "系统错误", "detail": "系统内部错误,已记录。请稍后重试。",
                                        "status": 500}, status_code=500)


exception_handlers: dict[Any, Any] = {HTTPException: http_error, Exception: server_error}

routes = [
    Route("/", home),
    Route("/healthz", healthz),
    Route("/login", login, methods=["GET", "POST"]),
    Route("/logout", logout, methods=["POST"]),
    *inbox.routes,
    *dashboard.routes,
    Route("/tasks/{task_id}", task_page, methods=["GET", "POST"]),
    Route("/tasks/{task_id}/claim", claim, methods=["POST"]),
    Route("/tasks/{task_id}/unclaim", unclaim, methods=["POST"]),
    Route("/instances", instances),
    Route("/instances/{instance_id}", instance_page),
    Route("/start", start_list),
    Route("/start/{key}", start_form, methods=["GET", "POST"]),
    *collab.routes,
    *admin.routes,
    *dibao.routes,
    *cemetery.routes,
    *projects.routes,
    *social_org.routes,
    *social_org_case_routes,
]
