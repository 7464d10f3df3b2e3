"""Working a task together: reassign, delegate-and-return (委托), comments (审批意见), attachments, notifications.

    POST /tasks/{id}/reassign | delegate | resolve | comments | attachments
    POST /instances/{id}/comments | attachments
    GET  /attachments/{id}                     download, checked against the case's scope
    GET  /notifications                        notification centre (POST …/{id}/read, /read-all, /email)
    GET  /notifications/badge                  the top bar's unread badge: a fragment for htmx, else the full page
    POST /api/v1/tasks/{id}/attachments, GET /api/v1/attachments/{id}   (`api_routes`, bearer token)
    POST /api/v1/tasks/{id}/reassign | delegate | resolve, GET|POST /api/v1/tasks/{id}/comments and
         /api/v1/instances/{id}/comments                                 (same rules and errors as the pages)

Who may do what is `engine.authz`; the state changes are `Engine` methods and `engine.collab`. Errors are shown
in Chinese on the page they came from (422; 409 when the task changed meanwhile), nothing is stored.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from engine import authz, collab
from engine.authz import Actor
from engine.collab import AttachmentStore
from engine.errors import ConflictError, InvalidTaskState, NotFound
from engine.forms import FieldError, FormValidationError
from engine.models import MAX_DB_INT, Attachment, Comment, HumanTask, Notification, OrgUnit, ProcessInstance, User
from engine.runtime import ANY, parse_uuid
from web.api import ApiError, _path_uuid, _scoped_task, endpoint, json_body, methods, task_json
from web.auth import ctx_of, login_required
from web.render import flash, is_htmx, page

FILE_KINDS = "PDF、JPG、PNG、Word(.docx)、Excel(.xlsx)"
ACCEPT = ",".join(f".{ext}" for ext in sorted(collab.FILE_TYPES))
NOTIFICATIONS_PAGE = 30
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def store_of(request: Request) -> AttachmentStore:
    store: AttachmentStore = ctx_of(request).attachments
    return store


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.1f}".removesuffix(".0")


def message_zh(error: FieldError, store: AttachmentStore | None = None, size: int | None = None) -> str:
    """The Chinese message for a collaboration error code."""
    limit = _mb(store.max_bytes) if store else "10"
    if error.field == "file":
        return {
            "required": "请选择要上传的文件。",
            "empty": "文件为空(0 字节),未保存。",
            "too_large": f"文件过大({_mb(size or 0)} MB),单个附件不能超过 {limit} MB,未保存。",
            "type": f"不支持该文件类型,未保存。仅允许上传 {FILE_KINDS} 文件。",
            "content_mismatch": "文件内容与扩展名不符(可能已损坏或被改名),未保存。",
        }.get(error.code, "文件无法上传。")
    if error.field in ("body", "opinion"):
        return {"required": "请填写意见内容。", "maxLength": f"意见不能超过 {collab.MAX_COMMENT} 字。"}.get(
            error.code, "意见内容无效。")
    if error.field == "to":
        return {"not_eligible": "所选人员不在该事项的办理范围内(角色或单位不符)。",
                "unchanged": "该事项已由此人办理,无需改派。"}.get(error.code, "请选择人员。")
    return error.message


async def display_names(usernames: set[str]) -> dict[str, str]:
    names = {"engine": "系统", "scheduler": "定时任务", "system": "系统"}
    rows = await User.filter(username__in=sorted(u for u in usernames if u)).values_list("username", "display_name")
    names.update({str(u): str(d) for u, d in rows})
    return names


async def _task(actor: Actor, task_id: str) -> HumanTask:
    key = parse_uuid(task_id)
    task = await HumanTask.get_or_none(id=key) if key else None
    if task is None:
        raise HTTPException(404, "待办事项不存在。")
    if not authz.can_view_task(actor, task):
        raise HTTPException(403, "您无权查看该事项。")
    return task


async def _instance(actor: Actor, instance_id: str) -> ProcessInstance:
    key = parse_uuid(instance_id)
    instance = await ProcessInstance.get_or_none(id=key) if key else None
    if instance is None:
        raise HTTPException(404, "办件不存在。")
    if not authz.can_see_path(actor, instance.org_path):
        raise HTTPException(403, "您无权查看该办件。")
    return instance


# -- context for the task and instance pages -----------------------------------------------------------------

async def task_context(request: Request, actor: Actor, task: HumanTask) -> dict[str, Any]:
    """What task.html's collaboration sections need."""
    comments = await Comment.filter(task_id=task.id).order_by("created_at", "id")
    attachments = await Attachment.filter(task_id=task.id).order_by("created_at", "id")
    can_reassign, can_delegate = authz.can_reassign(actor, task), authz.can_delegate(actor, task)
    reassign_to = await authz.reassign_candidates(task) if can_reassign else []
    delegate_to = await authz.delegate_candidates(task, actor.username).order_by("org_unit_id", "username") \
        if can_delegate else []
    units = {o.code: o.name for o in await OrgUnit.filter(code__in={u.org_unit_id for u in delegate_to})}
    names = await display_names({c.author for c in comments} | {a.uploaded_by for a in attachments}
                                | {task.assignee or "", task.owner or "", task.completed_by or ""})
    return {
        "comments": comments, "attachments": attachments, "names": names,
        "can_reassign": can_reassign, "reassign_to": reassign_to,
        "can_delegate": can_delegate, "delegate_to": [(u, units.get(u.org_unit_id, "")) for u in delegate_to],
        "can_resolve": authz.can_resolve(actor, task), "can_comment": authz.can_comment(actor, task),
        "accept": ACCEPT, "file_kinds": FILE_KINDS, "max_mb": _mb(store_of(request).max_bytes),
    }


