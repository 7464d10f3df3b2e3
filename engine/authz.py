"""Authorization, in one place.

A human task is actionable by a user whose roles include the task's candidate role AND whose
org unit is the task's org unit (and, once claimed, only by its assignee). Users see, read-only,
tasks and instances whose org unit lies in their own subtree (prefix match on the org path).
Nobody sees outside their subtree. Every list, page and API call goes through these functions.

Collaboration on a task (reassign, delegate-and-return 委托, comments, attachments):

    supervisor   sees the task (ancestor-or-equal org unit) and holds county_reviewer, city_manager or admin
    reassign     a supervisor, or the current assignee (not while delegated): to a user who could act on it
    delegate     whoever can complete it (the owner-to-be): to a colleague who can see it (same unit or below)
    resolve      the delegate (assignee while `owner` is set): records an opinion, the task returns to the owner
    complete     never the delegate: `can_act` is False while `owner` is set (Engine.complete_task refuses too)
    comment / attach / download   anyone who can see the task or the case
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from engine.models import Attachment, HumanTask, OrgUnit, ProcessInstance, User

ADMIN = "admin"
SUPERVISOR_ROLES = frozenset({"admin", "city_manager", "county_reviewer"})
OPEN_STATES = ("READY", "CLAIMED")
# Escalation of an overdue task goes to this role in the parent org unit of the task's unit, by the unit's level.
ESCALATION_ROLE = {"village": "township_reviewer", "township": "county_reviewer", "county": "city_manager"}
# The city level has no parent: its overdue tasks go to this role in the city unit itself.
TOP_ESCALATION_ROLE = "city_manager"


@dataclass(frozen=True)
class Actor:
    username: str
    display_name: str
    org_code: str
    org_path: str
    org_name: str
    roles: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.roles

    @property
    def is_supervisor(self) -> bool:
        """市/县 managers: the oversight dashboard, post-audits and deadline extensions."""
        return bool(SUPERVISOR_ROLES & self.roles)


async def actor_for(user: User) -> Actor:
    cached = user.__dict__.get("_org_unit")  # present when loaded with select_related("...org_unit")
    org = cached if isinstance(cached, OrgUnit) else await OrgUnit.get(code=user.org_unit_id)
    return Actor(user.username, user.display_name, org.code, org.path, org.name, frozenset(user.roles))


def can_see_path(actor: Actor, org_path: str) -> bool:
    return org_path.startswith(actor.org_path)


def can_act(actor: Actor, task: HumanTask) -> bool:
    """May complete the task. Nobody may while it is delegated (`owner` set): the delegate resolves it first."""
    return (
        task.state in OPEN_STATES
        and task.owner is None
        and task.candidate_role in actor.roles
        and task.org_unit == actor.org_code
        and task.assignee in (None, actor.username)
    )


def can_claim(actor: Actor, task: HumanTask) -> bool:
    return task.state == "READY" and task.assignee is None and can_act(actor, task)


def visible_tasks(actor: Actor) -> QuerySet[HumanTask]:
    return HumanTask.filter(org_path__startswith=actor.org_path)


def actionable_tasks(actor: Actor) -> QuerySet[HumanTask]:
    """Open tasks the actor can work on: unassigned ones for their role and unit, and any assigned to them
    (reassigned or delegated to them; a delegate may hold another role or a unit below the task's)."""
    return HumanTask.filter(
        Q(assignee=actor.username) | Q(assignee=None, org_unit=actor.org_code, candidate_role__in=sorted(actor.roles)),
        state__in=OPEN_STATES,
    )


def visible_instances(actor: Actor) -> QuerySet[ProcessInstance]:
    return ProcessInstance.filter(org_path__startswith=actor.org_path)


def visible_org_units(actor: Actor) -> QuerySet[OrgUnit]:
    return OrgUnit.filter(path__startswith=actor.org_path)


# -- collaboration ------------------------------------------------------------------------------

def is_supervisor(actor: Actor, task: HumanTask) -> bool:
    return bool(actor.roles & SUPERVISOR_ROLES) and can_see_path(actor, task.org_path)


def can_reassign(actor: Actor, task: HumanTask) -> bool:
    if task.state not in OPEN_STATES:
        return False
    if is_supervisor(actor, task):
        return True
    return task.owner is None and task.assignee == actor.username and can_see_path(actor, task.org_path)


def can_delegate(actor: Actor, task: HumanTask) -> bool:
    return can_act(actor, task)


def can_resolve(actor: Actor, task: HumanTask) -> bool:
    return task.state in OPEN_STATES and task.owner is not None and task.assignee == actor.username


def can_view_task(actor: Actor, task: HumanTask) -> bool:
    """Its org subtree, or the task is assigned to the actor (a delegate or a reassignee from a lower unit)."""
    return can_see_path(actor, task.org_path) or task.assignee == actor.username


def can_comment(actor: Actor, task: HumanTask) -> bool:
    return can_view_task(actor, task)


def can_download(actor: Actor, attachment: Attachment) -> bool:
    return can_see_path(actor, attachment.org_path)


def could_act(user: User, task: HumanTask) -> bool:
    """Whether `user` could complete the task if it were theirs: the target of a reassignment."""
    return user.is_active and task.candidate_role in user.roles and user.org_unit_id == task.org_unit


async def reassign_candidates(task: HumanTask) -> list[User]:
    users = await User.filter(org_unit_id=task.org_unit, is_active=True).order_by("username")
    return [u for u in users if could_act(u, task) and u.username != task.assignee]


def delegate_candidates(task: HumanTask, delegator: str) -> QuerySet[User]:
    """Colleagues who can see the task: its org unit and the units below it."""
    return User.filter(is_active=True, org_unit__path__startswith=task.org_path).exclude(username=delegator)
