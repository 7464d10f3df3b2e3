"""JSON API under /api/v1 for other systems. Bearer tokens; errors are always
`{"error": {"code", "message", "fields"?}}` with 400/401/403/404/409/422/429, never HTML."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, request_response
from starlette.types import Receive, Scope, Send

from engine import authz
from engine.authz import Actor
from engine.errors import ConflictError, InvalidTaskState, NotFound
from engine.forms import FormValidationError
from engine.models import HumanTask, OrgUnit, ProcessDefinition, ProcessInstance
from engine.runtime import ProcessScriptError
from web.openapi import OPENAPI
from web.privacy import mask_id_numbers
from web.security import authenticate, issue_token, revoke_token, user_for_token

MAX_PAGE_SIZE = 200


def error_response(status: int, code: str, message: str, fields: list[dict[str, str]] | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields is not None:
        body["fields"] = fields
    return JSONResponse({"error": body}, status_code=status, headers=headers)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, fields: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def task_json(task: HumanTask) -> dict[str, Any]:
    return {
        "id": str(task.id), "instance_id": str(task.instance_id), "process_key": task.process_key,
        "bpmn_id": task.bpmn_id, "name": task.name, "title": task.title, "candidate_role": task.candidate_role,
        "org_unit": task.org_unit, "assignee": task.assignee, "owner": task.owner, "priority": task.priority,
        "state": task.state, "due_at": _iso(task.due_at), "created_at": _iso(task.created_at),
        "completed_at": _iso(task.completed_at), "completed_by": task.completed_by,
        "escalated_at": _iso(task.escalated_at),
    }


async def instance_json(instance: ProcessInstance, ready: list[HumanTask] | None = None) -> dict[str, Any]:
    """`ready`: the instance's open task rows when the caller already has all of them (else they are read)."""
    if ready is None:
        ready = await HumanTask.filter(instance_id=instance.id, state__in=authz.OPEN_STATES).order_by("created_at")
    return {
        "id": str(instance.id), "process_key": instance.process_key, "version": instance.process_version,
        "lock_version": instance.version, "business_key": instance.business_key, "org_unit": instance.org_unit,
        "status": instance.status, "created_at": _iso(instance.created_at), "updated_at": _iso(instance.updated_at),
        "completed_at": _iso(instance.completed_at), "next_timer_at": _iso(instance.next_timer_at),
        "data": mask_id_numbers(instance.data), "ready_tasks": [task_json(t) for t in ready],
    }


# Column sizes (engine/models.py): longer values cannot exist, and Tortoise refuses them in queries with an error.
MAX_KEY = 100  # process keys, business keys, display names
MAX_ORG_CODE = 32