async def instance_context(request: Request, actor: Actor, instance: ProcessInstance) -> dict[str, Any]:
    """Comments and attachments of the whole case, for instance.html."""
    comments = await Comment.filter(instance_id=instance.id).order_by("created_at", "id")
    attachments = await Attachment.filter(instance_id=instance.id).order_by("created_at", "id")
    task_names = dict(await HumanTask.filter(instance_id=instance.id).values_list("id", "name"))
    return {"comments": comments, "attachments": attachments, "accept": ACCEPT, "file_kinds": FILE_KINDS,
            "max_mb": _mb(store_of(request).max_bytes),
            "task_names": {str(k): v for k, v in task_names.items()},
            "collab_names": await display_names({c.author for c in comments} | {a.uploaded_by for a in attachments})}


async def _task_error(request: Request, actor: Actor, task: HumanTask, section: str, message: str,
                      status: int = 422) -> Response:
    from web.pages import render_task  # the task page owns its layout; imported late (pages imports this module)

    return await render_task(request, actor, await HumanTask.get(id=task.id), collab_errors={section: message},
                             status=status)


async def _instance_error(request: Request, actor: Actor, instance: ProcessInstance, section: str,
                          message: str) -> Response:
    from web.pages import render_instance

    return await render_instance(request, actor, instance, collab_errors={section: message}, status=422)


