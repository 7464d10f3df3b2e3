"""The engine facade: start, complete, claim, cancel, wake timers.

Every operation is load → engine → save in one transaction: the instance row (checked against
its `version`), the task index rows and the audit events commit together or not at all.

    Engine
      ├── specs: SpecRegistry       parsed specs by definition id
      ├── script_engine             sandboxed, re-attached to every restored workflow
      ├── routers[process_key]      domain hook deciding a task's candidate role and org unit
      └── clock / calendar          injectable time; working days for due dates
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import SpiffWorkflow.bpmn.specs.event_definitions.timer as _spiff_timer
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException, TaskNotFoundException
from SpiffWorkflow.task import Task, TaskState
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from engine import sandbox
from engine.audit import PendingEvent, append_events
from engine.calendar import WorkingCalendar
from engine.clock import Clock
from engine.errors import ConflictError, EngineError, InvalidTaskState, NotFound
from engine.forms import FieldError, FormValidationError, validate_form
from engine.models import HumanTask, OrgUnit, ProcessInstance
from engine.serializer import dump_state, load_state
from engine.specs import DeployedSpec, HumanTaskMeta, SpecRegistry

OPEN_STATES = ("READY", "CLAIMED")
CASE_ORG_UNIT = "case_org_unit"  # process variable set at start; forms may not declare it

# SpiffWorkflow's timers read datetime.now() directly; route that through our clock so tests and the
# demo can move time. One clock per process (the engine's), which is how the app runs.
_active_clock: Clock = Clock()


class _ClockedDatetime(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> _ClockedDatetime:  # type: ignore[override]
        now = _active_clock.now()
        now = now.astimezone(tz) if tz is not None else now.astimezone().replace(tzinfo=None)
        return cls.fromtimestamp(now.timestamp(), tz) if tz is not None else cls.fromisoformat(now.isoformat())


_spiff_timer.datetime = _ClockedDatetime  # type: ignore[misc]


class ProcessScriptError(EngineError):
    """A script, condition or decision in the diagram failed; nothing was saved."""


@dataclass(frozen=True)
class TaskRoute:
    candidate_role: str
    org_unit: str


@dataclass(frozen=True)
class RouteContext:
    instance: ProcessInstance
    meta: HumanTaskMeta
    task_data: Mapping[str, Any]
    now: datetime


TaskRouter = Callable[[RouteContext], Awaitable[TaskRoute | None]]


@dataclass
class StepContext:
    """What a domain listener sees after each operation, inside the operation's transaction: domain rows it
    writes on `conn` commit (or roll back) together with the instance, the task index and the audit events."""

    conn: BaseDBAsyncClient
    instance: ProcessInstance
    data: Mapping[str, Any]  # the workflow's current data
    now: datetime
    completed_task: str | None = None  # bpmn id of the human task just completed, if any
    submitted: Mapping[str, Any] | None = None  # its validated form data
    created_tasks: list[HumanTask] | None = None
    events: list[PendingEvent] | None = None  # listeners may append audit events
    actor: str | None = None  # who did the operation (None for the scheduler)


StepListener = Callable[[StepContext], Awaitable[None]]


def spiff_state_name(task: Task) -> str:
    """Spiff's bit-flag states as readable strings, translated in exactly this one place."""
    return TaskState.get_name(task.state)


def diagram_states(wf: BpmnWorkflow) -> dict[str, str]:
    """bpmn id → completed / active / waiting, for drawing the diagram."""
    rank = {"completed": 1, "waiting": 2, "active": 3}
    out: dict[str, str] = {}
    for task in wf.get_tasks():
        bpmn_id = getattr(task.task_spec, "bpmn_id", None)
        if not bpmn_id:
            continue
        if task.state == TaskState.COMPLETED:
            state = "completed"
        elif task.state in (TaskState.READY, TaskState.STARTED):
            state = "active"
        elif task.state == TaskState.WAITING:
            state = "waiting"
        else:
            continue
        if rank[state] > rank.get(out.get(bpmn_id, ""), 0):
            out[bpmn_id] = state
    return out


