"""The engine facade: start, complete, claim, cancel, wake timers.

Every operation is load → engine → save in one transaction: the instance row (checked against
its `version`), the task index rows and the audit events commit together or not at all.

    Engine
      ├── specs: SpecRegistry       parsed specs by definition id
      ├── script_engine             sandboxed, re-attached to every restored workflow
      ├── routers[process_key]      domain hook deciding a task's candidate role and org unit
      ├── notification_sinks        called after commit with new notifications (e-mail); failures only logged
      └── clock / calendar          injectable time; working days for due dates

Task-index operations (no workflow step): claim / unclaim, reassign, delegate → resolve_delegation (委托: the
delegate records an opinion and the task returns to its owner, who completes it), escalate_overdue (scheduler).
Each is one transaction: a conditional UPDATE on the task row (0 rows: ConflictError), notifications, audit.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import SpiffWorkflow.bpmn.specs.event_definitions.timer as _spiff_timer
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException, TaskNotFoundException
from SpiffWorkflow.task import Task, TaskState
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from engine import authz, sandbox
from engine.audit import PendingEvent, append_events
from engine.calendar import WorkingCalendar
from engine.clock import Clock
from engine.collab import clean_comment, create_comment, has_opinion, notify
from engine.db import CachedUpdate
from engine.errors import ConflictError, EngineError, InvalidTaskState, NotFound
from engine.forms import FieldError, FormValidationError, validate_form
from engine.models import HumanTask, Notification, OrgUnit, ProcessInstance, User
from engine.orgs import ancestors_by_level
from engine.serializer import dump_state, load_state
from engine.specs import DeployedSpec, HumanTaskMeta, SpecRegistry

log = logging.getLogger("civicflow.engine")
OPEN_STATES = ("READY", "CLAIMED")
ANY: Any = object()  # "do not check" for an optional expectation whose legitimate values include None
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


@dataclass(frozen=True)
class Saved:
    """An operation's result: the saved instance and, when known without a query, its open task rows."""

    instance: ProcessInstance
    open_tasks: list[HumanTask] | None


StepListener = Callable[[StepContext], Awaitable[None]]
NotificationSink = Callable[[Sequence[Notification]], Awaitable[None]]


def parse_uuid(value: str | uuid.UUID) -> uuid.UUID | None:
    """An id from a URL as a UUID, or None: a string that cannot be a UUID names nothing (and PostgreSQL would
    reject it with an error rather than find no row)."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


async def completed_task_data(engine: Engine, instance: ProcessInstance, bpmn_id: str) -> dict[str, Any] | None:
    """The data of the most recently completed task with this BPMN id (for documents about that step)."""
    if instance.state is None:
        return None
    wf, _ = await engine.restore(instance)
    done = [t for t in wf.get_tasks(state=TaskState.COMPLETED) if getattr(t.task_spec, "bpmn_id", None) == bpmn_id]
    return dict(max(done, key=lambda t: t.last_state_change).data) if done else None


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
        if isinstance(value, bool | int | float) or (isinstance(value, str) and len(value) <= 1000):
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


def _item_label(task: Task) -> str | None:
    """The item a multi-instance task works on, for its title: the item's name (or title) or the item itself."""
    # A multi-instance child's own spec is the inner task; the loop (and its input item) is its parent's spec.
    specs = [task.task_spec] + ([task.parent.task_spec] if task.parent is not None else [])
    item = next((i for i in (getattr(sp, "input_item", None) for sp in specs) if i is not None), None)
    name = getattr(item, "bpmn_id", None)
    value = task.data.get(name) if name else None
    if isinstance(value, Mapping):
        value = next((value[k] for k in ("name", "title", "label") if value.get(k)), None)
    if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
        return str(value).strip()[:60]
    return None


# The two UPDATEs of every completion, written once (engine.db.CachedUpdate) rather than built per call.
# Closing the task row: open, not delegated, and unclaimed or claimed by the actor (the same guard as before).
_CLOSE_TASK = CachedUpdate(HumanTask, ("state", "completed_by", "completed_at"),
                           """"id"={id} AND "state" IN ('READY','CLAIMED') AND "owner" IS NULL """
                           """AND ("assignee" IS NULL OR "assignee"={assignee})""", ("id", "assignee"))