def _has_nul(value: Any) -> bool:
    """True if any string (key or value) holds U+0000, which PostgreSQL text and jsonb cannot store."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


async def json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise ApiError(400, "invalid_json", f"request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", "request body must be a JSON object")
    if _has_nul(body):
        raise ApiError(400, "invalid_body", "strings must not contain NUL (U+0000) characters")
    return body


def _field_errors(exc: FormValidationError) -> list[dict[str, str]]:
    return [{"field": e.field, "code": e.code, "message": e.message} for e in exc.errors]


Endpoint = Callable[[Request, Actor], Awaitable[Response]]


def endpoint(handler: Endpoint | Callable[[Request], Awaitable[Response]], *, public: bool = False,
             admin: bool = False) -> Callable[[Request], Awaitable[Response]]:
    async def wrapper(request: Request) -> Response:
        try:
            if public:
                return await handler(request)  # type: ignore[call-arg]
            header = request.headers.get("authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token:
                raise ApiError(401, "unauthenticated", "missing bearer token (Authorization: Bearer <token>)")
            user = await user_for_token(token.strip())
            if user is None:
                raise ApiError(401, "unauthenticated", "invalid or revoked token")
            actor = await authz.actor_for(user)
            if admin and not actor.is_admin:
                raise ApiError(403, "forbidden", "admin role required")
            request.state.token = token.strip()
            return await handler(request, actor)  # type: ignore[call-arg]
        except ApiError as exc:
            headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
            return error_response(exc.status, exc.code, exc.message, exc.fields, headers)
        except FormValidationError as exc:
            return error_response(422, "validation_failed", "submitted data does not match the form",
                                  _field_errors(exc))
        except NotFound as exc:
            return error_response(404, "not_found", str(exc))
        except (ConflictError, InvalidTaskState) as exc:
            return error_response(409, "conflict", str(exc))
        except ProcessScriptError as exc:
            return error_response(422, "process_error", str(exc))

    return wrapper


def _int_param(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ApiError(400, "invalid_parameter", f"{name} must be an integer") from exc
    if not lo <= value <= hi:
        raise ApiError(400, "invalid_parameter", f"{name} must be between {lo} and {hi}")
    return value


def _path_uuid(request: Request, name: str, what: str) -> uuid.UUID:
    """A UUID path parameter; anything else cannot exist (and PostgreSQL would reject it with an error)."""
    raw = request.path_params[name]
    try:
        return uuid.UUID(raw)
    except ValueError as exc:
        raise ApiError(404, "not_found", f"{what} {raw} does not exist") from exc


# -- auth ----------------------------------------------------------------------------------------

async def create_token(request: Request) -> Response:
    body = await json_body(request)
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        raise ApiError(422, "validation_failed", "username and password are required strings",
                       [{"field": f, "code": "required", "message": f"{f} is required"}
                        for f in ("username", "password") if not isinstance(body.get(f), str)])
    throttle = request.app.state.ctx.throttle
    client = request.client.host if request.client else "?"
    if throttle.blocked(username, client):
        return error_response(429, "too_many_attempts", "too many failed logins; try again in 15 minutes")
    user = await authenticate(username, password)
    if user is None:
        throttle.failed(username, client)
        raise ApiError(401, "invalid_credentials", "wrong username or password")
    throttle.succeeded(username)
    token, _ = await issue_token(user)
    return JSONResponse({"token": token, "token_type": "bearer"}, status_code=201)


async def delete_token(request: Request, actor: Actor) -> Response:
    await revoke_token(request.state.token, request.app.state.ctx.engine.clock.now())
    return Response(status_code=204)


# -- processes -----------------------------------------------------------------------------------

async def list_processes(request: Request, actor: Actor) -> Response:
    latest: dict[str, ProcessDefinition] = {}
    for row in await ProcessDefinition.all().order_by("key", "version"):
        latest[row.key] = row
    return JSONResponse({"items": [{"key": r.key, "name": r.name, "latest_version": r.version}
                                   for r in latest.values()]})


async def get_process(request: Request, actor: Actor) -> Response:
    key = request.path_params["key"]
    rows = await ProcessDefinition.filter(key=key).order_by("version") if len(key) <= MAX_KEY and not _has_nul(key) \
        else []
    if not rows:
        raise ApiError(404, "not_found", f"process {key!r} is not deployed")
    deployed = await request.app.state.ctx.engine.specs.latest(key)
    return JSONResponse({
        "key": key, "name": rows[-1].name, "latest_version": rows[-1].version,
        "versions": [{"version": r.version, "content_hash": r.content_hash, "deployed_at": _iso(r.deployed_at),
                      "deployed_by": r.deployed_by} for r in rows],
        "start_form": deployed.forms.get(deployed.start_form) if deployed.start_form else None,
    })


# -- instances -----------------------------------------------------------------------------------

async def create_instance(request: Request, actor: Actor) -> Response:
    body = await json_body(request)
    key, business_key = body.get("process_key"), body.get("business_key")
    org_unit, data = body.get("org_unit", actor.org_code), body.get("data", {})
    problems = []
    if not isinstance(key, str) or not key:
        problems.append({"field": "process_key", "code": "required", "message": "process_key is required"})
    elif len(key) > MAX_KEY:
        problems.append({"field": "process_key", "code": "maxLength",
                         "message": f"process_key must be at most {MAX_KEY} characters"})
    if business_key is not None and (not isinstance(business_key, str) or len(business_key) > 100):
        problems.append({"field": "business_key", "code": "type", "message": "business_key must be a string "
                                                                             "of at most 100 characters"})
    if not isinstance(org_unit, str):
        problems.append({"field": "org_unit", "code": "type", "message": "org_unit must be a string"})
    if not isinstance(data, dict):
        problems.append({"field": "data", "code": "type", "message": "data must be an object"})
    if problems:
        raise ApiError(422, "validation_failed", "invalid request", problems)
    org = await OrgUnit.get_or_none(code=org_unit) if len(org_unit) <= MAX_ORG_CODE else None
    if org is None:
        raise ApiError(422, "validation_failed", "unknown org unit",
                       [{"field": "org_unit", "code": "unknown", "message": f"org unit {org_unit!r} does not exist"}])
    if not authz.can_see_path(actor, org.path):
        raise ApiError(403, "forbidden", "org unit is outside your scope")
    instance = await request.app.state.ctx.engine.start(key, org_unit=org.code, actor=actor.username,
                                                        business_key=business_key, data=data)
    return JSONResponse(await instance_json(instance), status_code=201)


async def get_instance(request: Request, actor: Actor) -> Response:
    instance = await request.app.state.ctx.engine.get_instance(_path_uuid(request, "instance_id", "instance"))
    if not authz.can_see_path(actor, instance.org_path):
        raise ApiError(403, "forbidden", "instance is outside your scope")
    return JSONResponse(await instance_json(instance))


# -- tasks ---------------------------------------------------------------------------------------

async def list_tasks(request: Request, actor: Actor) -> Response:
    q = request.query_params
    mine = q.get("mine", "false").lower()
    if mine not in ("true", "false", "1", "0"):
        raise ApiError(400, "invalid_parameter", "mine must be true or false")
    state = q.get("state")
    if state is not None and state not in ("READY", "CLAIMED", "DONE", "CANCELED"):
        raise ApiError(400, "invalid_parameter", "state must be one of READY, CLAIMED, DONE, CANCELED")
    page = _int_param(request, "page", 1, 1, 1_000_000)
    size = _int_param(request, "page_size", 50, 1, MAX_PAGE_SIZE)
    qs = authz.actionable_tasks(actor) if mine in ("true", "1") else authz.visible_tasks(actor)
    if state:
        qs = qs.filter(state=state)
    if q.get("process_key"):
        if len(q["process_key"]) > MAX_KEY or _has_nul(q["process_key"]):
            raise ApiError(400, "invalid_parameter", f"process_key must be at most {MAX_KEY} characters, without NUL")
        qs = qs.filter(process_key=q["process_key"])
    total = await qs.count()
    rows = await qs.order_by("created_at", "id").offset((page - 1) * size).limit(size)
    return JSONResponse({"items": [task_json(t) for t in rows], "total": total, "page": page, "page_size": size})


async def _scoped_task(request: Request, actor: Actor, *, with_instance: bool = False) -> HumanTask:
    query = HumanTask.filter(id=_path_uuid(request, "task_id", "task"))
    task = await (query.select_related("instance") if with_instance else query).first()
    if task is None:
        raise ApiError(404, "not_found", f"task {request.path_params['task_id']} does not exist")
    if not authz.can_view_task(actor, task):
        raise ApiError(403, "forbidden", "task is outside your scope")
    return task


async def get_task(request: Request, actor: Actor) -> Response:
    task = await _scoped_task(request, actor)
    instance = await ProcessInstance.get(id=task.instance_id)
    deployed = await request.app.state.ctx.engine.specs.get(instance.definition_id)
    body = task_json(task)
    body["form"] = deployed.forms.get(task.form) if task.form else None
    body["actionable"] = authz.can_act(actor, task)
    return JSONResponse(body)


async def claim_task(request: Request, actor: Actor) -> Response:
    task = await _scoped_task(request, actor)
    if task.candidate_role not in actor.roles or task.org_unit != actor.org_code:
        raise ApiError(403, "forbidden", "your role or org unit does not match this task")
    # An eligible user racing for an already claimed (or closed) task gets the engine's ConflictError: 409.
    return JSONResponse(task_json(await request.app.state.ctx.engine.claim(task.id, actor=actor.username)))


async def unclaim_task(request: Request, actor: Actor) -> Response:
    task = await _scoped_task(request, actor)
    if task.assignee != actor.username:
        raise ApiError(403, "forbidden", "only the assignee can unclaim this task")
    return JSONResponse(task_json(await request.app.state.ctx.engine.unclaim(task.id, actor=actor.username)))


async def complete_task(request: Request, actor: Actor) -> Response:
    task = await _scoped_task(request, actor, with_instance=True)
    body = await json_body(request)
    data = body.get("data", {})
    if not isinstance(data, dict):
        raise ApiError(422, "validation_failed", "data must be an object",
                       [{"field": "data", "code": "type", "message": "data must be an object"}])
    if not authz.can_act(actor, task):
        raise ApiError(403, "forbidden", "you cannot act on this task (role, org unit or assignee)")
    expected = body.get("lock_version")
    if expected is not None and not isinstance(expected, int):
        raise ApiError(422, "validation_failed", "lock_version must be an integer")
    opinion = body.get("opinion")
    if opinion is not None and not isinstance(opinion, str):
        raise ApiError(422, "validation_failed", "opinion must be a string",
                       [{"field": "opinion", "code": "type", "message": "opinion must be a string"}])
    done = await request.app.state.ctx.engine.complete_task_detailed(task.id, data, actor=actor.username,
                                                                     task_row=task, expected_version=expected,
                                                                     opinion=opinion)
    ready = done.open_tasks
    for row in ready or ():  # written just now: times as the database hands them back (UTC), as if read
        row.created_at = row.created_at.astimezone(UTC)
        row.due_at = row.due_at.astimezone(UTC) if row.due_at else None
    return JSONResponse(await instance_json(done.instance, ready))


# -- admin ---------------------------------------------------------------------------------------

async def create_user_api(request: Request, actor: Actor) -> Response:
    from web.admin import create_user

    body = await json_body(request)
    fields = {k: body.get(k) for k in ("username", "display_name", "password", "org_unit")}
    roles = body.get("roles")
    bad = [{"field": k, "code": "type", "message": f"{k} must be a string"} for k, v in fields.items()
           if not isinstance(v, str)]
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        bad.append({"field": "roles", "code": "type", "message": "roles must be a list of role codes"})
    if isinstance(fields["display_name"], str) and len(fields["display_name"]) > MAX_KEY:
        bad.append({"field": "display_name", "code": "maxLength",
                    "message": f"display_name must be at most {MAX_KEY} characters"})
    if bad:
        raise ApiError(422, "validation_failed", "invalid user", bad)
    org_ok = len(str(fields["org_unit"])) <= MAX_ORG_CODE and \
        await authz.visible_org_units(actor).filter(code=fields["org_unit"]).exists()
    user, errors = await create_user(str(fields["username"]), str(fields["display_name"]), str(fields["password"]),
                                     str(fields["org_unit"]) if org_ok else "", list(roles))  # type: ignore[arg-type]
    if user is None:
        raise ApiError(422, "validation_failed", "invalid user",
                       [{"field": k, "code": "invalid", "message": v} for k, v in errors.items()])
    return JSONResponse({"id": user.id, "username": user.username, "display_name": user.display_name,
                         "org_unit": user.org_unit_id, "roles": user.roles}, status_code=201)


async def list_org_units(request: Request, actor: Actor) -> Response:
    rows = await authz.visible_org_units(actor).order_by("path")
    return JSONResponse({"items": [{"code": o.code, "name": o.name, "level": o.level, "parent": o.parent_id}  # type: ignore[attr-defined]
                                   for o in rows]})


async def openapi(request: Request) -> Response:
    return JSONResponse(OPENAPI)


class methods:  # noqa: N801 - reads as a route table entry: Route(path, methods(GET=...))
    """One route per path; any other method gets a JSON 405 with the `Allow` header RFC 9110 requires
    (Starlette's own 405 goes through the HTML error handler, which drops that header). An ASGI app, so
    Starlette routes every method here instead of defaulting a plain function endpoint to GET."""

    def __init__(self, **handlers: Callable[[Request], Awaitable[Response]]) -> None:
        self.handlers = handlers
        self.allow = ", ".join(sorted(set(handlers) | ({"HEAD"} if "GET" in handlers else set())))
        self.app = request_response(self.dispatch)

    async def dispatch(self, request: Request) -> Response:
        handler = self.handlers.get("GET" if request.method == "HEAD" else request.method)
        if handler is None:
            return error_response(405, "method_not_allowed",
                                  f"{request.method} is not allowed here; use {self.allow}",
                                  headers={"Allow": self.allow})
        return await handler(request)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


routes = [
    Route("/openapi.json", methods(GET=endpoint(openapi, public=True))),
    Route("/auth/token", methods(POST=endpoint(create_token, public=True), DELETE=endpoint(delete_token))),
    Route("/processes", methods(GET=endpoint(list_processes))),
    Route("/processes/{key}", methods(GET=endpoint(get_process))),
    Route("/instances", methods(POST=endpoint(create_instance))),
    Route("/instances/{instance_id}", methods(GET=endpoint(get_instance))),
    Route("/tasks", methods(GET=endpoint(list_tasks))),
    Route("/tasks/{task_id}", methods(GET=endpoint(get_task))),
    Route("/tasks/{task_id}/claim", methods(POST=endpoint(claim_task))),
    Route("/tasks/{task_id}/unclaim", methods(POST=endpoint(unclaim_task))),
    Route("/tasks/{task_id}/complete", methods(POST=endpoint(complete_task))),
    Route("/users", methods(POST=endpoint(create_user_api, admin=True))),
    Route("/org-units", methods(GET=endpoint(list_org_units, admin=True))),
]