def _back(task: HumanTask, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(f"/tasks/{task.id}{anchor}", status_code=303)


CONFLICT = "该事项刚被他人改派、委托或办结,请刷新页面后重试。"


# -- reassign / delegate / resolve -----------------------------------------------------------------------------

@login_required
async def reassign(request: Request, actor: Actor) -> Response:
    task = await _task(actor, request.path_params["task_id"])
    if not authz.can_reassign(actor, task):
        raise HTTPException(403, "您无权改派该事项(仅上级审核、管理人员或当前签收人可以改派)。")
    form = await request.form()
    expected = form.get("expected_assignee")
    try:
        await ctx_of(request).engine.reassign(task.id, actor=actor.username, to=str(form.get("to", "")).strip(),
                                              expected_assignee=ANY if expected is None else str(expected))
    except FormValidationError as exc:
        return await _task_error(request, actor, task, "reassign", message_zh(exc.errors[0]))
    except (ConflictError, InvalidTaskState):
        return await _task_error(request, actor, task, "reassign", CONFLICT, status=409)
    flash(request, f"已改派:{task.title}")
    return _back(task)


@login_required
async def delegate(request: Request, actor: Actor) -> Response:
    task = await _task(actor, request.path_params["task_id"])
    if not authz.can_delegate(actor, task):
        raise HTTPException(403, "只有可以办理该事项的人员才能委托他人处理。")
    form = await request.form()
    try:
        await ctx_of(request).engine.delegate(task.id, actor=actor.username, to=str(form.get("to", "")).strip())
    except FormValidationError as exc:
        return await _task_error(request, actor, task, "delegate", message_zh(exc.errors[0]))
    except (ConflictError, InvalidTaskState):
        return await _task_error(request, actor, task, "delegate", CONFLICT, status=409)
    flash(request, f"已委托:{task.title}。对方提交处理意见后,事项将交回您办理。")
    return _back(task)


@login_required
async def resolve(request: Request, actor: Actor) -> Response:
    task = await _task(actor, request.path_params["task_id"])
    if not authz.can_resolve(actor, task):
        raise HTTPException(403, "该事项没有委托给您。")
    form = await request.form()
    try:
        await ctx_of(request).engine.resolve_delegation(task.id, actor=actor.username,
                                                        opinion=str(form.get("opinion", "")))
    except FormValidationError as exc:
        return await _task_error(request, actor, task, "resolve", message_zh(exc.errors[0]))
    except (ConflictError, InvalidTaskState):
        return await _task_error(request, actor, task, "resolve", CONFLICT, status=409)
    flash(request, f"已提交处理意见并交回委托人:{task.title}")
    return RedirectResponse("/inbox", status_code=303)


# -- comments --------------------------------------------------------------------------------------------------

@login_required
async def task_comment(request: Request, actor: Actor) -> Response:
    task = await _task(actor, request.path_params["task_id"])
    if not authz.can_comment(actor, task):
        raise HTTPException(403, "您无权对该事项发表意见。")
    form = await request.form()
    instance = await ProcessInstance.get(id=task.instance_id)
    try:
        await collab.add_comment(instance=instance, task=task, author=actor.username, body=str(form.get("body", "")),
                                 now=ctx_of(request).engine.clock.now())
    except FormValidationError as exc:
        return await _task_error(request, actor, task, "comment", message_zh(exc.errors[0]))
    flash(request, "已添加意见。")
    return _back(task, "#comments")


@login_required
async def instance_comment(request: Request, actor: Actor) -> Response:
    instance = await _instance(actor, request.path_params["instance_id"])
    form = await request.form()
    try:
        await collab.add_comment(instance=instance, task=None, author=actor.username,
                                 body=str(form.get("body", "")), now=ctx_of(request).engine.clock.now())
    except FormValidationError as exc:
        return await _instance_error(request, actor, instance, "comment", message_zh(exc.errors[0]))
    flash(request, "已添加意见。")
    return RedirectResponse(f"/instances/{instance.id}#comments", status_code=303)


# -- attachments -----------------------------------------------------------------------------------------------

async def _read_upload(request: Request, store: AttachmentStore) -> tuple[str | None, bytes, int]:
    """(filename, content, size) of the `file` field; content holds at most max_bytes + 1 bytes."""
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None, b"", 0
    content = await upload.read(store.max_bytes + 1)
    return upload.filename, content, upload.size if upload.size is not None else len(content)


async def read_api_upload(request: Request, store: AttachmentStore) -> tuple[str | None, bytes]:
    """The `file` field of an API upload. A declared length far over the limit is refused before the body is read
    (and spooled); a body that is not multipart/form-data is a 400, not a 500."""
    length = request.headers.get("content-length", "")
    if length.isdecimal() and int(length) > store.max_bytes + 1024 * 1024:
        raise ApiError(422, "validation_failed", "file too large", [
            {"field": "file", "code": "too_large", "message": f"the limit is {store.max_bytes} bytes"}])
    try:
        filename, content, _ = await _read_upload(request, store)
    except Exception as exc:  # Starlette raises its own parse errors for a malformed body
        raise ApiError(400, "invalid_body", "send the file as multipart/form-data in the field `file`") from exc
    return filename, content


def _limit_body(handler: Any) -> Any:
    """Refuse an upload whose declared length is far over the limit before reading (and spooling) its body."""

    async def wrapper(request: Request) -> Response:
        length = request.headers.get("content-length", "")
        limit = store_of(request).max_bytes
        if length.isdecimal() and int(length) > limit + 1024 * 1024:
            raise HTTPException(422, f"文件过大,单个附件不能超过 {_mb(limit)} MB,未保存。")
        response: Response = await handler(request)
        return response

    return wrapper


@login_required
async def _task_upload(request: Request, actor: Actor) -> Response:
    task = await _task(actor, request.path_params["task_id"])
    if not authz.can_comment(actor, task):
        raise HTTPException(403, "您无权为该事项上传附件。")
    store = store_of(request)
    filename, content, size = await _read_upload(request, store)
    instance = await ProcessInstance.get(id=task.instance_id)
    try:
        row, created = await collab.add_attachment(store, instance=instance, task=task, filename=filename,
                                                   content=content, actor=actor.username,
                                                   now=ctx_of(request).engine.clock.now())
    except FormValidationError as exc:
        return await _task_error(request, actor, task, "attachment", message_zh(exc.errors[0], store, size))
    flash(request, f"已上传附件:{row.filename}" if created else f"该文件已上传过:{row.filename}")
    return _back(task, "#attachments")


@login_required
async def _instance_upload(request: Request, actor: Actor) -> Response:
    instance = await _instance(actor, request.path_params["instance_id"])
    store = store_of(request)
    filename, content, size = await _read_upload(request, store)
    try:
        row, created = await collab.add_attachment(store, instance=instance, task=None, filename=filename,
                                                   content=content, actor=actor.username,
                                                   now=ctx_of(request).engine.clock.now())
    except FormValidationError as exc:
        return await _instance_error(request, actor, instance, "attachment", message_zh(exc.errors[0], store, size))
    flash(request, f"已上传附件:{row.filename}" if created else f"该文件已上传过:{row.filename}")
    return RedirectResponse(f"/instances/{instance.id}#attachments", status_code=303)


task_upload = _limit_body(_task_upload)
instance_upload = _limit_body(_instance_upload)


def file_response(store: AttachmentStore, row: Attachment) -> Response:
    from starlette.responses import FileResponse

    path = store.path(row.sha256)
    if not path.is_file():
        raise NotFound(f"the stored file of attachment {row.id} is missing")
    ascii_name = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in row.filename)
    return FileResponse(path, media_type=row.content_type, headers={
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(row.filename)}",
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})