def _scalar_summary(data: Mapping[str, Any], limit: int = 80) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key.startswith("_") or len(out) >= limit:
            continue
        if isinstance(value, bool | int | float) or (isinstance(value, str) and len(value) <= 200):
            out[key] = value
    return out


def _next_timer(wf: BpmnWorkflow) -> datetime | None:
    due: list[datetime] = []
    for event in wf.waiting_events():
        if isinstance(event.value, str):
            try:
                when = datetime.fromisoformat(event.value)
            except ValueError:
                continue
            due.append(when if when.tzinfo else when.replace(tzinfo=UTC))
    return min(due) if due else None


def _wake(wf: BpmnWorkflow) -> Callable[[], None]:
    def step() -> None:
        wf.refresh_timers()
        wf.do_engine_steps()

    return step


def _ready_human_tasks(wf: BpmnWorkflow) -> list[Task]:
    return wf.get_tasks(state=TaskState.READY, manual=True)


class Engine:
    def __init__(self, *, clock: Clock | None = None, specs: SpecRegistry | None = None,
                 services: Mapping[str, Callable[..., Any]] | None = None,
                 calendar: WorkingCalendar | None = None) -> None:
        global _active_clock
        self.clock = clock or Clock()
        _active_clock = self.clock
        self.specs = specs or SpecRegistry()
        self.services: dict[str, Callable[..., Any]] = dict(services or {})
        self.script_engine = sandbox.make_script_engine(self.services)
        self.calendar = calendar or WorkingCalendar()
        self.routers: dict[str, TaskRouter] = {}
        self.listeners: dict[str, list[StepListener]] = {}

    def register_services(self, services: Mapping[str, Callable[..., Any]]) -> None:
        self.services.update(services)
        self.script_engine = sandbox.make_script_engine(self.services)

    def register_router(self, process_key: str, router: TaskRouter) -> None:
        self.routers[process_key] = router

    def register_listener(self, process_key: str, listener: StepListener) -> None:
        self.listeners.setdefault(process_key, []).append(listener)

    # -- loading -------------------------------------------------------------------------------

    async def get_instance(self, instance_id: str | uuid.UUID) -> ProcessInstance:
        try:
            row = await ProcessInstance.get_or_none(id=instance_id)
        except (ValueError, TypeError):  # not a UUID
            row = None
        if row is None:
            raise NotFound(f"instance {instance_id} does not exist")
        return row

    async def restore(self, row: ProcessInstance) -> tuple[BpmnWorkflow, DeployedSpec]:
        deployed = await self.specs.get(row.definition_id)
        if row.state is None:
            raise InvalidTaskState(f"instance {row.id} has no engine state (compacted)")
        wf = load_state(row.state, deployed.spec, deployed.subprocess_specs)
        sandbox.attach(wf, self.script_engine)  # the script engine is not serialized: re-attach, always
        return wf, deployed

    async def diagram_states(self, row: ProcessInstance) -> dict[str, str]:
        if row.state is None:
            return {}
        wf, _ = await self.restore(row)
        return diagram_states(wf)

    # -- operations ----------------------------------------------------------------------------

    async def start(self, process_key: str, *, org_unit: str, actor: str, business_key: str | None = None,
                    data: Mapping[str, Any] | None = None) -> ProcessInstance:
        deployed = await self.specs.latest(process_key)
        org = await OrgUnit.get_or_none(code=org_unit)
        if org is None:
            raise FormValidationError([FieldError("org_unit", "unknown", f"org unit {org_unit!r} does not exist")])
        clean = self._validate(deployed.forms.get(deployed.start_form) if deployed.start_form else None, data or {})
        wf = BpmnWorkflow(deployed.spec, deployed.subprocess_specs, script_engine=self.script_engine)
        start_task = wf.get_tasks(state=TaskState.READY)[0]
        start_task.data.update(clean)
        # The case's own org unit, for service tasks that depend on it (county standards, notices).
        start_task.data[CASE_ORG_UNIT] = org.code
        self._run_engine(wf, lambda: wf.do_engine_steps())
        now = self.clock.now()
        row = ProcessInstance(
            id=uuid.uuid4(), definition_id=deployed.definition_id, process_key=deployed.key,
            process_version=deployed.version, business_key=business_key, org_unit=org.code, org_path=org.path,
            status="running", started_by=actor, created_at=now, updated_at=now, version=0,
        )
        events = [PendingEvent(actor, "instance.started", str(row.id), None,
                               {"process": f"{deployed.key} v{deployed.version}", "business_key": business_key,
                                "org_unit": org.code, "fields": sorted(clean)})]
        async with in_transaction() as conn:
            await self._persist(conn, row, wf, deployed, events, is_new=True)
        return row

    async def complete_task(self, task_id: str | uuid.UUID, data: Mapping[str, Any], *, actor: str,
                            expected_version: int | None = None) -> ProcessInstance:
        task_row = await self._task_row(task_id, with_instance=True)
        if task_row.state not in OPEN_STATES:
            raise InvalidTaskState(f"task {task_id} is {task_row.state}, not open")
        if task_row.assignee and task_row.assignee != actor:
            raise InvalidTaskState(f"task {task_id} is claimed by another user")
        row = task_row.instance
        if expected_version is not None and expected_version != row.version:
            raise ConflictError(f"instance {row.id} changed (version {row.version}, expected {expected_version})")
        wf, deployed = await self.restore(row)
        before = {str(t.id) for t in _ready_human_tasks(wf)}
        try:
            task = wf.get_task_from_id(uuid.UUID(str(task_id)))
        except TaskNotFoundException as exc:
            raise NotFound(f"task {task_id} is not part of instance {row.id}") from exc
        # task.run() does not check state: it would "complete" a FUTURE task.
        if task.state != TaskState.READY or not task.task_spec.manual:
            raise InvalidTaskState(f"task {task_id} is {spiff_state_name(task)}, not a ready human task")
        clean = self._validate(deployed.form_for(task.task_spec.bpmn_id), data)
        task.data.update(clean)

        def step() -> None:
            task.run()
            wf.do_engine_steps()

        self._run_engine(wf, step)
        events = [PendingEvent(actor, "task.completed", str(row.id), str(task_id),
                               {"task": task.task_spec.bpmn_id, "name": task.task_spec.bpmn_name,
                                "data": _scalar_summary(clean, limit=20)})]
        async with in_transaction() as conn:
            await self._persist(conn, row, wf, deployed, events, done_task=(str(task_id), actor),
                                previously_open=before, submitted=(task.task_spec.bpmn_id, clean))
        return row

    async def claim(self, task_id: str | uuid.UUID, *, actor: str) -> HumanTask:
        task_row = await self._task_row(task_id)
        if task_row.state != "READY" or task_row.assignee:
            raise ConflictError(f"task {task_id} is already claimed or closed")
        now = self.clock.now()
        async with in_transaction() as conn:
            n = await HumanTask.filter(id=task_row.id, state="READY", assignee=None).using_db(conn).update(
                state="CLAIMED", assignee=actor, claimed_at=now)
            if n != 1:
                raise ConflictError(f"task {task_id} was claimed by someone else")
            await append_events([PendingEvent(actor, "task.claimed", str(task_row.instance_id), str(task_id))],
                                now, conn)
        return await self._task_row(task_id)

    async def unclaim(self, task_id: str | uuid.UUID, *, actor: str, force: bool = False) -> HumanTask:
        task_row = await self._task_row(task_id)
        if task_row.state != "CLAIMED" or (task_row.assignee != actor and not force):
            raise ConflictError(f"task {task_id} is not claimed by {actor}")
        now = self.clock.now()
        async with in_transaction() as conn:
            n = await HumanTask.filter(id=task_row.id, state="CLAIMED", assignee=task_row.assignee).using_db(
                conn).update(state="READY", assignee=None, claimed_at=None)
            if n != 1:
                raise ConflictError(f"task {task_id} changed meanwhile")
            await append_events([PendingEvent(actor, "task.unclaimed", str(task_row.instance_id), str(task_id),
                                              {"was": task_row.assignee})], now, conn)
        return await self._task_row(task_id)

    async def cancel(self, instance_id: str | uuid.UUID, *, actor: str, reason: str) -> ProcessInstance:
        row = await self.get_instance(instance_id)
        if row.status != "running":
            raise InvalidTaskState(f"instance {instance_id} is {row.status}")
        wf, deployed = await self.restore(row)
        before = {str(t.id) for t in _ready_human_tasks(wf)}
        wf.cancel()
        events = [PendingEvent(actor, "instance.cancelled", str(row.id), None, {"reason": reason})]
        async with in_transaction() as conn:
            await self._persist(conn, row, wf, deployed, events, status="cancelled", previously_open=before)
        return row

    async def wake_due_timers(self, *, limit: int = 50) -> int:
        """Fire due timers; returns how many instances advanced.

        On PostgreSQL the due rows are claimed with FOR UPDATE SKIP LOCKED inside the transaction
        that processes them, so several workers never fire one timer twice. SQLite has one writer.
        """
        now = self.clock.now()
        fired = 0
        async with in_transaction() as conn:
            query = ProcessInstance.filter(status="running", next_timer_at__lte=now).order_by("next_timer_at")
            rows = await query.limit(limit).select_for_update(skip_locked=True).using_db(conn)
            for row in rows:
                wf, deployed = await self.restore(row)
                before = _next_timer(wf)
                open_before = {str(t.id) for t in _ready_human_tasks(wf)}
                try:
                    self._run_engine(wf, _wake(wf))
                except ProcessScriptError as exc:
                    await self._persist(conn, row, wf, deployed,
                                        [PendingEvent("scheduler", "instance.error", str(row.id), None,
                                                      {"error": str(exc)})], status="error", error=str(exc),
                                        previously_open=open_before)
                    continue
                if before is not None and _next_timer(wf) == before and before <= now:
                    # Spiff did not consider it due (clock skew in its own comparison): try again later.
                    continue
                await self._persist(conn, row, wf, deployed,
                                    [PendingEvent("scheduler", "timer.fired", str(row.id), None,
                                                  {"due": before.isoformat() if before else None})],
                                    previously_open=open_before)
                fired += 1
        return fired

    # -- internals ------------------------------------------------------------------------------

    async def _task_row(self, task_id: str | uuid.UUID, *, with_instance: bool = False) -> HumanTask:
        try:
            query = HumanTask.filter(id=task_id)
            row = await (query.select_related("instance") if with_instance else query).first()
        except (ValueError, TypeError):
            row = None
        if row is None:
            raise NotFound(f"task {task_id} does not exist")
        return row

    def _validate(self, schema: dict[str, Any] | None, data: Mapping[str, Any]) -> dict[str, Any]:
        if schema is None:
            if data:
                raise FormValidationError([FieldError(k, "undeclared", f"this step has no form; field {k!r} "
                                                      "is not accepted") for k in sorted(data)])
            return {}
        return validate_form(schema, data)

    def _run_engine(self, wf: BpmnWorkflow, step: Callable[[], Any]) -> None:
        try:
            step()
        except SpiffWorkflowException as exc:
            spec = getattr(getattr(exc, "task_spec", None), "bpmn_id", None)
            where = f" at {spec}" if spec else ""
            raise ProcessScriptError(f"process error{where}: {exc}") from exc

    async def _route(self, conn: BaseDBAsyncClient, row: ProcessInstance, meta: HumanTaskMeta,
                     task: Task) -> TaskRoute:
        router = self.routers.get(row.process_key)
        if router is not None:
            routed = await router(RouteContext(row, meta, task.data, self.clock.now()))
            if routed is not None:
                return routed
        role = meta.candidate_role or "unassigned"
        org_code = row.org_unit
        if meta.org_unit_variable and task.data.get(meta.org_unit_variable):
            org_code = str(task.data[meta.org_unit_variable])
        elif meta.org_level:
            codes = [c for c in row.org_path.strip("/").split("/") if c]
            ancestors = await OrgUnit.filter(code__in=codes, level=meta.org_level).using_db(conn)
            if ancestors:
                org_code = ancestors[0].code
        return TaskRoute(role, org_code)

    async def _persist(self, conn: BaseDBAsyncClient, row: ProcessInstance, wf: BpmnWorkflow,
                       deployed: DeployedSpec, events: list[PendingEvent], *, is_new: bool = False,
                       done_task: tuple[str, str] | None = None, status: str | None = None,
                       error: str | None = None, previously_open: set[str] | None = None,
                       submitted: tuple[str, Mapping[str, Any]] | None = None) -> None:
        now = self.clock.now()
        completed = wf.is_completed()
        status = status or ("completed" if completed else "running")
        current = dict(wf.last_task.data) if wf.last_task is not None else {}
        current.update(wf.data)
        fields = {
            "state": dump_state(wf),
            "status": status,
            "next_timer_at": _next_timer(wf) if status == "running" else None,
            "data": _scalar_summary(current),
            "updated_at": now,
            "completed_at": now if status in ("completed", "cancelled") else None,
            "error": error,
        }
        if is_new:
            for k, v in fields.items():
                setattr(row, k, v)
            row.version = 1
            await row.save(using_db=conn)
        else:
            n = await ProcessInstance.filter(id=row.id, version=row.version).using_db(conn).update(
                version=row.version + 1, **fields)
            if n != 1:
                raise ConflictError(f"instance {row.id} was changed by another operation; reload and retry")
            for k, v in fields.items():
                setattr(row, k, v)
            row.version += 1

        # Task index: close rows that are no longer ready, open rows for newly ready tasks.
        ready = {str(t.id): t for t in _ready_human_tasks(wf)} if status == "running" else {}
        # The index rows open before this operation are exactly the ready human tasks of the restored
        # workflow (both were written by the same version-checked transaction), so no query is needed.
        open_ids = set() if is_new else set(previously_open or ())
        closed = open_ids - set(ready)
        if done_task and done_task[0] in closed:
            closed.discard(done_task[0])
            await HumanTask.filter(id=done_task[0]).using_db(conn).update(state="DONE", completed_at=now,
                                                                          completed_by=done_task[1])
        if closed:
            await HumanTask.filter(id__in=sorted(closed), state__in=OPEN_STATES).using_db(conn).update(
                state="CANCELED", completed_at=now)
        new_rows = []
        for tid, task in ready.items():
            if tid in open_ids:
                continue
            meta = deployed.human_tasks.get(task.task_spec.bpmn_id) or HumanTaskMeta(
                task.task_spec.bpmn_id, task.task_spec.bpmn_name or task.task_spec.bpmn_id, task.task_spec.lane,
                None, task.task_spec.lane, None, None, None)
            route = await self._route(conn, row, meta, task)
            org_path = row.org_path
            if route.org_unit != row.org_unit:
                org = await OrgUnit.filter(code=route.org_unit).using_db(conn).first()
                org_path = org.path if org else f"/{route.org_unit}/"
            title = f"{meta.name} · {row.business_key}" if row.business_key else meta.name
            new_rows.append(HumanTask(
                id=task.id, instance_id=row.id, process_key=row.process_key, bpmn_id=meta.bpmn_id, name=meta.name,
                title=title, form=meta.form,
                candidate_role=route.candidate_role, org_unit=route.org_unit, org_path=org_path,
                priority=meta.priority, state="READY", created_at=now,
                due_at=self.calendar.add_working_days(now, meta.due_working_days) if meta.due_working_days else None,
            ))
        if new_rows:
            await HumanTask.bulk_create(new_rows, using_db=conn)
            for r in new_rows:
                events.append(PendingEvent("engine", "task.created", str(row.id), str(r.id),
                                           {"task": r.bpmn_id, "name": r.name, "role": r.candidate_role,
                                            "org_unit": r.org_unit}))
        if status != "running" and (not events or events[-1].action not in ("instance.cancelled",)):
            events.append(PendingEvent("engine", f"instance.{status}", str(row.id), None, {}))
        for listener in self.listeners.get(row.process_key, ()):
            await listener(StepContext(conn, row, current, now, submitted[0] if submitted else None,
                                       submitted[1] if submitted else None, new_rows, events,
                                       done_task[1] if done_task else None))
        await append_events(events, now, conn)