# Saving the instance with the optimistic version check.
_SAVE_INSTANCE = CachedUpdate(ProcessInstance, ("version", "state", "status", "next_timer_at", "data", "updated_at",
                                                "completed_at", "error"),
                              '"id"={id} AND "version"={version}', ("id", "version"))


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
        self.notification_sinks: list[NotificationSink] = []

    def register_services(self, services: Mapping[str, Callable[..., Any]]) -> None:
        self.services.update(services)
        self.script_engine = sandbox.make_script_engine(self.services)

    def register_router(self, process_key: str, router: TaskRouter) -> None:
        self.routers[process_key] = router

    def register_listener(self, process_key: str, listener: StepListener) -> None:
        self.listeners.setdefault(process_key, []).append(listener)

    # -- loading -------------------------------------------------------------------------------

    async def get_instance(self, instance_id: str | uuid.UUID) -> ProcessInstance:
        key = parse_uuid(instance_id)
        row = await ProcessInstance.get_or_none(id=key) if key is not None else None
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
                    data: Mapping[str, Any] | None = None, deployed: DeployedSpec | None = None) -> ProcessInstance:
        # `deployed`: a caller starting many instances looks the latest version up once (one query less each)
        if deployed is None or deployed.key != process_key:
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
                            expected_version: int | None = None, opinion: str | None = None,
                            task_row: HumanTask | None = None) -> ProcessInstance:
        """Complete a ready human task with its form data. `opinion` (审批意见) is recorded as a comment; a step with
        requireOpinion needs one: this argument, the form's own `opinion` field, or an earlier comment by `actor`."""
        done = await self.complete_task_detailed(task_id, data, actor=actor, expected_version=expected_version,
                                                 opinion=opinion, task_row=task_row)
        return done.instance

    async def complete_task_detailed(self, task_id: str | uuid.UUID, data: Mapping[str, Any], *, actor: str,
                                     expected_version: int | None = None, opinion: str | None = None,
                                     task_row: HumanTask | None = None) -> Saved:
        """`complete_task`, also returning the instance's open task rows when they are known without a query."""
        if task_row is None or "_instance" not in task_row.__dict__:  # a caller may pass the row it already read
            task_row = await self._task_row(task_id, with_instance=True)
        if task_row.state not in OPEN_STATES:
            raise InvalidTaskState(f"task {task_id} is {task_row.state}, not open")
        if task_row.owner is not None:
            raise InvalidTaskState(f"task {task_id} is delegated to {task_row.assignee}; it returns to "
                                   f"{task_row.owner} once resolved, who then completes it")
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
        given = (opinion or "").strip() or (str(clean["opinion"]).strip() if isinstance(clean.get("opinion"), str)
                                             else "")
        meta = deployed.human_tasks.get(task.task_spec.bpmn_id)
        if meta is not None and meta.require_opinion and not given and not await has_opinion(str(task_id), actor):
            raise FormValidationError([FieldError("opinion", "required", "this step requires an opinion (审批意见): "
                                                                         "give one or comment on the task first")])
        opinion_text = clean_comment(given, "opinion") if given else None
        task.data.update(clean)

        def step() -> None:
            task.run()
            wf.do_engine_steps()

        self._run_engine(wf, step)
        events = [PendingEvent(actor, "task.completed", str(row.id), str(task_id),
                               {"task": task.task_spec.bpmn_id, "name": task.task_spec.bpmn_name,
                                "data": _scalar_summary(clean, limit=20)})]
        async with in_transaction() as conn:
            # Lock the task row first: a concurrent delegate/reassign either committed before (0 rows: conflict)
            # or waits for this transaction and then finds the task closed.
            # It also closes the row (DONE), so _persist need not touch it again: one statement, not two.
            n = await _CLOSE_TASK.run(conn, {"state": "DONE", "completed_by": actor, "completed_at": self.clock.now()},
                                      id=task_row.id, assignee=actor)
            if n != 1:
                raise ConflictError(f"task {task_id} was reassigned, delegated or closed meanwhile")
            if opinion_text:
                _, event = await create_comment(conn, instance_id=str(row.id), task_id=str(task_id), author=actor,
                                                body=opinion_text, kind="opinion", now=self.clock.now())
                events.append(event)
            open_rows = await self._persist(conn, row, wf, deployed, events, done_task=(str(task_id), actor),
                                            previously_open=before, submitted=(task.task_spec.bpmn_id, clean))
        return Saved(row, open_rows)

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
        if task_row.owner is not None:
            raise ConflictError(f"task {task_id} is delegated: the delegate resolves it, it cannot be unclaimed")
        now = self.clock.now()
        async with in_transaction() as conn:
            n = await HumanTask.filter(id=task_row.id, state="CLAIMED", assignee=task_row.assignee,
                                       owner=None).using_db(conn).update(state="READY", assignee=None, claimed_at=None)
            if n != 1:
                raise ConflictError(f"task {task_id} changed meanwhile")
            await append_events([PendingEvent(actor, "task.unclaimed", str(task_row.instance_id), str(task_id),
                                              {"was": task_row.assignee})], now, conn)
        return await self._task_row(task_id)

    async def reassign(self, task_id: str | uuid.UUID, *, actor: str, to: str,
                       expected_assignee: str | None = ANY) -> HumanTask:
        """Give an open task to `to`, who must be able to act on it (role and org unit); it becomes CLAIMED by them
        and any delegation ends. Who may do this is `authz.can_reassign` (checked by the caller).
        `expected_assignee`: the assignee the caller saw; a different one now is a ConflictError."""
        task_row = await self._task_row(task_id)
        if task_row.state not in OPEN_STATES:
            raise InvalidTaskState(f"task {task_id} is {task_row.state}, not open")
        if expected_assignee is not ANY and task_row.assignee != (expected_assignee or None):
            raise ConflictError(f"task {task_id} is now assigned to {task_row.assignee or 'nobody'}")
        target = await User.get_or_none(username=to) if len(to) <= 64 else None
        if target is None or not authz.could_act(target, task_row):
            raise FormValidationError([FieldError("to", "not_eligible", f"{to!r} cannot act on this task "
                                                                        "(role or org unit does not match)")])
        if to == task_row.assignee and task_row.owner is None:
            raise FormValidationError([FieldError("to", "unchanged", f"task is already assigned to {to}")])
        now = self.clock.now()
        kind = "task.assigned" if task_row.assignee is None else "task.reassigned"
        async with in_transaction() as conn:
            n = await HumanTask.filter(id=task_row.id, state=task_row.state, assignee=task_row.assignee,
                                       owner=task_row.owner).using_db(conn).update(
                state="CLAIMED", assignee=to, owner=None, claimed_at=now)
            if n != 1:
                raise ConflictError(f"task {task_id} changed meanwhile; reload and retry")
            by = await self._display_name(actor, conn)
            notes = await notify(conn, now, [to], kind, f"{'分派' if kind == 'task.assigned' else '改派'}给您:"
                                 f"{task_row.title}", f"{by}将该事项交由您办理。", f"/tasks/{task_row.id}")
            await append_events([PendingEvent(actor, "task.reassigned", str(task_row.instance_id), str(task_id),
                                              {"from": task_row.assignee, "to": to, "owner": task_row.owner,
                                               "name": task_row.name})], now, conn)
        await self._deliver(notes)
        return await self._task_row(task_id)

    async def delegate(self, task_id: str | uuid.UUID, *, actor: str, to: str) -> HumanTask:
        """委托: `actor` (who can complete the task; `authz.can_delegate`) hands it to a colleague who can see it.
        The task keeps its place: owner = actor, assignee = the delegate, until `resolve_delegation`."""
        task_row = await self._task_row(task_id)
        if task_row.state not in OPEN_STATES:
            raise InvalidTaskState(f"task {task_id} is {task_row.state}, not open")
        if task_row.owner is not None:
            raise ConflictError(f"task {task_id} is already delegated to {task_row.assignee}")
        if task_row.assignee not in (None, actor):
            raise ConflictError(f"task {task_id} is claimed by another user")
        target = await authz.delegate_candidates(task_row, actor).filter(username=to).first() if len(to) <= 64 \
            else None
        if target is None:
            raise FormValidationError([FieldError("to", "not_eligible", f"{to!r} is not a colleague in the scope of "
                                                                        "this task (same org unit or below)")])
        now = self.clock.now()
        async with in_transaction() as conn:
            n = await HumanTask.filter(id=task_row.id, state=task_row.state, assignee=task_row.assignee,
                                       owner=None).using_db(conn).update(
                state="CLAIMED", assignee=to, owner=actor, claimed_at=now)
            if n != 1:
                raise ConflictError(f"task {task_id} changed meanwhile; reload and retry")
            by = await self._display_name(actor, conn)
            notes = await notify(conn, now, [to], "task.delegated", f"委托您办理:{task_row.title}",
                                 f"{by}委托您处理该事项;请填写处理意见后交回。", f"/tasks/{task_row.id}")
            await append_events([PendingEvent(actor, "task.delegated", str(task_row.instance_id), str(task_id),
                                              {"to": to, "name": task_row.name})], now, conn)
        await self._deliver(notes)
        return await self._task_row(task_id)

    async def resolve_delegation(self, task_id: str | uuid.UUID, *, actor: str, opinion: str | None) -> HumanTask:
        """The delegate records an opinion (a comment of kind resolution); the task returns to its owner, claimed.
        The BPMN task is not completed: the owner does that."""
        task_row = await self._task_row(task_id)
        if task_row.state not in OPEN_STATES or task_row.owner is None or task_row.assignee != actor:
            raise InvalidTaskState(f"task {task_id} is not delegated to {actor}")
        text = clean_comment(opinion, "opinion")
        now = self.clock.now()
        owner = task_row.owner
        async with in_transaction() as conn:
            n = await HumanTask.filter(id=task_row.id, state__in=OPEN_STATES, assignee=actor, owner=owner).using_db(
                conn).update(state="CLAIMED", assignee=owner, owner=None, claimed_at=now)
            if n != 1:
                raise ConflictError(f"task {task_id} changed meanwhile; reload and retry")
            comment, _ = await create_comment(conn, instance_id=str(task_row.instance_id), task_id=str(task_id),
                                              author=actor, body=text, kind="resolution", now=now)
            by = await self._display_name(actor, conn)
            notes = await notify(conn, now, [owner], "task.returned", f"委托事项已交回:{task_row.title}",
                                 f"{by}的处理意见:{text}", f"/tasks/{task_row.id}")
            await append_events([PendingEvent(actor, "task.delegation_resolved", str(task_row.instance_id),
                                              str(task_id), {"owner": owner, "comment_id": comment.id, "body": text,
                                                             "name": task_row.name})], now, conn)
        await self._deliver(notes)
        return await self._task_row(task_id)

    async def escalate_overdue(self, *, limit: int = 200) -> int:
        """督办: flag open tasks past their due date (escalated_at) and notify the supervisor role one level up
        (`authz.ESCALATION_ROLE`; at the city level, which has none above, the city's TOP_ESCALATION_ROLE) — once
        per task, whatever the number of sweeps or scheduler processes: rows are taken FOR UPDATE SKIP LOCKED on
        PostgreSQL and flagged with a conditional update. Returns how many."""
        now = self.clock.now()
        events: list[PendingEvent] = []
        notes: list[Notification] = []
        async with in_transaction() as conn:
            rows = await HumanTask.filter(state__in=OPEN_STATES, due_at__lt=now, escalated_at=None).order_by(
                "due_at").limit(limit).select_for_update(skip_locked=True).using_db(conn)
            if not rows:
                return 0
            units = {o.code: o for o in await OrgUnit.filter(code__in={r.org_unit for r in rows}).using_db(conn)}
            for row in rows:
                n = await HumanTask.filter(id=row.id, escalated_at=None).using_db(conn).update(escalated_at=now)
                if n != 1:
                    continue
                unit = units.get(row.org_unit)
                role = authz.ESCALATION_ROLE.get(unit.level) if unit is not None else None
                parent = unit.parent_id if unit is not None else None  # type: ignore[attr-defined]
                if unit is not None and parent is None and unit.level == "city":  # no level above
                    role, parent = authz.TOP_ESCALATION_ROLE, unit.code
                recipients: list[str] = []
                if role and parent:
                    users = await User.filter(org_unit_id=parent, is_active=True).order_by("username").using_db(conn)
                    recipients = [u.username for u in users if role in u.roles]
                due_local = row.due_at.astimezone(self.calendar.tz) if row.due_at else None
                notes += await notify(
                    conn, now, recipients, "task.escalated", f"超期督办:{row.title}",
                    f"{unit.name if unit else row.org_unit}的事项「{row.name}」已超过办理期限"
                    f"({due_local:%Y-%m-%d %H:%M})仍未办结" + (f",当前由 {row.assignee} 办理。" if row.assignee
                                                               else ",尚无人签收。"),
                    f"/tasks/{row.id}")
                events.append(PendingEvent("scheduler", "task.escalated", str(row.instance_id), str(row.id),
                                           {"name": row.name, "due_at": row.due_at, "role": role, "org_unit": parent,
                                            "to": recipients}))
            await append_events(events, now, conn)
        if not events:
            return 0
        if any(not e.payload or not e.payload["to"] for e in events):
            log.warning("escalated %d task(s), some without a supervisor to notify", len(events))
        await self._deliver(notes)
        return len(events)

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
        Each case runs in its own savepoint: a case that cannot even be restored (or whose save fails) is
        marked `error` ("timer failed: …", audited) and the rest of the batch still fires.
        """
        now = self.clock.now()
        fired = 0
        async with in_transaction() as conn:
            query = ProcessInstance.filter(status="running", next_timer_at__lte=now).order_by("next_timer_at")
            rows = await query.limit(limit).select_for_update(skip_locked=True).using_db(conn)
            for row in rows:
                version = row.version
                try:
                    async with in_transaction() as savepoint:  # nested: a SAVEPOINT inside `conn`
                        fired += await self._wake_one(savepoint, row, now)
                except Exception as exc:  # noqa: BLE001 - one broken case must not block the others
                    log.exception("timer of instance %s failed", row.id)
                    message = f"timer failed: {type(exc).__name__}: {exc}"[:2000]
                    n = await ProcessInstance.filter(id=row.id, version=version).using_db(conn).update(
                        status="error", next_timer_at=None, error=message, updated_at=now, version=version + 1)
                    if n == 1:
                        await append_events([PendingEvent("scheduler", "instance.error", str(row.id), None,
                                                          {"error": message})], now, conn)
        return fired

    async def _wake_one(self, conn: BaseDBAsyncClient, row: ProcessInstance, now: datetime) -> int:
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
            return 0
        if before is not None and _next_timer(wf) == before and before <= now:
            # Spiff did not consider it due (clock skew in its own comparison): try again later.
            return 0
        await self._persist(conn, row, wf, deployed,
                            [PendingEvent("scheduler", "timer.fired", str(row.id), None,
                                          {"due": before.isoformat() if before else None})],
                            previously_open=open_before)
        return 1

    # -- internals ------------------------------------------------------------------------------

    async def _deliver(self, notes: Sequence[Notification]) -> None:
        """After commit: hand new notifications to the sinks (e-mail). A failing sink never fails the operation."""
        if not notes:
            return
        for sink in self.notification_sinks:
            try:
                await sink(notes)
            except Exception:  # noqa: BLE001 - delivery is best effort; the notification row is already committed
                log.exception("notification sink %r failed", sink)

    async def _display_name(self, username: str, conn: BaseDBAsyncClient) -> str:
        user = await User.filter(username=username).using_db(conn).first()
        return user.display_name if user else username

    async def _task_row(self, task_id: str | uuid.UUID, *, with_instance: bool = False) -> HumanTask:
        key = parse_uuid(task_id)
        query = HumanTask.filter(id=key)
        row = await (query.select_related("instance") if with_instance else query).first() if key else None
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
            org_code = (await ancestors_by_level(row.org_path, [meta.org_level], conn)).get(meta.org_level,
                                                                                             org_code)
        return TaskRoute(role, org_code)

    async def _persist(self, conn: BaseDBAsyncClient, row: ProcessInstance, wf: BpmnWorkflow,
                       deployed: DeployedSpec, events: list[PendingEvent], *, is_new: bool = False,
                       done_task: tuple[str, str] | None = None, status: str | None = None,
                       error: str | None = None, previously_open: set[str] | None = None,
                       submitted: tuple[str, Mapping[str, Any]] | None = None) -> list[HumanTask] | None:
        """Save the workflow, the task index and the audit events on `conn`. Returns the instance's open task rows
        afterwards when this operation wrote all of them (no task open before stays open, no listener ran that
        might have changed them): then a caller need not read them back. Otherwise None."""
        now = self.clock.now()
        completed = wf.is_completed()
        status = status or ("completed" if completed else "running")
        # After a boundary timer, last_task is Spiff's internal join, whose data lacks what later scripts set:
        # the ready human tasks hold the newest data, so they win.
        current = dict(wf.last_task.data) if wf.last_task is not None else {}
        ready_now = _ready_human_tasks(wf)  # one walk of the task tree, used twice
        for ready_task in ready_now:
            current.update(ready_task.data)
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
            n = await _SAVE_INSTANCE.run(conn, {"version": row.version + 1, **fields}, id=row.id, version=row.version)
            if n != 1:
                raise ConflictError(f"instance {row.id} was changed by another operation; reload and retry")
            for k, v in fields.items():
                setattr(row, k, v)
            row.version += 1

        # Task index: close rows that are no longer ready, open rows for newly ready tasks.
        ready = {str(t.id): t for t in ready_now} if status == "running" else {}
        # The index rows open before this operation are exactly the ready human tasks of the restored
        # workflow (both were written by the same version-checked transaction), so no query is needed.
        open_ids = set() if is_new else set(previously_open or ())
        closed = open_ids - set(ready)
        if done_task:
            closed.discard(done_task[0])  # complete_task already closed it, under its lock
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
            label = _item_label(task)
            title = f"{title} · {label}"[:300] if label else title[:300]
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
        listeners = self.listeners.get(row.process_key, ())
        for listener in listeners:
            await listener(StepContext(conn, row, current, now, submitted[0] if submitted else None,
                                       submitted[1] if submitted else None, new_rows, events,
                                       done_task[1] if done_task else None))
        await append_events(events, now, conn)
        still_open = open_ids - closed - ({done_task[0]} if done_task else set())
        return None if still_open or listeners else new_rows