@login_required
async def download(request: Request, actor: Actor) -> Response:
    row = await Attachment.get_or_none(id=request.path_params["attachment_id"]) \
        if request.path_params["attachment_id"] <= MAX_DB_INT else None
    if row is None:
        raise HTTPException(404, "附件不存在。")
    if not authz.can_download(actor, row):
        raise HTTPException(403, "您无权下载该附件(不在您的管辖范围内)。")
    try:
        return file_response(store_of(request), row)
    except NotFound as exc:
        raise HTTPException(404, "附件文件已不存在,请联系管理员。") from exc


# -- notifications ----------------------------------------------------------------------------------------------

KIND_LABELS = {"task.assigned": "分派", "task.reassigned": "改派", "task.delegated": "委托",
               "task.returned": "交回", "task.escalated": "督办", "task.due_soon": "即将到期",
               "task.arrived": "新到待办"}


async def _centre(request: Request, actor: Actor, *, block: str | None = None, email_error: str | None = None,
                  status: int = 200) -> Response:
    show = "unread" if request.query_params.get("show") == "unread" else "all"
    try:
        page_no = min(max(1, int(request.query_params.get("page", "1"))), 1_000_000)  # an offset the db can hold
    except ValueError:
        page_no = 1
    unread = await collab.unread_count(actor.username)
    rows: list[Notification] = []
    total = 0
    me = None
    if block is None or not is_htmx(request):  # the badge fragment needs the count only
        qs = Notification.filter(recipient=actor.username)
        if show == "unread":
            qs = qs.filter(read_at=None)
        total = await qs.count()
        rows = await qs.order_by("-created_at", "-id").offset((page_no - 1) * NOTIFICATIONS_PAGE).limit(
            NOTIFICATIONS_PAGE)
        me = await User.get_or_none(username=actor.username)
    return page(request, "notifications.html", {
        "rows": rows, "unread_notifications": unread, "show": show, "page": page_no, "total": total,
        "pages": max(1, -(-total // NOTIFICATIONS_PAGE)), "kinds": KIND_LABELS,
        "email": me.email if me else "", "email_error": email_error,
        "email_arrivals": me.email_arrivals if me else True,
        "smtp_enabled": ctx_of(request).mailer is not None,
    }, block=block, status_code=status)


@login_required
async def notifications(request: Request, actor: Actor) -> Response:
    return await _centre(request, actor)


@login_required
async def badge(request: Request, actor: Actor) -> Response:
    """The unread badge for htmx polling; without HX-Request (a bookmarked or pushed URL) the whole centre."""
    return await _centre(request, actor, block="notif_badge")


def _safe_next(link: str) -> str:
    return link if link.startswith("/") and not link.startswith("//") else "/notifications"


@login_required
async def mark_read(request: Request, actor: Actor) -> Response:
    nid = request.path_params["notification_id"]
    row = await Notification.get_or_none(id=nid, recipient=actor.username) if nid <= MAX_DB_INT else None
    if row is None:
        raise HTTPException(404, "通知不存在。")
    await collab.mark_read(actor.username, row.id, ctx_of(request).engine.clock.now())
    form = await request.form()
    return RedirectResponse(_safe_next(row.link) if form.get("go") and row.link else "/notifications",
                            status_code=303)


@login_required
async def mark_all_read(request: Request, actor: Actor) -> Response:
    n = await collab.mark_all_read(actor.username, ctx_of(request).engine.clock.now())
    flash(request, f"已将 {n} 条通知标为已读。" if n else "没有未读通知。")
    return RedirectResponse("/notifications", status_code=303)


@login_required
async def set_email(request: Request, actor: Actor) -> Response:
    form = await request.form()
    email = str(form.get("email", "")).strip()
    if email and (len(email) > 254 or not EMAIL.match(email)):
        return await _centre(request, actor, email_error="邮箱地址格式不正确。", status=422)
    arrivals = form.get("email_arrivals") == "on"
    await User.filter(username=actor.username).update(email=email or None, email_arrivals=arrivals)
    flash(request, (f"邮件提醒将发送到 {email}" + ("。" if arrivals else "(新到待办仅站内提醒)。")) if email
          else "已关闭邮件提醒。")
    return RedirectResponse("/notifications", status_code=303)


routes = [
    Route("/tasks/{task_id}/reassign", reassign, methods=["POST"]),
    Route("/tasks/{task_id}/delegate", delegate, methods=["POST"]),
    Route("/tasks/{task_id}/resolve", resolve, methods=["POST"]),
    Route("/tasks/{task_id}/comments", task_comment, methods=["POST"]),
    Route("/tasks/{task_id}/attachments", task_upload, methods=["POST"]),
    Route("/instances/{instance_id}/comments", instance_comment, methods=["POST"]),
    Route("/instances/{instance_id}/attachments", instance_upload, methods=["POST"]),
    Route("/attachments/{attachment_id:int}", download),
    Route("/notifications", notifications),
    Route("/notifications/badge", badge),
    Route("/notifications/read-all", mark_all_read, methods=["POST"]),
    Route("/notifications/email", set_email, methods=["POST"]),
    Route("/notifications/{notification_id:int}/read", mark_read, methods=["POST"]),
]


# -- JSON API (mounted under /api/v1 next to web.api.routes) ---------------------------------------------------

def attachment_json(row: Attachment) -> dict[str, Any]:
    return {"id": row.id, "instance_id": str(row.instance_id), "task_id": str(row.task_id) if row.task_id else None,
            "filename": row.filename, "content_type": row.content_type, "size": row.size, "sha256": row.sha256,
            "uploaded_by": row.uploaded_by, "created_at": row.created_at.isoformat(),
            "download_url": f"/api/v1/attachments/{row.id}"}


async def api_upload(request: Request, actor: Actor) -> Response:
    raw = request.path_params["task_id"]
    key = parse_uuid(raw)
    task = await HumanTask.get_or_none(id=key) if key else None
    if task is None:
        raise ApiError(404, "not_found", f"task {raw} does not exist")
    if not authz.can_see_path(actor, task.org_path):
        raise ApiError(403, "forbidden", "task is outside your scope")
    store = store_of(request)
    filename, content = await read_api_upload(request, store)
    instance = await ProcessInstance.get(id=task.instance_id)
    row, created = await collab.add_attachment(store, instance=instance, task=task, filename=filename,
                                               content=content, actor=actor.username,
                                               now=ctx_of(request).engine.clock.now())
    return JSONResponse(attachment_json(row), status_code=201 if created else 200)


async def api_download(request: Request, actor: Actor) -> Response:
    raw = request.path_params["attachment_id"]
    row = await Attachment.get_or_none(id=int(raw)) if raw.isdecimal() and 0 < int(raw) <= MAX_DB_INT else None
    if row is None:
        raise ApiError(404, "not_found", f"attachment {raw} does not exist")
    if not authz.can_download(actor, row):
        raise ApiError(403, "forbidden", "attachment is outside your scope")
    return file_response(store_of(request), row)


def comment_json(row: Comment) -> dict[str, Any]:
    return {"id": row.id, "instance_id": str(row.instance_id), "task_id": str(row.task_id) if row.task_id else None,
            "author": row.author, "kind": row.kind, "body": row.body, "created_at": row.created_at.isoformat()}


def _str_field(body: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    """A string member of the JSON body (None when optional and absent); anything else is a precise 422."""
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise ApiError(422, "validation_failed", f"{name} must be a string", [
            {"field": name, "code": "required" if value is None else "type", "message": f"{name} must be a string"}])
    return value


async def api_reassign(request: Request, actor: Actor) -> Response:
    task = await _scoped_task(request, actor)
    body = await json_body(request)
    to = _str_field(body, "to") or ""
    expected = _str_field(body, "expected_assignee", required=False) if "expected_assignee" in body else ANY
    if not authz.can_reassign(actor, task):
        raise ApiError(403, "forbidden", "only a supervisor in scope or the current assignee (not while delegated) "
                                         "can reassign this task")
    row = await ctx_of(request).engine.reassign(task.id, actor=actor.username, to=to.strip(),
                                                expected_assignee=expected)
    return JSONResponse(task_json(row))


async def api_delegate(request: Request, actor: Actor) -> Response:
    task = await _scoped_task(request, actor)
    body = await json_body(request)
    to = _str_field(body, "to") or ""
    if not authz.can_delegate(actor, task):
        raise ApiError(403, "forbidden", "only a user who can complete this task can delegate it")
    return JSONResponse(task_json(await ctx_of(request).engine.delegate(task.id, actor=actor.username, to=to.strip())))


async def api_resolve(request: Request, actor: Actor) -> Response:
    task = await _scoped_task(request, actor)
    body = await json_body(request)
    opinion = _str_field(body, "opinion")
    if not authz.can_resolve(actor, task):
        raise ApiError(403, "forbidden", "this task is not delegated to you")
    return JSONResponse(task_json(await ctx_of(request).engine.resolve_delegation(task.id, actor=actor.username,
                                                                                  opinion=opinion)))


async def api_task_comments(request: Request, actor: Actor) -> Response:
    task = await _scoped_task(request, actor)
    if request.method == "GET":
        rows = await Comment.filter(task_id=task.id).order_by("created_at", "id")
        return JSONResponse({"items": [comment_json(c) for c in rows]})
    body = await json_body(request)
    text = _str_field(body, "body")
    if not authz.can_comment(actor, task):
        raise ApiError(403, "forbidden", "task is outside your scope")
    instance = await ProcessInstance.get(id=task.instance_id)
    row = await collab.add_comment(instance=instance, task=task, author=actor.username, body=text,
                                   now=ctx_of(request).engine.clock.now())
    return JSONResponse(comment_json(row), status_code=201)


async def api_instance_comments(request: Request, actor: Actor) -> Response:
    key = _path_uuid(request, "instance_id", "instance")
    instance = await ProcessInstance.get_or_none(id=key)
    if instance is None:
        raise ApiError(404, "not_found", f"instance {request.path_params['instance_id']} does not exist")
    if not authz.can_see_path(actor, instance.org_path):
        raise ApiError(403, "forbidden", "instance is outside your scope")
    if request.method == "GET":
        rows = await Comment.filter(instance_id=instance.id).order_by("created_at", "id")
        return JSONResponse({"items": [comment_json(c) for c in rows]})
    body = await json_body(request)
    row = await collab.add_comment(instance=instance, task=None, author=actor.username,
                                   body=_str_field(body, "body"), now=ctx_of(request).engine.clock.now())
    return JSONResponse(comment_json(row), status_code=201)


api_routes = [
    Route("/tasks/{task_id}/attachments", methods(POST=endpoint(api_upload))),
    Route("/attachments/{attachment_id}", methods(GET=endpoint(api_download))),
    Route("/tasks/{task_id}/reassign", methods(POST=endpoint(api_reassign))),
    Route("/tasks/{task_id}/delegate", methods(POST=endpoint(api_delegate))),
    Route("/tasks/{task_id}/resolve", methods(POST=endpoint(api_resolve))),
    Route("/tasks/{task_id}/comments", methods(GET=endpoint(api_task_comments), POST=endpoint(api_task_comments))),
    Route("/instances/{instance_id}/comments", methods(GET=endpoint(api_instance_comments),
                                                       POST=endpoint(api_instance_comments))),
]
