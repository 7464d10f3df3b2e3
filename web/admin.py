"""Admin pages: process definitions (list, upload, diagram) and users."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from tortoise.functions import Count

from engine import authz
from engine.authz import Actor
from engine.errors import DeploymentError
from engine.models import ApiToken, OrgUnit, ProcessDefinition, ProcessInstance, User
from engine.specs import read_directory, validate_bundle
from web.auth import login_required
from web.diagram import render_svg
from web.render import flash, page
from web.roles import ROLES
from web.security import MIN_PASSWORD_LENGTH, hash_password
from web.uploads import UploadError, read_upload

MAX_UPLOAD_BYTES = 2 * 1024 * 1024


PageHandler = Callable[[Request, Actor], Awaitable[Response]]


def admin_required(handler: PageHandler) -> Callable[[Request], Awaitable[Response]]:
    async def inner(request: Request, actor: Actor) -> Response:
        if not actor.is_admin:
            raise HTTPException(403, "仅系统管理员可以访问该页面。")
        return await handler(request, actor)

    return login_required(inner)


async def deploy_upload(request: Request, actor: Actor, filename: str, content: bytes) -> list[ProcessDefinition]:
    """Validate an uploaded BPMN against the DMN files and forms of the configured bpmn/ directory."""
    ctx = request.app.state.ctx
    _, dmn, forms = read_directory(ctx.settings.bpmn_dir)
    bundle = validate_bundle(filename, content, dmn, forms)
    results = await ctx.engine.specs.deploy(bundle, clock=ctx.engine.clock, actor=actor.username)
    return [row for row, _ in results]


@admin_required
async def processes(request: Request, actor: Actor) -> Response:
    error = None
    status = 200
    if request.method == "POST":
        form = await request.form()
        try:
            name, content = await read_upload(form, MAX_UPLOAD_BYTES, missing="请选择要上传的 BPMN 文件。",
                                              too_big="文件过大(上限 2 MB)。")
            if not name.endswith(".bpmn"):
                raise UploadError("只能上传 .bpmn 文件。")
            rows = await deploy_upload(request, actor, name, content)
        except UploadError as exc:
            error, status = str(exc), 422
        except DeploymentError as exc:
            error, status = f"部署失败,未做任何更改:{exc}", 422
        else:
            flash(request, "已部署:" + "、".join(f"{r.name}(第 {r.version} 版)" for r in rows))
            return RedirectResponse("/admin/processes", status_code=303)
    rows = await ProcessDefinition.all().order_by("key", "-version")
    grouped = await ProcessInstance.annotate(n=Count("id")).group_by("definition_id").values_list(
        "definition_id", "n")  # one grouped query, not one per version
    counts = defaultdict(int, {int(str(d)): int(str(n)) for d, n in grouped})
    return page(request, "processes.html", {"rows": rows, "error": error, "counts": counts},
                status_code=status)


@admin_required
async def process_diagram(request: Request, actor: Actor) -> Response:
    try:
        row = await ProcessDefinition.get_or_none(id=int(request.path_params["definition_id"]))
    except ValueError:
        row = None
    if row is None:
        raise HTTPException(404, "流程版本不存在。")
    return page(request, "process_diagram.html", {"row": row, "diagram": render_svg(
        row.bpmn_xml, {}, process_id=row.key, lane_labels=ROLES, natural_size=True)})


async def create_user(username: str, display_name: str, password: str, org_code: str,
                      roles: list[str]) -> tuple[User | None, dict[str, str]]:
    """Validate and create; returns (user, {}) or (None, field → Chinese message)."""
    errors: dict[str, str] = {}
    if not username or len(username) > 64 or not username.replace("_", "").replace(".", "").isalnum():
        errors["username"] = "用户名为 1-64 位字母、数字、下划线或点。"
    elif await User.exists(username=username):
        errors["username"] = "该用户名已存在。"
    if not display_name.strip():
        errors["display_name"] = "请填写姓名。"
    elif len(display_name.strip()) > 100:
        errors["display_name"] = "姓名不能超过 100 个字。"
    if len(password) < MIN_PASSWORD_LENGTH:
        errors["password"] = f"密码至少 {MIN_PASSWORD_LENGTH} 位。"
    if len(org_code) > 32 or not await OrgUnit.exists(code=org_code):
        errors["org_unit"] = "所属单位不存在。"
    bad_roles = [r for r in roles if r not in ROLES]
    if not roles or bad_roles:
        errors["roles"] = "请至少选择一个有效角色。"
    if errors:
        return None, errors
    user = await User.create(username=username, display_name=display_name.strip(),
                             password_hash=hash_password(password), org_unit_id=org_code, roles=sorted(set(roles)))
    return user, {}


@admin_required
async def users(request: Request, actor: Actor) -> Response:
    errors: dict[str, str] = {}
    values: dict[str, object] = {}
    status = 200
    if request.method == "POST":
        form = await request.form()
        values = {"username": str(form.get("username", "")).strip(), "display_name": str(form.get("display_name", "")),
                  "org_unit": str(form.get("org_unit", "")), "roles": [str(r) for r in form.getlist("roles")]}
        org_ok = len(str(values["org_unit"])) <= 32 and await authz.visible_org_units(actor).filter(
            code=values["org_unit"]).exists()
        user, errors = await create_user(str(values["username"]), str(values["display_name"]),
                                         str(form.get("password", "")), str(values["org_unit"]) if org_ok else "",
                                         [str(r) for r in form.getlist("roles")])
        if user is not None:
            flash(request, f"已创建用户 {user.username}")
            return RedirectResponse("/admin/users", status_code=303)
        status = 422
    rows = await User.filter(org_unit__path__startswith=actor.org_path).order_by("org_unit_id", "username")
    orgs = await authz.visible_org_units(actor).order_by("path")
    return page(request, "users.html", {"rows": rows, "orgs": orgs, "org_names": {o.code: o.name for o in orgs},
                                        "errors": errors, "values": values}, status_code=status)


@admin_required
async def user_edit(request: Request, actor: Actor) -> Response:
    try:
        user = await User.get_or_none(id=int(request.path_params["user_id"])).prefetch_related("org_unit")
    except ValueError:
        user = None
    if user is None or not authz.can_see_path(actor, user.org_unit.path):
        raise HTTPException(404, "用户不存在。")
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        form = await request.form()
        display_name = str(form.get("display_name", "")).strip()
        org_code = str(form.get("org_unit", ""))
        roles = [str(r) for r in form.getlist("roles")]
        password = str(form.get("password", ""))
        if not display_name or len(display_name) > 100:
            errors["display_name"] = "请填写姓名(不超过 100 个字)。"
        if len(org_code) > 32 or not await authz.visible_org_units(actor).filter(code=org_code).exists():
            errors["org_unit"] = "所属单位不存在或不在您的管理范围内。"
        if not roles or any(r not in ROLES for r in roles):
            errors["roles"] = "请至少选择一个有效角色。"
        if password and len(password) < MIN_PASSWORD_LENGTH:
            errors["password"] = f"密码至少 {MIN_PASSWORD_LENGTH} 位。"
        if user.username == actor.username and ("admin" not in roles or form.get("is_active") != "on"):
            errors["roles"] = "不能停用自己或取消自己的管理员角色。"
        if not errors:
            user.display_name, user.org_unit_id, user.roles = display_name, org_code, sorted(set(roles))
            user.is_active = form.get("is_active") == "on"
            if password:
                user.password_hash = hash_password(password)
            await user.save()
            if not user.is_active or password:
                await ApiToken.filter(user_id=user.id, revoked_at=None).update(
                    revoked_at=request.app.state.ctx.engine.clock.now())
            flash(request, f"已保存用户 {user.username}")
            return RedirectResponse("/admin/users", status_code=303)
        status = 422
    orgs = await authz.visible_org_units(actor).order_by("path")
    return page(request, "user_edit.html", {"user": user, "orgs": orgs, "errors": errors}, status_code=status)


@admin_required
async def calendar(request: Request, actor: Actor) -> Response:
    """Working-day calendar: public holidays and 调休 make-up working days (weekends are off by default)."""
    from datetime import date

    from engine.calendar import load_calendar
    from engine.models import CalendarDay

    ctx = request.app.state.ctx
    error, status = None, 200
    if request.method == "POST":
        form = await request.form()
        try:
            day = date.fromisoformat(str(form.get("day", "")))
        except ValueError:
            error, status = "请填写有效日期(YYYY-MM-DD)。", 422
        else:
            if form.get("action") == "delete":
                await CalendarDay.filter(day=day).delete()
                flash(request, f"已删除 {day} 的设置。")
            else:
                kind = str(form.get("kind", ""))
                if kind not in ("holiday", "makeup"):
                    error, status = "请选择节假日或调休上班日。", 422
                else:
                    await CalendarDay.update_or_create(day=day, defaults={
                        "is_working": kind == "makeup", "note": str(form.get("note", "")).strip()[:100]})
                    flash(request, f"已设置 {day}。")
            if error is None:
                ctx.engine.calendar = await load_calendar(ctx.settings.timezone)
                return RedirectResponse("/admin/calendar", status_code=303)
    rows = await CalendarDay.all().order_by("-day")
    return page(request, "calendar.html", {"rows": rows, "error": error}, status_code=status)


routes = [
    Route("/admin/calendar", calendar, methods=["GET", "POST"]),
    Route("/admin/users/{user_id:int}", user_edit, methods=["GET", "POST"]),
    Route("/admin/processes", processes, methods=["GET", "POST"]),
    Route("/admin/processes/{definition_id:int}", process_diagram),
    Route("/admin/users", users, methods=["GET", "POST"]),
]
